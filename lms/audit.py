"""The audit log: one function that every service calls, and the hook that records refused look-ups."""
from __future__ import annotations

import logging
from typing import Any

from flask import g, has_app_context
from sqlalchemy.orm import Session

from lms import auditchain  # noqa: F401  (chains every audit event as it is flushed: lms.auditchain)
from lms.auth.models import AuditEvent
from lms.db import utcnow
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
    event = new_event(actor, action, obj, object_type=object_type, object_id=object_id, **detail)
    session.add(event)
    return event


def new_event(actor: Any, action: str, obj: Any = None, *, object_type: str | None = None, object_id: Any = None,
              **detail: Any) -> AuditEvent:
    """The event ``record`` adds, not yet in a session: a caller working in bulk adds several at once, so that
    one flush chains them together (one chain-head lock and one advance instead of one each: issue 20, issuing).
    Its time is now, not when it is added."""
    return AuditEvent(
        actor_id=getattr(actor, "id", None),
        action=action,
        object_type=object_type or (type(obj).__name__ if obj is not None else ""),
        object_id=str(object_id if object_id is not None else getattr(obj, "id", "") or ""),
        detail=detail,
        request_id=_request_id_provider[0](),
        at=utcnow(),
    )


def _record_denied(session: Session, user: Any, model: type, pk: Any) -> None:
    """A look-up outside the user's scope. In a request, the refusal is queued on ``g`` and written by
    ``flush_denied`` after the request's own work is rolled back (the request ends in a 404, so nothing it
    did may stay, but the refusal must). Outside a request it joins the caller's transaction."""
    log.warning("access denied: user=%s model=%s id=%s", getattr(user, "id", None), model.__name__, pk)
    if has_app_context():
        g.setdefault("denied_events", []).append((getattr(user, "id", None), model.__name__, str(pk)))
    else:
        record(session, user, "access_denied", object_type=model.__name__, object_id=pk)


def flush_denied(session: Session) -> None:
    """Roll back the request's work and commit the queued refusals (called by the error handlers)."""
    events = g.pop("denied_events", None)
    if not events:
        return
    try:
        session.rollback()
        for actor_id, object_type, object_id in events:
            session.add(AuditEvent(actor_id=actor_id, action="access_denied", object_type=object_type,
                                   object_id=object_id, detail={}, request_id=_request_id_provider[0]()))
        session.commit()
    except Exception:  # the refusal itself must never fail because its log entry could not be written
        session.rollback()
        log.exception("could not record access_denied events")


on_denied(_record_denied)
