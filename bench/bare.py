"""The baseline: a trivial WSGI app served by the same gunicorn configuration as the platform."""

BODY = b'{"status": "valid"}'


def app(environ, start_response):
    if environ.get("REQUEST_METHOD") == "POST":  # read the body like the platform does
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length:
            environ["wsgi.input"].read(length)
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))])
    return [BODY]
