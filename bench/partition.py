"""``python -m bench.partition --rows N``: the credit-record table partitioned by year against the same rows in
one table, on PostgreSQL (issue 21, docs/scaling.md). A scratch database (``BENCH_PG_DB``, default
``lms_partition``; dropped and created anew) holds three copies of ``credit_records``' columns: ``flat`` as the
application has it today, ``part`` partitioned by RANGE (year), one partition a year, with the same indexes, and
``partc`` partitioned with indexes that leave the year out and cover the roll-up. Rows are generated in SQL
(generate_series), spread over ``--years`` years and ``--people`` holders. Prints JSON: load time, sizes, and the
time of the queries the platform makes of the table (one holder's year, the year-end roll-up of one year, dropping
the oldest year) on each copy. It measures on this machine only; docs/scaling.md says which figures come from it.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time

import psycopg

COLUMNS = """id bigint NOT NULL, user_id integer NOT NULL, year integer NOT NULL, hours numeric(6,1) NOT NULL,
    subject_category varchar(12) NOT NULL, source varchar(16) NOT NULL, source_ref varchar(128) NOT NULL,
    title varchar(200) NOT NULL, created_at timestamp NOT NULL"""


def _rows_sql(table: str, rows: int, people: int, first_year: int, years: int) -> str:
    # The holder and the year are spread evenly; the reference is unique within its year (source_ref must carry the
    # year, or the unique key must: a partitioned table's unique keys include the partition key).
    return f"""INSERT INTO {table}
        SELECT g, 1 + (g::bigint * 7919) %% {people}, {first_year} + g %% {years}, ((g %% 16) + 1) / 2.0,
               CASE WHEN g %% 3 = 0 THEN 'public' ELSE 'professional' END,
               CASE WHEN g %% 4 = 0 THEN 'external' ELSE 'system' END,
               'course:' || g, '首席质量官继续教育课程 ' || (g %% 500), now()
        FROM generate_series(1, {rows}) AS g"""


def _timed(cur, sql: str, params=()) -> float:
    t = time.perf_counter()
    cur.execute(sql, params)
    if cur.description:
        cur.fetchall()
    return time.perf_counter() - t


def _size(cur, table: str) -> int:
    cur.execute("""SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c
                   WHERE c.oid = %s::regclass OR c.oid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = %s::regclass)""",
                (table, table))
    return int(cur.fetchone()[0])


def measure(dsn: str, rows: int, people: int, years: int, first_year: int = 2016) -> dict:
    out: dict = {"rows": rows, "people": people, "years": years, "postgresql": None, "tables": {}}
    rng = random.Random(21)
    with psycopg.connect(dsn, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute("SHOW server_version")
        out["postgresql"] = cur.fetchone()[0]
        cur.execute("DROP TABLE IF EXISTS flat, part, partc")
        cur.execute(f"CREATE TABLE flat ({COLUMNS})")
        # part: the application's indexes carried into each partition; partc: indexes without the year, which the
        # partition already is, and covering the roll-up's columns (docs/scaling.md, section 3)
        for table in ("part", "partc"):
            cur.execute(f"CREATE TABLE {table} ({COLUMNS}) PARTITION BY RANGE (year)")
            for y in range(first_year, first_year + years):
                cur.execute(f"CREATE TABLE {table}_{y} PARTITION OF {table} FOR VALUES FROM ({y}) TO ({y + 1})")
        for table in ("flat", "part", "partc"):
            fig: dict = {}
            fig["load_s"] = round(_timed(cur, _rows_sql(table, rows, people, first_year, years)), 1)
            t = time.perf_counter()
            key = "(id)" if table == "flat" else "(id, year)"
            cur.execute(f"ALTER TABLE {table} ADD PRIMARY KEY {key}")
            cur.execute(f"CREATE UNIQUE INDEX ON {table} (source_ref{'' if table == 'flat' else ', year'})")
            if table == "partc":
                cur.execute(f"CREATE INDEX ON {table} (user_id, subject_category, hours)")
            else:
                cur.execute(f"CREATE INDEX ON {table} (user_id, year)")
            fig["index_s"] = round(time.perf_counter() - t, 1)
            cur.execute(f"VACUUM ANALYZE {table}")
            fig["bytes"] = _size(cur, table)
            last = first_year + years - 1
            users = [rng.randint(1, people) for _ in range(300)]
            times = [_timed(cur, f"SELECT hours, subject_category FROM {table} WHERE user_id = %s AND year = %s", (u, last))
                     for u in users]
            times.sort()
            fig["holder_year_ms"] = {"median": round(times[len(times) // 2] * 1000, 3),
                                     "p99": round(times[int(len(times) * 0.99)] * 1000, 3)}
            # the best of three: the machine is shared, and the first run also warms the cache
            fig["rollup_one_year_s"] = round(min(_timed(
                cur, f"SELECT user_id, sum(hours) FROM {table} WHERE year = %s GROUP BY user_id", (last,))
                for _ in range(3)), 2)
            cur.execute("EXPLAIN SELECT user_id, sum(hours) FROM " + table + " WHERE year = %s GROUP BY user_id", (last,))
            fig["rollup_plan"] = [r[0].strip() for r in cur.fetchall()][:6]
            if table != "flat":
                fig["drop_oldest_year_s"] = round(_timed(
                    cur, f"ALTER TABLE {table} DETACH PARTITION {table}_{first_year}"), 3)
                cur.execute(f"DROP TABLE {table}_{first_year}")
            else:
                fig["delete_oldest_year_s"] = round(_timed(cur, "DELETE FROM flat WHERE year = %s", (first_year,)), 2)
            out["tables"][table] = fig
            print(f"{table}: {json.dumps(fig)}", file=sys.stderr, flush=True)
        cur.execute("DROP TABLE IF EXISTS flat, part, partc")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.partition")
    ap.add_argument("--rows", type=int, default=20_000_000)
    ap.add_argument("--people", type=int, default=200_000)
    ap.add_argument("--years", type=int, default=10)
    args = ap.parse_args(argv)
    name = os.environ.get("BENCH_PG_DB", "lms_partition")
    if not name.isidentifier():
        raise SystemExit(f"BENCH_PG_DB must be a plain identifier, not {name!r}")
    base = "host=127.0.0.1 port=5432 user=lms password=lms"
    with psycopg.connect(f"{base} dbname=postgres", autocommit=True) as c:
        c.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        c.execute(f"CREATE DATABASE {name}")
    try:
        result = measure(f"{base} dbname={name}", args.rows, args.people, args.years)
    finally:
        with psycopg.connect(f"{base} dbname=postgres", autocommit=True) as c:
            c.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
