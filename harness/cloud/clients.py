"""boto3 clients bound to one local AWS endpoint, never to real AWS.

Every client is built from an explicit botocore session with fixed fake credentials, so neither the
user's environment (AWS_PROFILE, AWS_ACCESS_KEY_ID, AWS_REGION, AWS_ENDPOINT_URL, AWS_CONFIG_FILE,
~/.aws) nor a real account can ever be reached, and a profile the machine lacks is no error. The
child processes that run an AWS SDK of their own (the embedded moto server, LocalStack) get
`isolated_env`: the same fake identity, no profile, no config or credentials file.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.configprovider import (
    BOTOCORE_DEFAUT_SESSION_VARIABLES,
    BaseProvider,
    ConfigValueStore,
    ConstantProvider,
)

REGION = "us-east-1"
ACCESS_KEY = "test"
SECRET_KEY = "test"


class Aws:
    """Cached boto3 clients for `endpoint` (e.g. "http://127.0.0.1:4566") in `region`."""

    def __init__(self, endpoint: str, region: str = REGION) -> None:
        if not endpoint.startswith(("http://127.0.0.1", "http://localhost")):
            # Loopback only: the harness talks to an emulator it owns or one on this machine.
            raise ValueError(f"endpoint {endpoint!r} is not a loopback URL")
        self.endpoint = endpoint
        self.region = region
        # A botocore session whose config store is empty: no environment variables, no config or
        # credentials file, no profile; only the fake keys below.
        core = botocore.session.Session()
        core.register_component(
            "config_store",
            ConfigValueStore(mapping=_defaults_only(region)),
        )
        core.set_credentials(ACCESS_KEY, SECRET_KEY)
        self._session = boto3.session.Session(botocore_session=core, region_name=region)
        self._config = Config(
            # One attempt: the endpoint is a local emulator, and retrying a CreateStack that failed
            # with a 500 would hide the real error behind "stack already exists".
            retries={"total_max_attempts": 1, "mode": "standard"},
            connect_timeout=5,
            read_timeout=30,
        )
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def client(self, service_name: str) -> Any:
        """A boto3 client for `service_name` (cached; boto3 clients are thread-safe)."""
        with self._lock:
            cli = self._clients.get(service_name)
            if cli is None:
                cli = self._session.client(
                    service_name,
                    endpoint_url=self.endpoint,
                    region_name=self.region,
                    aws_access_key_id=ACCESS_KEY,
                    aws_secret_access_key=SECRET_KEY,
                    aws_session_token=None,
                    config=self._config,
                )
                self._clients[service_name] = cli
            return cli

    def __repr__(self) -> str:
        return f"Aws(endpoint={self.endpoint!r}, region={self.region!r})"


def _defaults_only(region: str) -> dict[str, BaseProvider]:
    """botocore's session variables at their built-in defaults, ignoring env vars and files."""
    mapping: dict[str, BaseProvider] = {
        name: ConstantProvider(spec[2]) for name, spec in BOTOCORE_DEFAUT_SESSION_VARIABLES.items()
    }
    mapping["api_versions"] = ConstantProvider({})
    mapping["region"] = ConstantProvider(region)
    mapping["profile"] = ConstantProvider(None)
    return mapping


def isolated_env(base: Mapping[str, str]) -> dict[str, str]:
    """`base` (a child's environment) without any of the user's AWS settings, with the harness's fake
    identity instead: every AWS_* variable is dropped (profiles, regions, endpoints, CA bundles,
    retry modes, ...), the config and credentials files point at an empty file, and the keys and the
    region are the fake ones every client of the harness uses."""
    env = {k: v for k, v in base.items() if not k.startswith("AWS_")}
    env.update({
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",  # never ask an instance metadata service for credentials
    })
    return env
