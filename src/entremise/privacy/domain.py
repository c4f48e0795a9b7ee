"""Pure privacy policies: answer deadlines of data-protection requests, extensions, reasoned answers,
marketing consent, signed unsubscribe links, retention periods.

No I/O and no clock reads: times and secrets come in as arguments.
"""

from __future__ import annotations

import base64
import calendar
import hashlib
import hmac
from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

from entremise.kernel.decision import Decision, Verdict

RULE_REQUESTS = "COMMON-PRIVACY-1"
RULE_MARKETING = "COMMON-PRIVACY-2"
RULE_RETENTION = "COMMON-PRIVACY-3"

# --- marketing consent (COMMON-PRIVACY-2, LAW-CANVASS-1 for the phone) ------------------------------

CHANNELS = ("email", "sms", "phone")
# where a consent change came from (kept as its proof with the time, IP address and user agent)
CONSENT_SOURCES = ("registration", "settings", "unsubscribe_link", "closure", "erasure")


def check_channel(channel: str) -> Verdict:
    if channel not in CHANNELS:
        return Verdict.refuse(RULE_MARKETING, reason=f"unknown channel: one of {', '.join(CHANNELS)}")
    return Verdict.allow(RULE_MARKETING)


def marketing_verdict(
    *, consented: bool, account_active: bool, limited_by: Sequence[str], channel: str
) -> Verdict:
    """COMMON-PRIVACY-2: a marketing message goes only to an active account that opted in on this
    channel and has neither restricted nor objected to marketing (GDPR arts. 18 and 21(2))."""
    if not account_active:
        return Verdict.refuse(RULE_MARKETING, reason="the account is closed")
    if limited_by:
        return Verdict.refuse(
            RULE_REQUESTS,
            RULE_MARKETING,
            reason=f"marketing is stopped by the user's {' and '.join(limited_by)}",
        )
    if not consented:
        return Verdict.refuse(RULE_MARKETING, reason=f"no marketing consent on the {channel} channel")
    return Verdict.allow(RULE_MARKETING, reason=f"the user opted in on the {channel} channel")


# --- signed one-click unsubscribe links (RFC 8058) -----------------------------------------------

_TOKEN_PURPOSE = b"entremise/unsubscribe/v1"


def _mac(secret: str, platform_id: str, user_id: str, channel: str) -> str:
    if not secret:
        raise ValueError("the secret key must not be empty")
    key = hmac.new(secret.encode("utf-8"), _TOKEN_PURPOSE, hashlib.sha256).digest()  # purpose-bound key
    message = f"{platform_id}\n{user_id}\n{channel}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def unsubscribe_token(secret: str, platform_id: str, user_id: str, channel: str) -> str:
    """`<user id>.<channel>.<HMAC-SHA256>`: names one user and one channel of one platform; only the
    holder of the deployment's secret key can make one. It does not expire: a link in an old e-mail
    must still work (RFC 8058)."""
    if check_channel(channel).allowed is False or "." in user_id:
        raise ValueError("cannot sign this user or channel")
    return f"{user_id}.{channel}.{_mac(secret, platform_id, user_id, channel)}"


@dataclass(frozen=True)
class UnsubscribeLink:
    user_id: str
    channel: str


def read_unsubscribe_token(
    secrets: Sequence[str], platform_id: str, token: str
) -> Decision[UnsubscribeLink | None]:
    """The user and channel a token names, or None with the reason when it is forged, tampered with,
    or signed for another platform. `secrets`: the current key first, then keys being retired."""
    parts = token.split(".")
    if len(token) > 200 or len(parts) != 3 or not all(parts):
        return Decision(None, (RULE_MARKETING,), "not an unsubscribe link")
    user_id, channel, mac = parts
    if channel not in CHANNELS:
        return Decision(None, (RULE_MARKETING,), "not an unsubscribe link")
    given = mac.encode("utf-8", "replace")  # compare bytes: str comparison refuses non-ASCII
    if not any(
        hmac.compare_digest(_mac(s, platform_id, user_id, channel).encode(), given) for s in secrets if s
    ):
        return Decision(
            None, (RULE_MARKETING,), "the link's signature does not match: it was altered or forged"
        )
    return Decision(UnsubscribeLink(user_id, channel), (RULE_MARKETING,), "a valid link")


# --- data-protection requests (COMMON-PRIVACY-1, GDPR arts. 12, 15-21) -----------------------------

KINDS = ("access", "rectification", "erasure", "restriction", "objection", "portability")
OUTCOMES = ("granted", "partially_granted", "refused")
PURPOSES = ("marketing", "profiling")  # what a restriction or an objection stops
LIMIT_KINDS = ("restriction", "objection")
ANSWER_MONTHS = 1  # GDPR art. 12(3): one month from receipt
MAX_EXTENSION_MONTHS = 2  # ... extendable by two further months, the user told why within the first


@dataclass(frozen=True)
class Ground:
    code: str
    article: str
    label: str
    kinds: tuple[str, ...]


# The grounds on which a request may be refused, in whole or in part; each names its article.
GROUNDS: dict[str, Ground] = {
    g.code: g
    for g in (
        Ground("manifestly_unfounded", "GDPR art. 12(5)", "the request is manifestly unfounded", KINDS),
        Ground("excessive", "GDPR art. 12(5)", "the request is excessive, in particular repetitive", KINDS),
        Ground(
            "identity_not_established",
            "GDPR art. 12(6)",
            "the identity of the person making the request could not be confirmed",
            KINDS,
        ),
        Ground(
            "rights_of_others",
            "GDPR art. 15(4)",
            "answering would adversely affect the rights and freedoms of others",
            ("access", "portability"),
        ),
        Ground(
            "not_portable",
            "GDPR art. 20(1)",
            "portability covers only data the person provided, processed by consent or contract",
            ("portability",),
        ),
        Ground(
            "data_accurate",
            "GDPR art. 16",
            "the data were checked and are accurate and complete",
            ("rectification", "restriction"),
        ),
        Ground(
            "freedom_of_expression",
            "GDPR art. 17(3)(a)",
            "the data are needed to exercise the right of freedom of expression and information",
            ("erasure",),
        ),
        Ground(
            "legal_obligation",
            "GDPR art. 17(3)(b)",
            "the law requires the data to be kept (for example accounting or contract evidence)",
            ("erasure",),
        ),
        Ground(
            "archiving_public_interest",
            "GDPR art. 17(3)(d)",
            "the data are needed for archiving in the public interest, research or statistics",
            ("erasure",),
        ),
        Ground(
            "legal_claims",
            "GDPR arts. 17(3)(e), 18(2), 21(1)",
            "the data are needed to establish, exercise or defend legal claims",
            ("erasure", "restriction", "objection"),
        ),
        Ground(
            "compelling_legitimate_grounds",
            "GDPR art. 21(1)",
            "compelling legitimate grounds for the processing override the person's interests",
            ("objection",),
        ),
    )
}


def _add_months(day: date, months: int) -> date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _working_day_on_or_after(day: date, closed: Container[date]) -> date:
    while day.weekday() >= 5 or day in closed:
        day += timedelta(days=1)
    return day


def public_holidays(region: str, years: Sequence[int]) -> frozenset[date]:
    """Public holidays of `region` (an ISO country code; FR by default for unknown ones)."""
    try:
        found = holidays.country_holidays(region, years=list(years))
    except NotImplementedError:
        found = holidays.country_holidays("FR", years=list(years))
    return frozenset(found.keys())


def answer_due_on(received_on: date, months: int, closed: Container[date]) -> date:
    """The last day to answer a request received on `received_on`, `months` months later (GDPR art.
    12(3)), counted as EU Regulation 1182/71 art. 3 says (EDPB guidelines 01/2022): the period ends on
    the same date of the last month, or that month's last day when it has no such date, and moves to
    the next working day when it falls on a Saturday, a Sunday or a public holiday."""
    return _working_day_on_or_after(_add_months(received_on, months), closed)


def local_day(at: datetime, timezone: str) -> date:
    return at.astimezone(ZoneInfo(timezone)).date()


def end_of_day(day: date, timezone: str) -> datetime:
    """The first instant after `day` in `timezone`, in UTC: a deadline "on `day`" has passed from then."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def deadline(
    received_at: datetime, timezone: str, region: str, months: int = ANSWER_MONTHS
) -> Decision[date]:
    """COMMON-PRIVACY-1: the day by which a request received at `received_at` must be answered."""
    day = local_day(received_at, timezone)
    closed = public_holidays(region, (day.year, day.year + 1))
    due = answer_due_on(day, months, closed)
    return Decision(due, (RULE_REQUESTS,), f"answer within {months} month(s) of receipt (GDPR art. 12(3))")


def extension_verdict(
    *, status: str, extended: bool, today: date, due_on: date, months: int, reason: str
) -> Verdict:
    """GDPR art. 12(3): the deadline may be extended once by up to two further months, where the
    request is complex or numerous, and the user must be told why within the first month."""
    if status != "open":
        return Verdict.refuse(RULE_REQUESTS, reason="the request is already answered")
    if extended:
        return Verdict.refuse(RULE_REQUESTS, reason="the deadline was already extended once")
    if today > due_on:
        return Verdict.refuse(
            RULE_REQUESTS, reason="the first month is over: an extension must be announced within it"
        )
    if not 1 <= months <= MAX_EXTENSION_MONTHS:
        return Verdict.refuse(RULE_REQUESTS, reason=f"1 to {MAX_EXTENSION_MONTHS} further months")
    if len(reason.strip()) < 10:
        return Verdict.refuse(RULE_REQUESTS, reason="the user must be told why: give the reason")
    return Verdict.allow(RULE_REQUESTS, reason=f"extended by {months} month(s)")


def is_overdue(status: str, due_on: date, today: date) -> bool:
    return status == "open" and today > due_on


@dataclass(frozen=True)
class AnswerProblem:
    field: str
    reason: str


def answer_problems(
    *, kind: str, status: str, outcome: str, grounds: Sequence[str], message: str, purposes: Sequence[str]
) -> tuple[list[AnswerProblem], tuple[str, ...]]:
    """What is wrong with a staff answer (empty when it can be given), and the rules it cites.

    COMMON-PRIVACY-1: a refusal, whole or partial, gives its reasons: at least one ground that applies
    to the kind of request, and a message to the user explaining it. An objection to marketing cannot
    be refused (GDPR art. 21(3)); a restriction or objection is granted or refused, not in part."""
    rules = (RULE_REQUESTS,)
    if status != "open":
        return [AnswerProblem("status", "the request is already answered")], rules
    problems: list[AnswerProblem] = []
    if outcome not in OUTCOMES:
        problems.append(AnswerProblem("body.outcome", f"one of {', '.join(OUTCOMES)}"))
        return problems, rules
    if len(message.strip()) < 10:
        problems.append(AnswerProblem("body.message", "tell the user what was done, or why not"))
    if outcome == "granted":
        if grounds:
            problems.append(
                AnswerProblem("body.grounds", "a request granted in full needs no refusal ground")
            )
        return problems, rules
    if kind in LIMIT_KINDS and outcome == "partially_granted":
        problems.append(AnswerProblem("body.outcome", "a restriction or objection is granted or refused"))
    if not grounds:
        problems.append(AnswerProblem("body.grounds", "a refusal gives at least one ground"))
    for i, code in enumerate(grounds):
        ground = GROUNDS.get(code)
        if ground is None:
            problems.append(AnswerProblem(f"body.grounds.{i}", f"one of {', '.join(GROUNDS)}"))
        elif kind not in ground.kinds:
            problems.append(AnswerProblem(f"body.grounds.{i}", f"{ground.article} does not apply to {kind}"))
    if kind == "objection" and outcome == "refused" and "marketing" in purposes:
        problems.append(
            AnswerProblem("body.outcome", "an objection to marketing is always granted (GDPR art. 21(3))")
        )
    return problems, rules


# --- post-mortem directives (Loi Informatique et Libertés art. 85) --------------------------------

# what the user wants done with their data after death: kept, erased, or communicated to someone
DATA_FATES = ("keep", "erase", "communicate")


# --- retention (COMMON-PRIVACY-3, GDPR art. 5(1)(e)) ------------------------------------------------


@dataclass(frozen=True)
class RetentionKind:
    kind: str
    rule: str
    default_days: int
    clock: str  # what starts the period


# What each retention figure of the platform settings (`retention_days`) covers. The figures are the
# platform's data; this catalogue says which rule each one implements and when its period starts.
RETENTION_KINDS: dict[str, RetentionKind] = {
    k.kind: k
    for k in (
        RetentionKind("civil_identity", RULE_RETENTION, 5 * 365, "the end of the contract (closure)"),
        RetentionKind("account", RULE_RETENTION, 365, "the closure of the account (also payment data)"),
        RetentionKind("connection", RULE_RETENTION, 365, "each connection (login, session, device seen)"),
        RetentionKind("messages", RULE_RETENTION, 365, "the queuing of a message that was sent"),
        RetentionKind("ride", RULE_RETENTION, 5 * 365, "the ride (kidride)"),
        RetentionKind("telephony_billing", RULE_RETENTION, 365, "the billed call (telephony)"),
    )
}


def retention_days(figures: Mapping[str, int], kind: str) -> Decision[int | None]:
    """The retention period of `kind` on a platform: its figure, else the catalogue's default.
    A figure below one day is refused (None): purging on it would erase what was just written."""
    catalogue = RETENTION_KINDS.get(kind)
    value = figures.get(kind, catalogue.default_days if catalogue else None)
    rule = catalogue.rule if catalogue else RULE_RETENTION
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return Decision(None, (rule,), f"no valid retention period for {kind!r}: nothing purged")
    return Decision(
        value, (rule,), f"{kind}: {value} days after {catalogue.clock if catalogue else 'the event'}"
    )
