"""What continuing education tells the features after it (talent), as named blinker signals. Sent with keyword
arguments, always with the database ``session``; receivers are connected by the receiving feature's
``wiring.init_app`` and must be idempotent:

- ``credits_changed(sender, session=, user_id=, year=)``: hours were credited to a person for a year (a
  system credit awarded, an external claim approved);
- ``annual_report_filed(sender, session=, user_id=, year=)``: a person filed (or refiled) a year's report;
- ``credits_changed_many(sender, session=, user_ids=, year=)``: ``credits_changed`` for several people at once
  (the credits of a batch of certificates issued in bulk, issue 20), sent instead of one each; every receiver
  of ``credits_changed`` connects to it too.
"""
from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

credits_changed = _signals.signal("credits-changed")
annual_report_filed = _signals.signal("annual-report-filed")
credits_changed_many = _signals.signal("credits-changed-many")
