"""Benchmarks at provincial scale (issue 9): ``python -m bench`` (``make bench``).

Every figure is a ratio against a bare WSGI endpoint served by the same gunicorn configuration and driven by
the same client in the same run, because the machines are noisy. Nothing here is a test: no test asserts on time.
"""
