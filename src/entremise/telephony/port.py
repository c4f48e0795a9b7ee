"""The telephony/video provider port: what the engine asks of a provider that bridges phone calls
or opens video rooms between a client and a provider.

Shaped so that Twilio, Vonage or a WebRTC room service can implement it. Calls are synchronous and
return the provider's reference; what happens on the line afterwards (the call was answered, it
ended, a participant joined or left the room) comes back as signed webhooks (`kernel.signing`),
which `parse_webhook` verifies and turns into `CallEvent`s. Each event has the provider's own id,
so the receiver stores it once, and the time it happened at the provider: durations are computed
from these times, never from the time a webhook arrives.

This module is pure: data types and the protocol, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol


class Mode(StrEnum):
    PHONE = "phone"  # a call bridged between the client's and the provider's numbers
    VIDEO = "video"  # a video room both participants join


class EventType(StrEnum):
    CALL_ANSWERED = "call.answered"  # the provider picked up: the two parties are bridged
    CALL_ENDED = "call.ended"  # `end_status` says how (completed, dropped, no_answer, busy, failed)
    PARTICIPANT_JOINED = "participant.joined"  # `role` joined the video room
    PARTICIPANT_LEFT = "participant.left"  # `role` left the video room


class EndStatus(StrEnum):
    COMPLETED = "completed"  # someone hung up after a conversation
    DROPPED = "dropped"  # the line was cut during the conversation
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    FAILED = "failed"  # the provider could not place the call


ANSWERED_ENDS = frozenset({EndStatus.COMPLETED, EndStatus.DROPPED})
ROLES = ("client", "provider")


@dataclass(frozen=True)
class StartRequest:
    """Connect a client and a provider: a phone bridge (both numbers in E.164) or a video room."""

    session_id: str
    mode: Mode
    client_number: str | None = None
    provider_number: str | None = None
    idempotency_key: str = ""
    # provider-specific options; the sandbox reads its call script here (see `telephony.sandbox`)
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Connection:
    """The provider's answer: its reference for the call or room (webhooks name it)."""

    reference: str
    join_urls: Mapping[str, str] = field(default_factory=dict)  # video: one link per role


@dataclass(frozen=True)
class CallEvent:
    id: str  # the provider's event id: the same id delivered twice is one event
    type: EventType
    reference: str  # the call or room it concerns
    occurred_at: datetime
    role: str | None = None  # participant events
    end_status: EndStatus | None = None  # call.ended
    recording_ref: str | None = None  # a provider that records says where (CONSULT-RECORD-1)


class WebhookError(ValueError):
    """A webhook that cannot be trusted or read; `reason` is safe to log and to answer."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TelephonyProvider(Protocol):
    name: str

    def start(self, request: StartRequest, now: datetime) -> Connection:
        """Place the call or open the room. The same `idempotency_key` twice returns the first answer."""
        ...

    def hang_up(self, reference: str, now: datetime) -> None:
        """End the call or close the room now (the provider then reports the end by webhook)."""
        ...

    def parse_webhook(self, headers: Mapping[str, str], body: bytes, now: datetime) -> list[CallEvent]:
        """Verify the signature and freshness of a raw delivery and read its events (WebhookError)."""
        ...
