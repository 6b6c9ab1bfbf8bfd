"""The in-process rate-limit storage (the default; set ``RATELIMIT_STORAGE_URI`` to a shared store such as
``redis://`` when several servers must share one budget, see the README)."""
from __future__ import annotations

import threading
import time

from flask import after_this_request, request
from flask_limiter import HeaderNames
from flask_limiter.errors import RateLimitExceeded
from limits import parse_many
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter


class LocalMemoryStorage(MemoryStorage):
    """``limits``' memory storage without its timer thread.

    ``MemoryStorage`` drops expired counters from a 10 ms ``threading.Timer`` that it starts again whenever the
    previous one has finished: once a process sees fewer than a hundred rate-limited requests a second, that is a
    new thread per request (about a tenth of a certificate verification page in cProfile). Counters are checked
    for expiry when read in any case; this storage only sweeps the expired ones inline, at most once a second.
    ``limits`` is pinned in requirements.txt because this overrides one of its private methods."""

    STORAGE_SCHEME = ["lms-memory"]
    SWEEP_SECONDS = 1.0

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.timer.cancel()
        self._sweep_lock = threading.Lock()
        self._next_sweep = time.monotonic() + self.SWEEP_SECONDS

    def _MemoryStorage__schedule_expiry(self) -> None:  # replaces the timer-thread start
        now = time.monotonic()
        if now >= self._next_sweep and self._sweep_lock.acquire(blocking=False):
            try:
                self._next_sweep = now + self.SWEEP_SECONDS
                self._MemoryStorage__expire_events()
            finally:
                self._sweep_lock.release()

    def incr_with_expiry(self, key: str, expiry: float, amount: int = 1) -> tuple[int, float]:
        """``incr`` and the window's end in one call (``single_hit``: the X-RateLimit headers without a read)."""
        count = self.incr(key, expiry, amount)
        return count, self.expirations.get(key, time.time() + expiry)


# ------------------------------------------------------------------ one fixed-window limit, one storage call
# Flask-Limiter checks a decorated limit through its request context (limits resolved, filtered, evaluated), then
# reads the window twice more for the X-RateLimit headers: four storage calls and ~300 Python calls a request. The
# public certificate verification GETs (issue 20) check their one limit here instead: the same counter (the key
# Flask-Limiter builds for a shared limit: ``LIMITER/<address>/<scope>/<amount>/<multiples>/<granularity>``), so
# the budget stays shared with the routes Flask-Limiter still checks, one ``incr_with_expiry`` call, and the same
# headers (X-RateLimit-Limit, -Remaining, -Reset, Retry-After) and 429. Anything else — another storage (Redis),
# another strategy, several limits in the setting, request filters or breach callbacks, the limiter disabled or its
# storage down — returns None and the caller goes through Flask-Limiter as before.
_items: dict[str, list] = {}
# A request counted before Flask saw it (lms.fastpath: the verification GETs' WSGI-level path counts, then hands a
# request over, e.g. past the limit for the 429 page): the environ carries (scope, item, count, reset), and
# ``single_hit`` uses them instead of counting the request twice.
PRECOUNTED = "lms.ratelimit.precounted"
# Flask-Limiter's header names unrenamed, as ``init_app`` maps them (one key a ``HeaderNames``): compared as one dict,
# where a generator over the enum was ~6 Python calls on every counted request (issue 20, cProfile).
_STANDARD_HEADERS = {h: h.value for h in HeaderNames}


def _handled(limiter, limit_value: str):
    """The one limit ``limit_value`` stands for, if ``single_hit`` can count it with one storage call; else None."""
    storage = limiter._storage  # noqa: SLF001  (Flask-Limiter 4.1's attribute, pinned in requirements.txt)
    if (not limiter.enabled or limiter._storage_dead or not isinstance(storage, LocalMemoryStorage)  # noqa: SLF001
            or type(limiter.limiter) is not FixedWindowRateLimiter or not limiter._headers_enabled  # noqa: SLF001
            or limiter._meta_limits or limiter._request_filters or limiter._on_breach  # noqa: SLF001
            or limiter._retry_after not in (None, "delta-seconds")  # noqa: SLF001
            or limiter._header_mapping != _STANDARD_HEADERS):  # noqa: SLF001
        return None
    items = _items.get(limit_value)
    if items is None:
        items = _items[limit_value] = list(parse_many(limit_value))
    return items[0] if len(items) == 1 else None


def count(limiter, limit_value: str, scope: str, key: str):
    """Count one request of the client ``key`` (what the limiter's key function gives) against ``limit_value``
    under ``scope``: (item, count, window's end), or None when ``single_hit`` would not handle it (nothing
    counted). Needs no request context (lms.fastpath)."""
    item = _handled(limiter, limit_value)
    if item is None:
        return None
    n, reset = limiter._storage.incr_with_expiry(item.key_for(key, scope), item.get_expiry())  # noqa: SLF001
    return item, n, reset


def headers(item, n: int, reset: float) -> list[tuple[str, str]]:
    """The X-RateLimit headers and Retry-After of a counted request, as Flask-Limiter writes them."""
    reset_at = int(reset + 1)
    return [("X-RateLimit-Limit", str(item.amount)), ("X-RateLimit-Remaining", str(max(0, item.amount - n))),
            ("X-RateLimit-Reset", str(reset_at)), ("Retry-After", str(int(reset_at - now())))]


def now() -> float:
    """The clock of Retry-After (a test holds it still to compare two answers byte for byte)."""
    return time.time()


def single_hit(limiter, limit_value: str, scope: str) -> bool | None:
    """Count one request against ``limit_value`` (a Flask-Limiter limit string) shared under ``scope``; True when
    within it (the headers are added to the response), raises 429 past it; None when not handled here."""
    pre = request.environ.get(PRECOUNTED)
    if pre is not None and pre[0] == scope:
        _scope, item, n, reset = pre
        del request.environ[PRECOUNTED]
    else:
        counted = count(limiter, limit_value, scope, limiter._key_func())  # noqa: SLF001
        if counted is None:
            return None
        item, n, reset = counted
    pairs = headers(item, n, reset)

    def add_headers(response):
        h = response.headers
        for name, value in pairs[:3]:
            h.add(name, value)
        h.set(*pairs[3])
        return response
    after_this_request(add_headers)
    if n > item.amount:
        raise RateLimitExceeded(_Breached(item))
    return True


class _Breached:
    """What ``RateLimitExceeded`` reads of a breached limit (its message is the limit, as Flask-Limiter's)."""
    error_message = None

    def __init__(self, item) -> None:
        self.limit = item
