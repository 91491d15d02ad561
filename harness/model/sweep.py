"""What-if sweeps: the model over every combination of template parameters, one table of outcomes.

"What if MaxCapacity were 8, or the scale-out step +50%?" is a parameter of the template, so each
combination is deployed (one embedded cloud, stacks one after another; each read back then deleted) and its
model run in a pool of worker processes while the next one deploys. Workers get plain frozen data (the
stack read back, the trace, the settings) and return the figures; the best combination is run again in
this process for its full report. With `jobs` > 1 the deployments are shared among as many embedded
clouds (one thread each): a deployment waits mostly on the cloud, not on this process.
"""

from __future__ import annotations

import concurrent.futures as cf
import itertools
import multiprocessing
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.model.engine import ModelConfig, run_model
from harness.model.outputs import BEST_BY, check, summary
from harness.model.stacks import embedded_reader
from harness.net import free_port
from harness.model.traffic import Trace
from harness.stack import StackModel


def parse_sweeps(items: Sequence[str]) -> dict[str, list[str]]:
    """`--sweep KEY=v1,v2,...` (repeatable) -> {KEY: [v1, v2, ...]}; bad or repeated keys are named."""
    out: dict[str, list[str]] = {}
    for item in items:
        key, eq, values = item.partition("=")
        key = key.strip()
        vals = [v.strip() for v in values.split(",")]
        if not eq or not key or not values.strip() or any(not v for v in vals):
            raise ConfigError(f"--sweep {item!r} is not of the form KEY=v1,v2,...")
        if key in out:
            raise ConfigError(f"--sweep {key} is given twice")
        out[key] = vals
    return out


def combinations(sweeps: Mapping[str, Sequence[str]]) -> list[dict[str, str]]:
    keys = list(sweeps)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(sweeps[k] for k in keys))]


@dataclass
class Outcome:
    params: dict[str, str]
    figures: dict[str, Any]
    verdicts: list[dict[str, Any]]
    stack: StackModel

    @property
    def passed(self) -> bool | None:
        return all(v["passed"] for v in self.verdicts) if self.verdicts else None

    def row(self) -> dict[str, Any]:
        f = self.figures
        return {**self.params, "peak_tasks": f["peak_tasks"], "minutes_at_max": f["minutes_at_max"],
                "peak_utilization": f["peak_utilization"], "p95_utilization": f["p95_utilization"],
                "5xx": f["5xx"], "emails": f["emails"], "scaling_activities": f["scaling_activities"],
                "task_hours": f["task_hours"], "cost": f["cost"],
                "verdict": {True: "PASS", False: "FAIL", None: "-"}[self.passed]}


def _work(stack: StackModel, trace: Trace, config: ModelConfig,
          expectations: Sequence[Mapping[str, Any]]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    result = run_model(stack, trace, config)
    return summary(result), check(expectations, result)


def best(outcomes: Sequence[Outcome], key: str) -> Outcome:
    """The outcome with the lowest `key` (None counts as worst); passing combinations first when judged."""
    if key not in BEST_BY:
        raise ConfigError(f"--best-by {key!r}: choose one of {', '.join(BEST_BY)}")

    def rank(o: Outcome) -> tuple[int, float]:
        value = o.figures.get(key)
        return (0 if o.passed is not False else 1, float("inf") if value is None else float(value))

    return min(outcomes, key=rank)


def run_sweep(template: Path, base: Mapping[str, str], sweeps: Mapping[str, Sequence[str]], trace: Trace,
              config: ModelConfig, expectations: Sequence[Mapping[str, Any]], *, stack_name: str = "ecs",
              parents: dict[str, Path] | None = None, jobs: int = 2,
              say: Callable[[str], None] | None = None) -> list[Outcome]:
    """Every combination, in order. Deployments go to `jobs` embedded clouds at once (each reads its share
    one stack after another); each stack read is modelled in a pool of `jobs` worker processes at once."""
    combos = combinations(sweeps)
    ctx = multiprocessing.get_context("fork")
    n = max(1, min(jobs, len(combos)))
    Work = cf.Future[tuple[dict[str, Any], list[dict[str, Any]]]]
    slots: list[tuple[StackModel, Work] | None] = [None] * len(combos)
    lock = threading.Lock()
    done = [0]
    # One port per cloud, chosen here one after another: a port is free only until its cloud binds it
    # (seconds later), and the kernel hands the same free port to two threads asking in that window.
    ports: list[int] = []
    for _ in range(n):
        ports.append(free_port(avoid=ports))

    with cf.ProcessPoolExecutor(max_workers=max(1, jobs), mp_context=ctx) as pool:
        # A forking pool starts all its workers on the first submit: do it before any thread exists, so no
        # worker is forked while a deploying thread holds a lock.
        pool.submit(int).result()

        def deploy_share(share: int) -> None:
            with embedded_reader(template, stack_name, swept=list(sweeps), parents=parents,
                                 say=say if share == 0 else None, port=ports[share]) as reader:
                for i in range(share, len(combos), n):
                    stack = reader.read({**base, **combos[i]})
                    slots[i] = (stack, pool.submit(_work, stack, trace, config, list(expectations)))
                    with lock:
                        done[0] += 1
                        if say:
                            say(f"deployed   {done[0]}/{len(combos)}: "
                                f"{', '.join(f'{k}={v}' for k, v in combos[i].items())}")

        with cf.ThreadPoolExecutor(max_workers=n) as threads:
            for f in [threads.submit(deploy_share, k) for k in range(n)]:
                f.result()
        outcomes: list[Outcome] = []
        for combo, slot in zip(combos, slots):
            assert slot is not None
            stack, fut = slot
            figures, verdicts = fut.result()
            outcomes.append(Outcome(combo, figures, verdicts, stack))
    return outcomes


def table(rows: Sequence[Mapping[str, Any]]) -> str:
    """A plain-text table of the sweep's rows."""
    if not rows:
        return "no combination"
    keys = list(dict.fromkeys(k for r in rows for k in r))

    def cell(v: Any) -> str:
        if v is None:
            return "-"
        if isinstance(v, float):
            return f"{v:.2f}"
        return str(v)

    cells = [[cell(r.get(k)) for k in keys] for r in rows]
    widths = [max(len(k), *(len(c[i]) for c in cells)) for i, k in enumerate(keys)]
    lines = [" | ".join(k.ljust(w) for k, w in zip(keys, widths)), "-+-".join("-" * w for w in widths)]
    lines += [" | ".join(c.rjust(w) for c, w in zip(row, widths)) for row in cells]
    return "\n".join(lines)
