"""The platform as gunicorn serves it in the benchmark: ``wsgi.py`` plus one change. Every benchmark client
comes from 127.0.0.1, so the per-address verification limit (1,000 an hour, meant for one phone or one
scraper) would answer 429 after a second; it is raised, not removed, so the limiter's own cost stays measured."""
from lms.app import create_app

app = create_app({"CERT_VERIFY_RATE_LIMIT": "100000000 per hour"})
