"""The run report: `report.json`, a self-contained `report.html`, and the terminal's verdict table and timeline.

A run is only useful if a person can see *why* an expectation passed or failed: when the CPU crossed the
alarm's threshold, when the alarm changed state and why, what the scaling policy did and which mail went
out. This module turns the run's report dict (see `harness run`) into those views. Everything here is pure
rendering of that dict except `write_report`, which writes the two files atomically (tmp file + rename).

The HTML is one file with inline CSS and inline SVG charts drawn by the small plotting code below: no
JavaScript, no network, no external fonts, so it opens anywhere (CI artifacts, mail attachments).
Every chart shares one time axis: template minutes since the run started.

The report's events are read as types: each report.json event (time, kind and that kind's fields, as
harness/report.schema.json documents them) becomes its kind's frozen dataclass from `harness.events`
(`AlarmTransition`, `ScalingActivity`, ...), and every view reads those dataclasses' fields. An event that
does not fit its kind's dataclass, or a kind without one, is kept untyped: the terminal timeline prints
its fields, the charts and tables leave it out. The rest of the report dict (verdicts, stack, phases,
emails, load) is read tolerantly: any key may be missing, empty or of an unexpected type.
"""

from __future__ import annotations

import html
import json
import logging
import math
import os
import tempfile
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.events import (AlarmAction, AlarmTransition, DesiredChange, Event, LbCounters, LoadChange, MailSent,
                            MetricDatapoint, PhaseChange, ScalingActivity, ServiceSample, TargetChange, TaskChange,
                            TaskCounts, Timeline, typed_from)

log = logging.getLogger(__name__)

__all__ = [
    "as_event",
    "alarm_intervals",
    "phase_spans",
    "render_html",
    "timeline_line",
    "verdict_table",
    "write_report",
]

# Alarm state colours, shared by the state bands, the transition table and the legend.
STATE_COLORS = {"OK": "#2e9d4f", "ALARM": "#d93025", "INSUFFICIENT_DATA": "#9aa0a6"}
SERIES_COLORS = ["#1a73e8", "#e8710a", "#9334e6", "#12b5cb", "#b31412", "#188038", "#f9ab00"]
PHASE_FILLS = ["#e8f0fe", "#fef7e0"]

# Events that arrive several times a minute: they feed the charts, never the live terminal timeline.
FREQUENT = (ServiceSample, MetricDatapoint, LbCounters, TaskCounts, LoadChange)

TIMELINE_WIDTH = 160  # a timeline line is cut (with "...") beyond this many characters


# ------------------------------------------------------------------------------------------ small helpers


def _num(value: Any) -> float | None:
    """A finite float, or None for anything else (missing, text, NaN, infinity)."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _esc(value: Any) -> str:
    return html.escape(_text(value), quote=True)


def _items(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else []


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def as_event(value: Any) -> Event | None:
    """A report event as a timeline `Event` with its kind's dataclass: an `Event` as it is; a report.json
    event (a flat dict: time, kind, and the kind's fields) parsed by `harness.events.typed_from`. One that
    does not fit its dataclass is logged (kind and fields named) and kept untyped; None without a time or
    kind."""
    if isinstance(value, Event):
        return value
    if not isinstance(value, Mapping):
        return None
    t, kind = _num(value.get("time")), value.get("kind")
    if t is None or not isinstance(kind, str) or not kind:
        return None
    data = {k: v for k, v in value.items() if k not in ("time", "kind")}
    try:
        typed = typed_from(kind, data)
    except TypeError as err:
        log.warning("report: %s", err)
        typed = None
    return Event(t, kind, data, typed)


def _events(report: Mapping[str, Any]) -> Timeline:
    """The report's events as a timeline of typed events, in time order (stable for equal times)."""
    events = [e for e in map(as_event, _items(report.get("events"))) if e is not None]
    return Timeline(sorted(events, key=lambda e: e.time))


def _g(value: Any) -> str:
    """A number the way AWS prints thresholds: 70, 85.5 (no trailing .0)."""
    f = _num(value)
    return _text(value) if f is None else f"{f:g}"


def offset(seconds: float) -> str:
    """Template seconds since the start as `+MM:SS` (`+H:MM:SS` past an hour)."""
    sign = "-" if seconds < 0 else "+"
    total = int(round(abs(seconds)))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{sign}{hours}:{minutes:02d}:{secs:02d}" if hours else f"{sign}{minutes:02d}:{secs:02d}"


def _utc(epoch: float | None) -> str:
    if epoch is None:
        return ""
    try:
        return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (OverflowError, OSError, ValueError):
        return ""


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    if seconds < 120:
        return f"{seconds:.1f} s"
    return f"{seconds / 60:.1f} min"


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 3)] + "..."


def _join_to(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(_text(v) for v in value)
    return _text(value)


_OPERATOR_SYMBOLS = {
    "GreaterThanOrEqualToThreshold": ">=",
    "GreaterThanThreshold": ">",
    "LessThanThreshold": "<",
    "LessThanOrEqualToThreshold": "<=",
}


def _overall(report: Mapping[str, Any]) -> bool | None:
    """The run's verdict: the report's `passed`, else all verdicts passed (None when there are none)."""
    passed = report.get("passed")
    if isinstance(passed, bool):
        return passed
    verdicts = [_map(v) for v in _items(report.get("verdicts"))]
    if not verdicts:
        return None
    return all(v.get("passed") is True for v in verdicts)


# ------------------------------------------------------------------------------------- terminal output


def timeline_line(event: Event, t0: float, *, width: int = TIMELINE_WIDTH) -> str | None:
    """One human line for the live terminal timeline, or None for an event too frequent to print (and for
    an alarm action that succeeded: it shows as its effect, a scaling activity or an email).

    `+02:30  alarm   CPUUtilizationHighAlarm OK -> ALARM (Threshold Crossed: ...)`
    """
    e = event.typed
    if isinstance(e, FREQUENT) or (isinstance(e, AlarmAction) and e.ok):
        return None
    if isinstance(e, AlarmTransition):
        tag, text = "alarm", _with(f"{e.name} {e.old} -> {e.new}", e.reason)
    elif isinstance(e, ScalingActivity):
        tag, text = "scale", _with(e.description or "scaling activity", e.cause)
    elif isinstance(e, DesiredChange):
        tag, text = "desired", f"{e.resource_id} desired count {_text(e.old)} -> {e.new}".strip()
    elif isinstance(e, MailSent):
        tag, text = "mail", f"{e.subject} -> {', '.join(e.to)}"
    elif isinstance(e, TaskChange):
        tag, text = "task", " ".join(p for p in (e.action, e.task_id) if p) + (f": {e.reason}" if e.reason else "")
    elif isinstance(e, TargetChange):
        tag, text = "target", _with(f"{e.target} {e.old} -> {e.new}", e.reason)
    elif isinstance(e, PhaseChange):
        tag, text = "phase", f"{e.name} {e.action}"
    elif isinstance(e, AlarmAction):
        tag, text = "action", f"{e.alarm}: {e.summary}"
    else:  # a kind the timeline has no words for (a fault, a stop, a lag, an untyped event): its fields
        tag, text = event.kind, " ".join(f"{k}={_text(v)}" for k, v in event.data.items())
    return _cut(f"{offset(event.time - t0)}  {tag:<7} {text}".rstrip(), width)


def _with(text: str, why: str) -> str:
    """`text (why)`, or `text` alone when there is no why."""
    return f"{text} ({why})" if why else text


def _wrap(text: str, width: int) -> list[str]:
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        lines.extend(textwrap.wrap(paragraph, width, break_long_words=True, break_on_hyphens=False) or [""])
    return lines


def verdict_table(verdicts: Sequence[Mapping[str, Any]], width: int = 100) -> str:
    """A plain-text table (expectation, expected, observed, PASS/FAIL) no wider than `width` columns.

    Long cells wrap inside their column; the last line says how many expectations passed.
    """
    rows = [_map(v) for v in verdicts]
    if not rows:
        return "No expectations were checked."
    headers = ("Expectation", "Expected", "Observed")
    cells = [
        (_text(r.get("name")), _text(r.get("expected")), _text(r.get("observed")),
         "SKIP" if r.get("skipped") else "PASS" if r.get("passed") is True else "FAIL")
        for r in rows
    ]
    sep = " | "
    result_w = len("Result")
    avail = max(3 * 8, width - result_w - 3 * len(sep))
    widths = [
        max([len(headers[i])] + [len(line) for c in cells for line in (c[i].splitlines() or [""])]) for i in range(3)
    ]
    while sum(widths) > avail:  # shrink the widest column until the table fits
        i = widths.index(max(widths))
        widths[i] -= 1
    full = widths + [result_w]

    def block(columns: Sequence[str]) -> list[str]:
        wrapped = [_wrap(columns[i], full[i]) for i in range(4)]
        height = max(len(w) for w in wrapped)
        return [
            sep.join((w[n] if n < len(w) else "").ljust(full[i]) for i, w in enumerate(wrapped)).rstrip()
            for n in range(height)
        ]

    rule = "-+-".join("-" * w for w in full)
    out = block((*headers, "Result")) + [rule]
    blocks = [block(c) for c in cells]
    multi = any(len(b) > 1 for b in blocks)
    for n, b in enumerate(blocks):
        out.extend(b)
        if multi and n < len(blocks) - 1:
            out.append(rule)
    failed = sum(1 for c in cells if c[3] == "FAIL")
    out.append(rule)
    skipped = sum(1 for c in cells if c[3] == "SKIP")
    also = f" ({skipped} skipped, not counted as passed)" if skipped else ""
    if failed:
        out.append(f"FAIL: {failed} of {len(cells)} expectations failed{also}.")
    else:
        out.append(f"PASS: all {len(cells) - skipped} expectations checked passed{also}." if skipped else
                   f"PASS: all {len(cells)} expectations passed.")
    for r in rows:  # the first broken link of each failed expectation's chain (harness.scenarios.why)
        why = why_text(r)
        if why:
            out.extend(_wrap(f"why: {_text(r.get('name'))}: {why}", width))
    return "\n".join(out)


def why_text(verdict: Mapping[str, Any]) -> str:
    """"<link>: <evidence>" of a failed verdict's `why`, or ""."""
    why = _map(verdict.get("why"))
    if not why or verdict.get("passed") is True:
        return ""
    chain = " -> ".join(_text(c) for c in _items(why.get("chain")))
    return f"broken at {_text(why.get('link'))} ({chain}): {_text(why.get('text'))}"


# ---------------------------------------------------------------------------------- chart data (pure)


def phase_spans(report: Mapping[str, Any], t_end: float) -> list[tuple[str, float, float]]:
    """(name, start, end) of each load phase: the report's `phases`, else paired `phase` start/end events.

    A phase that started and never ended lasts until `t_end`.
    """
    spans: list[tuple[str, float, float]] = []
    for p in _items(report.get("phases")):
        p = _map(p)
        start, end = _num(p.get("start")), _num(p.get("end"))
        if start is not None:
            spans.append((_text(p.get("name")), start, end if end is not None else t_end))
    if spans:
        return spans
    open_: dict[str, float] = {}
    for t, phase in _events(report).typed(PhaseChange):
        if phase.action == "start":
            open_[phase.name] = t
        elif phase.action == "end" and phase.name in open_:
            spans.append((phase.name, open_.pop(phase.name), t))
    spans.extend((name, start, t_end) for name, start in open_.items())
    spans.sort(key=lambda s: s[1])
    return spans


def alarm_intervals(
    events: Timeline, names: Iterable[str], t0: float, t1: float
) -> dict[str, list[tuple[float, float, str]]]:
    """Each alarm's state over [t0, t1] as (start, end, state) bands, from its AlarmTransition events.

    Before an alarm's first transition it is in that transition's old state. An alarm with no transition
    gets no bands (its state is unknown to the report).
    """
    result: dict[str, list[tuple[float, float, str]]] = {n: [] for n in names}
    transitions: dict[str, list[tuple[float, str, str]]] = {}
    for t, a in events.typed(AlarmTransition):
        transitions.setdefault(a.name, []).append((t, a.old, a.new))
    for name, changes in transitions.items():
        changes.sort(key=lambda c: c[0])
        bands: list[tuple[float, float, str]] = []
        start, state = t0, changes[0][1]
        for t, _old, new in changes:
            t = min(max(t, t0), t1)
            if state and t > start:
                bands.append((start, t, state))
            start, state = t, new
        if state and t1 > start:
            bands.append((start, t1, state))
        result[name] = bands
    return result


def _lb_series(events: Timeline) -> list[tuple[float, float, float, float]]:
    """(time, requests/s, ELB 5XX/s, target 5XX/s) from the per-interval LbCounters.

    Each LbCounters counts the interval that ends at its time: the gap to the previous one (the first: the
    gap to the next one).
    """
    totals: dict[float, list[float]] = {}
    for t, lb in events.typed(LbCounters):
        row = totals.setdefault(t, [0.0, 0.0, 0.0])
        row[0] += lb.requests
        row[1] += lb.elb_5xx
        row[2] += lb.target_5xx
    times = sorted(totals)
    out: list[tuple[float, float, float, float]] = []
    for i, t in enumerate(times):
        dt = t - times[i - 1] if i > 0 else times[1] - t if len(times) > 1 else 0.0
        if dt <= 0:
            continue
        req, elb, tgt = totals[t]
        out.append((t, req / dt, elb / dt, tgt / dt))
    return out


def _time_range(report: Mapping[str, Any], events: Timeline) -> tuple[float, float]:
    times: list[float | None] = [e.time for e in events.events]
    times += [_num(_map(p).get(k)) for p in _items(report.get("phases")) for k in ("start", "end")]
    known = [t for t in times if t is not None]
    t0 = _num(report.get("started"))
    if t0 is None:
        t0 = min(known) if known else 0.0
    t1 = _num(report.get("ended"))
    if t1 is None or t1 <= t0:
        t1 = max([t0, *known])
    if t1 <= t0:
        t1 = t0 + 60.0
    return t0, t1


def _nice_step(span: float, target: int) -> float:
    raw = span / max(1, target)
    magnitude = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * magnitude:
            return float(m * magnitude)
    return float(10 * magnitude)


# ---------------------------------------------------------------------------------------- SVG plotting

_W, _L, _R, _T, _B = 1000, 56, 16, 30, 30  # view box width and margins (left, right, top, bottom)


@dataclass
class _Plot:
    """One chart: template minutes on x (shared by all charts), values on y."""

    title: str
    t0: float
    t1: float
    y_max: float
    unit: str = ""
    height: int = 220
    integer: bool = False
    y_ticks: bool = True
    back: list[str] = field(default_factory=list)
    front: list[str] = field(default_factory=list)
    legend: list[tuple[str, str, str]] = field(default_factory=list)  # (label, colour, dash)
    has_data: bool = False
    empty_note: str = "no data recorded"

    def x(self, t: float) -> float:
        return _L + (min(max(t, self.t0), self.t1) - self.t0) / (self.t1 - self.t0) * (_W - _L - _R)

    def y(self, v: float) -> float:
        v = min(max(v, 0.0), self.y_max)
        return self.height - _B - v / self.y_max * (self.height - _T - _B)

    def bands(self, spans: Sequence[tuple[str, float, float]]) -> None:
        for i, (name, start, end) in enumerate(spans):
            x0, x1 = self.x(start), self.x(end)
            if x1 <= x0:
                continue
            self.back.append(
                f'<rect x="{x0:.1f}" y="{_T}" width="{x1 - x0:.1f}" height="{self.height - _T - _B}" '
                f'fill="{PHASE_FILLS[i % 2]}"><title>phase {_esc(name)}</title></rect>'
                f'<text x="{x0 + 3:.1f}" y="{_T + 11}" class="phase">{_esc(_cut(name, max(1, int((x1 - x0) / 6))))}</text>'
            )

    def series(self, label: str, points: Sequence[tuple[float, float | None]], colour: str,
               *, step: bool = False, dash: str = "", width: float = 1.8) -> None:
        """A line through the points (a gap where a value is None); `step` holds each value until the next."""
        self.legend.append((label, colour, dash))
        segments: list[list[tuple[float, float]]] = [[]]
        for t, v in sorted(points, key=lambda p: p[0]):
            if v is None:
                segments.append([])
            else:
                segments[-1].append((t, v))
        for seg in segments:
            if not seg:
                continue
            self.has_data = True
            if step:
                d = f"M{self.x(seg[0][0]):.1f},{self.y(seg[0][1]):.1f}"
                for t, v in seg[1:]:
                    d += f" H{self.x(t):.1f} V{self.y(v):.1f}"
                d += f" H{self.x(self.t1):.1f}"
            elif len(seg) == 1:
                t, v = seg[0]
                self.front.append(f'<circle cx="{self.x(t):.1f}" cy="{self.y(v):.1f}" r="2.5" fill="{colour}"/>')
                continue
            else:
                d = "M" + " L".join(f"{self.x(t):.1f},{self.y(v):.1f}" for t, v in seg)
            dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
            self.front.append(
                f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="{width}"{dash_attr} '
                f'stroke-linejoin="round"/>'
            )

    def markers(self, label: str, points: Sequence[tuple[float, float]], colour: str) -> None:
        if not points:
            return
        self.legend.append((label, colour, "dot"))
        self.has_data = True
        for t, v in points:
            self.front.append(
                f'<circle cx="{self.x(t):.1f}" cy="{self.y(v):.1f}" r="3" fill="white" stroke="{colour}" '
                f'stroke-width="1.5"><title>{_esc(label)}: {v:.4g}</title></circle>'
            )

    def hline(self, value: float, label: str, colour: str) -> None:
        """A horizontal threshold line with its label at the right end."""
        y = self.y(value)
        self.front.append(
            f'<line x1="{_L}" x2="{_W - _R}" y1="{y:.1f}" y2="{y:.1f}" stroke="{colour}" stroke-width="1.2" '
            f'stroke-dasharray="6 3"/>'
            f'<text x="{_W - _R - 4}" y="{y - 4:.1f}" text-anchor="end" class="threshold" fill="{colour}">'
            f"{_esc(label)}</text>"
        )

    def render(self) -> str:
        h = self.height
        grid: list[str] = []
        y_step = _nice_step(self.y_max, 5)
        if self.integer:
            y_step = max(1.0, math.ceil(y_step))
        v = 0.0 if self.y_ticks else self.y_max + 1.0
        while v <= self.y_max + 1e-9:
            y = self.y(v)
            grid.append(f'<line x1="{_L}" x2="{_W - _R}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
                        f'<text x="{_L - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">{v:g}</text>')
            v += y_step
        span_min = (self.t1 - self.t0) / 60.0
        x_step = _nice_step(span_min, 10)
        m = 0.0
        while m <= span_min + 1e-9:
            x = self.x(self.t0 + m * 60.0)
            grid.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{_T}" y2="{h - _B}" class="grid"/>'
                        f'<text x="{x:.1f}" y="{h - _B + 14}" text-anchor="middle" class="tick">{m:g}</text>')
            m += x_step
        if not self.has_data and self.empty_note:
            grid.append(f'<text x="{(_L + _W - _R) / 2}" y="{(_T + h - _B) / 2}" text-anchor="middle" '
                        f'class="empty">{_esc(self.empty_note)}</text>')
        legend: list[str] = []
        lx = _L
        for label, colour, dash in self.legend:
            if dash == "dot":
                mark = f'<circle cx="{lx + 9}" cy="12" r="3" fill="white" stroke="{colour}" stroke-width="1.5"/>'
            else:
                dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
                mark = f'<line x1="{lx}" x2="{lx + 18}" y1="12" y2="12" stroke="{colour}" stroke-width="2.5"{dash_attr}/>'
            legend.append(f'{mark}<text x="{lx + 23}" y="16" class="legend">{_esc(label)}</text>')
            lx += 23 + 7 * len(label) + 18
        axis = (f'<line x1="{_L}" x2="{_W - _R}" y1="{h - _B}" y2="{h - _B}" class="axis"/>'
                f'<line x1="{_L}" x2="{_L}" y1="{_T}" y2="{h - _B}" class="axis"/>'
                f'<text x="{_W - _R}" y="{h - 3}" text-anchor="end" class="tick">template minutes since start</text>'
                f'<text x="4" y="{_T - 6}" class="tick">{_esc(self.unit)}</text>')
        return (
            f'<figure><figcaption>{_esc(self.title)}</figcaption>'
            f'<svg viewBox="0 0 {_W} {h}" width="100%" role="img" aria-label="{_esc(self.title)}" '
            f'xmlns="http://www.w3.org/2000/svg">'
            + "".join(self.back) + "".join(grid) + axis + "".join(self.front) + "".join(legend)
            + "</svg></figure>"
        )


def _operator_colour(operator: str) -> str:
    return "#d93025" if operator.startswith("Greater") else "#1a73e8"


def _cpu_chart(report: Mapping[str, Any], events: Timeline, t0: float, t1: float,
               spans: Sequence[tuple[str, float, float]]) -> str:
    by_service: dict[str, list[tuple[float, float | None]]] = {}
    for t, sample in events.typed(ServiceSample):
        if sample.error is None:  # a sample that failed carries only its error
            by_service.setdefault(sample.service or "service", []).append((t, _num(sample.cpu)))
    alarms = [_map(a) for a in _items(_map(report.get("stack")).get("alarms"))]
    cpu_alarms = [a for a in alarms if "CPU" in _text(a.get("metric")) and _num(a.get("threshold")) is not None]
    # The datapoints each CPU alarm evaluated (one per period, placed at the period's middle).
    cpu_names = {_text(a.get("name")) for a in cpu_alarms}
    periods: dict[tuple[str, float], float] = {}
    for _t, m in events.typed(MetricDatapoint):
        value = _num(m.value)
        if ("CPU" in m.metric or m.alarm in cpu_names) and value is not None:
            periods[(m.metric, m.period_start + m.period / 2)] = value  # a later value for a period replaces it
    values = [v for pts in by_service.values() for _, v in pts if v is not None]
    values += list(periods.values()) + [_num(a.get("threshold")) or 0.0 for a in cpu_alarms]
    y_max = max([100.0, *values]) * 1.05 if values and max(values) > 100 else 100.0
    plot = _Plot("Service CPU utilization (%), alarm thresholds and load phases", t0, t1, y_max, unit="%")
    plot.bands(spans)
    for i, (service, points) in enumerate(sorted(by_service.items())):
        plot.series(f"{service} CPU", points, SERIES_COLORS[i % len(SERIES_COLORS)])
    plot.markers("datapoint evaluated by the alarm", sorted((t, v) for (_m, t), v in periods.items()), "#5f6368")
    for a in cpu_alarms:
        operator = _text(a.get("comparison_operator"))
        symbol = _OPERATOR_SYMBOLS.get(operator, operator)
        plot.hline(_num(a.get("threshold")) or 0.0, f"{_text(a.get('name'))} {symbol} {_g(a.get('threshold'))}",
                   _operator_colour(operator))
    return plot.render()


def _tasks_chart(events: Timeline, t0: float, t1: float, spans: Sequence[tuple[str, float, float]]) -> str:
    series: dict[str, list[tuple[float, float | None]]] = {"desired": [], "running": [], "healthy": []}
    for t, counts in events.typed(TaskCounts):
        series["desired"].append((t, _num(counts.desired)))
        series["running"].append((t, counts.running))
        series["healthy"].append((t, counts.healthy))
    if not series["desired"]:  # no task snapshots: the desired count is still known from its changes
        for t, change in events.typed(DesiredChange):
            if not series["desired"] and change.old is not None:
                series["desired"].append((t0, change.old))
            series["desired"].append((t, change.new))
    values = [v for pts in series.values() for _, v in pts if v is not None]
    y_max = max([1.0, *values]) + 1.0
    plot = _Plot("ECS tasks: desired, running and healthy", t0, t1, y_max, unit="tasks", height=200, integer=True)
    plot.bands(spans)
    colours = {"desired": "#202124", "running": "#1a73e8", "healthy": "#2e9d4f"}
    dashes = {"desired": "", "running": "5 3", "healthy": "2 2"}
    widths = {"desired": 2.6, "running": 2.0, "healthy": 2.0}
    for key, points in series.items():
        plot.series(key, points, colours[key], step=True, dash=dashes[key], width=widths[key])
    return plot.render()


def _alarm_chart(report: Mapping[str, Any], events: Timeline, t0: float, t1: float) -> str:
    names = [_text(_map(a).get("name")) for a in _items(_map(report.get("stack")).get("alarms"))]
    names += [a.name for _t, a in events.typed(AlarmTransition)]
    ordered = list(dict.fromkeys(n for n in names if n))
    bands = alarm_intervals(events, ordered, t0, t1)
    row = 34
    h = _T + max(1, len(ordered)) * row + _B
    plot = _Plot("Alarm states", t0, t1, 1.0, height=h, y_ticks=False, empty_note="")  # rows, no y scale
    parts: list[str] = []
    for i, name in enumerate(ordered):
        top = _T + i * row
        parts.append(f'<text x="{_L + 2}" y="{top + 11}" class="alarmname">{_esc(name)}</text>')
        if not bands.get(name):
            parts.append(f'<rect x="{_L}" y="{top + 14}" width="{_W - _L - _R}" height="16" class="unknown"/>'
                         f'<text x="{_L + 6}" y="{top + 26}" class="tick">no state change recorded</text>')
        for start, end, state in bands.get(name, []):
            x0, x1 = plot.x(start), plot.x(end)
            colour = STATE_COLORS.get(state, "#dadce0")
            parts.append(
                f'<rect x="{x0:.1f}" y="{top + 14}" width="{max(0.5, x1 - x0):.1f}" height="16" fill="{colour}">'
                f"<title>{_esc(name)}: {_esc(state)} {offset(start - t0)} to {offset(end - t0)}</title></rect>"
            )
            if x1 - x0 > 7 * len(state) + 8:
                parts.append(f'<text x="{x0 + 4:.1f}" y="{top + 26}" class="state">{_esc(state)}</text>')
    if not ordered:
        parts.append(f'<text x="{_L + 6}" y="{_T + 20}" class="tick">no alarms in this run</text>')
    plot.front.extend(parts)
    for state, colour in STATE_COLORS.items():
        plot.legend.append((state, colour, ""))
    return plot.render()


def _lb_charts(events: Timeline, t0: float, t1: float, spans: Sequence[tuple[str, float, float]]) -> str:
    rows = _lb_series(events)
    req_max = max([1.0, *(r[1] for r in rows)]) * 1.1
    err_max = max([1.0, *(r[2] for r in rows), *(r[3] for r in rows)]) * 1.1
    requests = _Plot("Load balancer request rate", t0, t1, req_max, unit="req/s", height=190)
    requests.bands(spans)
    requests.series("requests/s", [(r[0], r[1]) for r in rows], "#1a73e8")
    errors = _Plot("5XX responses: generated by the load balancer vs returned by targets", t0, t1, err_max,
                   unit="5XX/s", height=190)
    errors.bands(spans)
    errors.series("ELB 5XX/s (HTTPCode_ELB_5XX_Count)", [(r[0], r[2]) for r in rows], "#d93025")
    errors.series("target 5XX/s (HTTPCode_Target_5XX_Count)", [(r[0], r[3]) for r in rows], "#e8710a", dash="5 3")
    return requests.render() + errors.render()


# ------------------------------------------------------------------------------------------ HTML parts

_CSS = """
body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:24px auto;max-width:1100px;color:#202124;
 padding:0 16px;font-size:14px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #dadce0;padding-bottom:4px}
.badge{display:inline-block;padding:2px 12px;border-radius:4px;color:#fff;font-weight:600;margin-left:8px;font-size:16px}
.PASS{background:#2e9d4f}.FAIL{background:#d93025}.NONE{background:#9aa0a6}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:12px 0}dl.meta dt{color:#5f6368}
dl.meta dd{margin:0}
table{border-collapse:collapse;width:100%;margin:6px 0}th,td{border:1px solid #dadce0;padding:4px 8px;text-align:left;
 vertical-align:top}th{background:#f1f3f4}td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.pass td.result{background:#e6f4ea;color:#137333;font-weight:600}tr.fail td.result{background:#fce8e6;color:#a50e0e;
 font-weight:600}tr.fail td{background:#fef7f6}
.state-OK{color:#137333;font-weight:600}.state-ALARM{color:#a50e0e;font-weight:600}
.state-INSUFFICIENT_DATA{color:#5f6368;font-weight:600}
figure{margin:10px 0 18px}figcaption{font-weight:600;margin-bottom:2px}
svg text{font-family:inherit}svg .tick{font-size:11px;fill:#5f6368}svg .legend{font-size:12px;fill:#202124}
svg .grid{stroke:#eceff1;stroke-width:1}svg .axis{stroke:#9aa0a6;stroke-width:1}
svg .threshold{font-size:12px;font-weight:600;paint-order:stroke;stroke:#fff;stroke-width:3px}
svg .phase{font-size:11px;fill:#5f6368}svg .alarmname{font-size:12px;fill:#202124}
svg .state{font-size:11px;fill:#fff;font-weight:600}svg .empty{font-size:13px;fill:#9aa0a6}svg .unknown{fill:#f1f3f4}
details{border:1px solid #dadce0;border-radius:4px;margin:6px 0;padding:4px 8px}summary{cursor:pointer}
pre{white-space:pre-wrap;word-break:break-word;background:#f8f9fa;padding:8px;font-size:12px}
.muted{color:#5f6368}
.assumptions{border:2px solid #f9ab00;background:#fef7e0;border-radius:4px;padding:4px 12px}
"""


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, numeric: Iterable[int] = (),
           row_classes: Sequence[str] | None = None, empty: str = "none") -> str:
    """An HTML table; cells are already-escaped HTML."""
    if not rows:
        return f'<p class="muted">{_esc(empty)}</p>'
    num = set(numeric)
    head = "".join(f"<th>{_esc(h)}</th>" for h in headers)
    body = []
    for i, row in enumerate(rows):
        cls = f' class="{row_classes[i]}"' if row_classes else ""
        cells = "".join(f'<td class="num">{c}</td>' if j in num else f"<td>{c}</td>" for j, c in enumerate(row))
        body.append(f"<tr{cls}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _header(report: Mapping[str, Any], t0: float, t1: float) -> str:
    overall = _overall(report)
    badge = {True: "PASS", False: "FAIL", None: "NONE"}[overall]
    label = "NO VERDICT" if overall is None else badge
    scenario = _text(report.get("scenario")) or "harness run"
    wall = _num(report.get("wall_seconds"))
    template = _num(report.get("template_seconds"))
    if template is None:
        template = t1 - t0
    scale = _num(report.get("time_scale"))
    meta = [
        ("Template", _esc(report.get("template"))),
        ("Cloud", _esc(report.get("cloud"))),
        ("Time scale", f"{scale:g}x (template time runs {scale:g} times faster than wall time)" if scale else ""),
        ("Duration", f"{_esc(_duration(template))} of template time"
                     + (f" in {_esc(_duration(wall))} of wall time" if wall is not None else "")),
        ("Template time", f"{_esc(_utc(t0))} to {_esc(_utc(t1))}" if _num(report.get("started")) is not None else ""),
    ]
    rows = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in meta if v)
    description = _text(report.get("description"))
    return (
        f'<h1>{_esc(scenario)}<span class="badge {badge}">{label}</span></h1>'
        + (f"<p>{_esc(description)}</p>" if description else "")
        + f'<dl class="meta">{rows}</dl>'
    )


def _verdicts_html(report: Mapping[str, Any]) -> str:
    verdicts = [_map(v) for v in _items(report.get("verdicts"))]
    rows = [
        [_esc(v.get("name")), _esc(v.get("expected")), _esc(v.get("observed")),
         "SKIP" if v.get("skipped") else "PASS" if v.get("passed") is True else "FAIL", _esc(why_text(v))]
        for v in verdicts
    ]
    classes = ["skip" if v.get("skipped") else "pass" if v.get("passed") is True else "fail" for v in verdicts]
    table = _table(["Expectation", "Expected", "Observed", "Result", "Why"], rows, row_classes=classes,
                   empty="No expectations were checked.")
    table = table.replace("<td>PASS</td>", '<td class="result">PASS</td>').replace(
        "<td>FAIL</td>", '<td class="result">FAIL</td>').replace("<td>SKIP</td>", '<td class="result">SKIP</td>')
    return table + "".join(_chain_html(v) for v in verdicts if why_text(v))


def _chain_html(verdict: Mapping[str, Any]) -> str:
    """A failed expectation's chain: the links that held, the first broken one, and those never reached."""
    why = _map(verdict.get("why"))
    held = [_text(c) for c in _items(why.get("chain"))]
    links = [_text(c) for c in _items(why.get("links"))] or held
    broken = _text(why.get("link"))
    colors = {"held": "#2e7d32", "broken": "#c62828", "unreached": "#9e9e9e"}
    steps = []
    for link in links:
        state = "broken" if link == broken else "held" if link in held else "unreached"
        steps.append(f'<span class="link {state}" style="color:{colors[state]};'
                     f'{"font-weight:bold;" if state == "broken" else ""}">{_esc(link)}</span>')
    return (f'<div class="why"><p><strong>Why</strong> {_esc(verdict.get("name"))}: '
            + ' &rarr; '.join(steps) + f"</p><p>{_esc(why.get('text'))}</p></div>")


def _stack_html(report: Mapping[str, Any]) -> str:
    stack = _map(report.get("stack"))
    alarms = [
        [_esc(a.get("name")), _esc(a.get("role")), _esc(f"{_text(a.get('namespace'))} {_text(a.get('metric'))}".strip()),
         _esc(a.get("statistic")), _esc(_g(a.get("period"))), _esc(_g(a.get("evaluation_periods"))),
         _esc(f"{_OPERATOR_SYMBOLS.get(_text(a.get('comparison_operator')), _text(a.get('comparison_operator')))} "
              f"{_g(a.get('threshold'))}".strip())]
        for a in map(_map, _items(stack.get("alarms")))
    ]
    targets = [
        [_esc(t.get("resource_id")), _esc(_g(t.get("min_capacity"))), _esc(_g(t.get("max_capacity")))]
        for t in map(_map, _items(stack.get("scalable_targets")))
    ]
    policies = []
    for p in map(_map, _items(stack.get("policies"))):
        steps = p.get("steps")
        if isinstance(steps, (list, tuple)):
            steps_text = "; ".join(
                ", ".join(f"{k}={_text(v)}" for k, v in _map(s).items()) if isinstance(s, Mapping) else _text(s)
                for s in steps
            )
        else:
            steps_text = _text(steps)
        policies.append([_esc(p.get("name")), _esc(p.get("adjustment_type")), _esc(_g(p.get("cooldown"))),
                         _esc(steps_text)])
    return (
        "<h2>Deployed stack (read back from the AWS API)</h2>"
        + _table(["Alarm", "Role", "Metric", "Statistic", "Period (s)", "Evaluation periods", "Threshold"], alarms,
                 numeric=(4, 5), empty="No alarms.")
        + _table(["Scalable target", "Min capacity", "Max capacity"], targets, numeric=(1, 2),
                 empty="No scalable targets.")
        + _table(["Scaling policy", "Adjustment type", "Cooldown (s)", "Steps"], policies, numeric=(2,),
                 empty="No scaling policies.")
    )


def _scaling_html(events: Timeline, t0: float) -> str:
    rows = [[offset(t - t0), _esc(a.description), _esc(a.cause), _esc(a.resource_id), _esc(a.status)]
            for t, a in events.typed(ScalingActivity)]
    return "<h2>Scaling activities</h2>" + _table(
        ["Time", "Description", "Cause", "Resource", "Status"], rows, empty="No scaling activity.")


def _transitions_html(events: Timeline, t0: float) -> str:
    rows = []
    for t, a in events.typed(AlarmTransition):
        change = (f'<span class="state-{_esc(a.old)}">{_esc(a.old)}</span> &rarr; '
                  f'<span class="state-{_esc(a.new)}">{_esc(a.new)}</span>')
        rows.append([offset(t - t0), _esc(a.name), change, _esc(a.reason)])
    return "<h2>Alarm transitions</h2>" + _table(["Time", "Alarm", "Change", "Reason"], rows,
                                                  empty="No alarm changed state.")


def _emails_html(report: Mapping[str, Any], t0: float) -> str:
    parts = ["<h2>Emails</h2>"]
    emails = [_map(m) for m in _items(report.get("emails"))]
    if not emails:
        parts.append('<p class="muted">No email was sent.</p>')
    for m in emails:
        t = _num(m.get("time"))
        when = offset(t - t0) if t is not None else "?"
        parts.append(
            f"<details><summary><strong>{_esc(when)}</strong> {_esc(m.get('subject'))} "
            f'<span class="muted">&rarr; {_esc(_join_to(m.get("to")))}</span></summary>'
            f"<pre>{_esc(m.get('body'))}</pre></details>"
        )
    return "".join(parts)


def _fmt(value: Any, digits: int = 1) -> str:
    f = _num(value)
    if f is None:
        return _esc(value)
    return f"{f:.{digits}f}" if not f.is_integer() else f"{f:g}"


def _load_html(report: Mapping[str, Any]) -> str:
    endpoints = [_map(e) for e in _items(_map(report.get("load")).get("endpoints"))]
    rows = []
    for e in endpoints:
        statuses = _map(e.get("statuses"))
        status_text = ", ".join(f"{_text(k)}: {_text(v)}" for k, v in sorted(statuses.items(), key=lambda kv: str(kv[0])))
        rows.append([_esc(e.get("name")), _fmt(e.get("requests"), 0), _fmt(e.get("failures"), 0), _fmt(e.get("rps"), 2),
                     _fmt(e.get("p50_ms")), _fmt(e.get("p95_ms")), _fmt(e.get("p99_ms")), _esc(status_text)])
    return "<h2>Load (Locust statistics)</h2>" + _table(
        ["Endpoint", "Requests", "Failures", "Requests/s", "p50 (ms)", "p95 (ms)", "p99 (ms)", "Status codes"], rows,
        numeric=(1, 2, 3, 4, 5, 6), empty="No load was generated.")


def _model_html(report: Mapping[str, Any]) -> str:
    """Model mode (harness/model): the assumptions box, the planning figures and a sweep's table."""
    if report.get("mode") != "model":
        return ""
    items = "".join(f"<li>{_esc(a)}</li>" for a in _items(report.get("assumptions")))
    parts = ['<h2>Assumptions</h2><div class="assumptions"><p><strong>This report is a model</strong>, '
             f"not a live run. It assumes:</p><ul>{items}</ul></div>"]
    figures = _map(report.get("summary"))
    if figures:
        rows: list[list[str]] = []
        for k, v in figures.items():
            if isinstance(v, Mapping):
                rows.extend([_esc(f"{k}: {name}"), _fmt(n, 2)] for name, n in v.items())
            else:
                rows.append([_esc(k), _fmt(v, 2)])
        parts.append("<h2>Model figures</h2>" + _table(["Figure", "Value"], rows, numeric=(1,)))
    sweep = [_map(r) for r in _items(report.get("sweep"))]
    if sweep:
        keys = list(dict.fromkeys(k for r in sweep for k in r))
        parts.append("<h2>What-if sweep</h2>" + _table(keys, [[_fmt(r.get(k), 2) for k in keys] for r in sweep]))
    return "".join(parts)


def render_html(report: Mapping[str, Any]) -> str:
    """The whole report as one self-contained HTML page (inline CSS and SVG, no scripts, no network)."""
    report = _map(report)
    events = _events(report)
    t0, t1 = _time_range(report, events)
    spans = phase_spans(report, t1)
    title = _text(report.get("scenario")) or "harness run"
    body = [
        _header(report, t0, t1),
        _model_html(report),
        "<h2>Expectations</h2>",
        _verdicts_html(report),
        "<h2>Timeline</h2>",
        _cpu_chart(report, events, t0, t1, spans),
        _tasks_chart(events, t0, t1, spans),
        _alarm_chart(report, events, t0, t1),
        _lb_charts(events, t0, t1, spans),
        _scaling_html(events, t0),
        _transitions_html(events, t0),
        _emails_html(report, t0),
        _load_html(report),
        _stack_html(report),
        '<p class="muted">Times are template time since the start of the run.</p>',
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_esc(title)}: harness report</title><style>{_CSS}</style></head><body>"
        + "\n".join(body)
        + "</body></html>\n"
    )


# ------------------------------------------------------------------------------------------------ files


def _json_safe(value: Any) -> Any:
    """JSON has no NaN or infinity: write them as null so every JSON parser reads the file."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, Event):
        return _json_safe({"time": value.time, "kind": value.kind, **value.data})
    return value


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_report(folder: Path, report: Mapping[str, Any]) -> tuple[Path, Path]:
    """Write `report.json` and `report.html` into `folder` (created if needed); returns both paths.

    Each file is written to a temporary file in the same folder and renamed over the target, so a reader
    never sees half a report.
    """
    folder = Path(folder)
    json_path, html_path = folder / "report.json", folder / "report.html"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _write_atomic(json_path, json.dumps(_json_safe(report), indent=2, default=str, allow_nan=False) + "\n")
        _write_atomic(html_path, render_html(report))
    except OSError as e:
        raise ConfigError(f"Cannot write the run report into {folder}: {e.strerror or e}.") from e
    return json_path, html_path
