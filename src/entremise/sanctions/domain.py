"""Pure sanction policies: the ladder's steps, what each does, and the cure period. No I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from entremise.kernel.decision import Decision, Verdict

KINDS = ("formal_notice", "restriction", "suspension", "termination", "wallet_freeze", "registration_ban")
BLOCKING = ("suspension", "termination")  # refused at login and on every state-changing call
LABELS = {
    "formal_notice": "formal notice to remedy a breach",
    "restriction": "account restricted (profile hidden)",
    "suspension": "account suspended",
    "termination": "contract terminated, account deactivated",
    "wallet_freeze": "wallet blocked",
    "registration_ban": "new registration refused",
}
STATEMENT_RULES = ("LAW-DSA-17", "COMMON-MODERATION-1")


@dataclass(frozen=True)
class Effects:
    revoke_sessions: bool
    hide_profile: bool
    freeze_wallets: bool
    ban_identifiers: bool
    cure_period: bool


def effects(kind: str) -> Effects:
    """What each step does. A termination also blocks the wallet's outgoing money and refuses a new
    registration (004 §16.1.1: close the account, block new sign-ups and the balance)."""
    return Effects(
        revoke_sessions=kind in BLOCKING,
        hide_profile=kind in ("restriction", "suspension", "termination"),
        freeze_wallets=kind in ("wallet_freeze", "termination"),
        ban_identifiers=kind in ("registration_ban", "termination"),
        cure_period=kind == "formal_notice",
    )


def cure_deadline(now: datetime, days: int, rules: tuple[str, ...]) -> Decision[datetime]:
    """CONSULT-SANCTION-1: a lesser breach gets a formal notice with `days` days (30) to remedy."""
    return Decision(now + timedelta(days=days), rules, f"{days} days to remedy and send a sworn statement")


def sworn_verdict(cure_until: datetime | None, now: datetime) -> Verdict:
    """CONSULT-SANCTION-1: the sworn statement is given within the cure period."""
    if cure_until is None:
        return Verdict.refuse("CONSULT-SANCTION-1", reason="only a formal notice awaits a sworn statement")
    if now >= cure_until:
        return Verdict.refuse(
            "CONSULT-SANCTION-1", reason=f"the cure period ended on {cure_until.isoformat()}"
        )
    return Verdict.allow("CONSULT-SANCTION-1")
