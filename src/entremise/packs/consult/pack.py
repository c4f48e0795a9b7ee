"""The consult pack: per-minute phone consultations and DJobs sold on prepaid credit; the platform
buys each service from its Masters and resells it (docs/pack-consult.md)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from entremise.audit.service import Actor
from entremise.claims.refunds import register_refund_policy
from entremise.claims.subjects import SubjectFacts
from entremise.kernel.decision import Decision, Verdict
from entremise.kernel.errors import NotFound
from entremise.kernel.money import Money
from entremise.metering import rating
from entremise.packs import demo as demo_data
from entremise.packs.base import Pack
from entremise.packs.consult import policies
from entremise.packs.consult.settings import ConsultSettings
from entremise.payments import domain as payments_domain
from entremise.platforms.models import Platform
from entremise.platforms.service import PlatformView
from entremise.platforms.settings import PlatformSettings
from entremise.reviews.domain import Eligibility, PartyFacts, party_eligibility
from entremise.reviews.eligibility import policy_for as review_policy_for
from entremise.reviews.eligibility import register_policy as register_review_policy
from entremise.wallets import service as wallets

CUT_CALL = "cut_call"  # the object of a claim about a cut call (CONSULT-CALL-4)


def platform_defaults() -> dict[str, Any]:
    roles = PlatformSettings().model_dump(mode="json")["roles"]
    # Masters join by contacting the platform: staff create their accounts (no self-service sign-up)
    roles["provider"]["self_service"] = False
    return {
        "roles": roles,
        "orders": {"commission_percent": "30"},  # CONSULT-DJOB-1: the platform resells, per Master
        "reviews": {"djob_window_days": 21},  # CONSULT-REVIEW-1
        # CONSULT-CHARGEBACK-1: a card payment is contested within 70 days, for fraud only
        "payments": {
            "chargeback_window_days": 70,
            "chargeback_reasons": ["fraud"],
            "chargeback_rules": ["CONSULT-CHARGEBACK-1"],
        },
        # CONSULT-CALL-1/2/3: per started minute, 1.25 € per call, 0.10 €/min to a mobile; the
        # platform resells each consultation for a commission per Master
        "metering": {
            "model": "resale",
            "billing_increment_seconds": 60,
            "connection_fee": 125,
            "mobile_surcharge_per_minute": 10,
            "per_minute_cap": None,
            "default_commission_percent": "30",
        },
        "claims": {
            "kinds": {
                "consultation": {"preset": "consult-consultation"},
                "djob_order": {"preset": "consult-claim"},
            },
            "mediation": {"seller": "platform"},  # CONSULT-MEDIATION-1: the platform sells
        },
        "pack_settings": ConsultSettings().model_dump(mode="json"),
    }


def cut_call_policy(db: Session, platform_id: str, facts: SubjectFacts, claim_object: str | None) -> Verdict:
    """CONSULT-CALL-4 for claims: a cut call is refunded only for consultations of 5 minutes or less.

    A claim about something else, or a subject whose length is unknown, is left to the answer."""
    if claim_object != CUT_CALL or facts.duration_seconds is None:
        return Verdict.allow("CONSULT-CALL-4", reason="not a cut call of known length")
    row = db.get(Platform, platform_id)
    raw = (row.settings or {}).get("pack_settings", {}) if row is not None else {}
    settings = ConsultSettings.model_validate(raw) if raw else ConsultSettings()
    return policies.cut_call_refund(settings, duration_seconds=facts.duration_seconds)


def install_credit_packs(db: Session, platform: PlatformView, now: datetime) -> None:
    """CONSULT-CREDIT-1: the pack's credit packs put on sale in the wallets module when the platform
    is created; staff change them afterwards through the wallets module's packs."""
    settings = ConsultSettings.model_validate(platform.settings.pack_settings)
    for i, p in enumerate(settings.credit_packs):
        price, bonus = Money(p.price, settings.currency), Money(p.bonus, settings.currency)
        wallets.create_pack(
            db,
            platform_id=platform.id,
            name=f"{price}" if not p.bonus else f"{price} + {bonus} offerts",
            price=p.price,
            bonus=p.bonus,
            currency=settings.currency,
            position=i + 1,
            now=now,
            actor=Actor.system(),
        )


def consultation_review_policy(
    db: Session, platform: PlatformView, session_id: str, author_id: str, now: datetime
) -> Decision[Eligibility]:
    """CONSULT-REVIEW-1 for metered consultations: by its client, once ended, longer than 3 minutes
    and not free (gifted), within 21 days of its end. Other platforms' consultations: the reviews
    module's general rule for two-party transactions."""
    from entremise.metering import service as metering

    try:
        session = metering.get_session(db, platform_id=platform.id, session_id=session_id, user_id=author_id)
    except NotFound:
        return Decision(Eligibility.missing(), ("CONSULT-REVIEW-1",), "no such consultation")
    facts = PartyFacts(
        client_id=session.client_id,
        provider_id=session.provider_id,
        state=session.state,
        completed=session.state == "ended",
        completed_at=session.ended_at,
    )
    if platform.settings.pack != "consult":
        return party_eligibility(
            facts,
            author_id=author_id,
            now=now,
            rule="CONSULT-REVIEW-1",
            what="consultation",
            window_days=platform.settings.reviews.djob_window_days,
            providers_review_clients=False,
        )
    settings = ConsultSettings.model_validate(platform.settings.pack_settings)
    if author_id == session.client_id and session.state == "ended" and session.ended_at is not None:
        verdict = policies.review_eligibility(
            settings,
            subject="consultation",
            ended_at=session.ended_at,
            now=now,
            duration_seconds=session.billed_seconds or 0,
            free=session.total is None or session.total.is_zero,
        )
        if not verdict.allowed:
            return Decision(Eligibility.refused(), verdict.rules, verdict.reason)
    return party_eligibility(
        facts,
        author_id=author_id,
        now=now,
        rule="CONSULT-REVIEW-1",
        what="consultation",
        window_days=settings.review_window_days,
        providers_review_clients=False,
    )


def _register() -> None:
    register_refund_policy("consult-cut-call", cut_call_policy)
    if review_policy_for("consultation") is None:
        register_review_policy("consultation", consultation_review_policy)


MASTER = {"first_name": "Madame", "last_name": "Irma"}
DEMO = demo_data.DemoSpec(
    providers=[
        demo_data.DemoProvider(
            "irma.demo@consult.example",
            {"first_name": "Irma", "last_name": "Voyance", "phone": "+33612345678"},
            per_minute_rate=250,
            offers=[("Tirage écrit", "Un tirage de tarot détaillé, livré en PDF.", 2500, 3)],
            gift_minutes=10,
        ),
        demo_data.DemoProvider(
            "leon.demo@consult.example",
            {"first_name": "Léon", "last_name": "Astral", "phone": "+33145678901"},
            per_minute_rate=190,
            offers=[("Thème astral", "Votre thème natal commenté, en PDF.", 4000, 5)],
        ),
    ],
    clients=[
        demo_data.DemoClient(
            "claire.demo@consult.example", {"first_name": "Claire", "last_name": "Martin"}, 3000
        ),
        demo_data.DemoClient(
            "paul.demo@consult.example", {"first_name": "Paul", "last_name": "Bernard"}, 1500
        ),
    ],
    credit_rules=("CONSULT-CREDIT-1",),
)


def load_demo(db: Session, platform: Any, now: Any) -> demo_data.DemoResult:
    return demo_data.load(db, platform, DEMO, now)


PACK = Pack(
    name="consult",
    label="Consultations à la minute et DJobs",
    description="per-minute phone consultations and digital jobs paid from prepaid credit; "
    "the platform resells each Master's service for a commission",
    settings_model=ConsultSettings,
    platform_defaults=platform_defaults,
    module_figures={
        "roles.provider.self_service": ("COMMON-ACCOUNT-1",),
        "reviews.djob_window_days": ("CONSULT-REVIEW-1",),
        "payments.chargeback_window_days": ("CONSULT-CHARGEBACK-1",),
        "payments.chargeback_reasons": ("CONSULT-CHARGEBACK-1",),
        "metering.billing_increment_seconds": ("CONSULT-CALL-1",),
        "metering.connection_fee": ("CONSULT-CALL-2",),
        "metering.mobile_surcharge_per_minute": ("CONSULT-CALL-3",),
        "metering.default_commission_percent": ("CONSULT-CALL-1",),
        "orders.commission_percent": ("CONSULT-DJOB-1",),
        "orders.commission_percent_by_provider": ("CONSULT-DJOB-1",),
        "orders.brief_max_chars": ("CONSULT-DJOB-1",),
        "orders.brief_file_types": ("CONSULT-DJOB-1",),
        "orders.auto_accept_days": ("CONSULT-DJOB-1",),
        "claims.kinds.consultation.answer_within": ("CONSULT-CLAIM-1",),
        "claims.kinds.consultation.required_fields": ("CONSULT-CLAIM-1",),
        "claims.mediation.mediator": ("CONSULT-MEDIATION-1",),
        "retention_days": ("COMMON-PRIVACY-3",),
    },
    processes=("djob", "appointment"),
    policies={
        "credit_pack": policies.credit_pack,
        "rate_call": rating.rate,  # CONSULT-CALL-1/2/3, CONSULT-GIFT-1 (the metering module's)
        "split_resale": rating.split_resale,
        "cut_call_refund": policies.cut_call_refund,
        "review_eligibility": policies.review_eligibility,
        "consultation_review": consultation_review_policy,
        "review_listing": policies.review_listing,
        "review_removal": policies.review_removal,
        "discovery_offer_lost": policies.discovery_offer_lost,
        "may_record": policies.may_record,
        "recording_purge_at": policies.recording_purge_at,
        "chargeback_verdict": payments_domain.chargeback_verdict,  # the payments module's
        "sanction": policies.sanction,
        "outage_refund": policies.outage_refund,
        "unused_package_notice": policies.unused_package_notice,
        "cut_call_claim": cut_call_policy,
    },
    claims_presets=("consult-consultation", "consult-claim"),
    templates=("consult.formal_notice",),
    terms_dir=Path(__file__).resolve().parent / "terms",
    terms_version="consult-2026-12",
    rules=(
        "CONSULT-CREDIT-1",
        "CONSULT-CALL-1",
        "CONSULT-CALL-2",
        "CONSULT-CALL-3",
        "CONSULT-CALL-4",
        "CONSULT-GIFT-1",
        "CONSULT-DJOB-1",
        "CONSULT-REVIEW-1",
        "CONSULT-REVIEW-2",
        "CONSULT-RECORD-1",
        "CONSULT-SANCTION-1",
        "CONSULT-CHARGEBACK-1",
        "CONSULT-OUTAGE-1",
        "CONSULT-PACKAGE-1",
        "CONSULT-CLAIM-1",
        "CONSULT-MEDIATION-1",
    ),
    demo=load_demo,
    hooks=(_register,),
    on_create=install_credit_packs,
)
