"""The user's own Locust classes as the harness's load: found, split by the `error` tag, and paced.

A team gives `--locustfile theirs.py`. Its HttpUser / FastHttpUser classes keep their tasks and task
weights; the harness owns the pacing (each user sends `rate_per_user` *requests* a second, however
many requests one task makes; the class's own wait_time is not used) and the user counts. Each class
`C` becomes two classes the harness can ask for by name:

- `C`: its tasks *not* tagged `error` (Locust's `@tag("error")`), the normal traffic;
- `C:error`: only its tasks tagged `error`, the traffic of the error phases (absent when it has none).

Imported by `loadtests/locustfile.py` inside Locust (LOAD_USER_LOCUSTFILE), and run as a script by
the harness before a run (`python usermix.py --inspect PATH`), which prints what it found as JSON, or
one line naming what is wrong with the file, so a bad locustfile is refused before anything starts.
Both go through `discover`, so what the check accepts is what the run loads.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import sys
import time
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

ERROR_TAG = "error"
ERROR_SUFFIX = ":error"


class UserFileError(Exception):
    """The user's locustfile cannot be used; the message names the file and why."""


def load_module(path: str | Path) -> ModuleType:
    """Import the user's locustfile as Locust does: its own folder first on sys.path."""
    path = Path(path).resolve()
    if not path.is_file():
        raise UserFileError(f"the locustfile {path} does not exist")
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    name = f"user_locustfile_{path.stem}".replace("-", "_").replace(".", "_")
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise UserFileError(f"the locustfile {path} is not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except SystemExit as exc:
        raise UserFileError(f"the locustfile {path} exited while importing (SystemExit {exc.code})") from None
    except BaseException as exc:  # any error in the user's file is named, never a traceback
        frame = next((f for f in reversed(traceback.extract_tb(exc.__traceback__)) if f.filename == str(path)), None)
        where = f" (line {frame.lineno})" if frame else ""
        raise UserFileError(f"the locustfile {path} does not import{where}: {type(exc).__name__}: {exc}") from None
    return module


def _tags(item: Any) -> set[str]:
    return set(getattr(item, "locust_tag_set", set()) or set())


def filter_tasks(tasks: list[Any], want_error: bool) -> list[Any]:
    """The tasks (weights kept: Locust lists a task once per weight) with or without the error tag.

    A TaskSet tagged `error` goes whole to the error side; an untagged one is copied with its own
    tasks filtered the same way (the user's class is left as it was)."""
    out: list[Any] = []
    copies: dict[Any, Any] = {}
    for t in tasks:
        tagged = ERROR_TAG in _tags(t)
        if inspect.isclass(t) and hasattr(t, "tasks"):  # a TaskSet
            if tagged:
                if want_error:
                    out.append(t)
                continue
            if t not in copies:
                sub = filter_tasks(list(t.tasks), want_error)
                copy = type(t.__name__, (t,), {}) if sub else None
                if copy is not None:
                    copy.tasks = sub
                copies[t] = copy
            if copies[t] is not None:
                out.append(copies[t])
        elif tagged == want_error:
            out.append(t)
    return out


def _is_user(item: Any) -> bool:
    from locust import User

    return inspect.isclass(item) and issubclass(item, User) and not getattr(item, "abstract", False)


def _is_http(item: Any) -> bool:
    from locust import FastHttpUser, HttpUser

    return issubclass(item, (HttpUser, FastHttpUser))


def discover(module: ModuleType, path: str | Path) -> list[dict[str, Any]]:
    """The user's usable classes: [{name, cls, weight, normal, error}] (normal/error: filtered task lists)."""
    found = [v for _, v in sorted(vars(module).items()) if _is_user(v)]
    if not found:
        raise UserFileError(f"the locustfile {path} defines no user class (an HttpUser or FastHttpUser subclass "
                            "with tasks)")
    not_http = [c.__name__ for c in found if not _is_http(c)]
    if not_http:
        raise UserFileError(f"the locustfile {path}: {', '.join(not_http)} must be HttpUser or FastHttpUser "
                            "subclasses (the harness sends their requests through the load balancer)")
    classes = []
    for c in found:
        normal, error = filter_tasks(list(c.tasks), False), filter_tasks(list(c.tasks), True)
        if not normal and not error:
            raise UserFileError(f"the locustfile {path}: {c.__name__} has no @task")
        weight = getattr(c, "weight", 1)
        if isinstance(weight, bool) or not isinstance(weight, int) or weight < 0:
            raise UserFileError(f"the locustfile {path}: {c.__name__}.weight must be an integer >= 0, got {weight!r}")
        classes.append({"name": c.__name__, "cls": c, "weight": weight, "normal": normal, "error": error})
    if not any(c["normal"] and c["weight"] > 0 for c in classes):
        raise UserFileError(f"the locustfile {path}: every task is tagged {ERROR_TAG!r} (or every weight is 0); "
                            "the harness needs untagged tasks for its normal traffic")
    return classes


def summary(classes: list[dict[str, Any]]) -> dict[str, Any]:
    """What the harness needs to plan, as JSON: per class its weight and whether it has each side."""
    return {"classes": [{"name": c["name"], "weight": c["weight"], "normal": bool(c["normal"]),
                         "error": bool(c["error"])} for c in classes]}


Entry = Callable[[], tuple[Mapping[str, str], list[tuple[str, str]]]]


def paced_classes(classes: list[dict[str, Any]], rate_of: Callable[[str], float | None],
                  entry: Entry | None = None) -> dict[str, type]:
    """The classes Locust runs: `C` and `C:error` subclasses with the harness's pacing.

    `rate_of(class name)` is the requests per second one user should send (None: no wait); `entry()` the
    headers and query parameters every request carries (entryrequest.py: a host-header listener rule's Host)."""
    made: dict[str, type] = {}
    for c in classes:
        for side, suffix in (("normal", ""), ("error", ERROR_SUFFIX)):
            if c[side]:
                made[c["name"] + suffix] = _paced(c["cls"], c["name"] + suffix, c[side], rate_of, entry)
    return made


def _paced(base: type, name: str, tasks: list[Any], rate_of: Callable[[str], float | None],
           entry: Entry | None = None) -> type:
    import entryrequest  # beside this file, on sys.path inside Locust and when run as a script
    import phaseplan

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        base.__init__(self, *args, **kwargs)  # type: ignore[misc]
        self._harness_requests = 0
        self._harness_seen = 0
        self._harness_last = None
        original = self.client.request

        def counting(*a: Any, **k: Any) -> Any:
            self._harness_requests += 1
            return original(*a, **k)

        self.client.request = counting  # HttpSession and FastHttpSession both send through request()
        if entry is not None:
            entryrequest.wrap(self.client, entry)

    def wait_time(self: Any) -> float:
        made_now = self._harness_requests - self._harness_seen
        self._harness_seen = self._harness_requests
        wait, self._harness_last = phaseplan.paced_wait(time.perf_counter(), self._harness_last, made_now,
                                                        rate_of(name))
        return float(wait)

    cls = type(name, (base,), {"__init__": __init__, "wait_time": wait_time, "abstract": False,
                               "__module__": __name__})
    cls.tasks = tasks  # type: ignore[attr-defined]
    return cls


def _main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] != "--inspect":
        print("usage: usermix.py --inspect LOCUSTFILE", file=sys.stderr)
        return 2
    try:
        path = argv[1]
        print(json.dumps(summary(discover(load_module(path), path))))
    except UserFileError as exc:
        print(str(exc), file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
