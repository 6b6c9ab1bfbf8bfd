"""What the scheduler tests may expect of a real scheduler started for a few seconds of wall-clock time."""
from __future__ import annotations

import datetime as dt

from apscheduler.triggers.interval import IntervalTrigger


def fires_between(trigger, start: dt.datetime, end: dt.datetime) -> int:
    """How many times ``trigger`` may legitimately fire in [start, end]: a job every 15 minutes, say, fires again
    if the test happens to straddle one of its minutes, besides the run the scheduler makes of every missed job at
    start. An interval counts from the scheduler's own start (inside the window): at most the window over it."""
    if isinstance(trigger, IntervalTrigger):
        return int((end - start) / trigger.interval)
    n, fire = 0, trigger.get_next_fire_time(None, start)
    while fire is not None and fire <= end:
        n, fire = n + 1, trigger.get_next_fire_time(fire, fire + dt.timedelta(seconds=1))
    return n


def allowed_runs(registry: dict, start: dt.datetime, end: dt.datetime) -> dict[str, int]:
    """Each job's most runs in the window: its start-up catch-up, plus its own fire times inside the window."""
    return {job_id: 1 + fires_between(j.trigger, start, end) for job_id, j in registry.items()}


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)
