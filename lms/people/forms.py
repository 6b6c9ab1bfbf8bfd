from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, IntegerField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import ValidationError

from lms.domain import EducationLevel, OwnershipType, QualityQualification, SizeClass, TitleLevel
from lms.forms import length, optional, required


class ProfileFields(FlaskForm):
    real_name = StringField(_l("真实姓名"), validators=[required(), length(32, 2)])
    id_number = StringField(_l("居民身份证号"), validators=[required(), length(18)],
                            render_kw={"autocomplete": "off", "inputmode": "text", "maxlength": 18})
    education = SelectField(_l("学历"), choices=EducationLevel.choices, validators=[required()])
    school = StringField(_l("毕业院校"), validators=[optional(), length(128)])
    major = StringField(_l("所学专业"), validators=[optional(), length(64)])
    title_level = SelectField(_l("职称等级"), choices=TitleLevel.choices, validators=[required()])
    professional_title = StringField(_l("职称名称"), validators=[optional(), length(64)])
    quality_qualification = SelectField(_l("质量专业资格"), choices=QualityQualification.choices, default="none")
    quality_years = IntegerField(_l("从事质量工作年限"), validators=[required()],
                                 render_kw={"inputmode": "numeric", "min": 0, "max": 60})
    current_post = StringField(_l("现任职务"), validators=[optional(), length(64)])
    phone = StringField(_l("手机号码"), validators=[required(), length(20)], render_kw={"inputmode": "tel"})
    email = StringField(_l("电子邮箱"), validators=[optional(), length(128)])
    address = StringField(_l("通讯地址"), validators=[optional(), length(255)])
    postcode = StringField(_l("邮政编码"), validators=[optional(), length(6)], render_kw={"inputmode": "numeric"})
    enterprise_credit_code = StringField(_l("所在企业统一社会信用代码"), validators=[required(), length(18)])


class EnterpriseFields(FlaskForm):
    """Asked only when the enterprise is not registered yet."""

    enterprise_name = StringField(_l("企业名称"), validators=[optional(), length(128)])
    enterprise_region_id = SelectField(_l("企业所在地区"), coerce=int, validators=[optional()])
    enterprise_industry = StringField(_l("所属行业"), validators=[optional(), length(64)])
    enterprise_ownership_type = SelectField(_l("所有制类型"), choices=OwnershipType.choices, validators=[optional()])
    enterprise_size_class = SelectField(_l("企业规模"), choices=SizeClass.choices, validators=[optional()])
    enterprise_above_designated_size = BooleanField(_l("规模以上企业"))
    enterprise_main_products = TextAreaField(_l("主要产品"), validators=[optional(), length(2000)])


class RegistrationForm(ProfileFields, EnterpriseFields):
    username = StringField(_l("用户名"), validators=[required(), length(64, 3)],
                           render_kw={"autocomplete": "username"})
    password = PasswordField(_l("密码"), validators=[required(), length(128, 8)],
                             render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(_l("确认密码"), validators=[required()], render_kw={"autocomplete": "new-password"})
    pledge_version = HiddenField()
    accept_pledge = BooleanField(_l("我已阅读并自愿签署《质量诚信承诺书》"))

    def validate_confirm(self, field):
        if field.data != self.password.data:
            raise ValidationError(_l("两次输入的密码不一致"))

    def validate_accept_pledge(self, field):
        if not field.data:
            raise ValidationError(_l("须阅读并签署质量诚信承诺书才能注册"))


class ProfileForm(ProfileFields):
    pass
