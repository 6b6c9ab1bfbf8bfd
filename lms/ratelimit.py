"""The in-process rate-limit storage (the default; set ``RATELIMIT_STORAGE_URI`` to a shared store such as
``redis://`` when several servers must share one budget, see the README)."""
from __future__ import annotations

import threading
import time

from limits.storage import MemoryStorage


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
