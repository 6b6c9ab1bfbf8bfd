"""The forms of the courses pages."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField, DateField, DecimalField, HiddenField, IntegerField, SelectField, SelectMultipleField, StringField,
    TextAreaField, TimeField,
)

from courses.models import AttendanceStatus, LessonKind, SubjectCategory
from lms.domain import Tier
from lms.forms import choices, length, number_range, optional, required
from lms.settingbasis import BasisKind


class ProgrammeForm(FlaskForm):
    province_id = SelectField(_l("省份"), coerce=int, validators=[required()])
    tier = SelectField(_l("培训层级"), choices=lambda: choices(Tier.choices()), validators=[required()])
    year = IntegerField(_l("年度"), validators=[required(), number_range(2000, 2100)])
    name = StringField(_l("方案名称"), validators=[required(), length(128, 2)])
    city_id = SelectField(_l("适用地区"), coerce=int, default=0, validators=[optional()])  # 0: the whole province
    industry = StringField(_l("适用行业（留空为各行业）"), validators=[optional(), length(64)])
    pass_mark = DecimalField(_l("考试合格分数"), places=1, default=60, validators=[required(), number_range(1, 100)])
    min_attendance_pct = IntegerField(_l("最低出勤率（%）"), default=80, validators=[required(), number_range(1, 100)])
    certificate_validity_years = IntegerField(_l("证书有效期（年，本省自定；不填则长期有效）"),
                                              validators=[optional(), number_range(1, 10)])
    requires_lower_tier = BooleanField(_l("须持有下一级有效证书（基础层级不适用）"), default=True)
    video_done_pct = IntegerField(_l("视频看满此比例记为学完（%）"), default=90,
                                  validators=[optional(), number_range(50, 100)])  # left out (older forms, API): 90
    video_no_skip_ahead = BooleanField(_l("首次观看视频不能拖动到尚未看过的位置"))
    video_check_minutes = IntegerField(_l("视频播放中随机提问的平均间隔（分钟，留空为不提问）"),
                                       validators=[optional(), number_range(1, 120)])
    eligibility_rule_set_id = SelectField(_l("报名条件规则集"), coerce=int, validators=[optional()])
    course_ids = SelectMultipleField(_l("课程"), coerce=int, validators=[required()])
    basis_kind = SelectField(_l("以上数值的依据"), choices=lambda: choices(BasisKind.choices()), default="example",
                             validators=[optional()])  # left out (API clients, older forms): an example
    basis_source = StringField(_l("依据文件及条款"), validators=[optional(), length(300)])


class RuleSetForm(FlaskForm):
    """The rule set's name and basis; its conditions come as numbered fields (courses.rule_form), or as one
    JSON ``rules`` field from older clients."""

    name = StringField(_l("规则集名称"), validators=[required(), length(128, 2)])
    rules = TextAreaField(_l("报名条件"), validators=[optional(), length(20000)])
    basis_kind = SelectField(_l("报名条件的依据"), choices=lambda: choices(BasisKind.choices()), default="example",
                             validators=[optional()])
    basis_source = StringField(_l("依据文件及条款"), validators=[optional(), length(300)])


class NewRuleSetForm(RuleSetForm):
    province_id = SelectField(_l("省份"), coerce=int, validators=[required()])


class CourseForm(FlaskForm):
    code = StringField(_l("课程代码"), validators=[required(), length(32)])
    title = StringField(_l("课程名称"), validators=[required(), length(128)])
    hours = DecimalField(_l("学时"), places=1, validators=[required(), number_range(0, 200)])
    subject_category = SelectField(_l("科目类别"), choices=lambda: choices(SubjectCategory.choices()), validators=[required()])
    compulsory = BooleanField(_l("必修"), default=True)
    description = TextAreaField(_l("课程简介"), validators=[optional(), length(2000)])


class LessonForm(FlaskForm):
    title = StringField(_l("课时标题"), validators=[required(), length(128)])
    kind = SelectField(_l("课时类型"), choices=lambda: choices(LessonKind.choices()), validators=[required()])
    body_md = TextAreaField(_l("正文（Markdown）"), validators=[optional(), length(100000)])
    minutes = IntegerField(_l("时长（分钟）"), default=45, validators=[optional(), number_range(0, 600)])
    file = FileField(_l("视频或 PDF 文件"))


class ClassForm(FlaskForm):
    programme_id = SelectField(_l("培训方案"), coerce=int, validators=[required()])
    region_id = SelectField(_l("办班地区"), coerce=int, validators=[required()])
    plan_line_id = SelectField(_l("所属培训计划行（本市已发布的年度计划）"), coerce=int, default=0,
                               validators=[optional()])  # left out (API, older forms): no plan line
    name = StringField(_l("培训班名称"), validators=[required(), length(128, 2)])
    place = StringField(_l("培训地点"), validators=[required(), length(255)])
    start_date = DateField(_l("开始日期"), validators=[required()])
    end_date = DateField(_l("结束日期"), validators=[required()])
    capacity = IntegerField(_l("招收人数"), validators=[required(), number_range(1, 1000)])
    enrol_opens_on = DateField(_l("报名开始日"), validators=[required()])
    enrol_closes_on = DateField(_l("报名截止日"), validators=[required()])
    teachers = TextAreaField(_l("授课教师（每行一位：姓名、职称或单位）"), validators=[optional(), length(2000)])


class SessionForm(FlaskForm):
    date = DateField(_l("日期"), validators=[required()])
    start_time = TimeField(_l("开始时间"), validators=[required()])
    end_time = TimeField(_l("结束时间"), validators=[required()])
    topic = StringField(_l("授课主题"), validators=[required(), length(255)])
    course_id = SelectField(_l("课程"), coerce=int, validators=[optional()])
    place = StringField(_l("地点（默认为培训班地点）"), validators=[optional(), length(255)])
    hours = DecimalField(_l("学时（默认按时长计算）"), places=1, validators=[optional(), number_range(0, 12)])


class ApplyForm(FlaskForm):
    pledge_version = HiddenField()
    accept_pledge = BooleanField(_l("我已阅读并自愿签署《质量诚信承诺书》"), validators=[required()])


class DecisionForm(FlaskForm):
    reason = StringField(_l("不录取原因"), validators=[optional(), length(500)])


class ConfirmForm(FlaskForm):
    """The check-in confirmation; ``ticket`` is the signed proof that a valid QR code was scanned."""

    ticket = HiddenField()


class MarkForm(FlaskForm):
    enrollment_id = HiddenField(validators=[required()])
    status = SelectField(_l("考勤状态"), choices=lambda: choices(AttendanceStatus.choices()), validators=[required()])
    reason = StringField(_l("原因"), validators=[required(), length(200)])


class ImportForm(FlaskForm):
    file = FileField(_l("考勤表（.xlsx、.xls 或 CSV）"))


class EmptyForm(FlaskForm):
    pass


class SettingsImportForm(FlaskForm):
    """A province settings file (JSON) to check, or the checked text sent back to apply."""

    file = FileField(_l("设置文件（JSON）"))
    payload = TextAreaField(_l("设置内容"), validators=[optional(), length(600000)])


class PlanForm(FlaskForm):
    """A city's yearly training plan: year and syllabus; its lines and county goals come as numbered fields
    (courses.plan_form)."""

    year = IntegerField(_l("年度"), validators=[required(), number_range(2000, 2100)])
    syllabus = TextAreaField(_l("年度培训大纲"), validators=[required(), length(20000)])


class PlanSettingsForm(FlaskForm):
    """A province's plan settings (issue 15)."""

    city_programmes = BooleanField(_l("允许各市制定本市的培训方案"))
    min_plan_classes = IntegerField(_l("城市年度培训计划至少安排的培训班期数"), validators=[required(), number_range(1, 50)])
    basis_kind = SelectField(_l("以上数值的依据"), choices=lambda: choices(BasisKind.choices()), default="province",
                             validators=[optional()])
    basis_source = StringField(_l("依据文件及条款"), validators=[optional(), length(300)])

