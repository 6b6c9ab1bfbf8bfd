"""The API's own endpoints: its OpenAPI document and the caller."""
from __future__ import annotations

from flask import jsonify

from lms.api import api_route, current_api_user, openapi_document, schema

MeSchema = schema("Me", {"type": "object", "properties": {
    "id": {"type": "integer"}, "username": {"type": "string"}, "display_name": {"type": "string"},
    "role": {"type": "string"}, "region_code": {"type": "string", "nullable": True},
    "institution_id": {"type": "integer", "nullable": True}}})


@api_route("/openapi.json", public=True, summary="本接口的 OpenAPI 3 描述", tags=("meta",))
def openapi():
    """The API's own description, built from the declared routes."""
    return jsonify(openapi_document())


@api_route("/me", summary="当前令牌对应的用户", response=MeSchema, tags=("account",))
def me():
    """Who the bearer token belongs to."""
    u = current_api_user()
    return jsonify({"id": u.id, "username": u.username, "display_name": u.display_name, "role": u.role.value,
                    "region_code": u.region.code if u.region else None, "institution_id": u.institution_id})
