"""What an offline check of a certificate says, in Chinese: one wording for the command line
(``certificates.verify``) and the installable phone page (issue 16). Imports neither Flask nor the database.

``offline_verdict(checked, today, status=None)`` takes a signature check (``signing.Checked`` from
``signing.check`` or ``compact.verify``: ``ok``, the signed ``fields`` and a ``reason``) and the day of the
check, and returns a ``Verdict``: a headline, detail lines and, always last, what to compare with the paper (the
printed name, number and dates against what the check shows, and, where the code carries the holder's photo
fingerprint, ending 「请核对持证人照片：指纹 XXXX-XXXX-XXXX-XXXX」). Rules:

- the signature must be good and the certificate dated inside its key's window (``outside_key_window`` is
  refused: a retired or stolen key cannot back-date or post-date);
- a genuine certificate past its ``valid_until`` is reported 已过期 (not valid today);
- ``status``: a ``certificates.status_verdict.StatusVerdict`` from a downloaded status list (its state and its
  age, "状态列表更新于 …；之后的撤销无法得知"); revoked or suspended there refuses the certificate. ``None`` means
  no list was given, and the verdict says that revocation cannot be known offline.

Keep the function name and the dataclass's fields stable: the phone page mirrors them.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

TIER_LABELS = {"basic": "基础", "advanced": "提升", "senior": "高级"}
FIELD_LABELS = {"holder_name": "持证人", "number": "证书编号", "tier": "培训层级", "issued_on": "发证日期",
                "valid_until": "有效期至", "kid": "签名密钥", "photo": "照片指纹"}

# code -> headline; ``ok`` is True only for "valid"
HEADLINES = {
    "valid": "签名有效：证书内容由发证机关签发，未被篡改",
    "expired": "已过期：签名有效，但证书已超过有效期",
    "unknown_key": "无法验证：签名密钥不在公布的密钥文件中",
    "unreadable": "无法验证：签名部分不完整或格式错误",
    "outside_key_window": "不予认可：证书日期不在其签名密钥的有效期内",
    "forged": "无法验证：签名与内容不符（证书可能被伪造或篡改）",
    "revoked": "不予认可：签名有效，但下载的状态列表显示该证书已被撤销",
    "suspended": "不予认可：签名有效，但下载的状态列表显示该证书已被暂停",
    "photo_mismatch": "不予认可：签名有效，但证书文件中的照片与二维码签名的照片指纹不符（照片被替换）",
}
PHOTO_MATCHES = "  证书文件中的照片与二维码签名的照片指纹一致。"
COMPARE = ("请核对：纸质证书上印的持证人姓名、证书编号、发证日期和有效期至，必须与上面显示的逐字一致；"
           "任何一项不同，都说明二维码不属于这张证书。")
COMPARE_NOTHING = "没有可核对的内容：请勿仅凭这张证书认定持证人资格，请向发证机关核实。"
# Where the certificate carries the holder's photo (compact format 3, a province's choice): always the very end.
PHOTO_COMPARE = "持证人须与证书上的照片为同一人，照片下方印的指纹须与此相同。请核对持证人照片：指纹 %(fp)s"
NO_STATUS = "离线核验只能证明签名真实；证书是否被暂停、撤销或换发，请联网扫码查看。"


@dataclass(frozen=True)
class Verdict:
    """An offline verdict: ``code`` (a key of ``HEADLINES``), whether the certificate may be accepted as printed
    (``ok``), the signed fields shown (or None), and the lines to show, in order: ``headline``, ``details``,
    then ``compare`` (always present, always last)."""

    code: str
    ok: bool
    headline: str
    details: tuple[str, ...] = ()
    compare: str = COMPARE_NOTHING
    fields: dict | None = None
    extra: dict = field(default_factory=dict)  # room for the status list's verdict and age (issue 16, standards)

    def lines(self) -> list[str]:
        return [self.headline, *self.details, self.compare]


def field_lines(fields: dict) -> list[str]:
    """The signed fields, one ``label：value`` line each."""
    return [f"  {FIELD_LABELS[k]}：{TIER_LABELS.get(v, v) if k == 'tier' else v}"
            for k, v in fields.items() if k in FIELD_LABELS]


def offline_verdict(checked, today: dt.date, status=None, photo_fingerprints: list[str] | None = None) -> Verdict:
    """The verdict for a signature check (``signing.Checked`` or None when no link could be read) on ``today``.
    ``status``: the status list's verdict (None: no list). ``photo_fingerprints``: the fingerprints of the photos
    found in the certificate's file (a PDF; None when not read): where the code signs a photo fingerprint, one of
    them must be it, else the file's photo was replaced (refused)."""
    if checked is None or checked.reason == "malformed":
        return Verdict("unreadable", False, HEADLINES["unreadable"])
    if checked.reason == "unknown_key":
        return Verdict("unknown_key", False, HEADLINES["unknown_key"])
    if checked.reason == "outside_key_window":
        f = checked.fields or {}
        return Verdict("outside_key_window", False, HEADLINES["outside_key_window"],
                       (f"  证书所写发证日期：{f.get('issued_on', '')}；签名密钥：{f.get('kid', '')}",))
    if not checked.ok:
        return Verdict("forged", False, HEADLINES["forged"])
    fields = dict(checked.fields)
    details = field_lines(fields)
    compare = COMPARE + f"（应为：{fields['holder_name']}，{fields['number']}，{fields['issued_on']} 至 {fields['valid_until']}）"
    if fields.get("photo"):
        compare += PHOTO_COMPARE.replace("%(fp)s", fields["photo"])
    if fields["valid_until"] < today.isoformat():
        details.append(f"  该证书已于 {fields['valid_until']} 到期，今天（{today.isoformat()}）已不在有效期内。")
        code = "expired"
    else:
        code = "valid"
    if status is None:
        details.append(NO_STATUS)
    else:
        details.append(status.message)
        if status.state in ("revoked", "suspended"):
            code = status.state
    if fields.get("photo") and photo_fingerprints is not None:
        if fields["photo"] in photo_fingerprints:
            details.append(PHOTO_MATCHES)
        else:
            code = "photo_mismatch"
    return Verdict(code, code == "valid", HEADLINES[code], tuple(details), compare, fields)
