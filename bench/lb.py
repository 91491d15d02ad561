"""Benchmark: is the harness's load balancer ever the bottleneck? Prints figures, asserts nothing.

One sample_app task is measured three ways with the same load generator, all on 127.0.0.1:
straight to the task, through `LoadBalancerProxy`, and through nginx (one worker, keep-alive
upstream) as the reference. Two loads each: a throughput run (several connections) and a latency
run (one connection, so the added latency is not hidden by queueing).

    python bench/lb.py [--duration 5] [--connections 8] [--path /5]

Goal: the proxy adds < 1 ms at p50 and serves at least half of nginx's rate.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from harness.clock import ScaledClock  # noqa: E402
from harness.elb.proxy import LoadBalancerProxy  # noqa: E402
from harness.elb.targets import TargetGroupRuntime, TargetState  # noqa: E402


@dataclass
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int = 0


@dataclass
class _HC:
    path: str = "/"
    port: str = "traffic-port"
    protocol: str = "HTTP"
    interval: float = 30.0
    timeout: float = 5.0
    healthy_threshold: int = 5
    unhealthy_threshold: int = 2
    matcher: str = "200"


@dataclass
class _TG:
    health: _HC
    deregistration_delay: float = 0.0
    name: str = "bench"
    full_name: str = "targetgroup/bench/0"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_app(tmp: Path) -> tuple[subprocess.Popen[bytes], int]:
    log = tmp / "app.log"
    env = dict(os.environ, PORT="0", HOST="127.0.0.1", PYTHONPATH=str(REPO))
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "sample_app"], stdout=out, stderr=subprocess.STDOUT,
                                env=env, cwd=REPO)
    for _ in range(500):
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", log.read_text())
        if m:
            return proc, int(m.group(1))
        time.sleep(0.02)
    proc.kill()
    raise SystemExit(f"sample_app did not start: {log.read_text()}")


NGINX_CONF = """
daemon off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    upstream task {{ server 127.0.0.1:{app_port}; keepalive 64; }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://task;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Forwarded-For $remote_addr;
        }}
    }}
}}
"""


def start_nginx(tmp: Path, app_port: int) -> tuple[subprocess.Popen[bytes], int] | None:
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if nginx is None:
        return None
    port = free_port()
    conf = tmp / "nginx.conf"
    conf.write_text(NGINX_CONF.format(tmp=tmp, app_port=app_port, port=port))
    proc = subprocess.Popen([nginx, "-p", str(tmp), "-c", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    for _ in range(250):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, port
        except OSError:
            if proc.poll() is not None:
                raise SystemExit(f"nginx failed: {proc.stderr.read().decode() if proc.stderr else ''}")
            time.sleep(0.02)
    stop(proc)
    raise SystemExit("nginx did not start listening")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


async def run_wrk(port: int, path: str, connections: int, duration: float) -> Result:
    proc = await asyncio.create_subprocess_exec(
        "wrk", "-t1", f"-c{connections}", f"-d{max(1, round(duration))}s", "--latency",
        f"http://127.0.0.1:{port}{path}", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    text = out.decode()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))  # type: ignore[union-attr]

    def pct(p: str) -> float:
        m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
        return float(m.group(1)) * _UNITS[m.group(2)] if m else float("nan")

    errors = 0
    if m := re.search(r"Non-2xx or 3xx responses: (\d+)", text):
        errors += int(m.group(1))
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text):
        errors += sum(int(g) for g in m.groups())
    return Result(rps, pct("50"), pct("99"), errors)


def run_python_client(port: int, path: str, connections: int, duration: float) -> Result:
    """Fallback load generator: keep-alive http.client threads for a bounded duration."""
    latencies: list[list[float]] = [[] for _ in range(connections)]
    errors = [0]
    end = time.perf_counter() + duration

    def worker(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while (t0 := time.perf_counter()) < end:
            try:
                conn.request("GET", path)
                r = conn.getresponse()
                r.read()
                if r.status >= 400:
                    errors[0] += 1
            except OSError:
                errors[0] += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            latencies[i].append((time.perf_counter() - t0) * 1000)
        conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    flat = sorted(x for lat in latencies for x in lat)
    if not flat:
        return Result(0.0, float("nan"), float("nan"), errors[0])
    return Result(len(flat) / elapsed, flat[len(flat) // 2], flat[min(len(flat) - 1, int(len(flat) * 0.99))],
                  errors[0])


async def measure(port: int, path: str, connections: int, duration: float, use_wrk: bool) -> Result:
    if use_wrk:
        return await run_wrk(port, path, connections, duration)
    return await asyncio.to_thread(run_python_client, port, path, connections, duration)


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--duration", type=float, default=5.0, help="seconds per run (default 5)")
    ap.add_argument("--connections", type=int, default=8, help="connections in the throughput run")
    ap.add_argument("--path", default="/5")
    args = ap.parse_args()
    use_wrk = shutil.which("wrk") is not None
    print(f"load generator: {'wrk' if use_wrk else 'python http.client threads (wrk not found)'}; "
          f"{args.duration:g} s per run; path {args.path}; cores: {os.cpu_count()}")

    with tempfile.TemporaryDirectory(prefix="bench-lb-") as d:
        tmp = Path(d)
        app, app_port = start_app(tmp)
        nginx: tuple[subprocess.Popen[bytes], int] | None = None
        clock = ScaledClock(1)
        group = TargetGroupRuntime(_TG(_HC()), clock)
        group.register("task", app_port)
        group.set_health("task", TargetState.HEALTHY, None, 5, 0)
        lb = LoadBalancerProxy({80: group}, clock)
        try:
            await lb.start()
            nginx = start_nginx(tmp, app_port)
            if nginx is None:
                print("nginx: not installed (apt-get install -y nginx): skipping the nginx rows")
            rows: list[tuple[str, int]] = [("direct", app_port), ("proxy", lb.bound_ports[80])]
            if nginx:
                rows.append(("nginx", nginx[1]))
            results: dict[tuple[str, int], Result] = {}
            for conns in (args.connections, 1):
                for name, port in rows:
                    await measure(port, args.path, conns, 0.5, use_wrk)  # warm up pools
                    results[(name, conns)] = await measure(port, args.path, conns, args.duration, use_wrk)
            print(f"\n{'target':<8} {'conns':>5} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
            for (name, conns), r in results.items():
                print(f"{name:<8} {conns:>5} {r.rps:>10.0f} {r.p50_ms:>8.3f} {r.p99_ms:>8.3f} {r.errors:>7}")
            print()
            for conns in (args.connections, 1):
                direct, proxy = results[("direct", conns)], results[("proxy", conns)]
                line = (f"{conns} conn(s): proxy adds p50 {proxy.p50_ms - direct.p50_ms:+.3f} ms, "
                        f"p99 {proxy.p99_ms - direct.p99_ms:+.3f} ms vs direct; "
                        f"proxy/direct rps {proxy.rps / direct.rps:.2f}")
                if nginx:
                    ng = results[("nginx", conns)]
                    line += (f"; proxy/nginx rps {proxy.rps / ng.rps:.2f}; nginx adds p50 "
                             f"{ng.p50_ms - direct.p50_ms:+.3f} ms")
                print(line)
            s = lb.stats
            print(f"\nproxy counters: requests {s.request_count}, target 2xx {s.target_2xx_count}, "
                  f"ELB 5xx {s.elb_5xx}")
        finally:
            await lb.stop()
            if nginx:
                stop(nginx[0])
            stop(app)


if __name__ == "__main__":
    asyncio.run(main())
