"""CloudWatch behaviour moto 5.2 gets wrong in ways the harness's alarms would see, fixed in the
embedded cloud (the child process) rather than worked around by every client.

- A metric is identified by namespace, name *and the full set of dimensions*: a query for
  `LoadBalancer=x` must not also return the datapoints published as `LoadBalancer=x, TargetGroup=y`
  (moto matches any superset, which doubles the load balancer's 5XX sums).
  https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_concepts.html#Dimension
- GetMetricStatistics returns one datapoint per period *starting at StartTime* (moto starts its
  periods at the first datapoint found).
  https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricStatistics.html
- "Now" is template time. Under a time scale the harness's timestamps run ahead of the wall clock;
  CloudWatch Logs refuses events more than 2 hours ahead of *its* now, and alarm state timestamps
  should read in the same time as the datapoints, so the cloud's CloudWatch and Logs clocks follow
  the harness's clock (`use_template_time`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any


def _dims(pairs: Any) -> frozenset[tuple[str, str | None]]:
    out = set()
    for d in pairs or []:
        if isinstance(d, dict):
            out.add((d["Name"], d.get("Value")))
        else:  # moto's Dimension objects
            out.add((d.name, d.value))
    return frozenset(out)


def apply() -> None:
    from moto.cloudwatch.exceptions import InvalidParameterValue
    from moto.cloudwatch.models import CloudWatchBackend, Statistics

    def get_metric_statistics(
        self: CloudWatchBackend,
        namespace: str,
        metric_name: str,
        start_time: datetime,
        end_time: datetime,
        period: int,
        stats: list[str],
        dimensions: list[dict[str, str]],
        unit: str | None = None,
    ) -> list[Statistics]:
        start_time = start_time.replace(microsecond=0)
        end_time = end_time.replace(microsecond=0)
        if start_time >= end_time:
            raise InvalidParameterValue("The parameter StartTime must be less than the parameter EndTime.")
        wanted = _dims(dimensions)
        data = sorted(
            (md for md in self.get_all_metrics()
             if md.namespace == namespace and md.name == metric_name
             and start_time <= md.timestamp < end_time
             and (not unit or md.unit == unit)
             and _dims(md.dimensions) == wanted),
            key=lambda md: md.timestamp,
        )
        out: list[Statistics] = []
        step = timedelta(seconds=period)
        bucket_start, idx = start_time, 0
        while bucket_start < end_time and idx < len(data):
            s = Statistics(stats, bucket_start)
            while idx < len(data) and data[idx].timestamp < bucket_start + step:
                s.metric_data.append(data[idx])
                s.unit = data[idx].unit
                idx += 1
            if s.metric_data:
                out.append(s)
            bucket_start += step
        return out

    CloudWatchBackend.get_metric_statistics = get_metric_statistics  # type: ignore[method-assign]


def use_template_time(origin: float, scale: float) -> None:
    """Make moto's CloudWatch and CloudWatch Logs read template time: origin + (real - origin) * scale."""
    import time
    from datetime import datetime, timezone

    import moto.cloudwatch.models as cw_models
    import moto.logs.models as logs_models

    def template_utcnow() -> datetime:
        now = origin + (time.time() - origin) * scale
        return datetime.fromtimestamp(now, timezone.utc).replace(tzinfo=None)

    cw_models.utcnow = template_utcnow  # type: ignore[attr-defined]
    logs_models.utcnow = template_utcnow  # type: ignore[attr-defined]
