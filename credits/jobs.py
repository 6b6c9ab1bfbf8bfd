"""Continuing education has no scheduled job of its own: the reminders about hours and the annual report, and
the year-end roll-up that judges a year's credits, belong to the talent pool (``talent/jobs.py``), whose
standing they change."""
