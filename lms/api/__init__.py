"""The JSON API (/api/v1): bearer tokens, JSON errors, and an OpenAPI document built from the routes
themselves, so that it describes exactly the endpoints that exist."""
from __future__ import annotations

import re
from functools import wraps
from typing import Any, Callable

from flask import Blueprint, abort, g, jsonify, request
from flask_babel import gettext as _
from sqlalchemy import func, select

from lms.auth.services import touch_token, user_for_token
from lms.db import db, utcnow
from lms.domain import Role
from lms.errors import DomainError, ValidationFailed
from lms.extensions import csrf

api_bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(api_bp)

_paths: dict[str, dict[str, dict]] = {}
_schemas: dict[str, dict] = {}
_live_schemas: dict[str, Callable[[], dict]] = {}


MAX_ID = 2**31 - 1  # the largest id an INTEGER primary key holds (PostgreSQL refuses more; SQLite would overflow later)
MAX_PAGE = 10**9  # far beyond any list; page × per_page stays within 64 bits
INT_ID = {"type": "integer", "format": "int32", "minimum": 1, "maximum": MAX_ID}


class Unauthorized(DomainError):
    status = 401


def schema(name: str, definition: dict) -> dict:
    """Register a component schema; returns a $ref to it."""
    _schemas[name] = definition
    return {"$ref": f"#/components/schemas/{name}"}


def live_schema(name: str, build: Callable[[], dict]) -> dict:
    """Register a component schema whose definition depends on stored data (e.g. the ids of the existing regions),
    built each time the document is served; returns a $ref to it."""
    _live_schemas[name] = build
    return {"$ref": f"#/components/schemas/{name}"}


def _query_problem(param: dict) -> str | None:
    """Why the request's value of a declared query parameter breaks its documented schema (an integer out of its
    range, a value outside its enumeration), or None. Checked before the view runs: such a value used to reach
    the database (a 500 beyond 64 bits) or be silently ignored."""
    raw = request.args.get(param["name"])
    spec = param.get("schema", {})
    if not raw or "$ref" in spec:  # absent, or empty: not filtered (what a page's "all" sends)
        return None
    if spec.get("type") == "integer":
        try:
            value = int(raw.strip())
        except ValueError:
            return _("%(name)s 须为整数", name=param["name"])
        low, high = spec.get("minimum"), spec.get("maximum")
        if (low is not None and value < low) or (high is not None and value > high):
            return _("%(name)s 须在 %(low)s 到 %(high)s 之间", name=param["name"], low=low, high=high)
    elif "enum" in spec and raw not in spec["enum"]:
        return _("%(name)s 须为以下之一：%(values)s", name=param["name"], values="、".join(spec["enum"]))
    return None


def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-zA-Z_]+)>", r"{\1}", "/api/v1" + rule)


def api_route(
    rule: str,
    methods: tuple[str, ...] = ("GET",),
    *,
    summary: str,
    public: bool = False,
    roles: tuple[Role, ...] | None = None,
    body: dict | None = None,
    response: dict | None = None,
    query: list[dict] | None = None,
    tags: tuple[str, ...] = (),
    responses: dict | None = None,
    status: int = 200,
    media_type: str = "application/json",
) -> Callable:
    """Declare an API endpoint: its route, who may call it and its OpenAPI description, in one place.
    ``status`` and ``media_type`` are those of its success answer (201 for a creation, 202 for work started);
    ``responses`` documents answers beyond it and the usual 4XX Error (e.g. a 404 of its own shape)."""

    def deco(fn: Callable) -> Callable:
        @wraps(fn)
        def wrapper(*args, **kwargs):
            # An id beyond an INTEGER key names no record (and would overflow the database driver): 404, never 500.
            if any(isinstance(v, int) and not 0 <= v <= MAX_ID for v in kwargs.values()):
                abort(404)
            if not public:
                user = current_api_user()
                if roles is not None and user.role not in roles:
                    abort(403)
            problems = {p["name"]: msg for p in query or () if (msg := _query_problem(p))}
            if problems:
                raise ValidationFailed(problems)
            return fn(*args, **kwargs)

        api_bp.add_url_rule(rule, endpoint=fn.__name__, view_func=wrapper, methods=list(methods))
        params = [
            {"name": n, "in": "path", "required": True,
             "schema": INT_ID if f"int:{n}" in rule else {"type": "string"}}
            for n in re.findall(r"<(?:[a-z]+:)?([a-zA-Z_]+)>", rule)
        ] + list(query or [])
        for method in methods:
            op: dict[str, Any] = {
                "operationId": fn.__name__ if len(methods) == 1 else f"{fn.__name__}_{method.lower()}",
                "summary": summary,
                "tags": list(tags),
                "parameters": params,
                "responses": {
                    str(status): {"description": "OK", "content": {media_type: {
                        "schema": response or ({"type": "object"} if media_type == "application/json" else {"type": "string"})}}},
                    "4XX": {"description": "Error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                },
            }
            op["responses"].update(responses or {})
            if not public:
                op["security"] = [{"bearer": []}]
            else:
                op["security"] = []
            if body is not None and method in ("POST", "PUT", "PATCH"):
                op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
            _paths.setdefault(_openapi_path(rule), {})[method.lower()] = op
        return wrapper

    return deco


def current_api_user():
    """The user of the bearer token, or 401."""
    if "api_user" in g:
        return g.api_user
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        raise Unauthorized(_("缺少访问令牌：请在 Authorization 头中使用 Bearer 令牌"))
    user = user_for_token(db.session, header[7:].strip())
    if user is None:
        raise Unauthorized(_("访问令牌无效、已撤销或账号已停用"))
    if user.token_used_due:
        token_id, now = user.token_used_due, utcnow()
        db.defer_write(lambda s: touch_token(s, token_id, now))
    g.api_user = user
    return user


def json_body() -> dict:
    """The request's JSON object, or a 422 naming the body."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ValidationFailed({"_body": _("请求体须为 JSON 对象")})
    return data


def page_args() -> tuple[int, int]:
    """The ``page`` (1 to MAX_PAGE) and ``per_page`` (1 to 200) query arguments, as documented in PAGE_QUERY: a
    value outside them is refused (422), never clamped, so the answer's ``page``/``per_page`` are what was asked."""
    try:
        page = int(request.args.get("page") or 1)
        per_page = int(request.args.get("per_page") or 50)
    except ValueError:
        raise ValidationFailed({"page": _("page 与 per_page 须为正整数")})
    if not 1 <= page <= MAX_PAGE:  # beyond it the offset would overflow the database's 64-bit integers
        raise ValidationFailed({"page": _("page 须在 1 到 %(n)d 之间", n=MAX_PAGE)})
    if not 1 <= per_page <= 200:
        raise ValidationFailed({"per_page": _("per_page 须在 1 到 200 之间")})
    return page, per_page


def paged(session, stmt, serialise: Callable) -> Any:
    """One page of ``stmt`` as the API's list shape: items, page, per_page, total."""
    page, per_page = page_args()
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)).all()
    return jsonify({"items": [serialise(r) for r in rows], "page": page, "per_page": per_page, "total": total})


PAGE_QUERY = [
    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}},
    {"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
]


def paged_schema(item: dict) -> dict:
    """The OpenAPI schema of a page of ``item``: the shape ``paged`` returns."""
    return {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": item},
            "page": {"type": "integer"},
            "per_page": {"type": "integer"},
            "total": {"type": "integer"},
        },
    }


def openapi_document() -> dict:
    """The OpenAPI 3 document of every declared endpoint (``api_route``)."""
    schemas = {
        "Error": {
            "type": "object",
            "properties": {
                "error": {"type": "string"},
                "message": {"type": "string"},
                "status": {"type": "integer"},
                "request_id": {"type": "string"},
                "fields": {"type": "object", "additionalProperties": {"type": "string"}},
                "problems": {"type": "array", "description": "a refused table's problems (lms.sheets)", "items": {
                    "type": "object", "properties": {
                        "row": {"type": "integer"}, "column": {"type": "string"}, "letter": {"type": "string"},
                        "value": {"type": "string"}, "message": {"type": "string"}}}},
            },
        },
        **_schemas,
        **{name: build() for name, build in _live_schemas.items()},
    }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "CQO training platform API",
            "version": "1.0",
            "description": "首席质量官培训与继续教育平台接口。除标注为公开的接口外，均须使用 Bearer 令牌。",
        },
        "servers": [{"url": "/"}],
        "paths": dict(sorted(_paths.items())),
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}, "schemas": schemas},
    }
