"""Forms of the certificate pages (the API reads the same fields from JSON)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, FileField, HiddenField, SelectField, StringField, TextAreaField

from certificates.models import IssuerKind, ReasonCategory
from lms.forms import choices, length, optional, required


class IssueForm(FlaskForm):
    enrollment_id = HiddenField()


class StatusForm(FlaskForm):
    action = SelectField(_l("操作"), choices=lambda: choices([("suspend", _l("暂停")), ("reinstate", _l("恢复")),
                                                       ("revoke", _l("撤销"))]), validators=[required()])
    # Not checked against the list: the service judges the reason, as for the API (free text counts as 'other').
    reason = SelectField(_l("原因类别"), choices=lambda: choices([("", _l("请选择"))] + ReasonCategory.choices()),
                         validators=[optional()], validate_choice=False)
    note = TextAreaField(_l("说明"), validators=[optional(), length(1000)])


class ReissueForm(FlaskForm):
    note = TextAreaField(_l("换发原因"), validators=[required(), length(500, 2)])


class HolderCheckForm(FlaskForm):
    """The holder check on the public verification page. No CSRF token (issue 20): the page carries no session, so
    that a proxy can keep it; the check is anonymous, changes nothing and answers only match or no match to the
    page that posted it, which a cross-site form cannot read; the per-address and per-certificate rate limits are
    what guard it (certificates.limits)."""

    class Meta:
        csrf = False

    id_number = StringField(_l("持证人身份证号码"), validators=[required(), length(18, 18)],
                            render_kw={"autocomplete": "off", "inputmode": "text", "maxlength": 18})


class SettingsForm(FlaskForm):
    number_pattern = StringField(_l("证书编号规则"), validators=[required(), length(128, 8)])
    issuer_basic = SelectField(_l("基础培训发证主体"), choices=lambda: choices(IssuerKind.choices()))
    issuer_advanced = SelectField(_l("提升培训发证主体"), choices=lambda: choices(IssuerKind.choices()))
    issuer_senior = SelectField(_l("高级培训发证主体"), choices=lambda: choices(IssuerKind.choices()))
    holder_photo = BooleanField(_l("证书印持证人照片（二维码签名照片指纹）"))


class PhotoForm(FlaskForm):
    photo = FileField(_l("证书照片（JPEG 或 PNG）"), render_kw={"accept": "image/jpeg,image/png"})


class PartnerForm(FlaskForm):
    name = StringField(_l("省份名称"), validators=[required(), length(64)])
    base_url = StringField(_l("对方核验站点地址"), validators=[required(), length(255)])
    keys = TextAreaField(_l("对方公布的公钥（cqo-certificate-keys.json 的内容）"), validators=[required(), length(100000)])
    agreement_note = TextAreaField(_l("互认协议说明"), validators=[required(), length(1000)])
