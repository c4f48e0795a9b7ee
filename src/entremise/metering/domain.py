"""Metered sessions (pure): what the provider's events say happened, whatever order they came in.

The session keeps the facts it has received (the answer time, the end time and how it ended, who
joined and left the video room and when); `derive` reads them and says where the session stands.
Durations come from the events' own times, so a late "answered" arriving after "ended" still gives
the right bill, and a duplicate changes nothing.

    phone: answered → live; answered + ended → ended (ended − answered); ended without an answer:
           no_answer/busy → no_show, failed → failed, completed/dropped → waiting for the answer
    video: both joined → live (from the second join); a participant left after both joined → ended
           (at the first leave); a leave before the other joined → waiting, then no_show
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from entremise.kernel.decision import Decision

Where = Literal["connecting", "live", "ended", "no_show", "failed", "waiting"]


@dataclass(frozen=True)
class Derived:
    where: Where
    answered_at: datetime | None = None
    ended_at: datetime | None = None


def _dt(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def derive(mode: str, facts: Mapping[str, Any]) -> Derived:
    """Where the session stands given its facts (as stored in the process data)."""
    if mode == "video":
        joined = {k: _dt(v) for k, v in (facts.get("joined") or {}).items()}
        left = {k: _dt(v) for k, v in (facts.get("left") or {}).items()}
        if joined.get("client") and joined.get("provider"):
            start = max(t for t in joined.values() if t is not None)
            lefts = [t for t in left.values() if t is not None]
            if not lefts:
                return Derived("live", answered_at=start)
            end = min(lefts)
            if end <= start:
                return Derived("waiting")  # one left before the other came: they never met
            return Derived("ended", answered_at=start, ended_at=end)
        if left:
            return Derived("waiting")
        return Derived("connecting")
    answered = _dt(facts.get("answered_at"))
    ended = _dt(facts.get("ended_at"))
    status = facts.get("end_status")
    if ended is None:
        return Derived("live", answered_at=answered) if answered else Derived("connecting")
    if answered is None:
        if status in ("no_answer", "busy"):
            return Derived("no_show", ended_at=ended)
        if status == "failed":
            return Derived("failed", ended_at=ended)
        return Derived("waiting", ended_at=ended)
    return Derived("ended", answered_at=answered, ended_at=max(ended, answered))


def billable_seconds(answered_at: datetime, ended_at: datetime) -> int:
    """Whole seconds between the answer and the end (a started second counts)."""
    delta = ended_at - answered_at
    whole = int(delta.total_seconds())
    return max(0, whole + (1 if delta > timedelta(seconds=whole) else 0))


def record_fact(
    mode: str, facts: dict[str, Any], kind: str, at: datetime, role: str | None, status: str | None
) -> Decision[bool]:
    """Add an event to the facts; False when it adds nothing (an earlier fact of the kind stands)."""
    iso = at.isoformat()
    if kind == "call.answered":
        if facts.get("answered_at"):
            return Decision(False, reason="the answer is already known")
        facts["answered_at"] = iso
    elif kind == "call.ended":
        if facts.get("ended_at"):
            return Decision(False, reason="the end is already known")
        facts["ended_at"] = iso
        facts["end_status"] = status
    elif kind in ("participant.joined", "participant.left"):
        key = "joined" if kind == "participant.joined" else "left"
        bucket = dict(facts.get(key) or {})
        if role in bucket:
            return Decision(False, reason=f"the {role} already {key}")
        bucket[str(role)] = iso
        facts[key] = bucket
    else:
        return Decision(False, reason=f"unknown event {kind!r}")
    return Decision(True, reason=f"{kind} recorded")
