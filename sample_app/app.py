"""The sample app's HTTP server: factorials, a CPU burner, a memory hog, an error lever, keep-alive HTTP/1.1.

Every answer carries `X-Served-By: <port>` so tests and the load balancer's users can tell which
task answered.
"""

from __future__ import annotations

import math
import os
import signal
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from urllib.parse import parse_qs, urlsplit

MAX_FACTORIAL = 14
MAX_CPU_MS = 10_000.0
MAX_MEMORY_MB = 4096


def hold_memory(mb: int) -> int:
    """Allocate and touch `mb` MiB for the length of the request (tests a task's hard memory limit)."""
    block = bytearray(mb * 1024 * 1024)
    for i in range(0, len(block), 4096):  # touch every page so it is really resident
        block[i] = 1
    return len(block) // (1024 * 1024)


def burn_cpu(ms: float) -> float:
    """Spend `ms` milliseconds of this thread's CPU time; return the milliseconds really burned."""
    start = time.thread_time()
    deadline = start + ms / 1000.0
    x = 0
    while time.thread_time() < deadline:
        for i in range(1000):
            x ^= i
    return (time.thread_time() - start) * 1000.0


def route(method: str, target: str) -> tuple[int, str]:
    """Pure routing: (status, body text) for a request line."""
    if method not in ("GET", "HEAD"):
        return 405, "method not allowed"
    parts = urlsplit(target)
    # Behind a path-pattern listener rule (`/service/*`) the load balancer forwards the whole path, the
    # rule's prefix included (conditions route, they do not rewrite:
    # https://docs.aws.amazon.com/elasticloadbalancing/latest/application/rule-condition-types.html#path-conditions),
    # so each route is answered below any prefix: /service/cpu is /cpu, /service/ is /.
    path, query = "/" + parts.path.rsplit("/", 1)[-1], parse_qs(parts.query)
    if path == "/":
        return 200, "ok"
    if path == "/cpu":
        values = query.get("ms", [])
        try:
            ms = float(values[0]) if len(values) == 1 else math.nan
        except ValueError:
            ms = math.nan
        if not (0.0 <= ms <= MAX_CPU_MS):  # also rejects nan
            return 400, f"ms must be a number from 0 to {MAX_CPU_MS:g}"
        burned = burn_cpu(ms)
        return 200, f"burned {burned:.1f} ms"
    if path == "/memory":
        values = query.get("mb", [])
        mb = int(values[0]) if len(values) == 1 and values[0].isdigit() else -1
        if not 0 <= mb <= MAX_MEMORY_MB:
            return 400, f"mb must be a whole number from 0 to {MAX_MEMORY_MB}"
        return 200, f"held {hold_memory(mb)} MiB"
    if path == "/error":
        values = query.get("status", [])
        code = int(values[0]) if len(values) == 1 and values[0].isdigit() else 0
        if not 500 <= code <= 599:
            return 400, "status must be a code from 500 to 599"
        return code, f"error {code} on purpose"
    name = path[1:]
    if name.isdigit() and int(name) <= MAX_FACTORIAL:
        return 200, str(math.factorial(int(name)))
    return 400, f"expected /<n> with n from 0 to {MAX_FACTORIAL}"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; without TCP_NODELAY, Nagle's algorithm and the
    # client's delayed ACK add ~40 ms to every keep-alive answer.
    disable_nagle_algorithm = True

    def version_string(self) -> str:
        return "sample_app"

    def _answer(self) -> None:
        status, text = route(self.command, self.path)
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Served-By", str(self.server.server_address[1]))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = _answer
    do_HEAD = _answer

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self._answer()

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        sys.stdout.write(f"{self.command} {self.path} {code}\n")
        sys.stdout.flush()

    def log_message(self, format: str, *args: object) -> None:
        sys.stderr.write((format % args) + "\n")


# serve_forever wakes up this often (seconds) when idle. Each wake-up is real CPU the task's cgroup
# counts: at 0.1 s it was about 0.7 ms of CPU a second, 0.3 points of a 256-unit task and 3 points of
# one run at a CPU scale of 0.1 (bench/cpu_accuracy.py). Stopping needs no wake-up (see on_term).
IDLE_POLL = 5.0


class _Stop(BaseException):
    """SIGTERM or SIGINT: stop serving. Not an Exception: socketserver's `except Exception` around a
    request's hand-off to its thread would swallow it."""


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main() -> int:
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "3000"))
    server = Server((host, port), Handler)

    stopping = False

    def on_term(signum: int, frame: FrameType | None) -> None:
        # Python runs signal handlers in the main thread, which is the one serving: raising here ends
        # serve_forever at once (its select is interrupted), so the loop need not wake up to poll for a
        # shutdown() request. A second signal while stopping is ignored.
        nonlocal stopping
        if not stopping:
            stopping = True
            raise _Stop()

    try:
        signal.signal(signal.SIGTERM, on_term)
        signal.signal(signal.SIGINT, on_term)
        sys.stdout.write(f"sample_app listening on {host}:{server.server_address[1]}\n")
        sys.stdout.flush()
        server.serve_forever(poll_interval=IDLE_POLL)
    except _Stop:
        pass
    finally:
        server.server_close()
    return 0
