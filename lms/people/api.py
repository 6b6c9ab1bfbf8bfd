"""API endpoints of trainee profiles (registered by ``lms.people.init_app``)."""
from __future__ import annotations

from flask import jsonify
from sqlalchemy.orm import selectinload

from lms.api import PAGE_QUERY, api_route, current_api_user, paged, paged_schema, schema
from lms.db import db
from lms.people.models import TraineeProfile
from lms.scoping import get_visible, visible

TraineeSchema = schema("Trainee", {"type": "object", "properties": {
    "id": {"type": "integer"}, "real_name": {"type": "string"}, "id_number_masked": {"type": "string"},
    "gender": {"type": "string"}, "education": {"type": "string"}, "title_level": {"type": "string"},
    "quality_years": {"type": "integer"}, "enterprise": {"type": "string", "nullable": True}}})


def trainee_json(p: TraineeProfile) -> dict:
    """A trainee's profile as the API shows it, ID number masked."""
    return {
        "id": p.id, "real_name": p.real_name, "id_number_masked": p.id_number_masked, "gender": p.gender.value,
        "education": p.education.value, "title_level": p.title_level.value, "quality_years": p.quality_years,
        "enterprise": p.enterprise.name if p.enterprise else None,
    }


@api_route("/trainees", summary="可见的学员（身份证号脱敏）", response=paged_schema(TraineeSchema), query=PAGE_QUERY,
           tags=("people",))
def trainees():
    """The trainees the caller may see, ID numbers masked."""
    user = current_api_user()
    return paged(db.session, visible(TraineeProfile, user).order_by(TraineeProfile.id)
                 .options(selectinload(TraineeProfile.enterprise)), trainee_json)


@api_route("/trainees/<int:profile_id>", summary="学员详情（身份证号脱敏）", response=TraineeSchema, tags=("people",))
def trainee_get(profile_id: int):
    """One trainee the caller may see, ID number masked."""
    return jsonify(trainee_json(get_visible(db.session, TraineeProfile, profile_id, current_api_user())))
