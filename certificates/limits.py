"""Rate limits of the public verification surfaces (per client address; the holder check also per certificate)."""
from __future__ import annotations

from functools import wraps

from flask import current_app, request

from lms.extensions import limiter
from lms.ratelimit import single_hit


def verify_limit() -> str:
    return current_app.config["CERT_VERIFY_RATE_LIMIT"]


def holder_limit() -> str:
    return current_app.config["CERT_HOLDER_CHECK_RATE_LIMIT"]


def holder_per_certificate_limit() -> str:
    return current_app.config["CERT_HOLDER_CHECK_PER_CERTIFICATE_LIMIT"]


# One budget per address for the page and the JSON: enumerating ids through either costs the same.
verify_rate = limiter.shared_limit(verify_limit, scope="cert-verify")
holder_rate = limiter.shared_limit(holder_limit, scope="cert-holder-check")
holder_rate_per_certificate = limiter.shared_limit(
    holder_per_certificate_limit, scope="cert-holder-check-cid",
    key_func=lambda: "cid:" + str((request.view_args or {}).get("cid", "")))


def verify_rate_get(view):
    """``verify_rate`` for the verification page's and JSON's GET (issue 20): the same budget counted with one
    storage call (``lms.ratelimit.single_hit``), the same headers and 429; other methods, and any rate-limit set-up
    ``single_hit`` does not handle, go through Flask-Limiter's ``verify_rate``."""
    limited = verify_rate(view)

    @wraps(view)
    def check(*args, **kwargs):
        if request.method in ("GET", "HEAD") and single_hit(limiter, verify_limit(), "cert-verify"):
            return current_app.ensure_sync(view)(*args, **kwargs)
        return limited(*args, **kwargs)
    return check
