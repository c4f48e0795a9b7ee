"""The metered session process, declared as data.

    requested --dial--> connecting --answer--> live --end / hang_up / cutoff (timer)--> ended
    connecting --note_end--> connecting        the end is known, the answer not yet (out of order)
    connecting --miss / no_answer (timer) / close_unanswered (timer)--> no_show
    requested, connecting --fail--> failed
    requested, connecting --cancel (client, operator)--> cancelled
    live --warn (timer: a minute before the budget runs out)--> live

Entering `live` schedules the warning and the cut-off at the times the budget allows; leaving it
cancels them. The actions (settle, release, warn, hang up) are in `metering.actions`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from entremise.booking.process import ProcessDefinition
from entremise.booking.registry import REGISTRY
from entremise.kernel.decision import Verdict

NAME = "metered_session"
FINAL = ("ended", "no_show", "failed", "cancelled")


@REGISTRY.guard("metering.end_not_reported")
def end_not_reported(data: Mapping[str, Any], params: Mapping[str, Any], now: datetime) -> Verdict:
    """The ring timeout applies only while no end was reported (a reported end waits for its answer)."""
    if data.get("end_reported"):
        return Verdict.refuse(reason="the provider reported the end: waiting for its answer time")
    return Verdict.allow(reason="nobody answered in time")


def _register_actions() -> None:
    from entremise.metering import actions

    for name, fn in actions.ACTIONS.items():
        REGISTRY.add_action(name, fn)


_register_actions()

DEFINITION = REGISTRY.register(
    ProcessDefinition.from_dict(
        {
            "name": NAME,
            "version": 1,
            "states": ["requested", "connecting", "live", *FINAL],
            "initial": "requested",
            "final": list(FINAL),
            "parties": {"client": "client_id", "provider": "provider_id"},
            "transitions": [
                {
                    "name": "dial",
                    "from": ["requested"],
                    "to": "connecting",
                    "actors": ["system"],
                    "actions": ["metering.mirror"],
                    "timers": [{"transition": "no_answer", "at": "ring_deadline"}],
                },
                {
                    "name": "note_end",
                    "from": ["connecting"],
                    "to": "connecting",
                    "actors": ["system"],
                    "actions": ["metering.note_end"],
                    "timers": [{"transition": "close_unanswered", "at": "close_at"}],
                },
                {
                    "name": "answer",
                    "from": ["connecting"],
                    "to": "live",
                    "actors": ["system"],
                    "actions": ["metering.go_live", "metering.mirror"],
                    "timers": [
                        {"transition": "warn", "at": "warn_at", "if_past": "ignore"},
                        {"transition": "cutoff", "at": "cutoff_at"},
                    ],
                },
                {
                    "name": "warn",
                    "from": ["live"],
                    "to": "live",
                    "actors": ["system"],
                    "actions": ["metering.warn"],
                },
                {
                    "name": "end",
                    "from": ["live"],
                    "to": "ended",
                    "actors": ["system"],
                    "actions": ["metering.settle", "metering.mirror"],
                },
                {
                    "name": "hang_up",
                    "from": ["live"],
                    "to": "ended",
                    "actors": ["client", "provider", "operator"],
                    "actions": ["metering.hang_up", "metering.settle", "metering.mirror"],
                },
                {
                    "name": "cutoff",
                    "from": ["live"],
                    "to": "ended",
                    "actors": ["system"],
                    "actions": ["metering.hang_up", "metering.settle", "metering.mirror"],
                },
                {
                    "name": "miss",
                    "from": ["connecting"],
                    "to": "no_show",
                    "actors": ["system"],
                    "actions": ["metering.release", "metering.mirror"],
                },
                {
                    "name": "no_answer",
                    "from": ["connecting"],
                    "to": "no_show",
                    "actors": ["system"],
                    "guard": "metering.end_not_reported",
                    "actions": ["metering.hang_up", "metering.release", "metering.mirror"],
                },
                {
                    "name": "close_unanswered",
                    "from": ["connecting"],
                    "to": "no_show",
                    "actors": ["system"],
                    "actions": ["metering.release", "metering.mirror"],
                },
                {
                    "name": "fail",
                    "from": ["requested", "connecting"],
                    "to": "failed",
                    "actors": ["system"],
                    "actions": ["metering.release", "metering.mirror"],
                },
                {
                    "name": "cancel",
                    "from": ["requested", "connecting"],
                    "to": "cancelled",
                    "actors": ["client", "operator"],
                    "actions": ["metering.hang_up", "metering.release", "metering.mirror"],
                },
            ],
        }
    )
)
