"""Scheduled and background jobs of courses: none. Check-in, marking and the Excel import are short enough to run
within their request; ``lms.features.import_jobs`` imports this module like every feature's."""
