"""Forms of the exams pages (the API validates with the same classes via lms.forms.form_from_json)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (BooleanField, DateField, DateTimeLocalField, FloatField, IntegerField, SelectField, StringField,
                     TextAreaField)

from exams.models import CountingRule, Difficulty, MultipleScoring, QuestionType, ReviewPolicy
from lms.forms import choices, length, optional, required


class BankForm(FlaskForm):
    name = StringField(_l("题库名称"), validators=[required(), length(128, 1)])
    description = TextAreaField(_l("说明"), validators=[optional(), length(1000)])


class QuestionForm(FlaskForm):
    type = SelectField(_l("题型"), choices=lambda: choices(QuestionType.choices()), validators=[required()])
    stem = TextAreaField(_l("题干"), validators=[required(), length(4000, 1)])
    option_a = StringField(_l("选项A"), validators=[optional(), length(500)])
    option_b = StringField(_l("选项B"), validators=[optional(), length(500)])
    option_c = StringField(_l("选项C"), validators=[optional(), length(500)])
    option_d = StringField(_l("选项D"), validators=[optional(), length(500)])
    option_e = StringField(_l("选项E"), validators=[optional(), length(500)])
    option_f = StringField(_l("选项F"), validators=[optional(), length(500)])
    answer = TextAreaField(_l("正确答案"), validators=[required(), length(4000, 1)])
    knowledge_point = StringField(_l("知识点"), validators=[required(), length(64, 1)])
    difficulty = SelectField(_l("难度"), choices=lambda: choices(Difficulty.choices()), default="medium", validators=[required()])
    explanation = TextAreaField(_l("解析"), validators=[optional(), length(4000)])

    OPTION_FIELDS = ("option_a", "option_b", "option_c", "option_d", "option_e", "option_f")


class UploadForm(FlaskForm):
    file = FileField(_l("电子表格文件（.xlsx、.xls 或 CSV）"), validators=[required()])


class ExamForm(FlaskForm):
    title = StringField(_l("考试名称"), validators=[required(), length(128, 1)])
    class_id = SelectField(_l("培训班"), coerce=int, validators=[optional()])
    programme_id = SelectField(_l("或按培训项目（本机构该项目的所有培训班共用）"), coerce=int, validators=[optional()])
    opens_at = DateTimeLocalField(_l("开放时间"), format="%Y-%m-%dT%H:%M", validators=[required()])
    closes_at = DateTimeLocalField(_l("截止时间"), format="%Y-%m-%dT%H:%M", validators=[required()])
    duration_minutes = IntegerField(_l("考试时长（分钟）"), default=60, validators=[required()])
    attempts_allowed = IntegerField(_l("允许次数"), default=2, validators=[required()])
    max_departures = IntegerField(_l("离开考试页面达到此次数时自动交卷（本场考试自定，留空为不自动交卷）"),
                                  validators=[optional()])
    counting = SelectField(_l("计分方式"), choices=lambda: choices(CountingRule.choices()), default="highest")
    pass_mark = FloatField(_l("及格分（百分制，留空则用培训项目的及格分）"), validators=[optional()])
    multiple_scoring = SelectField(_l("多选题计分"), choices=lambda: choices(MultipleScoring.choices()), default="partial")
    review_policy = SelectField(_l("答卷回顾"), choices=lambda: choices(ReviewPolicy.choices()), default="after_close")
    shuffle = BooleanField(_l("打乱题目和选项顺序"), default=True)
    counts_for_completion = BooleanField(_l("作为结业考核成绩"), default=True)
    instructions = TextAreaField(_l("考试说明"), validators=[optional(), length(2000)])


class SectionForm(FlaskForm):
    title = StringField(_l("大题名称"), validators=[optional(), length(64)])
    bank_id = SelectField(_l("题库"), coerce=int, validators=[required()])
    question_type = SelectField(_l("题型"), choices=lambda: choices(QuestionType.choices()), validators=[required()])
    knowledge_point = StringField(_l("知识点（留空为不限）"), validators=[optional(), length(64)])
    difficulty = SelectField(_l("难度"), choices=lambda: choices([("", _l("不限"))] + Difficulty.choices()), validators=[optional()])
    count = IntegerField(_l("抽题数量"), validators=[required()])
    points_each = FloatField(_l("每题分值"), validators=[required()])


class GradeForm(FlaskForm):
    points = FloatField(_l("得分"), validators=[required()])
    comment = TextAreaField(_l("评语"), validators=[optional(), length(1000)])


class OfflineResultForm(FlaskForm):
    username = StringField(_l("学员账号"), validators=[required(), length(64, 1)])
    score = FloatField(_l("成绩"), validators=[required()])
    taken_on = DateField(_l("考试日期"), validators=[optional()])
    note = StringField(_l("备注"), validators=[optional(), length(255)])
