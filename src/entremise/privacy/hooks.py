"""What privacy plugs into older modules, which must not import it (see docs/privacy.md):

- accounts registration: the optional `marketing` choice of the sign-up request is recorded as
  consent per channel, with its proof (COMMON-PRIVACY-2: opt-in at registration, absent means no);
- accounts closure: every consent is withdrawn, whatever closed the account (COMMON-ACCOUNT-4);
- notify delivery: a marketing message is sent only if `may_send_marketing` still allows it.

Importing this module registers them; `entremise.privacy.consent` users import it through
`entremise.privacy.service`, and so do the API, the worker and the CLI.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from entremise.accounts import service as accounts
from entremise.kernel.decision import Verdict
from entremise.kernel.errors import FieldError, InvalidInput
from entremise.notify import dispatch
from entremise.platforms.service import PlatformView
from entremise.privacy import consent, domain


def on_registration(
    db: Session,
    platform: PlatformView,
    user: accounts.UserView,
    extras: dict[str, Any],
    meta: accounts.RequestMeta,
    now: datetime,
) -> None:
    choice = extras.get("marketing")
    if choice is None:
        return
    if not isinstance(choice, dict):
        raise InvalidInput([FieldError("body.marketing", "an object of channels")])
    errors = [
        FieldError(f"body.marketing.{k}", f"one of {', '.join(domain.CHANNELS)}, true or false")
        for k, v in choice.items()
        if k not in domain.CHANNELS or not isinstance(v, bool)
    ]
    if errors:
        raise InvalidInput(errors, rules=[domain.RULE_MARKETING])
    for channel in domain.CHANNELS:
        if channel in choice:
            consent.set_consent(
                db,
                platform_id=platform.id,
                user_id=user.id,
                channel=channel,
                granted=bool(choice[channel]),
                source="registration",
                now=now,
                meta=meta,
            )


def on_closure(db: Session, platform: PlatformView, user: accounts.UserView, now: datetime) -> None:
    consent.withdraw_all(db, platform_id=platform.id, user_id=user.id, source="closure", now=now)


def marketing_gate(db: Session, platform_id: str, user_id: str | None, channel: str) -> Verdict:
    return consent.may_send_marketing(db, platform_id=platform_id, user_id=user_id, channel=channel)


accounts.register_registration_hook(on_registration)
accounts.register_closure_hook(on_closure)
dispatch.register_marketing_gate(marketing_gate)
