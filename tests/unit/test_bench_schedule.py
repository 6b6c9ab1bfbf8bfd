"""Issue 20, quick runs: the workloads' schedule (``bench/schedule.py``). At full scale (time factor 1, the record)
it is exactly what ``python -m bench`` ran before it existed; below, each length derives from the record's by the
time factor, bursts and open loops at the record's rate. No clock is read: these check the parameters, and that
``bench.__main__.run_backend`` hands them to the workloads."""
from __future__ import annotations

import contextlib
import math

import pytest

import bench.__main__ as bench_main
from bench import schedule as sched_mod
from bench.generate import Generated
from bench.schedule import FULL, schedule

# What bench/__main__.py and the workloads used before the schedule had a module of its own (commit b84d342):
# verification max(2, int(10 * tf)) s of wrk at 64 connections; 500 exam starters; autosave 20 × tf / 8 × tf s,
# 64 users; submissions: every attempt (500) over 5.0 s; check-in 300 in 5.0 s then int(400 × tf) in
# 55 × 400 / 1200 × tf s; issuing int(40 × tf) s, idle wrk min(seconds, 10) s, 16 connections, 5,000 at most, 2 s
# for the worker to start; pool search 20 × tf / 8 × tf s, 16 users; bureau 15 × tf / 5 × tf s, 8 users, 3 downloads
# of each export; 4 s for a server to settle.
RECORD = {"wrk_s": 10, "connections": 64, "exam_starters": 500, "autosave_s": 20.0, "autosave_bare_s": 8.0,
          "autosave_users": 64, "submissions": 500, "submissions_s": 5.0, "checkin_burst": 300, "checkin_burst_s": 5.0,
          "checkin_tail": 400, "checkin_tail_s": 55 * 400 / 1200, "issuing_s": 40, "issuing_idle_s": 10,
          "issuing_connections": 16, "issuing_limit": 5000, "issuing_worker_start_s": 2.0, "search_s": 20.0,
          "search_bare_s": 8.0, "search_users": 16, "bureau_s": 15.0, "bureau_bare_s": 5.0, "bureau_users": 8,
          "bureau_export_runs": 3, "server_settle_s": 4.0}

SCALED = ["autosave_s", "autosave_bare_s", "checkin_tail_s", "search_s", "search_bare_s", "bureau_s", "bureau_bare_s",
          "submissions_s", "checkin_burst_s", "server_settle_s"]
FIXED = ["connections", "exam_starters", "autosave_users", "issuing_connections", "issuing_limit", "search_users",
         "bureau_users", "issuing_worker_start_s"]


def test_20q_full_scale_schedule_is_the_record():
    assert FULL == RECORD
    assert schedule(1) == RECORD
    # A longer run (BENCH_TIME > 1) stretches what it always stretched, never the record's fixed bursts.
    two = schedule(2)
    for key in ("submissions", "submissions_s", "checkin_burst", "checkin_burst_s", "issuing_idle_s",
                "bureau_export_runs", "server_settle_s", *FIXED):
        assert two[key] == RECORD[key], key
    assert two["autosave_s"] == 40 and two["issuing_s"] == 80 and two["wrk_s"] == 20


@pytest.mark.parametrize("tf", [0.25, 0.1, 0.5])
def test_20q_quick_schedule_derives_from_the_record_by_the_time_factor(tf):
    s = schedule(tf)
    assert set(s) == set(RECORD)
    for key in SCALED:
        assert s[key] == pytest.approx(RECORD[key] * tf), key
    for key in FIXED:
        assert s[key] == RECORD[key], key
    # Same rates: the open loops send the record's requests per second, over fewer seconds.
    assert s["submissions"] / s["submissions_s"] == pytest.approx(RECORD["submissions"] / RECORD["submissions_s"],
                                                                  rel=0.02)
    assert s["checkin_burst"] / s["checkin_burst_s"] == pytest.approx(
        RECORD["checkin_burst"] / RECORD["checkin_burst_s"], rel=0.02)
    assert s["checkin_tail"] / s["checkin_tail_s"] == pytest.approx(
        RECORD["checkin_tail"] / RECORD["checkin_tail_s"], rel=0.02)
    # wrk takes whole seconds; under 2 s (5 s while issuing) a figure says nothing.
    assert s["wrk_s"] == max(2, int(RECORD["wrk_s"] * tf))
    assert s["issuing_s"] == int(RECORD["issuing_s"] * tf)
    assert s["issuing_idle_s"] == min(s["issuing_s"], max(2, int(RECORD["issuing_idle_s"] * tf)))
    assert s["bureau_export_runs"] == max(1, round(RECORD["bureau_export_runs"] * tf))
    assert all(s[k] <= RECORD[k] for k in RECORD), "a quick run never runs longer than the record"


def test_20q_quick_schedule_is_shorter_by_the_factor_overall():
    """The seconds the schedule itself asks for (both clients' runs of each workload) shrink by about the factor."""
    def seconds(s):
        return (5 * s["wrk_s"] + s["autosave_s"] + s["autosave_bare_s"] + 2 * s["submissions_s"]
                + 2 * (s["checkin_burst_s"] + s["checkin_tail_s"]) + s["issuing_idle_s"] + s["issuing_s"]
                + s["search_s"] + s["search_bare_s"] + 4 * s["bureau_s"] + s["bureau_bare_s"] + s["server_settle_s"])

    assert seconds(schedule(0.25)) < 0.3 * seconds(schedule(1))
    # The quick run's default: an eighth (the 3-minute goal), never longer than a quarter.
    assert sched_mod.QUICK_TIME <= 0.25
    assert seconds(schedule(sched_mod.QUICK_TIME)) < 0.2 * seconds(schedule(1))
    assert math.isclose(seconds(schedule(1)), seconds(RECORD))


class _Server:
    def __init__(self, target, env, log_path, settle_s=4.0):
        self.target, self.port = target, {"bench.bare:app": 1, "bench.bare:flask_app": 2}.get(target, 3)

    def log_text(self):
        return ""


@pytest.mark.parametrize("tf", [1, 0.25])
def test_20q_run_backend_hands_the_schedule_to_the_workloads(tf, tmp_path, monkeypatch):
    """``run_backend`` with its database, servers and workloads replaced by recorders: every workload receives the
    schedule's values (at tf 1, the record's)."""
    for key in ("DATABASE_URL", "SECRET_KEY", "FIELD_ENCRYPTION_KEY", "CERT_KEY_DIR", "UPLOAD_DIR",
                "LMS_INSTANCE_PATH", "PUBLIC_BASE_URL", "LOG_LEVEL"):
        monkeypatch.setenv(key, "x")  # run_backend sets them for its servers; monkeypatch puts them back
    monkeypatch.setattr(bench_main, "RESULTS", tmp_path)
    calls: dict = {}
    settles = []

    @contextlib.contextmanager
    def servers(*srv, settle_s, while_booting=None):
        settles.append(settle_s)
        yield srv

    def recorder(name, result=None):
        def fn(*args, **kwargs):
            calls[name] = (args, kwargs)
            return dict(result or {})
        return fn

    monkeypatch.setattr(bench_main, "Gunicorn", _Server)
    monkeypatch.setattr(bench_main, "Servers", servers)
    monkeypatch.setattr(bench_main, "prepare_database", lambda app: None)
    monkeypatch.setattr(bench_main, "generate", lambda app, scale: Generated(scale=scale, sizes={}))
    monkeypatch.setattr(bench_main.report, "figure_rows", lambda out: [])
    w, wp, wb = bench_main.workloads, bench_main.workloads_pool, bench_main.workloads_bureau
    monkeypatch.setattr(w, "verification", recorder("verification"))
    monkeypatch.setattr(w, "exam_start", recorder("exam_start", {"_attempts": {1: 1}, "_logins": {1: {}}}))
    for mod, name in ((w, "autosave"), (w, "submissions"), (w, "checkins"), (w, "issuing"), (wp, "talent_search"),
                      (wp, "rollup"), (wb, "bureau")):
        monkeypatch.setattr(mod, name, recorder(name))
    out = bench_main.run_backend("sqlite", 0.05, tf, lambda msg: None)
    s = schedule(tf)
    assert settles == [s["server_settle_s"]]
    assert calls["verification"][0][4:] == (s["wrk_s"], s["connections"])
    assert calls["exam_start"][0][4:] == (s["exam_starters"],)
    assert calls["autosave"][0][6:] == (s["autosave_s"], s["autosave_bare_s"], s["autosave_users"])
    assert calls["submissions"][0][6:] == (s["submissions_s"], s["submissions"])
    assert calls["checkins"][0][4:] == (s["checkin_burst"], s["checkin_burst_s"], s["checkin_tail"],
                                        s["checkin_tail_s"])
    assert calls["issuing"][0][5:] == (s["issuing_s"], s["issuing_connections"], s["issuing_limit"])
    assert calls["issuing"][1] == {"idle_seconds": s["issuing_idle_s"], "worker_start_s": s["issuing_worker_start_s"]}
    assert calls["talent_search"][0][4:] == (s["search_s"], s["search_bare_s"], s["search_users"])
    assert calls["bureau"][0][4:] == (s["bureau_s"], s["bureau_bare_s"], s["bureau_users"], s["bureau_export_runs"])
    assert set(out["steps"]) >= {"schema_and_demo", "generating", "servers_start", "verification", "bureau",
                                 "servers_stop"}
    if tf == 1:  # the record's numbers, spelled out
        assert calls["checkins"][0][4:] == (300, 5.0, 400, 55 * 400 / 1200)
        assert calls["submissions"][0][6:] == (5.0, 500)
        assert calls["verification"][0][4] == 10 and calls["bureau"][0][7] == 3


def test_20q_schedule_module_has_no_clock():
    assert "time" not in vars(sched_mod)
