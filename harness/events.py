"""One timeline of everything that happens in a run, and event hooks between the parts.

The alarm evaluator, the scaling executor, the scheduler, the notifier and the report talk through
`Timeline.emit()`; a listener that fails is logged, never propagated into the emitter (as Locust's
`events` do), so a broken report cannot stop a scaling action.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    time: float  # template epoch seconds
    kind: str  # e.g. "task", "target", "metric", "alarm", "scaling", "desired", "mail", "load", "phase"
    data: dict[str, Any]


Listener = Callable[[Event], None]


@dataclass
class Timeline:
    events: list[Event] = field(default_factory=list)
    _listeners: list[Listener] = field(default_factory=list)

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def emit(self, time: float, kind: str, /, **data: Any) -> Event:
        event = Event(time, kind, data)
        self.events.append(event)
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # a listener's failure is its own, not the emitter's
                log.exception("event listener %r failed on %s", listener, kind)
        return event

    def of(self, kind: str) -> list[Event]:
        return [e for e in self.events if e.kind == kind]
