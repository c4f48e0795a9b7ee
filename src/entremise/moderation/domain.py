"""Pure moderation policies: what a valid notice carries, what a decision does to content, what a
statement of reasons says, and who may contest or answer a decision until when. No I/O here."""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from entremise.kernel.decision import Verdict
from entremise.kernel.errors import FieldError

NOTICE_RULES = ("LAW-DSA-16", "COMMON-NOTICE-1")
DECISION_RULES = ("COMMON-MODERATION-1", "LAW-DSA-16")
STATEMENT_RULE = "LAW-DSA-17"
COMPLAINT_RULE = "LAW-DSA-20"

DECISIONS = ("remove", "restrict", "keep")
GROUNDS = ("law", "terms")
NOTIFIER_TYPES = ("natural", "legal")
RULE_ID = re.compile(r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{2,}$")

# COMMON-NOTICE-1 (004 §10.2): the form says that a knowingly false notice is an offence
FALSE_NOTICE_WARNING = {
    "fr": (
        "Présenter un contenu ou une activité comme illicite dans le but d'en obtenir le retrait ou d'en "
        "arrêter la diffusion, en sachant cette information inexacte, est puni d'un an d'emprisonnement "
        "et de 150 000 € d'amende."
    ),
    "en": (
        "Presenting content or an activity as unlawful in order to have it removed or its distribution "
        "stopped, while knowing that this is inaccurate, is punishable by one year of imprisonment and a "
        "fine of EUR 150,000."
    ),
}

DSA_FIELDS = ("explanation", "location", "name", "email", "good_faith")
LCEN_NATURAL = ("first_names", "profession", "domicile", "nationality", "birth_date", "birth_place")
LCEN_LEGAL = ("legal_form", "registered_office", "representative")
TEXT_LIMITS = {
    "explanation": 5000,
    "location": 2000,
    "legal_grounds": 2000,
    "author_letter": 10000,
    "author_unreachable_reason": 2000,
}


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def check_notice(fields: Mapping[str, Any], *, require_lcen: bool) -> list[FieldError]:
    """LAW-DSA-16 (explanation, exact location, name and e-mail, good-faith statement) and, with
    `require_lcen`, COMMON-NOTICE-1: the notifier's identity as LCEN art. 6 lists it (a natural or a
    legal person), the legal grounds, and the copy of the letter to the author or why none was sent.
    Every missing or malformed field is named, as `body.<field>`."""
    errors: list[FieldError] = []
    for name in ("explanation", "location", "name", "email"):
        if not _text(fields.get(name)):
            errors.append(FieldError(f"body.{name}", "required (LAW-DSA-16)"))
    email = _text(fields.get("email"))
    if email and not EMAIL.match(email):
        errors.append(FieldError("body.email", "not an e-mail address"))
    if fields.get("good_faith") is not True:
        errors.append(
            FieldError("body.good_faith", "confirm that the notice is accurate and complete, in good faith")
        )
    for name, limit in TEXT_LIMITS.items():
        if len(_text(fields.get(name))) > limit:
            errors.append(FieldError(f"body.{name}", f"at most {limit} characters"))
    if not require_lcen:
        return errors
    kind = fields.get("notifier_type")
    if kind not in NOTIFIER_TYPES:
        errors.append(FieldError("body.notifier_type", "natural or legal (COMMON-NOTICE-1)"))
    else:
        for name in LCEN_NATURAL if kind == "natural" else LCEN_LEGAL:
            if not _text(fields.get(name)):
                errors.append(FieldError(f"body.{name}", "required (COMMON-NOTICE-1)"))
        if kind == "natural" and _text(fields.get("birth_date")):
            try:
                date.fromisoformat(_text(fields.get("birth_date")))
            except ValueError:
                errors.append(FieldError("body.birth_date", "a date as YYYY-MM-DD"))
    if not _text(fields.get("legal_grounds")):
        errors.append(
            FieldError("body.legal_grounds", "required: the legal provisions and facts (COMMON-NOTICE-1)")
        )
    if not _text(fields.get("author_letter")) and not _text(fields.get("author_unreachable_reason")):
        errors.append(
            FieldError(
                "body.author_letter",
                "the copy of the letter to the author, or author_unreachable_reason (COMMON-NOTICE-1)",
            )
        )
    return errors


def content_action(decision: str, *, held: bool) -> str | None:
    """What a decision does to the content: remove and restrict act on it; keep publishes content
    that was held before publication and leaves published content as it is."""
    if decision == "remove":
        return "remove"
    if decision == "restrict":
        return "restrict"
    return "publish" if held else None


def reversal_action(decision: str) -> str:
    """LAW-DSA-20: undoing a decision found unfounded: a removal or restriction is restored; a
    refusal to act (keep) becomes a removal."""
    return "restore" if decision in ("remove", "restrict") else "remove"


def needs_statement(decision: str) -> bool:
    """LAW-DSA-17: every restriction (removal, demotion) comes with a statement of reasons."""
    return decision in ("remove", "restrict")


def check_rules(rules: Any, field: str = "body.rules") -> list[FieldError]:
    if not isinstance(rules, (list, tuple)) or not rules:
        return [FieldError(field, "cite at least one rule ID (a ground in the terms or in law)")]
    bad = [r for r in rules if not isinstance(r, str) or not RULE_ID.match(r)]
    return [FieldError(field, f"not rule IDs: {', '.join(map(str, bad))}")] if bad else []


@dataclass(frozen=True)
class Statement:
    """LAW-DSA-17: the action, the facts, whether automated means were used (to detect, to decide),
    the ground (in law or in the terms, with the rule IDs), and the redress open to the recipient."""

    action: str
    facts: str
    automated_detection: bool
    automated_decision: bool
    ground_kind: str
    ground: str
    rules: tuple[str, ...]
    redress: str


def redress_text(complaint_deadline: datetime) -> str:
    return (
        "You may contest this decision free of charge through the platform's internal complaint "
        f"system until {complaint_deadline.date().isoformat()} (LAW-DSA-20); a person other than the one "
        "who decided answers with reasons. You may also turn to a certified out-of-court dispute "
        "settlement body or to the courts."
    )


def statement(
    *,
    action: str,
    facts: str,
    automated_detection: bool,
    ground_kind: str,
    ground: str,
    rules: tuple[str, ...],
    complaint_deadline: datetime,
) -> Statement:
    """The statement of reasons of a restriction. Decisions are always taken by a person here, so
    `automated_decision` is False; automated detection (the pre-moderation filter) is disclosed."""
    return Statement(
        action=action,
        facts=facts,
        automated_detection=automated_detection,
        automated_decision=False,
        ground_kind=ground_kind,
        ground=ground,
        rules=tuple(dict.fromkeys((*rules, STATEMENT_RULE))),
        redress=redress_text(complaint_deadline),
    )


def add_months(at: datetime, months: int) -> datetime:
    """The same instant `months` calendar months later (the last day of a shorter month)."""
    month = at.month - 1 + months
    year = at.year + month // 12
    month = month % 12 + 1
    day = min(at.day, calendar.monthrange(year, month)[1])
    return at.replace(year=year, month=month, day=day)


def complaint_verdict(decided_at: datetime, now: datetime, months: int) -> Verdict:
    """LAW-DSA-20: a decision can be contested during `months` months (at least 6) after it."""
    deadline = add_months(decided_at, months)
    if now >= deadline:
        return Verdict.refuse(
            COMPLAINT_RULE,
            reason=f"a decision can be contested within {months} months; this one until {deadline.isoformat()}",
        )
    return Verdict.allow(COMPLAINT_RULE, reason=f"within {months} months")


def answerer_verdict(first_decider: str | None, answerer: str) -> Verdict:
    """LAW-DSA-20: the complaint is answered by a staff member other than the first decider."""
    if first_decider is not None and first_decider == answerer:
        return Verdict.refuse(
            COMPLAINT_RULE, reason="the person who took the decision cannot answer the complaint against it"
        )
    return Verdict.allow(COMPLAINT_RULE)
