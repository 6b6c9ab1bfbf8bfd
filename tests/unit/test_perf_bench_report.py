"""The bench's results rows (issue 20): one per registered figure, with goal, measured, baseline, ratio and pass
computed from a workload's result; a workload that did not run or failed says so; another module's figure plugs in
through the registry. Synthetic results: no server, no clock."""
from __future__ import annotations

from bench import report


def _wrk(rps, p95=10.0, errors=0):
    return {"rps": rps, "p95_ms": p95, "errors": errors}


def test_perf_bench_rows_judge_against_bare_flask():
    backend = {"figures": {"verification": {"bare": _wrk(10000), "bare_flask": _wrk(6000), "floor": _wrk(3700),
                                            "json": _wrk(2900), "page": _wrk(2200, p95=60.0)}}}
    rows = {r["name"]: r for r in report.figure_rows(backend)}
    for name in ("healthz_vs_flask", "verify_json_vs_flask", "verify_page_vs_flask", "exam_start", "autosave",
                 "issuing_5000", "rollup", "talent_search"):
        assert {"goal", "measured", "baseline", "ratio", "pass"} <= set(rows[name]), name
    assert rows["healthz_vs_flask"]["pass"] is True and rows["healthz_vs_flask"]["ratio"] == round(3700 / 6000, 3)
    assert rows["verify_json_vs_flask"]["pass"] is False and rows["verify_json_vs_flask"]["note"]  # 0.48 < 0.5
    assert rows["verify_page_vs_flask"]["pass"] is False  # 0.37 × but p95 60 ms
    assert rows["exam_start"]["pass"] is None and rows["exam_start"]["detail"] == "not run"


def test_perf_bench_a_failed_workload_fails_its_figure_and_a_new_figure_plugs_in():
    @report.figure("test_extra", "an extra page", "p95 ≤ 300 ms", "extra")
    def _extra(w):
        return {"measured": w["p95_ms"], "baseline": None, "ratio": None, "pass": w["p95_ms"] <= 300, "unit": "ms"}

    try:
        backend = {"figures": {"talent_search": {"error": "RuntimeError: boom"}, "extra": {"p95_ms": 250.0}}}
        rows = {r["name"]: r for r in report.figure_rows(backend)}
        assert rows["talent_search"]["pass"] is False and "boom" in rows["talent_search"]["detail"]
        assert rows["test_extra"]["pass"] is True and rows["test_extra"]["measured"] == 250.0
        assert "an extra page" in "\n".join(report.figures_markdown(backend))
    finally:
        report.FIGURES.pop("test_extra", None)


def test_perf_bench_the_record_has_a_row_per_figure_on_each_database():
    """The committed record (bench/results/latest.json) has, on each database, a row for every figure the bench
    registers (bench/__main__.py imports every workload module, as a run does), each with its goal, measured,
    baseline, ratio and pass: a record re-rendered without a module's figures fails here."""
    import json
    from pathlib import Path

    import bench.__main__  # noqa: F401 (registers every workload's figures, as ``make bench`` does)

    record = json.loads((Path(report.__file__).parent / "results" / "latest.json").read_text(encoding="utf-8"))
    assert set(record["backends"]) == {"sqlite", "postgresql"}
    for name, backend in record["backends"].items():
        rows = {r["name"]: r for r in backend["rows"]}
        assert set(rows) == set(report.FIGURES), (name, sorted(set(report.FIGURES) ^ set(rows)))
        for row in rows.values():
            assert {"goal", "measured", "baseline", "ratio", "pass"} <= set(row), (name, row["name"])
