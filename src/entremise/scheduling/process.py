"""The appointment process, declared as data, with its guards and actions.

    confirmed --join (system, metering)--> confirmed          a participant joined
    confirmed --start (system: both joined)--> started --complete (system: metering settled)--> completed
                                                       \\--close_unsettled (timer: settle_by)--> completed
    confirmed --cancel_by_client (client, operator)--> cancelled_by_client      EXPERT-CANCEL-1
    confirmed --cancel_by_provider (provider, operator)--> cancelled_by_provider EXPERT-CANCEL-2
    confirmed --client_no_show / provider_no_show / nobody_showed (timers: decide_at)--> missed_*
    confirmed --remind (timer: remind_at)--> confirmed

A slot taken from the provider's published availability is confirmed at once: publishing the
hours is the provider's acceptance. At `decide_at` (the end of the slot plus a grace period) three
timers are due; each one's guard reads the join records, so exactly one of them applies.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from entremise.booking.process import ProcessDefinition
from entremise.booking.registry import REGISTRY
from entremise.kernel.decision import Verdict

NAME = "appointment"
LIVE_STATES = ("confirmed", "started")


def _at(data: Mapping[str, Any], key: str) -> datetime:
    return datetime.fromisoformat(str(data[key]))


def _joined(data: Mapping[str, Any]) -> tuple[bool, bool]:
    joined = data.get("joined") or {}
    return bool(joined.get("client")), bool(joined.get("provider"))


@REGISTRY.guard("appointment.client_may_cancel")
def client_may_cancel(data: Mapping[str, Any], params: Mapping[str, Any], now: datetime) -> Verdict:
    """EXPERT-CANCEL-1: the client cancels before the appointment begins (the fee is the action's)."""
    if now < _at(data, "starts_at"):
        return Verdict.allow("EXPERT-CANCEL-1", reason="cancelled by the client before the start")
    return Verdict.refuse(
        "EXPERT-CANCEL-1", reason="the appointment has begun: it can no longer be cancelled"
    )


@REGISTRY.guard("appointment.provider_may_cancel")
def provider_may_cancel(data: Mapping[str, Any], params: Mapping[str, Any], now: datetime) -> Verdict:
    """EXPERT-CANCEL-2: the provider cancels before the appointment begins."""
    if now < _at(data, "starts_at"):
        return Verdict.allow("EXPERT-CANCEL-2", reason="cancelled by the provider before the start")
    return Verdict.refuse(
        "EXPERT-CANCEL-2", reason="the appointment has begun: it can no longer be cancelled"
    )


@REGISTRY.guard("appointment.both_joined")
def both_joined(data: Mapping[str, Any], params: Mapping[str, Any], now: datetime) -> Verdict:
    if all(_joined(data)):
        return Verdict.allow("EXPERT-CONSULT-1", reason="both participants joined")
    return Verdict.refuse("EXPERT-CONSULT-1", reason="waiting for the other participant")


@REGISTRY.guard("appointment.only_provider_joined")
def only_provider_joined(data: Mapping[str, Any], params: Mapping[str, Any], now: datetime) -> Verdict:
    client, provider = _joined(data)
    if provider and not client:
        return Verdict.allow("EXPERT-CANCEL-1", reason="the client did not join")
    return Verdict.refuse("EXPERT-CANCEL-1", reason="not a client's no-show")


@REGISTRY.guard("appointment.only_client_joined")
def only_client_joined(data: Mapping[str, Any], params: Mapping[str, Any], now: datetime) -> Verdict:
    client, provider = _joined(data)
    if client and not provider:
        return Verdict.allow("EXPERT-CANCEL-2", reason="the provider did not join")
    return Verdict.refuse("EXPERT-CANCEL-2", reason="not a provider's no-show")


@REGISTRY.guard("appointment.nobody_joined")
def nobody_joined(data: Mapping[str, Any], params: Mapping[str, Any], now: datetime) -> Verdict:
    if not any(_joined(data)):
        return Verdict.allow(reason="nobody joined: the client is refunded, nobody is charged")
    return Verdict.refuse(reason="someone joined")


def _register_actions() -> None:
    # the actions live in the service module (they touch the appointment row, the ledger, the outbox)
    from entremise.scheduling import actions

    for name, fn in actions.ACTIONS.items():
        REGISTRY.add_action(name, fn)


_register_actions()

_DECIDE = {"at": "decide_at"}
DEFINITION = REGISTRY.register(
    ProcessDefinition.from_dict(
        {
            "name": NAME,
            "version": 1,
            "states": [
                "confirmed",
                "started",
                "completed",
                "cancelled_by_client",
                "cancelled_by_provider",
                "missed_by_client",
                "missed_by_provider",
                "missed_by_both",
            ],
            "initial": "confirmed",
            "final": [
                "completed",
                "cancelled_by_client",
                "cancelled_by_provider",
                "missed_by_client",
                "missed_by_provider",
                "missed_by_both",
            ],
            "parties": {"client": "client_id", "provider": "provider_id"},
            "initial_timers": [
                {"transition": "remind", "at": "remind_at", "if_past": "ignore"},
                {"transition": "client_no_show", **_DECIDE},
                {"transition": "provider_no_show", **_DECIDE},
                {"transition": "nobody_showed", **_DECIDE},
            ],
            "transitions": [
                {
                    "name": "remind",
                    "from": ["confirmed"],
                    "to": "confirmed",
                    "actors": ["system"],
                    "actions": ["appointment.remind"],
                },
                {
                    "name": "join",
                    "from": ["confirmed"],
                    "to": "confirmed",
                    "actors": ["system"],
                    "actions": ["appointment.record_join"],
                },
                {
                    "name": "start",
                    "from": ["confirmed"],
                    "to": "started",
                    "actors": ["system"],
                    "guard": "appointment.both_joined",
                    "actions": ["appointment.mirror"],
                    "timers": [{"transition": "close_unsettled", "at": "settle_by"}],
                },
                {
                    "name": "complete",
                    "from": ["started"],
                    "to": "completed",
                    "actors": ["system"],
                    "actions": ["appointment.settle", "appointment.mirror"],
                },
                {
                    "name": "close_unsettled",
                    "from": ["started"],
                    "to": "completed",
                    "actors": ["system"],
                    "actions": ["appointment.release_unsettled", "appointment.mirror"],
                },
                {
                    "name": "cancel_by_client",
                    "from": ["confirmed"],
                    "to": "cancelled_by_client",
                    "actors": ["client", "operator"],
                    "guard": "appointment.client_may_cancel",
                    "actions": [
                        "appointment.client_cancellation",
                        "appointment.mirror",
                        "appointment.tell_ended",
                    ],
                },
                {
                    "name": "cancel_by_provider",
                    "from": ["confirmed"],
                    "to": "cancelled_by_provider",
                    "actors": ["provider", "operator"],
                    "guard": "appointment.provider_may_cancel",
                    "actions": [
                        "appointment.provider_cancellation",
                        "appointment.mirror",
                        "appointment.tell_ended",
                    ],
                },
                {
                    "name": "client_no_show",
                    "from": ["confirmed"],
                    "to": "missed_by_client",
                    "actors": ["system"],
                    "guard": "appointment.only_provider_joined",
                    "actions": ["appointment.client_missed", "appointment.mirror", "appointment.tell_ended"],
                },
                {
                    "name": "provider_no_show",
                    "from": ["confirmed"],
                    "to": "missed_by_provider",
                    "actors": ["system"],
                    "guard": "appointment.only_client_joined",
                    "actions": [
                        "appointment.provider_missed",
                        "appointment.mirror",
                        "appointment.tell_ended",
                    ],
                },
                {
                    "name": "nobody_showed",
                    "from": ["confirmed"],
                    "to": "missed_by_both",
                    "actors": ["system"],
                    "guard": "appointment.nobody_joined",
                    "actions": ["appointment.refund", "appointment.mirror", "appointment.tell_ended"],
                },
            ],
        }
    )
)
