"""Form helpers shared by the features: Chinese validator messages and service-error mapping."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import validators

from lms.errors import ValidationFailed


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
    out = {name: "；".join(str(e) for e in errs) for name, errs in form.errors.items() if errs and name != "csrf_token"}
    if getattr(form, "form_errors", None):
        out["_form"] = "；".join(str(e) for e in form.form_errors)
    return out
