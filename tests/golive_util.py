"""Helpers of the go-live tests (issue 19)."""
from __future__ import annotations

import time

from sqlalchemy.exc import DBAPIError

from tests import dbutil


def fresh_url(base_url: str, suffix: str, tmp_dir) -> str:
    """``dbutil.fresh_url``, retried: on PostgreSQL an autovacuum worker may still be busy in a database a
    previous run restored into, and DROP DATABASE … WITH (FORCE) may not end another role's process."""
    for attempt in range(20):
        try:
            return dbutil.fresh_url(base_url, suffix, tmp_dir)
        except DBAPIError:
            if attempt == 19:
                raise
            time.sleep(1)
    raise AssertionError("unreachable")
