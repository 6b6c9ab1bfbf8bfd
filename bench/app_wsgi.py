"""The platform as gunicorn serves it in the benchmark: ``wsgi.py`` plus one change. Every benchmark client
comes from 127.0.0.1, so the per-address verification limit (1,000 an hour, meant for one phone or one
scraper) would answer 429 after a second; it is raised, not removed, so the limiter's own cost stays measured.

``BENCH_VERIFY_FAST_PATH=0`` turns the verification GETs' WSGI-level path off (``CERT_VERIFY_FAST_PATH``), to
compare the two in quick runs."""
import os

from lms.app import create_app

app = create_app({"CERT_VERIFY_RATE_LIMIT": "100000000 per hour",
                  "CERT_VERIFY_FAST_PATH": os.environ.get("BENCH_VERIFY_FAST_PATH", "1") != "0"})
