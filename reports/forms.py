"""The reporting forms; the API validates its bodies with the services' own checks."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, DecimalField, HiddenField, IntegerField, SelectField, StringField, TextAreaField

from lms.forms import choices, length, number_range, optional, required
from reports.models import TargetCategory


class FileClassForm(FlaskForm):
    teachers = TextAreaField(_l("授课教师（每行一位：姓名、职称或单位）"), validators=[required(), length(2000)])


class DecisionForm(FlaskForm):
    decision = HiddenField(validators=[required()])  # "accept" or "return"
    reason = TextAreaField(_l("退回原因"), validators=[optional(), length(500)])


class ImportForm(FlaskForm):
    file = FileField(_l("线下成绩文件（.xlsx、.xls 或 CSV）"))


class SubmitResultsForm(FlaskForm):
    note = TextAreaField(_l("说明（可选）"), validators=[optional(), length(2000)])


class AnnualForm(FlaskForm):
    year = IntegerField(_l("年度"), validators=[required(), number_range(2000, 2100)])
    narrative = TextAreaField(_l("年度工作情况"), validators=[required(), length(10000, 20)])


class TargetForm(FlaskForm):
    year = IntegerField(_l("年度"), validators=[required(), number_range(2000, 2100)])
    category = SelectField(_l("企业类别"), choices=[], validators=[required()])
    rate = DecimalField(_l("聘任率目标（%）"), places=1, validators=[required(), number_range(0, 100)])
    basis = StringField(_l("依据（文件名称与条款，或“本地自定”）"), validators=[required(), length(500)])

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.category.choices = choices(TargetCategory.choices())


class SettingsForm(FlaskForm):
    hold_certificates = BooleanField(_l("结果报告被接收后才能发证"))
    key_industries = TextAreaField(_l("重点行业（每行一个，与企业登记的行业名称一致）"), validators=[optional(), length(4000)])
    key_industries_basis = StringField(_l("重点行业的依据（文件名称与条款，或“本省自定”）"), validators=[optional(), length(500)])
    annual_report_due = StringField(_l("年度工作报告截止日（次年 月-日）"), validators=[required(), length(5, 5)])
