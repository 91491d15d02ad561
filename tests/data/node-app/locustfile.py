"""Traffic for the node factorial service: a plain Locust file (run it on its own with `locust -f`).

The harness imports these classes and paces them itself (their wait_time only shapes the mix when
Locust runs this file alone). The task tagged `error` is the traffic the harness's error phases use.
"""

from locust import FastHttpUser, between, tag, task


class Browser(FastHttpUser):
    weight = 3
    wait_time = between(0.5, 1.5)

    @task(4)
    def small(self) -> None:
        self.client.get("/12", name="/[n] small")

    @task(1)
    def large(self) -> None:
        self.client.get("/60", name="/[n] large")

    @tag("error")
    @task
    def boom(self) -> None:
        # Asked-for 5XX: a success for Locust (the harness counts statuses itself).
        with self.client.get("/boom", name="/boom", catch_response=True) as resp:
            if resp.status_code == 500:
                resp.success()


class Checker(FastHttpUser):
    weight = 1
    wait_time = between(1, 2)

    @task
    def one(self) -> None:
        self.client.get("/1", name="/1")
