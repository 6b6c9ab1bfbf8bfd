"""``python -m bench.prepare <scale>``: one database's schema, signing key, demo data and generated data
(``bench.generate``), in a process of its own, for the settings in its environment (``DATABASE_URL``,
``FIELD_ENCRYPTION_KEY``, ``CERT_KEY_DIR``… as ``bench/__main__.py`` sets them). Prints one JSON line: what
``generate`` returned and the two steps' seconds.

A quick run (``BENCH_SCALE`` < 1) prepares SQLite and PostgreSQL this way at once (issue 20: the generator is
single-threaded Python and the machine has 2 cores); nothing is measured while it runs. A full-scale run keeps
preparing each database in ``python -m bench``'s own process, just before its workloads, as before."""
from __future__ import annotations

import dataclasses
import json
import sys
import time


def main(argv: list[str]) -> int:
    scale = float(argv[1])
    from bench.generate import generate, prepare_database
    from lms.app import create_app

    app = create_app({"CERT_VERIFY_RATE_LIMIT": "100000000 per hour"})
    t = time.monotonic()
    prepare_database(app)
    demo_s = time.monotonic() - t
    t = time.monotonic()
    gen = generate(app, scale)
    gen_s = time.monotonic() - t
    print(json.dumps({"generated": dataclasses.asdict(gen), "schema_and_demo_s": round(demo_s, 1),
                      "generating_s": round(gen_s, 1)}, ensure_ascii=False, default=str), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
