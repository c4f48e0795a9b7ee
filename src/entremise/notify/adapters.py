"""Adapters behind the notification ports: SMTP and `.eml` files for e-mail, files for SMS.

`email_sender_for(settings)` picks the e-mail adapter from `ENTREMISE_MAIL_BACKEND` ("smtp" or
"file"); `sms_sender_for(settings)` returns the development SMS adapter until a provider exists.
"""

from __future__ import annotations

import json
import os
import re
import smtplib
import ssl
from collections.abc import Sequence
from datetime import datetime
from email.headerregistry import Address, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.policy import SMTP, Policy
from email.utils import format_datetime, parseaddr
from pathlib import Path

import structlog

from entremise.config import Settings
from entremise.notify.domain import message_id
from entremise.notify.ports import Attachment, DeliveryError, EmailSender, SmsMessage, SmsSender
from entremise.notify.render import Rendered

log = structlog.get_logger(__name__)


class _UnfoldedHeader(UnstructuredHeader):
    """A header written on one line, as given: the `List-Unsubscribe` URL must reach the mail client
    intact (the default folding would turn a long URL into RFC 2047 encoded words). The value is
    checked to be short printable ASCII before it is set."""

    def fold(self, *, policy: Policy) -> str:
        name = getattr(self, "name", "List-Unsubscribe")  # set by BaseHeader, which the registry mixes in
        return f"{name}: {self}{policy.linesep}"


_HEADERS = HeaderRegistry()
_HEADERS.map_to_type("list-unsubscribe", _UnfoldedHeader)  # type: ignore[arg-type]
SEVEN_BIT = SMTP.clone(cte_type="7bit", header_factory=_HEADERS)
_UNSAFE = re.compile(r"[^A-Za-z0-9._@-]+")


def _one_line(value: str) -> str:
    return " ".join(value.split())


def sender_address(mail_from: str) -> tuple[str, str]:
    """(display name, address) of `ENTREMISE_MAIL_FROM`."""
    name, address = parseaddr(mail_from)
    if "@" not in address:
        raise ValueError(f"ENTREMISE_MAIL_FROM has no usable address: {mail_from!r}")
    return name, address


def build_email(
    *,
    outbox_id: int,
    platform_id: str,
    recipient: str,
    rendered: Rendered,
    mail_from: str,
    now: datetime,
    sender_name: str | None = None,
    list_unsubscribe: str | None = None,
    attachments: Sequence[Attachment] = (),
) -> EmailMessage:
    """The MIME message: text only, or multipart/alternative text + HTML when the template has HTML;
    with attachments, multipart/mixed of that body and each file (base64).

    The From address is `mail_from`'s; its display name is the platform's (`sender_name`) when given.
    The Message-ID comes from the outbox row, so every attempt of one message carries the same one.
    With `list_unsubscribe` (an https or http URL: marketing e-mails) the message carries
    `List-Unsubscribe: <url>` and `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058), so
    mail clients offer a one-click unsubscribe that POSTs to the URL.
    Raises ValueError for a recipient or header that cannot be put in a message."""
    if rendered.subject is None:
        raise ValueError("an e-mail needs a subject")
    default_name, address = sender_address(mail_from)
    local, _, domain = address.rpartition("@")
    # 7-bit transfer encodings (quoted-printable/base64) pass through every relay, 8BITMIME or not
    msg = EmailMessage(policy=SEVEN_BIT)
    msg["From"] = Address(display_name=_one_line(sender_name or default_name), username=local, domain=domain)
    to = recipient.strip()
    if "@" not in parseaddr(to)[1] or "\r" in to or "\n" in to:
        raise ValueError(f"not an e-mail address: {recipient!r}")
    msg["To"] = to
    msg["Subject"] = rendered.subject
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = message_id(outbox_id, platform_id, domain)
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation auto-replies to this
    if list_unsubscribe is not None:
        link = list_unsubscribe.strip()
        if (
            not link.startswith(("https://", "http://"))
            or len(link) > 900
            or any(not (33 <= ord(c) < 127) or c in "<>" for c in link)
        ):
            raise ValueError(f"not an unsubscribe URL: {list_unsubscribe!r}")
        msg["List-Unsubscribe"] = f"<{link}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content(rendered.text)
    if rendered.html is not None:
        msg.add_alternative(rendered.html, subtype="html")
    for a in attachments:
        maintype, _, subtype = a.content_type.partition("/")
        msg.add_attachment(a.content, maintype=maintype, subtype=subtype, filename=a.filename)
    msg["Content-Language"] = rendered.locale  # after the body: set_content drops Content-* headers
    return msg


def _file_name(message_id_value: str, suffix: str) -> str:
    return _UNSAFE.sub("_", message_id_value.strip("<> ")) + suffix


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


class SmtpEmailSender:
    """Sends through an SMTP server with the standard library (STARTTLS and login when configured).

    One connection per message: simple, and a broken connection never takes other messages down."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        user: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        timeout: float = 10.0,
    ) -> None:
        self.host, self.port, self.user, self.password = host, port, user, password
        self.starttls, self.timeout = starttls, timeout

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpEmailSender:
        return cls(
            settings.smtp_host,
            settings.smtp_port,
            user=settings.smtp_user,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
            timeout=settings.smtp_timeout,
        )

    def send(self, message: EmailMessage) -> None:
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.user:
                    smtp.login(self.user, self.password or "")
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            answers = "; ".join(
                f"{rcpt}: {code} {text.decode(errors='replace')}"
                for rcpt, (code, text) in exc.recipients.items()
            )
            # 5xx is the server saying "never": retrying the same address cannot help
            permanent = all(code >= 500 for code, _ in exc.recipients.values())
            raise DeliveryError(f"recipient refused: {answers}", permanent=permanent) from exc
        except smtplib.SMTPResponseException as exc:
            text = (
                exc.smtp_error.decode(errors="replace")
                if isinstance(exc.smtp_error, bytes)
                else exc.smtp_error
            )
            raise DeliveryError(f"SMTP {exc.smtp_code}: {text}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc


class FileEmailSender:
    """Development adapter: writes each message as `<Message-ID>.eml` under `directory`.

    A second attempt of the same message overwrites its file (same Message-ID)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path_for(self, message: EmailMessage) -> Path:
        return self.directory / _file_name(str(message["Message-ID"]), ".eml")

    def send(self, message: EmailMessage) -> None:
        path = self.path_for(message)
        try:
            _write_atomically(path, message.as_bytes(policy=SMTP))
        except OSError as exc:
            raise DeliveryError(f"cannot write {path}: {exc}") from exc
        log.info("mail.written", path=str(path), to=str(message["To"]), subject=str(message["Subject"]))


class FileSmsSender:
    """Development adapter: writes each SMS as `<message id>.json` under `directory` and logs it."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path_for(self, message: SmsMessage) -> Path:
        return self.directory / _file_name(message.message_id, ".json")

    def send(self, message: SmsMessage) -> None:
        path = self.path_for(message)
        data = {
            "message_id": message.message_id,
            "to": message.to,
            "sender": message.sender,
            "text": message.text,
        }
        try:
            _write_atomically(path, json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8"))
        except OSError as exc:
            raise DeliveryError(f"cannot write {path}: {exc}") from exc
        log.info("sms.written", path=str(path), to=message.to)


def email_sender_for(settings: Settings) -> EmailSender:
    if settings.mail_backend == "smtp":
        return SmtpEmailSender.from_settings(settings)
    if settings.mail_backend == "file":
        return FileEmailSender(Path(settings.mail_dir))
    raise ValueError(f"unknown ENTREMISE_MAIL_BACKEND {settings.mail_backend!r} (smtp or file)")


def sms_sender_for(settings: Settings) -> SmsSender:
    return FileSmsSender(Path(settings.sms_dir))
