"""Form helpers shared by the features: Chinese validator messages, select choices, service-error mapping and
the one block every form view runs (``submit``)."""
from __future__ import annotations

from typing import Any, Callable, Iterable, TypeVar

from flask import flash, redirect
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response
from wtforms import validators
from wtforms.fields.choices import SelectChoice

from lms.db import db
from lms.errors import DomainError, Forbidden, NotFound, ValidationFailed

T = TypeVar("T")


def required():
    return validators.InputRequired(message=_l("此项必填"))


def optional():
    return validators.Optional()


def length(max_: int, min_: int = 0):
    return validators.Length(min=min_, max=max_, message=_l("长度须在 %(min)d 到 %(max)d 字之间"))


def number_range(lo: int, hi: int):
    return validators.NumberRange(min=lo, max=hi, message=_l("须在 %(min)s 到 %(max)s 之间"))


def apply_errors(form: FlaskForm, exc: ValidationFailed) -> None:
    """Attach a service's field errors to the form's fields; unknown fields go to the form-level list."""
    for name, message in exc.errors.items():
        field = getattr(form, name, None)
        if field is not None and hasattr(field, "errors"):
            field.errors = list(field.errors) + [message]
        else:
            form.form_errors.append(message)


def form_from_json(form_cls, payload: dict):
    """Bind a form to a JSON object, so the API validates with the same form as the page (no CSRF: the
    API authenticates with bearer tokens, not cookies)."""
    data = MultiDict()
    for k, v in (payload or {}).items():
        if isinstance(v, list):
            for item in v:
                data.add(k, "" if item is None else str(item))
        elif isinstance(v, bool):
            data.add(k, "y" if v else "")
        elif v is not None:
            data.add(k, str(v))
    return form_cls(formdata=data, meta={"csrf": False})


def errors_of(form) -> dict[str, str]:
    """A bound form's errors as ``{field: message}`` (``_form`` for form-level ones), for JSON answers."""
    out = {name: "；".join(str(e) for e in errs) for name, errs in form.errors.items() if errs and name != "csrf_token"}
    if getattr(form, "form_errors", None):
        out["_form"] = "；".join(str(e) for e in form.form_errors)
    return out


def choices(pairs: Iterable[tuple[Any, Any]]) -> list[SelectChoice]:
    """Select options from ``(value, label)`` pairs, in the shape WTForms keeps supporting (SelectChoice)."""
    return [SelectChoice(value, label) for value, label in pairs]


def submit(form: FlaskForm | None, action: Callable[[], T], *, success: str | None = None,
           redirect_to: str | Callable[[T], str] | None = None, domain_errors: str = "flash") -> Response | None:
    """The block every form view runs once its input is valid: call the service (``action``); on
    ``ValidationFailed`` roll back and put the field errors on the form; on ``DomainError`` roll back and say
    why (a flash, or with ``domain_errors="form"`` a form-level error shown beside the fields); otherwise commit,
    flash ``success`` and redirect to ``redirect_to`` (a URL, or a function of the service's result). Returns the
    redirect, or None when the page should render again with the errors. NotFound and Forbidden pass through to
    the error pages."""
    try:
        result = action()
    except (NotFound, Forbidden):
        raise  # the error pages answer these (and audit an out-of-scope access)
    except ValidationFailed as exc:
        db.session.rollback()
        if form is not None:
            apply_errors(form, exc)
        else:
            flash("；".join(exc.errors.values()), "danger")
        return None
    except DomainError as exc:
        db.session.rollback()
        if form is not None and domain_errors == "form":
            form.form_errors.append(exc.message)
        else:
            flash(exc.message, "danger")
        return None
    db.session.commit()
    if success:
        flash(success, "success")
    if redirect_to is None:
        return None
    return redirect(redirect_to(result) if callable(redirect_to) else redirect_to)
