from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, SelectField, StringField, TextAreaField

from lms.domain import OwnershipType, SizeClass, Tier
from lms.forms import length, optional, required


class InstitutionForm(FlaskForm):
    name = StringField(_l("机构名称"), validators=[required(), length(128, 2)])
    credit_code = StringField(_l("统一社会信用代码"), validators=[required(), length(18)])
    region_id = SelectField(_l("所在地区"), coerce=int, validators=[required()])
    contact_name = StringField(_l("联系人"), validators=[optional(), length(64)])
    contact_phone = StringField(_l("联系电话"), validators=[optional(), length(32)])
    address = StringField(_l("地址"), validators=[optional(), length(255)])


class AuthorisationForm(FlaskForm):
    tier = SelectField(_l("培训层级"), choices=Tier.choices, validators=[required()])
    valid_from = DateField(_l("授权起始日"), validators=[required()])
    valid_until = DateField(_l("授权截止日"), validators=[required()])


class EnterpriseForm(FlaskForm):
    name = StringField(_l("企业名称"), validators=[required(), length(128, 2)])
    credit_code = StringField(_l("统一社会信用代码"), validators=[required(), length(18)])
    region_id = SelectField(_l("所在地区"), coerce=int, validators=[required()])
    industry = StringField(_l("所属行业"), validators=[optional(), length(64)])
    ownership_type = SelectField(_l("所有制类型"), choices=OwnershipType.choices, validators=[required()])
    size_class = SelectField(_l("企业规模"), choices=SizeClass.choices, validators=[required()])
    above_designated_size = BooleanField(_l("规模以上企业"))
    main_products = TextAreaField(_l("主要产品"), validators=[optional(), length(2000)])
    address = StringField(_l("地址"), validators=[optional(), length(255)])


class IdLookupForm(FlaskForm):
    id_number = StringField(_l("身份证号"), validators=[required(), length(18, 18)], render_kw={"autocomplete": "off"})
