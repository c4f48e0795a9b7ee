"""Ports of the notification module: where a rendered message goes.

Adapters (in `notify.adapters`) implement them: SMTP and `.eml` files for e-mail, files for SMS in
development. A real SMS provider later implements `SmsSender` the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol


class DeliveryError(Exception):
    """Sending failed. `permanent` failures (an address refused for good) are not retried."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class Attachment:
    """A file sent with an e-mail: its name as the recipient sees it, its MIME type and its bytes."""

    filename: str
    content_type: str  # "application/pdf"
    content: bytes


class EmailSender(Protocol):
    def send(self, message: EmailMessage) -> None:
        """Hand `message` over for delivery; raise DeliveryError (or OSError) when that fails."""
        ...


@dataclass(frozen=True)
class SmsMessage:
    message_id: str  # stable across attempts (derived from the outbox row)
    to: str
    text: str
    sender: str  # platform name, shown by providers that support an alphanumeric sender


class SmsSender(Protocol):
    def send(self, message: SmsMessage) -> None:
        """Hand `message` over for delivery; raise DeliveryError (or OSError) when that fails."""
        ...
