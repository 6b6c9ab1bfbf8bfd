from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import ValidationError

from lms.forms import length, optional, required


class EmptyForm(FlaskForm):
    """A form with only its CSRF token (a confirmation button)."""


class LoginForm(FlaskForm):
    username = StringField(_l("用户名"), validators=[required(), length(64)])
    password = PasswordField(_l("密码"), validators=[required(), length(128)])


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(_l("当前密码"), validators=[required()])
    new_password = PasswordField(_l("新密码"), validators=[required(), length(128, 8)])
    confirm = PasswordField(_l("再次输入新密码"), validators=[required()])

    def validate_confirm(self, field):
        if field.data != self.new_password.data:
            raise ValidationError(_l("两次输入的新密码不一致"))


class TokenForm(FlaskForm):
    name = StringField(_l("令牌名称"), validators=[required(), length(64)])


class StaffUserForm(FlaskForm):
    username = StringField(_l("用户名"), validators=[required(), length(64, 3)])
    display_name = StringField(_l("姓名"), validators=[required(), length(64)])
    email = StringField(_l("电子邮箱"), validators=[optional(), length(128)])
    role = SelectField(_l("角色"), validators=[required()])
    region_id = SelectField(_l("所属地区（监管部门管理员）"), coerce=int, validators=[optional()])
    institution_id = SelectField(_l("所属培训机构（机构工作人员）"), coerce=int, validators=[optional()])
    password = PasswordField(_l("初始密码"), validators=[required(), length(128, 8)])

