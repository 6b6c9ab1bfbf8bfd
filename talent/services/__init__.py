"""The talent pool's rules, one module a concept:

- ``status``: an entry's status changes (logged with a cause) and the bureau's decisions and disqualifications;
- ``entries``: entering the pool from certificates, placed by the enterprise's region (moves are events),
  renewing certificates of CQOs not lapsed, and leaving the pool when they stop being in force;
- ``standing``: THE definition of a compliant continuing-education year, the standings, restoring an entry;
- ``rollup``: the year-end roll-up (warning, lapsed, restored), set-based and in chunks;
- ``appointments``: appointment and change registrations (登记表) and their deadlines;
- ``notices``: publishing a public notice (公示), its objections and their resolution, closing it;
- ``sanctions``: warnings, suspensions and disqualifications (one model), and the standing a verifier sees;
- ``accounts``: enterprise accounts (opened by a bureau, or self-registered and approved);
- ``evaluation``: the indicator tree and evaluations (stars);
- ``reminders``: the daily reminders, before each deadline.

Read models (the pool list, the export, notices' search) are in ``talent.queries``. Re-exported here for the
features after talent and for callers not yet on the signals: ``standings`` and ``compliance_by_region`` (reports' dashboard) and the two
functions the certificates package still calls directly until it sends ``certificates.signals`` instead.
"""
from __future__ import annotations

from talent.services.entries import on_certificate_issued, on_certificate_status_changed
from talent.services.standing import RegionCompliance, compliance_by_region, standings

__all__ = ["RegionCompliance", "compliance_by_region", "on_certificate_issued", "on_certificate_status_changed",
           "standings"]
