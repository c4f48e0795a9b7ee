"""Growth use cases: personal links and their QR codes and banners (EXPERT-LINK-1, EXPERT-REFER-1),
sign-ups through a link (EXPERT-SIGNUP-2), referral commissions (EXPERT-REFER-1).

Each function runs in the caller's transaction. Importing this module registers the accounts
registration hook (`on_registration`): a new provider gets a personal link; a person who signs
up through a link is attributed to its provider, and the answer says where to land.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from urllib.parse import quote

import segno
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from entremise.accounts import service as accounts
from entremise.accounts.service import RequestMeta, UserView
from entremise.audit.service import Actor, record
from entremise.config import Settings
from entremise.growth import domain
from entremise.growth.models import PersonalLink, ReferralCommission, SignupAttribution
from entremise.kernel.decision import Decision
from entremise.kernel.errors import FieldError, InvalidInput, NotFound
from entremise.kernel.ids import new_id
from entremise.kernel.money import Money
from entremise.ledger import service as ledger
from entremise.ledger.domain import AccountType, Transfer
from entremise.platforms import service as platforms
from entremise.platforms.service import PlatformView

Kind = Literal["consultation", "inscription"]
LABELS = {
    ("consultation", "fr"): "Consulter {name}",
    ("consultation", "en"): "Consult {name}",
    ("inscription", "fr"): "Rejoindre {platform} avec {name}",
    ("inscription", "en"): "Join {platform} with {name}",
}


@dataclass(frozen=True)
class LinkView:
    provider_id: str
    slug: str
    consultation_url: str
    signup_url: str
    created_at: datetime


@dataclass(frozen=True)
class ProviderPage:
    """What a personal link shows: the provider's public identity and where to go next."""

    provider_id: str
    slug: str
    first_name: str | None
    last_name: str | None
    category: str | None
    consultation_url: str
    signup_url: str


def public_url(platform: PlatformView, settings: Settings, kind: str, slug: str) -> str:
    base = platform.settings.growth.public_base_url
    if base:
        return f"{base}/{kind}/{slug}"
    return f"{settings.base_url}/{kind}/{slug}?platform={quote(platform.slug)}"


def _lview(platform: PlatformView, settings: Settings, row: PersonalLink) -> LinkView:
    return LinkView(
        row.provider_id,
        row.slug,
        public_url(platform, settings, "consultation", row.slug),
        public_url(platform, settings, "inscription", row.slug),
        row.created_at,
    )


def _link_of(db: Session, platform_id: str, provider_id: str) -> PersonalLink | None:
    return db.scalar(
        select(PersonalLink).where(
            PersonalLink.platform_id == platform_id, PersonalLink.provider_id == provider_id
        )
    )


def ensure_link(db: Session, *, platform: PlatformView, provider_id: str, now: datetime) -> PersonalLink:
    """The provider's personal link, made on first need: `first-last`, or `first-last-2`... for homonyms.
    A concurrent homonym taking the same slug first makes the insert fail in its savepoint; the next
    free suffix is tried."""
    existing = _link_of(db, platform.id, provider_id)
    if existing is not None:
        return existing
    user = accounts.get_user(db, platform_id=platform.id, user_id=provider_id)
    if user.role != "provider":
        raise NotFound("no such provider")
    base = domain.slug_base(user.first_name, user.last_name)
    for _attempt in range(20):
        taken = set(
            db.scalars(
                select(PersonalLink.slug).where(
                    PersonalLink.platform_id == platform.id,
                    (PersonalLink.slug == base) | PersonalLink.slug.like(f"{base}-%"),
                )
            )
        )
        row = PersonalLink(
            id=new_id(),
            platform_id=platform.id,
            provider_id=provider_id,
            slug=domain.free_slug(base, taken),
            created_at=now,
        )
        try:
            with db.begin_nested():
                db.add(row)
                db.flush()
        except IntegrityError:
            mine = _link_of(db, platform.id, provider_id)
            if mine is not None:
                return mine
            continue
        record(
            db,
            platform_id=platform.id,
            actor=Actor.system(),
            action="personal_link.created",
            obj=("personal_link", row.id),
            at=now,
            rules=["EXPERT-LINK-1", "EXPERT-REFER-1"],
            data={"provider_id": provider_id, "slug": row.slug},
        )
        return row
    raise RuntimeError("no free slug found")  # pragma: no cover - twenty homonyms signing up at once


def my_links(
    db: Session, *, platform: PlatformView, settings: Settings, provider_id: str, now: datetime
) -> LinkView:
    return _lview(platform, settings, ensure_link(db, platform=platform, provider_id=provider_id, now=now))


def _by_slug(db: Session, platform_id: str, slug: str) -> PersonalLink:
    row = db.scalar(
        select(PersonalLink).where(PersonalLink.platform_id == platform_id, PersonalLink.slug == slug)
    )
    if row is None:
        raise NotFound(f"no personal link {slug!r}")
    return row


def page(db: Session, *, platform: PlatformView, settings: Settings, slug: str) -> ProviderPage:
    """EXPERT-LINK-1: the public page data a personal link resolves to (active providers only)."""
    row = _by_slug(db, platform.id, slug)
    user = accounts.get_user(db, platform_id=platform.id, user_id=row.provider_id)
    if user.status != "active":
        raise NotFound(f"no personal link {slug!r}")
    from entremise.moderation import service as moderation  # moderation hides restricted profiles

    if moderation.is_hidden(db, platform_id=platform.id, kind="profile", content_id=row.provider_id):
        raise NotFound(f"no personal link {slug!r}")
    return ProviderPage(
        row.provider_id,
        row.slug,
        user.first_name,
        user.last_name,
        user.profile.get("category"),
        public_url(platform, settings, "consultation", row.slug),
        public_url(platform, settings, "inscription", row.slug),
    )


def qr_code(url: str, fmt: Literal["svg", "png"]) -> bytes:
    """A QR code of `url` (error correction M), as SVG or PNG."""
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind=fmt, scale=8 if fmt == "png" else 4, border=4)
    return out.getvalue()


def banner(platform: PlatformView, settings: Settings, view: ProviderPage, kind: str, qr_png_url: str) -> str:
    """EXPERT-LINK-1 / EXPERT-REFER-1: the HTML snippet to embed, in the platform's language."""
    locale = "en" if platform.settings.locale.startswith("en") else "fr"
    name = " ".join(p for p in (view.first_name, view.last_name) if p) or view.slug
    label = LABELS[(kind, locale)].format(name=name, platform=platform.name)
    target = view.consultation_url if kind == "consultation" else view.signup_url
    return domain.banner_html(target, qr_png_url, label)


# --- sign-ups through a link -------------------------------------------------------------------


def on_registration(
    db: Session,
    platform: PlatformView,
    user: UserView,
    extras: dict[str, Any],
    meta: RequestMeta,
    now: datetime,
) -> dict[str, Any] | None:
    """The accounts registration hook: a provider gets a personal link; a sign-up through a link is
    attributed to its provider (EXPERT-SIGNUP-2; through `/inscription/`, the provider is the
    referrer, EXPERT-REFER-1) and the answer's `landing` is that provider's consultation page."""
    if user.role == "provider":
        ensure_link(db, platform=platform, provider_id=user.id, now=now)
    via: Mapping[str, str] | None = extras.get("via")
    if via is None:
        return None
    kind, slug = via.get("kind"), via.get("slug", "")
    if kind not in domain.KINDS:
        raise InvalidInput([FieldError("body.via.kind", "consultation or inscription")])
    row = db.scalar(
        select(PersonalLink).where(PersonalLink.platform_id == platform.id, PersonalLink.slug == slug)
    )
    if row is None or row.provider_id == user.id:
        raise InvalidInput(
            [FieldError("body.via.slug", "no such personal link on this platform")], rules=["EXPERT-SIGNUP-2"]
        )
    db.add(
        SignupAttribution(
            id=new_id(),
            platform_id=platform.id,
            user_id=user.id,
            provider_id=row.provider_id,
            kind=kind,
            slug=slug,
            created_at=now,
        )
    )
    db.flush()
    rules = (
        ["EXPERT-SIGNUP-2", "EXPERT-REFER-1"]
        if kind == "inscription"
        else ["EXPERT-SIGNUP-2", "EXPERT-LINK-1"]
    )
    record(
        db,
        platform_id=platform.id,
        actor=Actor("user", user.id),
        action="signup.attributed",
        obj=("user", user.id),
        at=now,
        rules=rules,
        data={"provider_id": row.provider_id, "kind": kind, "slug": slug},
    )
    return {
        "provider_id": row.provider_id,
        "slug": slug,
        "via": kind,
        "page": f"/api/v1/platforms/{platform.slug}/links/consultation/{slug}",
        "rules": ["EXPERT-SIGNUP-2"],
    }


accounts.register_registration_hook(on_registration)


def attribution_of(db: Session, *, platform_id: str, user_id: str) -> SignupAttribution | None:
    return db.scalar(
        select(SignupAttribution).where(
            SignupAttribution.platform_id == platform_id, SignupAttribution.user_id == user_id
        )
    )


# --- referral commissions -----------------------------------------------------------------------


@dataclass(frozen=True)
class CommissionView:
    consultation_id: str
    referrer_id: str
    referee_id: str
    base: Money
    percent: str
    amount: Money
    ledger_transaction_id: str | None
    reason: str
    created_at: datetime


def _cview(row: ReferralCommission) -> CommissionView:
    return CommissionView(
        row.consultation_id,
        row.referrer_id,
        row.referee_id,
        Money(row.base, row.currency),
        row.percent,
        Money(row.amount, row.currency),
        row.ledger_transaction_id,
        row.reason,
        row.created_at,
    )


def consultation_settled(
    db: Session,
    *,
    platform_id: str,
    consultation_id: str,
    provider_id: str,
    price: Money,
    platform_fee: Money,
    now: datetime,
) -> Decision[Money]:
    """EXPERT-REFER-1, called by the metering module when a consultation of `provider_id` is settled.

    When that provider signed up through another provider's `/inscription/` link (within
    `referral_days`, if set), the referrer earns the commission, posted to their wallet (from the
    platform's `promotions` account) with the rule ID. Idempotent per consultation: calling again
    (even concurrently) posts nothing more and returns the same decision."""
    existing = db.scalar(
        select(ReferralCommission).where(
            ReferralCommission.platform_id == platform_id,
            ReferralCommission.consultation_id == consultation_id,
        )
    )
    if existing is not None:
        return Decision(
            Money(existing.amount, existing.currency), rules=("EXPERT-REFER-1",), reason=existing.reason
        )
    s = platforms.get(db, platform_id).settings.growth
    zero = Money.zero(price.currency)
    attribution = attribution_of(db, platform_id=platform_id, user_id=provider_id)
    if attribution is None or attribution.kind != "inscription":
        return Decision(zero, rules=("EXPERT-REFER-1",), reason="the consulting provider was not referred")
    if s.referral_days is not None and now > attribution.created_at + timedelta(days=s.referral_days):
        return Decision(
            zero, rules=("EXPERT-REFER-1",), reason=f"the referral is older than {s.referral_days} days"
        )
    base = platform_fee if s.referral_base == "platform_fee" else price
    decision = domain.referral_commission(
        base, s.referral_percent, "the platform's fee" if s.referral_base == "platform_fee" else "the price"
    )
    row = ReferralCommission(
        id=new_id(),
        platform_id=platform_id,
        consultation_id=consultation_id,
        referrer_id=attribution.provider_id,
        referee_id=provider_id,
        base=base.amount,
        percent=str(s.referral_percent),
        amount=decision.outcome.amount,
        currency=base.currency,
        reason=decision.reason[:400],
        created_at=now,
    )
    try:
        with db.begin_nested():
            db.add(row)
            db.flush()
    except IntegrityError:  # the same consultation settled concurrently: its commission stands
        first = db.scalar(
            select(ReferralCommission).where(
                ReferralCommission.platform_id == platform_id,
                ReferralCommission.consultation_id == consultation_id,
            )
        )
        assert first is not None
        return Decision(Money(first.amount, first.currency), rules=("EXPERT-REFER-1",), reason=first.reason)
    if decision.outcome.is_positive:
        source = ledger.get_or_open_account(
            db, platform_id=platform_id, type=AccountType.PROMOTIONS, now=now, currency=base.currency
        ).id
        wallet = ledger.get_or_open_account(
            db,
            platform_id=platform_id,
            type=AccountType.PROVIDER_WALLET,
            now=now,
            currency=base.currency,
            owner_id=attribution.provider_id,
        ).id
        tx = ledger.post_transaction(
            db,
            platform_id=platform_id,
            transfers=[Transfer(source, wallet, decision.outcome)],
            idempotency_key=f"referral:{consultation_id}",
            code="referral.commission",
            rules=list(decision.rules),
            cause=("consultation", consultation_id),
            now=now,
            reason=decision.reason,
        )
        row.ledger_transaction_id = tx.id
    record(
        db,
        platform_id=platform_id,
        actor=Actor.system(),
        action="referral.commission",
        obj=("consultation", consultation_id),
        at=now,
        rules=decision.rules,
        reason=decision.reason,
        data={
            "referrer_id": row.referrer_id,
            "referee_id": provider_id,
            "amount": row.amount,
            "base": row.base,
        },
    )
    return decision


def commissions_of(
    db: Session, *, platform_id: str, referrer_id: str, after_id: str | None, limit: int
) -> list[tuple[str, CommissionView]]:
    q = select(ReferralCommission).where(
        ReferralCommission.platform_id == platform_id, ReferralCommission.referrer_id == referrer_id
    )
    if after_id:
        q = q.where(ReferralCommission.id > after_id)
    return [(r.id, _cview(r)) for r in db.scalars(q.order_by(ReferralCommission.id).limit(limit))]
