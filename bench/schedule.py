"""Every length, count and pause of ``python -m bench``'s workloads, in one place (issue 20: a quick run,
``BENCH_SCALE=0.05 make bench``, in under 3 minutes).

``FULL`` is the record's schedule (``BENCH_TIME=1``): the values ``bench/__main__.py`` and the workloads used
before this module, unchanged. ``schedule(tf)`` derives a run's schedule from it with the time factor ``tf``
(``BENCH_TIME``; a quick run's default is ``QUICK_TIME``, an eighth):

- durations that were already scaled (wrk's runs, autosave, the pool search, the bureau's pages, the check-in's
  tail, issuing) keep their formulas;
- the lengths that stayed fixed at any ``tf`` (the check-in's first burst of 300 in 5 s, the 500 submissions in
  5 s, issuing's idle wrk run of 10 s, the bureau's 3 downloads of each export, a server's 4 s to settle) shrink
  with ``k = min(tf, 1)``: a burst or an open-loop schedule keeps its RATE and its concurrency and lasts ``k`` of
  the time (fewer requests), so that a quick figure measures the same thing over fewer seconds. At ``tf ≥ 1``
  they are the record's, exactly (``tests/unit/test_bench_schedule.py``).

What does not shrink: the 500 exam starters (the figure is the burst of 500 at the bell), wrk's 64 connections and
every workload's concurrency, and the floors below which a figure says nothing (2 s of wrk, 5 s of wrk while
issuing, one download of each export).
"""
from __future__ import annotations

# A quick run's time factor unless ``BENCH_TIME`` says (it was a quarter). At a quarter, with the rest of issue 20's
# changes, each step's seconds add up to about 3 min 45 s on the quiet 2-core machine; at an eighth to under
# 3 minutes (the schedule then asks for about 45 s of clocks per database, against about 75 s at a quarter; the
# rest is preparing the data, starting servers and each workload's work before and after its clock).
QUICK_TIME = 0.125

FULL = {
    "wrk_s": 10,  # each of the verification workload's five wrk runs (bare WSGI, bare Flask, /healthz, page, JSON)
    "connections": 64,
    "exam_starters": 500,
    "autosave_s": 20.0, "autosave_bare_s": 8.0, "autosave_users": 64,
    "submissions": 500, "submissions_s": 5.0,  # the same rate as the 1,000 in 10 s
    "checkin_burst": 300, "checkin_burst_s": 5.0,
    "checkin_tail": 400, "checkin_tail_s": 55 * 400 / 1200,  # the tail rate, 1,200 in 55 s
    "issuing_s": 40, "issuing_idle_s": 10, "issuing_connections": 16, "issuing_limit": 5000,
    "issuing_worker_start_s": 2.0,  # the issue worker imports and starts its job before wrk measures "during"
    "search_s": 20.0, "search_bare_s": 8.0, "search_users": 16,
    "bureau_s": 15.0, "bureau_bare_s": 5.0, "bureau_users": 8, "bureau_export_runs": 3,
    "server_settle_s": 4.0,  # after a gunicorn first answers: its other workers finish booting
}


def schedule(tf: float) -> dict:
    """The schedule at time factor ``tf`` (see the module's doc); ``schedule(1) == FULL``."""
    f = FULL
    k = min(tf, 1.0)
    burst_s = f["checkin_burst_s"] * k
    sub_s = f["submissions_s"] * k
    issuing_s = int(f["issuing_s"] * tf)
    return {
        "wrk_s": max(2, int(f["wrk_s"] * tf)),
        "connections": f["connections"],
        "exam_starters": f["exam_starters"],
        "autosave_s": f["autosave_s"] * tf, "autosave_bare_s": f["autosave_bare_s"] * tf,
        "autosave_users": f["autosave_users"],
        # Open loops at the record's rate (100 a second; 60 a second): ``k`` of the requests over ``k`` of the time.
        "submissions": max(1, round(f["submissions"] * k)), "submissions_s": sub_s,
        "checkin_burst": max(1, round(f["checkin_burst"] * k)), "checkin_burst_s": burst_s,
        "checkin_tail": int(f["checkin_tail"] * tf), "checkin_tail_s": f["checkin_tail_s"] * tf,
        "issuing_s": issuing_s, "issuing_idle_s": min(issuing_s, max(2, int(f["issuing_idle_s"] * k))),
        "issuing_connections": f["issuing_connections"], "issuing_limit": f["issuing_limit"],
        "issuing_worker_start_s": f["issuing_worker_start_s"],
        "search_s": f["search_s"] * tf, "search_bare_s": f["search_bare_s"] * tf, "search_users": f["search_users"],
        "bureau_s": f["bureau_s"] * tf, "bureau_bare_s": f["bureau_bare_s"] * tf, "bureau_users": f["bureau_users"],
        "bureau_export_runs": max(1, round(f["bureau_export_runs"] * k)),
        "server_settle_s": f["server_settle_s"] * k,
    }
