"""Errors that services raise. Views turn them into form errors, flashes or JSON; none of them is a 500."""
from __future__ import annotations


class DomainError(Exception):
    """A rule refused the request. ``message`` is for the user, in the current language."""

    status = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ValidationFailed(DomainError):
    """One or more inputs are wrong; ``errors`` maps field name to message."""

    status = 422

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__("；".join(self.errors.values()))


class NotFound(DomainError):
    """Absent, or present but outside what the user may see: both look the same from outside."""

    status = 404


class Forbidden(DomainError):
    status = 403


class Conflict(DomainError):
    status = 409


class FieldConflict(ValidationFailed):
    """A field's value is well formed but clashes with a stored record (a credit code already registered): shown
    on the field like any invalid input, answered 409 by the API (the request is right, the state refuses it)."""

    status = 409
