"""The baselines, served by the same gunicorn configuration as the platform (``gunicorn.conf.py``), in the same run:

- ``app``: a trivial WSGI app (what gunicorn itself can do);
- ``flask_app``: a one-route Flask app returning the same JSON (issue 20: what Flask itself costs). The platform's
  pages and verification answers are judged against it, ``/healthz`` first (the platform's floor)."""
import json

from flask import Flask, Response

BODY = b'{"status": "valid"}'


def app(environ, start_response):
    if environ.get("REQUEST_METHOD") == "POST":  # read the body like the platform does
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length:
            environ["wsgi.input"].read(length)
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))])
    return [BODY]


flask_app = Flask("bench_bare")


@flask_app.route("/", defaults={"path": ""}, methods=["GET", "POST"])
@flask_app.route("/<path:path>", methods=["GET", "POST"])
def _same_json(path: str):
    """Any path: the wrk path lists of the verification pages work unchanged against it."""
    return Response(json.dumps({"status": "valid"}), mimetype="application/json")
