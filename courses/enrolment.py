"""The former home of enrolment, kept as an import path for other features and tools: the use cases live in
``courses.services.enrolment``."""
from __future__ import annotations

from courses.services.enrolment import (
    ACTIVE, NotEligible, apply, approve, approved_count, enrolment_open_condition, is_enrolment_open,
    promote_waitlist, reject, withdraw,
)

__all__ = ["ACTIVE", "NotEligible", "apply", "approve", "approved_count", "enrolment_open_condition",
           "is_enrolment_open", "promote_waitlist", "reject", "withdraw"]
