"""Pluggable e-mail senders for notifications (issue 17). ``MAIL_BACKEND`` names one:

- ``smtp``: to ``SMTP_HOST``:``SMTP_PORT`` from ``SMTP_SENDER`` (the default when ``SMTP_HOST`` is set);
- ``folder``: each mail written as an ``.eml`` file into ``MAIL_FOLDER`` (the demo's default outside production:
  open the files with any mail program to see what people would receive);
- ``none`` (or empty): no mail, the in-app message only.

A deployment can plug in another channel with ``register_sender(name, fn)`` where ``fn(config, message)`` sends
an ``email.message.EmailMessage`` or raises ``OSError``."""
from __future__ import annotations

import datetime as dt
import smtplib
import uuid
from email.message import EmailMessage
from pathlib import Path
from typing import Callable

Sender = Callable[[dict, EmailMessage], None]


def _smtp(config: dict, msg: EmailMessage) -> None:
    with smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=10) as smtp:
        smtp.send_message(msg)


def _folder(config: dict, msg: EmailMessage) -> None:
    folder = Path(config["MAIL_FOLDER"])
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}.eml"
    tmp = folder / (name + ".part")
    tmp.write_bytes(msg.as_bytes())
    tmp.replace(folder / name)  # a reader of the folder never sees half a mail


SENDERS: dict[str, Sender] = {"smtp": _smtp, "folder": _folder}


def register_sender(name: str, fn: Sender) -> None:
    """Plug in another way of sending (a provider's API, a queue); selected by ``MAIL_BACKEND=name``."""
    SENDERS[name] = fn


def sender_for(config: dict) -> Sender | None:
    """The configured sender, or None when mail is off."""
    return SENDERS.get(config["MAIL_BACKEND"] or "none")


def build(config: dict, to: str, subject: str, body: str, url: str) -> EmailMessage:
    """The mail of a notification: its text and the full address of the page it concerns."""
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = config["SMTP_SENDER"] or "noreply@localhost"
    msg["To"] = to
    text = body or subject
    if url:
        text += "\n\n" + (config["PUBLIC_BASE_URL"].rstrip("/") + url if url.startswith("/") else url)
    msg.set_content(text)
    return msg
