"""Read the stacks the model runs on from the embedded cloud: deploy, read back, tear down, once per stack.

The model must see the stack exactly as `up` does, with CloudFormation's conditions, intrinsics, parameter
constraints and parents resolved by a CloudFormation implementation rather than by the harness. So each
parameter combination is deployed to one embedded cloud (started once for all of them; parent stacks are
created once and kept while no swept parameter belongs to them), read back with `read_stack`, and deleted.
After this, the model needs no process and no cloud.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from harness.cloud.clients import Aws
from harness.cloud.server import EmbeddedCloud
from harness.deploy import HARNESS_INFRA, Deployment, _delete_stacks, deploy, load_template
from harness.errors import DeployError
from harness.net import free_port
from harness.stack import StackModel, read_stack


def parent_parameters(template: Path, deployment: Deployment) -> set[str]:
    """Parameters declared by the parent templates a deployment of `template` used.

    `Deployment.sources` (stack -> template file) names them; without it, the default parents
    vpc.yml / cluster.yml next to the template or in the harness's infrastructure/ are read.
    """
    sources: dict[str, str] = dict(getattr(deployment, "sources", None) or {})
    paths = [Path(src) for stack, src in sources.items() if stack != deployment.stack_name]
    if not sources:
        for stem in ("vpc", "cluster"):
            found = next((p for p in (template.parent / f"{stem}.yml", HARNESS_INFRA / f"{stem}.yml") if p.exists()), None)
            if found is not None:
                paths.append(found)
    names: set[str] = set()
    for path in paths:
        names.update((load_template(path).get("Parameters") or {}).keys())
    return names


class StackReader:
    """Deploys parameter sets of one template into one embedded cloud and reads each back."""

    def __init__(self, aws: Aws, template: Path, stack_name: str = "ecs", *, swept: Sequence[str] = (),
                 parents: dict[str, Path] | None = None) -> None:
        self.aws = aws
        self.template = template
        self.stack_name = stack_name
        self.parents = dict(parents or {})
        self.swept = set(swept)
        self._parents: list[str] = []
        self._fresh_parents: bool | None = None
        self._count = 0

    def read(self, params: dict[str, str]) -> StackModel:
        name = self.stack_name if self._count == 0 else f"{self.stack_name}-{self._count}"
        self._count += 1
        extra: dict[str, Any] = {"parents": self.parents} if self.parents else {}
        deployment = deploy(self.aws, self.template, params, stack_name=name, **extra)
        self._parents.extend(s for s in deployment.created_stacks if s != name)
        if self._fresh_parents is None:
            # A swept parameter that a parent template takes needs fresh parents for each combination.
            self._fresh_parents = bool(self.swept & parent_parameters(self.template, deployment))
        try:
            return read_stack(self.aws, name)
        finally:
            problems = _delete_stacks(self.aws, [name])
            if self._fresh_parents:
                problems += self.close()
            if problems:
                raise DeployError("; ".join(problems), stack=name)

    def close(self) -> list[str]:
        problems = _delete_stacks(self.aws, list(reversed(self._parents)))
        self._parents = []
        return problems


@contextmanager
def embedded_reader(template: Path, stack_name: str = "ecs", *, swept: Sequence[str] = (),
                    parents: dict[str, Path] | None = None,
                    say: Callable[[str], None] | None = None, port: int | None = None) -> Iterator[StackReader]:
    """An embedded cloud on `port` (a free loopback port if None) and a StackReader on it; both gone on exit."""
    cloud = EmbeddedCloud(port=free_port() if port is None else port)
    cloud.start()
    try:
        if say:
            say(f"cloud      {cloud.endpoint} (embedded moto, to read the stack once; not used by the model loop)")
        reader = StackReader(Aws(cloud.endpoint), template, stack_name, swept=swept, parents=parents)
        try:
            yield reader
        finally:
            reader.close()
    finally:
        cloud.stop()


def read_once(template: Path, params: dict[str, str], stack_name: str = "ecs",
              parents: dict[str, Path] | None = None) -> StackModel:
    with embedded_reader(template, stack_name, parents=parents) as reader:
        return reader.read(params)
