"""Processes the integration tests run (registered on import, also in spawned worker processes).

`test-trip`: requested -> accepted -> completed (or declined, expired, cancelled), with an expiry timer
at entry + 48 h, a reminder at departure - 24 h (ignored if past), auto-completion two hours after
departure (CARPOOL-END-1) unless contested (CARPOOL-CONTEST-1), cancellation only before departure
(CARPOOL-CANCEL-1). Accepting numbers the trip from a counter and queues an e-mail to the client.
`test-flaky`: one timer whose action fails as many times as FAILURES[instance_id] says.
"""

from __future__ import annotations

from datetime import datetime

from entremise.booking.process import ProcessDefinition, TimerSpec, Transition
from entremise.booking.registry import REGISTRY
from entremise.booking.service import ActionContext
from entremise.counters import service as counters
from entremise.kernel.decision import Verdict
from entremise.notify import outbox

FAILURES: dict[str, int] = {}


@REGISTRY.guard("test.before_departure")
def before_departure(data, params, now: datetime) -> Verdict:
    """CARPOOL-CANCEL-1: cancel before departure only."""
    if now < datetime.fromisoformat(data["starts_at"]):
        return Verdict.allow("CARPOOL-CANCEL-1", reason="cancelled before departure")
    return Verdict.refuse("CARPOOL-CANCEL-1", reason="the trip has already left")


@REGISTRY.guard("test.not_contested")
def not_contested(data, params, now: datetime) -> Verdict:
    """CARPOOL-END-1 ends the trip two hours after arrival, unless contested (CARPOOL-CONTEST-1)."""
    if data.get("contested"):
        return Verdict.refuse("CARPOOL-CONTEST-1", reason="the trip is contested")
    return Verdict.allow("CARPOOL-END-1", reason="two hours after the planned arrival")


@REGISTRY.action("test.number_trip")
def number_trip(ctx: ActionContext) -> None:
    ctx.data["number"] = counters.next_value(ctx.db, ctx.platform_id, "trip")
    ctx.audit_data["number"] = ctx.data["number"]


@REGISTRY.action("test.tell_client")
def tell_client(ctx: ActionContext) -> None:
    outbox.enqueue(
        ctx.db,
        platform_id=ctx.platform_id,
        channel="email",
        template="trip.accepted",
        recipient=f"{ctx.data['client_id']}@example.org",
        payload={"instance": ctx.instance_id},
        now=ctx.now,
        user_id=ctx.data["client_id"],
    )


@REGISTRY.action("test.mark_contested")
def mark_contested(ctx: ActionContext) -> None:
    ctx.data["contested"] = True


@REGISTRY.action("test.flaky")
def flaky(ctx: ActionContext) -> None:
    left = FAILURES.get(ctx.instance_id, 0)
    if left > 0:
        FAILURES[ctx.instance_id] = left - 1
        raise RuntimeError(f"payment provider unreachable ({left} failure(s) left)")


TRIP = REGISTRY.register(
    ProcessDefinition(
        name="test-trip",
        version=1,
        states=("requested", "accepted", "declined", "expired", "cancelled", "completed"),
        initial="requested",
        final=("declined", "expired", "cancelled", "completed"),
        initial_timers=(TimerSpec.at("expire", "entry + 48h"),),
        parties=(("client", "client_id"), ("provider", "provider_id")),
        transitions=(
            Transition(
                "accept",
                ("requested",),
                "accepted",
                ("provider",),
                actions=("test.number_trip", "test.tell_client"),
                timers=(
                    TimerSpec.at("remind", "starts_at - 24h", if_past="ignore"),
                    TimerSpec.at("complete", "starts_at + 2h"),
                ),
            ),
            Transition("decline", ("requested",), "declined", ("provider",)),
            Transition("expire", ("requested",), "expired", ("system",)),
            Transition("remind", ("accepted",), "accepted", ("system",)),
            Transition("contest", ("accepted",), "accepted", ("client",), actions=("test.mark_contested",)),
            Transition(
                "cancel",
                ("requested", "accepted"),
                "cancelled",
                ("client", "operator"),
                guard="test.before_departure",
            ),
            Transition(
                "complete", ("accepted",), "completed", ("system", "operator"), guard="test.not_contested"
            ),
        ),
    )
)

FLAKY = REGISTRY.register(
    ProcessDefinition.from_dict(
        {
            "name": "test-flaky",
            "version": 1,
            "states": ["waiting", "fired"],
            "initial": "waiting",
            "final": ["fired"],
            "initial_timers": [{"transition": "fire", "at": "entry + 1h"}],
            "transitions": [
                {
                    "name": "fire",
                    "from": ["waiting"],
                    "to": "fired",
                    "actors": ["system"],
                    "actions": ["test.flaky"],
                }
            ],
        }
    )
)

# Many timers due at once, for the multi-worker test: each instance fires once, right away.
BURST = REGISTRY.register(
    ProcessDefinition.from_dict(
        {
            "name": "test-burst",
            "version": 1,
            "states": ["armed", "fired"],
            "initial": "armed",
            "final": ["fired"],
            "initial_timers": [{"transition": "fire", "at": "entry"}],
            "transitions": [{"name": "fire", "from": ["armed"], "to": "fired", "actors": ["system"]}],
        }
    )
)
