"""The DJob order process, declared as data, with its guards (CONSULT-DJOB-1).

placed --accept (provider)--> in_progress --deliver (provider)--> delivered
delivered --accept_delivery (client) / auto_accept (timer: auto_accept_at)--> completed   (paid)
delivered --request_revision (client, within the limit)--> revision_requested --deliver--> delivered
placed --decline (provider) / expire (timer: answer_by) / cancel (client)--> declined / expired / cancelled
in_progress, revision_requested --cancel_late (client, once the delivery date has passed)--> cancelled
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from entremise.booking.process import ProcessDefinition
from entremise.booking.registry import REGISTRY
from entremise.kernel.decision import Verdict
from entremise.orders import domain

NAME = "djob"


@REGISTRY.guard("djob.revision_left")
def revision_left(data: Mapping[str, Any], params: Mapping[str, Any], now: datetime) -> Verdict:
    return domain.revision_verdict(int(data.get("revisions", 0)), int(data["max_revisions"]))


@REGISTRY.guard("djob.past_due")
def past_due(data: Mapping[str, Any], params: Mapping[str, Any], now: datetime) -> Verdict:
    due = data.get("due_at")
    if due and now > datetime.fromisoformat(str(due)):
        return Verdict.allow("CONSULT-DJOB-1", reason="the delivery date has passed without a delivery")
    return Verdict.refuse(
        "CONSULT-DJOB-1", reason="the provider accepted the job and its delivery date has not passed yet"
    )


def _register_actions() -> None:
    from entremise.orders import actions

    for name, fn in actions.ACTIONS.items():
        REGISTRY.add_action(name, fn)


_register_actions()

_SETTLE = ["djob.pay", "djob.mirror", "djob.tell"]
_RELEASE = ["djob.release", "djob.mirror", "djob.tell"]
DEFINITION = REGISTRY.register(
    ProcessDefinition.from_dict(
        {
            "name": NAME,
            "version": 1,
            "states": [
                "placed",
                "in_progress",
                "delivered",
                "revision_requested",
                "completed",
                "declined",
                "expired",
                "cancelled",
            ],
            "initial": "placed",
            "final": ["completed", "declined", "expired", "cancelled"],
            "parties": {"client": "client_id", "provider": "provider_id"},
            "initial_timers": [{"transition": "expire", "at": "answer_by"}],
            "transitions": [
                {
                    "name": "accept",
                    "from": ["placed"],
                    "to": "in_progress",
                    "actors": ["provider"],
                    "actions": ["djob.start", "djob.mirror", "djob.tell"],
                },
                {
                    "name": "decline",
                    "from": ["placed"],
                    "to": "declined",
                    "actors": ["provider", "operator"],
                    "actions": _RELEASE,
                },
                {
                    "name": "expire",
                    "from": ["placed"],
                    "to": "expired",
                    "actors": ["system"],
                    "actions": _RELEASE,
                },
                {
                    "name": "cancel",
                    "from": ["placed"],
                    "to": "cancelled",
                    "actors": ["client", "operator"],
                    "actions": _RELEASE,
                },
                {
                    "name": "cancel_late",
                    "from": ["in_progress", "revision_requested"],
                    "to": "cancelled",
                    "actors": ["client", "operator"],
                    "guard": "djob.past_due",
                    "actions": _RELEASE,
                },
                {
                    "name": "deliver",
                    "from": ["in_progress", "revision_requested"],
                    "to": "delivered",
                    "actors": ["provider"],
                    "actions": ["djob.record_delivery", "djob.mirror", "djob.tell"],
                    "timers": [{"transition": "auto_accept", "at": "auto_accept_at"}],
                },
                {
                    "name": "accept_delivery",
                    "from": ["delivered"],
                    "to": "completed",
                    "actors": ["client"],
                    "actions": _SETTLE,
                },
                {
                    "name": "auto_accept",
                    "from": ["delivered"],
                    "to": "completed",
                    "actors": ["system"],
                    "actions": _SETTLE,
                },
                {
                    "name": "request_revision",
                    "from": ["delivered"],
                    "to": "revision_requested",
                    "actors": ["client"],
                    "guard": "djob.revision_left",
                    "actions": ["djob.record_revision", "djob.mirror", "djob.tell"],
                },
            ],
        }
    )
)
