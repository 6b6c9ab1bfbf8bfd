"""The audit log: one function that every service calls, and the hook that records refused look-ups."""
from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session

from lms.auth.models import AuditEvent
from lms.scoping import on_denied

log = logging.getLogger("lms.audit")
_request_id_provider = [lambda: ""]


def set_request_id_provider(fn) -> None:
    _request_id_provider[0] = fn


def record(
    session: Session,
    actor: Any,
    action: str,
    obj: Any = None,
    *,
    object_type: str | None = None,
    object_id: Any = None,
    **detail: Any,
) -> AuditEvent:
    """Add an audit event to the caller's transaction. ``detail`` must hold no personal data."""
    event = AuditEvent(
        actor_id=getattr(actor, "id", None),
        action=action,
        object_type=object_type or (type(obj).__name__ if obj is not None else ""),
        object_id=str(object_id if object_id is not None else getattr(obj, "id", "") or ""),
        detail=detail,
        request_id=_request_id_provider[0](),
    )
    session.add(event)
    return event


def _record_denied(session: Session, user: Any, model: type, pk: Any) -> None:
    # Written in its own transaction: the request that triggered it is about to fail with 404 and roll back.
    log.warning("access denied: user=%s model=%s id=%s", getattr(user, "id", None), model.__name__, pk)
    bind = session.get_bind()
    from sqlalchemy.orm import Session as _S

    try:
        with _S(bind=bind) as s:
            record(s, user, "access_denied", object_type=model.__name__, object_id=pk)
            s.commit()
    except Exception:  # the refusal itself must never fail because its log entry could not be written
        log.exception("could not record an access_denied event")


on_denied(_record_denied)
