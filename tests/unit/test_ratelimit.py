"""The default rate-limit storage: limits hold, counters expire, and no thread is started per request."""
import threading
import time

from limits import parse
from limits.strategies import FixedWindowRateLimiter

from lms.ratelimit import LocalMemoryStorage


def test_limit_holds_and_expires_without_starting_threads():
    storage = LocalMemoryStorage()
    limiter = FixedWindowRateLimiter(storage)
    item = parse("3 per second")
    before = {t.ident for t in threading.enumerate()}
    assert [limiter.hit(item, "phone-1") for _ in range(4)] == [True, True, True, False]
    assert limiter.hit(item, "phone-2")  # another key has its own budget
    assert {t.ident for t in threading.enumerate()} <= before
    time.sleep(1.1)  # the window and the sweep interval pass
    assert limiter.hit(item, "phone-1")  # a new window
    # the sweep on that hit dropped phone-2's expired counter
    assert not any("phone-2" in key for key in storage.storage)


def test_the_app_uses_it_by_default(app):
    (limiter,) = app.extensions["limiter"]
    assert isinstance(limiter.storage, LocalMemoryStorage)
