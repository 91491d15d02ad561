"""Loopback ports: is one taken, find a free one. Everything the harness binds is on 127.0.0.1."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence

from harness.errors import TaskError

LOOPBACK = "127.0.0.1"


def is_loopback(host: str) -> bool:
    """True for a loopback address literal (127.0.0.0/8, ::1); a host name such as "localhost" is not one."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def port_in_use(port: int, host: str = LOOPBACK) -> bool:
    """True when something listens on host:port (bound as servers bind, with SO_REUSEADDR)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def accepts_connections(port: int, host: str = LOOPBACK) -> bool:
    """One non-blocking-fast loopback connect: refused at once when nobody listens."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def free_port(avoid: Sequence[int] = (), host: str = LOOPBACK) -> int:
    """A port nobody listens on, not in `avoid` (ports already handed to tasks that may not listen yet)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((host, 0))
            port = int(s.getsockname()[1])
        if port not in avoid:
            return port
    raise TaskError(f"no free port on {host} after 50 tries")
