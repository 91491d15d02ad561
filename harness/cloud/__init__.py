"""Starting or connecting to the AWS endpoint the harness deploys to (embedded moto by default).

Names are loaded lazily so that `python -m harness.cloud.server` does not import itself twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.cloud.clients import REGION, Aws
    from harness.cloud.server import EmbeddedCloud

__all__ = ["REGION", "Aws", "EmbeddedCloud"]


def __getattr__(name: str) -> Any:
    if name in ("REGION", "Aws"):
        from harness.cloud import clients

        return getattr(clients, name)
    if name == "EmbeddedCloud":
        from harness.cloud import server

        return server.EmbeddedCloud
    raise AttributeError(f"module 'harness.cloud' has no attribute {name!r}")
