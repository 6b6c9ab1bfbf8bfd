"""The forms of the talent pool: status decisions, registrations, notices, indicators, evaluations."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import DateField, HiddenField, PasswordField, DecimalField, IntegerField, SelectField, StringField, TextAreaField

from lms.forms import choices, length, number_range, optional, required
from lms.domain import Tier
from talent.models import PoolStatus, SanctionKind, SanctionReason


class StatusForm(FlaskForm):
    status = SelectField(_l("新状态"), choices=lambda: choices(PoolStatus.choices()))
    reason = TextAreaField(_l("理由"), validators=[required(), length(2000)])


class AppointmentForm(FlaskForm):
    id_number = StringField(_l("首席质量官身份证号（企业账号填写）"), validators=[optional(), length(18)])
    kind = SelectField(_l("登记类型"), choices=lambda: choices([("initial", _l("首次任命登记")), ("change", _l("变更登记"))]))
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
    decision = SelectField(_l("审核结论"), choices=lambda: choices([("accept", _l("受理")), ("return", _l("退回"))]))
    reason = TextAreaField(_l("理由"), validators=[optional(), length(2000)])


class NoticeForm(FlaskForm):
    kind = SelectField(_l("公示内容"), choices=lambda: choices([("appointed", _l("受聘首席质量官（在任的任命）")),
                                                       ("certified", _l("本年度新取得证书的人员"))]))
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


class SanctionForm(FlaskForm):
    kind = SelectField(_l("处理类型"), choices=lambda: choices([c for c in SanctionKind.choices() if c[0] != "lapse"]))  # lapse: the roll-up's
    reason = SelectField(_l("处理原因"), choices=lambda: choices([c for c in SanctionReason.choices() if c[0] != "ce_lapsed"]))
    basis = StringField(_l("处理依据（留空则引用原因所依据的条款）"), validators=[optional(), length(255)])
    evidence = TextAreaField(_l("证据及事实"), validators=[required(), length(5000)])


class LiftForm(FlaskForm):
    lift_reason = TextAreaField(_l("解除理由"), validators=[required(), length(2000)])


class ConfirmForm(FlaskForm):
    """The CQO confirms an appointment in their name (no field: the button)."""


class EndForm(FlaskForm):
    ended_on = DateField(_l("离任日期"), validators=[required()])


class AppointmentRuleForm(FlaskForm):
    min_tier = SelectField(_l("被任命人须持有的最低证书层级"), choices=lambda: choices([("", _l("任一层级的有效证书"))] + Tier.choices()))
    basis = StringField(_l("依据（文件及条款，或“本省自定”）"), validators=[optional(), length(300)])


class ObjectionForm(FlaskForm):
    line = HiddenField()
    text = TextAreaField(_l("异议的事实和理由"), validators=[required(), length(2000)])
    contact_name = StringField(_l("联系人"), validators=[required(), length(64)])
    contact = StringField(_l("联系电话或电子邮箱"), validators=[required(), length(128)])


class ResolveForm(FlaskForm):
    outcome = SelectField(_l("处理结论"), choices=lambda: choices([("dismissed", _l("异议不成立")), ("upheld", _l("异议成立"))]))
    resolution = TextAreaField(_l("处理结果"), validators=[required(), length(2000)])


class CloseForm(FlaskForm):
    """Closing a notice (no field: the button)."""


class EnterpriseAccountForm(FlaskForm):
    enterprise_id = SelectField(_l("企业"), coerce=int, choices=[])
    username = StringField(_l("用户名"), validators=[required(), length(64)])
    display_name = StringField(_l("账号名称"), validators=[required(), length(64)])
    password = PasswordField(_l("初始密码（至少 10 位，含字母和数字）"), validators=[required(), length(128)])


class EnterpriseRegisterForm(FlaskForm):
    credit_code = StringField(_l("统一社会信用代码"), validators=[required(), length(18)])
    display_name = StringField(_l("企业名称"), validators=[required(), length(64)])
    username = StringField(_l("用户名"), validators=[required(), length(64)])
    password = PasswordField(_l("密码（至少 10 位，含字母和数字）"), validators=[required(), length(128)])


# ------------------------------------------------------------------ evaluation as data (issue 15)
class EvalSettingsForm(FlaskForm):
    threshold = DecimalField(_l("专家评分离群阈值（与专家中位数相差超过此分数即标记）"), validators=[required(), number_range(0, 100)])
    min_stars = IntegerField(_l("评选提名所需星级"), validators=[required(), number_range(1, 5)])


class OpenAssessmentForm(FlaskForm):
    entry_id = IntegerField(_l("人才库条目编号"), validators=[required()])
    year = IntegerField(_l("年度"), validators=[required(), number_range(2000, 2100)])
    experts = StringField(_l("专家账号（两个或以上，以逗号分隔）"), validators=[required(), length(500)])


class StepForm(FlaskForm):
    note = TextAreaField(_l("说明"), validators=[optional(), length(2000)])


class SelectionForm(FlaskForm):
    year = IntegerField(_l("年度"), validators=[required(), number_range(2000, 2100)])
    title = StringField(_l("标题"), validators=[required(), length(128)])


class NominateForm(FlaskForm):
    entry_id = IntegerField(_l("人才库条目编号"), validators=[required()])
    reason = TextAreaField(_l("提名理由"), validators=[optional(), length(2000)])


class PublishSelectionForm(FlaskForm):
    objection_days = IntegerField(_l("公示期（天）"), validators=[required(), number_range(5, 60)])
