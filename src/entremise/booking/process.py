"""Processes as data: states, transitions, actors, guards, actions and timers (pure, no I/O).

A `ProcessDefinition` is a state machine a pack declares as data (frozen dataclasses, or a dict
loaded from JSON with `ProcessDefinition.from_dict`). `plan_transition` decides, from the current
state, who acts, the instance's data and the time, whether a transition may be taken, the state it
leads to, and the timers to schedule and cancel. The service (`booking.service`) applies the plan in
one database transaction.

Timers belong to the state they were scheduled on entering: leaving that state cancels them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from entremise.kernel.decision import Verdict

ACTOR_ROLES: tuple[str, ...] = ("client", "provider", "operator", "system")
IF_PAST: tuple[str, ...] = ("ignore", "run")
ENTRY = "entry"

NAME = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
_DURATION_PART = re.compile(r"(\d+)\s*(w|d|h|min|m|s)", re.IGNORECASE)
_UNITS = {"w": 604800, "d": 86400, "h": 3600, "min": 60, "m": 60, "s": 1}
_AT = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_.]*)\s*(?:([+\-−])\s*(.+?))?\s*$")

GuardFn = Callable[[Mapping[str, Any], Mapping[str, Any], datetime], Verdict]
"""A guard: (instance data, transition params, now) -> Verdict citing the rules it applied."""


class ProcessDefinitionError(ValueError):
    """A definition is inconsistent; `problems` lists every mistake found, one sentence each."""

    def __init__(self, name: str, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__(f"process {name!r} is invalid: " + "; ".join(self.problems))


class ProcessDataError(ValueError):
    """The instance's data lacks what the definition needs (a timer's anchor date, a party)."""

    def __init__(self, field_name: str, reason: str) -> None:
        self.field = field_name
        self.reason = reason
        super().__init__(f"data.{field_name}: {reason}")


# --- durations and timer times ------------------------------------------------------------


def parse_duration(text: str) -> timedelta:
    """`"48h"`, `"2d"`, `"1d12h"`, `"30min"`, `"90s"`, `"1w"` (units w, d, h, min or m, s)."""
    compact = text.replace(" ", "")
    if not compact:
        raise ValueError("empty duration")
    total = 0
    pos = 0
    for match in _DURATION_PART.finditer(compact):
        if match.start() != pos:
            break
        total += int(match.group(1)) * _UNITS[match.group(2).lower()]
        pos = match.end()
    if pos != len(compact):
        raise ValueError(f"not a duration: {text!r} (use e.g. 48h, 2d, 1d12h, 30min, 90s)")
    return timedelta(seconds=total)


def format_duration(delta: timedelta) -> str:
    seconds = int(abs(delta).total_seconds())
    if seconds == 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


@dataclass(frozen=True)
class TimerSpec:
    """Take `transition` (as the system) at `anchor + offset`.

    `anchor` is `"entry"` (the moment the state is entered) or a field of the instance's data
    holding an ISO 8601 date-time (dots reach into nested objects: `"slot.start"`).
    `if_past`: `"ignore"` skips the timer when its time has already passed at scheduling;
    `"run"` schedules it for right away.
    """

    transition: str
    offset: timedelta = timedelta(0)
    anchor: str = ENTRY
    if_past: Literal["ignore", "run"] = "run"

    @staticmethod
    def at(transition: str, when: str, if_past: Literal["ignore", "run"] = "run") -> TimerSpec:
        """Build from an expression: `"entry + 2h"`, `"starts_at - 48h"` (− is accepted too)."""
        anchor, offset = parse_at(when)
        return TimerSpec(transition=transition, offset=offset, anchor=anchor, if_past=if_past)

    @property
    def when(self) -> str:
        if not self.offset:
            return self.anchor
        sign = "-" if self.offset < timedelta(0) else "+"
        return f"{self.anchor} {sign} {format_duration(self.offset)}"

    def due_at(self, entered_at: datetime, data: Mapping[str, Any]) -> datetime:
        base = entered_at if self.anchor == ENTRY else read_datetime(data, self.anchor)
        return base + self.offset

    def to_dict(self) -> dict[str, Any]:
        return {"transition": self.transition, "at": self.when, "if_past": self.if_past}


def parse_at(when: str) -> tuple[str, timedelta]:
    match = _AT.match(when)
    if not match:
        raise ValueError(f"not a timer time: {when!r} (use e.g. 'entry + 2h' or 'starts_at - 48h')")
    anchor, sign, amount = match.group(1), match.group(2), match.group(3)
    if sign is None:
        return anchor, timedelta(0)
    offset = parse_duration(amount)
    return anchor, -offset if sign in ("-", "−") else offset


def read_datetime(data: Mapping[str, Any], path: str) -> datetime:
    value: Any = data
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            raise ProcessDataError(path, "missing: a timer is anchored on this date-time")
        value = value[part]
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError as exc:
            raise ProcessDataError(path, "not an ISO 8601 date-time") from exc
    if not isinstance(value, datetime):
        raise ProcessDataError(path, "not a date-time")
    if value.tzinfo is None:
        raise ProcessDataError(path, "date-time without a UTC offset")
    return value


# --- definitions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Transition:
    name: str
    from_states: tuple[str, ...]
    to_state: str
    actors: tuple[str, ...]
    guard: str | None = None
    actions: tuple[str, ...] = ()
    timers: tuple[TimerSpec, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "from": list(self.from_states),
            "to": self.to_state,
            "actors": list(self.actors),
            "guard": self.guard,
            "actions": list(self.actions),
            "timers": [t.to_dict() for t in self.timers],
        }


@dataclass(frozen=True)
class ProcessDefinition:
    """A versioned state machine. Build it with `ProcessDefinition.build(...)` or `from_dict`, which validate.

    `initial_timers` are scheduled when an instance starts (on entering `initial`).
    `parties` maps an actor role to the data field holding the id of the one person who may act in
    that role on an instance (e.g. `{"client": "client_id"}`); roles not listed are not checked here.
    """

    name: str
    version: int
    states: tuple[str, ...]
    initial: str
    final: tuple[str, ...]
    transitions: tuple[Transition, ...]
    initial_timers: tuple[TimerSpec, ...] = ()
    parties: tuple[tuple[str, str], ...] = ()
    _by_name: dict[str, Transition] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        problems = validate(self)
        if problems:
            raise ProcessDefinitionError(self.name, problems)
        self._by_name.update({t.name: t for t in self.transitions})

    def transition(self, name: str) -> Transition | None:
        return self._by_name.get(name)

    def party_field(self, role: str) -> str | None:
        return dict(self.parties).get(role)

    def timers_on_entering(self, state: str) -> tuple[TimerSpec, ...]:
        """Every timer some way of entering `state` may schedule (used to cancel them on leaving it)."""
        specs = [s for t in self.transitions if t.to_state == state for s in t.timers]
        if state == self.initial:
            specs.extend(self.initial_timers)
        return tuple(specs)

    def available(self, state: str, actor_role: str) -> tuple[str, ...]:
        """Transitions from `state` this actor role may take (guards not evaluated)."""
        return tuple(t.name for t in self.transitions if state in t.from_states and actor_role in t.actors)

    @staticmethod
    def from_dict(raw: Mapping[str, Any]) -> ProcessDefinition:
        """Load a definition declared as data (e.g. JSON in a pack). Raises ProcessDefinitionError."""
        return _from_dict(raw)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "states": list(self.states),
            "initial": self.initial,
            "final": list(self.final),
            "initial_timers": [t.to_dict() for t in self.initial_timers],
            "parties": dict(self.parties),
            "transitions": [t.to_dict() for t in self.transitions],
        }


def validate(d: ProcessDefinition) -> list[str]:
    """Every inconsistency of a definition, as sentences (empty when it is sound)."""
    problems: list[str] = []
    if not isinstance(d.name, str) or not NAME.match(d.name):
        problems.append("name must be 1 to 40 lowercase letters, digits, '-' or '_', starting with a letter")
    if isinstance(d.version, bool) or not isinstance(d.version, int) or d.version < 1:
        problems.append("version must be a positive integer")
    states = set(d.states)
    for dup in _duplicates(d.states):
        problems.append(f"state {dup!r} is declared twice")
    for s in d.states:
        if not NAME.match(s):
            problems.append(f"state {s!r}: use lowercase letters, digits, '-' or '_' (40 at most)")
    if d.initial not in states:
        problems.append(f"initial state {d.initial!r} is not a declared state")
    for s in d.final:
        if s not in states:
            problems.append(f"final state {s!r} is not a declared state")
    if d.initial in d.final:
        problems.append(f"initial state {d.initial!r} cannot be final")
    for dup in _duplicates([t.name for t in d.transitions]):
        problems.append(f"transition {dup!r} is declared twice")
    by_name = {t.name: t for t in d.transitions}
    for t in d.transitions:
        where = f"transition {t.name!r}"
        if not NAME.match(t.name):
            problems.append(f"{where}: use lowercase letters, digits, '-' or '_' (40 at most)")
        if not t.from_states:
            problems.append(f"{where} has no from-state")
        for s in t.from_states:
            if s not in states:
                problems.append(f"{where} starts from unknown state {s!r}")
            elif s in d.final:
                problems.append(f"{where} leaves final state {s!r}")
        if t.to_state not in states:
            problems.append(f"{where} leads to unknown state {t.to_state!r}")
        if not t.actors:
            problems.append(f"{where} has no actor allowed")
        for a in t.actors:
            if a not in ACTOR_ROLES:
                problems.append(f"{where}: unknown actor {a!r} (one of {', '.join(ACTOR_ROLES)})")
        for dup in _duplicates(list(t.actions)):
            problems.append(f"{where} runs action {dup!r} twice")
        problems.extend(_timer_problems(where, t.timers, t.to_state, by_name))
    problems.extend(_timer_problems("initial timers", d.initial_timers, d.initial, by_name))
    for role, data_field in d.parties:
        if role not in ACTOR_ROLES or role == "system":
            problems.append(f"party {role!r}: only client, provider or operator can be tied to a data field")
        if not data_field:
            problems.append(f"party {role!r} needs a data field")
    if d.initial in states:
        reached = _reachable(d)
        for s in d.states:
            if s not in reached:
                problems.append(f"state {s!r} is unreachable from {d.initial!r}")
    for s in d.states:
        if s not in d.final and not any(s in t.from_states for t in d.transitions):
            problems.append(f"state {s!r} is not final but no transition leaves it")
    return problems


def _timer_problems(
    where: str, timers: Sequence[TimerSpec], entered: str, by_name: Mapping[str, Transition]
) -> list[str]:
    problems: list[str] = []
    for dup in _duplicates([s.transition for s in timers]):
        problems.append(f"{where} schedules transition {dup!r} twice")
    for spec in timers:
        target = by_name.get(spec.transition)
        if target is None:
            problems.append(f"{where}: timer takes unknown transition {spec.transition!r}")
            continue
        if "system" not in target.actors:
            problems.append(f"{where}: timer transition {spec.transition!r} must allow the actor 'system'")
        if entered not in target.from_states:
            problems.append(
                f"{where}: timer transition {spec.transition!r} cannot be taken from {entered!r}, "
                "the state the timer is scheduled on entering"
            )
        if spec.if_past not in IF_PAST:
            problems.append(f"{where}: timer if_past must be 'ignore' or 'run'")
        if not spec.anchor:
            problems.append(f"{where}: timer needs an anchor ('entry' or a data field)")
    return problems


def _duplicates(items: Sequence[str]) -> list[str]:
    seen: set[str] = set()
    dups: list[str] = []
    for item in items:
        if item in seen and item not in dups:
            dups.append(item)
        seen.add(item)
    return dups


def _reachable(d: ProcessDefinition) -> set[str]:
    reached = {d.initial}
    frontier = [d.initial]
    while frontier:
        state = frontier.pop()
        for t in d.transitions:
            if state in t.from_states and t.to_state not in reached:
                reached.add(t.to_state)
                frontier.append(t.to_state)
    return reached


# --- loading from data ---------------------------------------------------------------------

_DEF_KEYS = {"name", "version", "states", "initial", "final", "transitions", "initial_timers", "parties"}
_TRANSITION_KEYS = {"name", "from", "to", "actors", "guard", "actions", "timers"}
_TIMER_KEYS = {"transition", "at", "if_past"}


def _from_dict(raw: Mapping[str, Any]) -> ProcessDefinition:
    name = raw.get("name") if isinstance(raw, Mapping) else None
    label = name if isinstance(name, str) else "?"
    problems: list[str] = []
    if not isinstance(raw, Mapping):
        raise ProcessDefinitionError(label, ["a definition must be an object"])
    problems.extend(f"unknown key {k!r}" for k in sorted(set(raw) - _DEF_KEYS))
    for key in ("name", "version", "states", "initial", "final", "transitions"):
        if key not in raw:
            problems.append(f"missing key {key!r}")
    if problems:
        raise ProcessDefinitionError(label, problems)
    transitions: list[Transition] = []
    for i, t in enumerate(_list(raw["transitions"], "transitions", problems)):
        where = f"transitions[{i}]"
        if not isinstance(t, Mapping):
            problems.append(f"{where} must be an object")
            continue
        problems.extend(f"{where}: unknown key {k!r}" for k in sorted(set(t) - _TRANSITION_KEYS))
        missing = [k for k in ("name", "from", "to", "actors") if k not in t]
        if missing:
            problems.append(f"{where}: missing {', '.join(repr(k) for k in missing)}")
            continue
        from_raw = t["from"]
        transitions.append(
            Transition(
                name=_str(t["name"], f"{where}.name", problems),
                from_states=_strs(
                    [from_raw] if isinstance(from_raw, str) else from_raw, f"{where}.from", problems
                ),
                to_state=_str(t["to"], f"{where}.to", problems),
                actors=_strs(t["actors"], f"{where}.actors", problems),
                guard=None if t.get("guard") is None else _str(t["guard"], f"{where}.guard", problems),
                actions=_strs(t.get("actions", []), f"{where}.actions", problems),
                timers=_timers(t.get("timers", []), f"{where}.timers", problems),
            )
        )
    parties_raw = raw.get("parties", {})
    parties: tuple[tuple[str, str], ...] = ()
    if isinstance(parties_raw, Mapping) and all(isinstance(v, str) for v in parties_raw.values()):
        parties = tuple((str(k), str(v)) for k, v in parties_raw.items())
    else:
        problems.append("parties must map actor roles to data field names")
    def_name = _str(raw["name"], "name", problems)
    version = raw["version"]
    if isinstance(version, bool) or not isinstance(version, int):
        problems.append("version must be an integer")
        version = 0
    states = _strs(raw["states"], "states", problems)
    initial = _str(raw["initial"], "initial", problems)
    final = _strs(raw["final"], "final", problems)
    initial_timers = _timers(raw.get("initial_timers", []), "initial_timers", problems)
    if problems:
        raise ProcessDefinitionError(label, problems)
    return ProcessDefinition(
        name=def_name,
        version=version,
        states=states,
        initial=initial,
        final=final,
        transitions=tuple(transitions),
        initial_timers=initial_timers,
        parties=parties,
    )


def _list(value: Any, where: str, problems: list[str]) -> list[Any]:
    if isinstance(value, list | tuple):
        return list(value)
    problems.append(f"{where} must be a list")
    return []


def _str(value: Any, where: str, problems: list[str]) -> str:
    if isinstance(value, str):
        return value
    problems.append(f"{where} must be a string")
    return ""


def _strs(value: Any, where: str, problems: list[str]) -> tuple[str, ...]:
    return tuple(_str(v, f"{where}[{i}]", problems) for i, v in enumerate(_list(value, where, problems)))


def _timers(value: Any, where: str, problems: list[str]) -> tuple[TimerSpec, ...]:
    specs: list[TimerSpec] = []
    for i, t in enumerate(_list(value, where, problems)):
        here = f"{where}[{i}]"
        if not isinstance(t, Mapping) or "transition" not in t or "at" not in t:
            problems.append(f"{here} must be an object with 'transition' and 'at'")
            continue
        problems.extend(f"{here}: unknown key {k!r}" for k in sorted(set(t) - _TIMER_KEYS))
        if_past = t.get("if_past", "run")
        if if_past not in IF_PAST:
            problems.append(f"{here}.if_past must be 'ignore' or 'run'")
            continue
        try:
            specs.append(
                TimerSpec.at(_str(t["transition"], f"{here}.transition", problems), str(t["at"]), if_past)
            )
        except ValueError as exc:
            problems.append(f"{here}.at: {exc}")
    return tuple(specs)


# --- planning a transition -----------------------------------------------------------------


@dataclass(frozen=True)
class ScheduledTimer:
    transition: str
    due_at: datetime


@dataclass(frozen=True)
class Allowed:
    """The transition may be taken: the state it leads to, timers to schedule and to cancel.

    `cancel` names the transitions whose pending timers must be cancelled (those scheduled on entering
    the state being left, or, on a transition back to the same state, those it schedules afresh).
    `verdict` is the guard's (rules and reason to record), or an empty allow without a guard.
    """

    transition: str
    from_state: str
    to_state: str
    schedule: tuple[ScheduledTimer, ...]
    cancel: tuple[str, ...]
    verdict: Verdict
    final: bool

    allowed: Literal[True] = True


RefusalKind = Literal["unknown_transition", "wrong_state", "actor_not_allowed", "guard_refused"]


@dataclass(frozen=True)
class Refused:
    """The transition may not be taken now, why, and what this actor may do instead."""

    transition: str
    state: str
    kind: RefusalKind
    reason: str
    allowed_transitions: tuple[str, ...]
    rules: tuple[str, ...] = ()

    allowed: Literal[False] = False


Plan = Allowed | Refused


def schedule_timers(
    specs: Sequence[TimerSpec], entered_at: datetime, data: Mapping[str, Any]
) -> tuple[ScheduledTimer, ...]:
    """Due times of timers scheduled on entering a state at `entered_at` (past ones ignored or run now)."""
    out: list[ScheduledTimer] = []
    for spec in specs:
        due = spec.due_at(entered_at, data)
        if due < entered_at:
            if spec.if_past == "ignore":
                continue
            due = entered_at
        out.append(ScheduledTimer(spec.transition, due))
    return tuple(out)


def plan_start(
    definition: ProcessDefinition, data: Mapping[str, Any], now: datetime
) -> tuple[ScheduledTimer, ...]:
    """Timers to schedule when an instance starts in the initial state."""
    return schedule_timers(definition.initial_timers, now, data)


def plan_transition(
    definition: ProcessDefinition,
    state: str,
    transition_name: str,
    actor_role: str,
    data: Mapping[str, Any],
    params: Mapping[str, Any],
    now: datetime,
    guards: Mapping[str, GuardFn] | None = None,
) -> Plan:
    """Decide whether `actor_role` may take `transition_name` from `state` now.

    Raises KeyError when the transition's guard is not in `guards`, ProcessDataError when a timer's
    anchor is missing from `data`.
    """
    available = definition.available(state, actor_role)
    transition = definition.transition(transition_name)
    if transition is None:
        return Refused(
            transition_name,
            state,
            "unknown_transition",
            f"process {definition.name!r} has no transition {transition_name!r}",
            available,
        )
    if state not in transition.from_states:
        return Refused(
            transition_name,
            state,
            "wrong_state",
            f"{transition_name!r} cannot be taken from state {state!r}",
            available,
        )
    if actor_role not in transition.actors:
        return Refused(
            transition_name,
            state,
            "actor_not_allowed",
            f"a {actor_role} cannot take {transition_name!r} (allowed: {', '.join(transition.actors)})",
            available,
        )
    verdict = Verdict.allow()
    if transition.guard is not None:
        guard = (guards or {})[transition.guard]
        verdict = guard(data, params, now)
        if not verdict.allowed:
            return Refused(
                transition_name, state, "guard_refused", verdict.reason, available, rules=verdict.rules
            )
    schedule = schedule_timers(transition.timers, now, data)
    if transition.to_state != state:
        cancel = tuple(dict.fromkeys(s.transition for s in definition.timers_on_entering(state)))
    else:
        cancel = tuple(dict.fromkeys(s.transition for s in transition.timers))
    return Allowed(
        transition=transition_name,
        from_state=state,
        to_state=transition.to_state,
        schedule=schedule,
        cancel=cancel,
        verdict=verdict,
        final=transition.to_state in definition.final,
    )
