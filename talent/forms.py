"""The forms of the talent pool: status decisions, registrations, notices, indicators, evaluations."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, DateField, DecimalField, IntegerField, SelectField, StringField, TextAreaField

from lms.forms import choices, length, number_range, optional, required
from talent.models import PoolStatus


class StatusForm(FlaskForm):
    status = SelectField(_l("新状态"), choices=choices(PoolStatus.choices()))
    reason = TextAreaField(_l("理由"), validators=[required(), length(2000)])
    disqualify = BooleanField(_l("取消资格（撤出人才库）"))


class AppointmentForm(FlaskForm):
    kind = SelectField(_l("登记类型"), choices=choices([("initial", _l("首次任命登记")), ("change", _l("变更登记"))]))
    appointed_on = DateField(_l("任命（变更）日期"), validators=[required()])
    enterprise_head = StringField(_l("企业负责人"), validators=[required(), length(64)])
    enterprise_head_phone = StringField(_l("企业负责人联系电话"), validators=[required(), length(32)])
    quality_head = StringField(_l("质量负责人"), validators=[optional(), length(64)])
    quality_head_phone = StringField(_l("质量负责人联系电话"), validators=[optional(), length(32)])
    cv = TextAreaField(_l("个人简历（含质量工作经历）"), validators=[required(), length(5000)])
    awards = TextAreaField(_l("获奖情况"), validators=[optional(), length(5000)])
    opinion = TextAreaField(_l("企业意见"), validators=[required(), length(2000)])
    opinion_date = DateField(_l("企业意见日期"), validators=[required()])
    letter = FileField(_l("任命书（盖章扫描件，PDF 或图片，不超过 10 MB）"))


class DecisionForm(FlaskForm):
    decision = SelectField(_l("审核结论"), choices=choices([("accept", _l("受理")), ("return", _l("退回"))]))
    reason = TextAreaField(_l("理由"), validators=[optional(), length(2000)])


class NoticeForm(FlaskForm):
    title = StringField(_l("公示标题"), validators=[required(), length(128)])
    objection_days = IntegerField(_l("公示期（天）"), default=7, validators=[required(), number_range(5, 60)])
    contact = StringField(_l("异议受理联系方式"), validators=[optional(), length(128)])


class ImportForm(FlaskForm):
    file = FileField(_l("指标表（.xlsx、.xls 或 CSV：编码、上级编码、名称、权重、满分、证据类型）"))


class EvaluateForm(FlaskForm):
    notes = TextAreaField(_l("评价说明"), validators=[optional(), length(2000)])


class IndicatorForm(FlaskForm):
    code = StringField(_l("编码"), validators=[required(), length(32)])
    parent = StringField(_l("上级编码"), validators=[optional(), length(32)])
    name = StringField(_l("名称"), validators=[optional(), length(128)])
    weight = DecimalField(_l("权重（一级指标，%%）"), places=2, validators=[optional()])
    max_points = DecimalField(_l("满分（二、三级指标）"), places=2, validators=[optional()])
    evidence_type = StringField(_l("证据类型"), validators=[optional(), length(64)])
