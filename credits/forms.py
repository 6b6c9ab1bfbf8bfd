"""The forms of continuing education: a claim, a claim's review, the annual report, a province's rule."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, DateField, DecimalField, IntegerField, SelectField, StringField, TextAreaField

from credits.models import SubjectCategory
from lms.settingbasis import BasisKind
from lms.forms import choices, length, number_range, optional, required


class ClaimForm(FlaskForm):
    title = StringField(_l("活动名称"), validators=[required(), length(200)])
    organiser = StringField(_l("主办单位"), validators=[optional(), length(128)])
    institution_id = SelectField(_l("审核的培训机构（可选，不选则由监管部门审核）"), coerce=int, default=0)
    activity_date = DateField(_l("活动日期"), validators=[required()])
    hours = DecimalField(_l("学时"), places=1, validators=[required()])
    subject_category = SelectField(_l("科目类别"), choices=lambda: choices(SubjectCategory.choices()), validators=[required()])
    evidence = FileField(_l("证明材料（PDF、Word 或图片，不超过 10 MB）"))


class ReviewForm(FlaskForm):
    decision = SelectField(_l("审核结论"), choices=lambda: choices([("approve", _l("通过")), ("reject", _l("退回"))]))
    reason = TextAreaField(_l("理由"), validators=[optional(), length(2000)])


class ReportForm(FlaskForm):
    year = IntegerField(_l("年度"), validators=[required()])
    summary = TextAreaField(_l("年度履职情况"), validators=[required(), length(20000)])


class RuleForm(FlaskForm):
    required_hours = IntegerField(_l("年度继续教育学时"), validators=[required(), number_range(1, 500)])
    professional_min_hours = IntegerField(_l("其中专业科目不少于（学时）"), validators=[required(), number_range(0, 500)])
    report_required = BooleanField(_l("须提交年度履职报告"))
    report_due_month = IntegerField(_l("履职报告截止月份"), validators=[required(), number_range(1, 12)])
    change_registration_days = IntegerField(_l("变更登记期限（天）"), validators=[required(), number_range(1, 365)])
    ce_either = BooleanField(_l("递交年度质量管理绩效报告或继续教育证明之一即达标（崇质强办文〔2022〕3号 四（三））"))
    basis_kind = SelectField(_l("以上数值的依据"), choices=lambda: choices(BasisKind.choices()), default="example",
                             validators=[optional()])
    basis_source = StringField(_l("依据文件及条款"), validators=[optional(), length(300)])
    first_year = SelectField(_l("取得证书或聘任当年"), choices=lambda: choices([("exempt", _l("不考核")), ("prorate", _l("按在任天数折算学时"))]))
