"""The expert pack: independent professionals consult their own clients by phone or video, now or
by appointment; the platform connects them and takes a fixed fee (docs/pack-expert.md)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from entremise.accounts import service as accounts
from entremise.accounts.service import RequestMeta, UserView
from entremise.audit.service import Actor, record
from entremise.kernel.errors import FieldError, InvalidInput
from entremise.metering import rating
from entremise.packs import demo as demo_data
from entremise.packs.base import Pack
from entremise.packs.expert import policies
from entremise.packs.expert.settings import ExpertSettings
from entremise.platforms.service import PlatformView
from entremise.platforms.settings import PlatformSettings

PROVIDER_FIELDS = [
    "status",
    "last_name",
    "first_name",
    "birth_date",
    "civility",
    "address",
    "landline",
    "phone",
    "category",
]
ATTESTATIONS = ("adult", "insured")


def platform_defaults() -> dict[str, Any]:
    roles = PlatformSettings().model_dump(mode="json")["roles"]
    roles["provider"].update(required_fields=PROVIDER_FIELDS, min_age=18)  # EXPERT-SIGNUP-1
    # EXPERT-SIGNUP-2: the birth date stays optional for clients, so no age check on them (their
    # terms say they are adults)
    roles["client"].update(required_fields=["last_name", "first_name"])
    return {
        "roles": roles,
        # EXPERT-FEE-1: the tariff sheet's fee, the part of the price the platform keeps (engine
        # defaults: the terms give no figure); EXPERT-CANCEL-1/2, PRICE-2/4 keep the module defaults
        "scheduling": {"fee_per_minute": 10, "fee_per_package": 150},
        # EXPERT-PRICE-1..4, EXPERT-FEE-1: per started minute, no call fees, packages of 5 to 90
        # minutes with the one-third rule up to 60, the 50 € cap, a fixed fee per consultation
        "metering": {
            "model": "fee",
            "billing_increment_seconds": 60,
            "connection_fee": 0,
            "mobile_surcharge_per_minute": 0,
            "per_minute_cap": 5000,
            "package_min_minutes": 5,
            "package_max_minutes": 90,
            "one_third_max_minutes": 60,
            "fee_per_consultation": 150,
        },
        "growth": {"referral_percent": "10"},  # EXPERT-REFER-1 (engine default)
        "claims": {
            "kinds": {
                "consultation": {"preset": "expert-consultation"},
                "technology": {"preset": "expert-technology"},
            },
            "mediation": {"seller": "provider"},
        },
        "pack_settings": ExpertSettings().model_dump(mode="json"),
    }


def attestation_hook(
    db: Session,
    platform: PlatformView,
    user: UserView,
    extras: dict[str, Any],
    meta: RequestMeta,
    now: datetime,
) -> dict[str, Any] | None:
    """EXPERT-SIGNUP-1: a provider certifies being adult and insured at sign-up (recorded as evidence).

    Checked on self-service sign-ups (the API passes `attestations`, possibly empty); an account
    staff or the demo loader create carries no attestation of its own and is not checked."""
    if platform.settings.pack != "expert" or user.role != "provider" or "attestations" not in extras:
        return None
    given = set(extras.get("attestations") or ())
    missing = [a for a in ATTESTATIONS if a not in given]
    if missing:
        raise InvalidInput(
            [FieldError("body.attestations", f"a provider certifies: {', '.join(missing)}")],
            rules=["EXPERT-SIGNUP-1"],
        )
    record(
        db,
        platform_id=platform.id,
        actor=Actor("user", user.id),
        action="accounts.attested",
        obj=("user", user.id),
        at=now,
        rules=["EXPERT-SIGNUP-1", "COMMON-EVIDENCE-1"],
        data={"attestations": sorted(given), "ip": meta.ip},
    )
    return None


def _register() -> None:
    accounts.register_registration_hook(attestation_hook)


def _provider(email: str, first: str, last: str, category: str, rate: int, n: int) -> demo_data.DemoProvider:
    return demo_data.DemoProvider(
        email,
        {
            "status": "sole_trader",
            "first_name": first,
            "last_name": last,
            "birth_date": "1980-04-12",
            "civility": "mme" if first in ("Zoé", "Inès") else "m",
            "address": "12 rue de la Paix, 75002 Paris",
            "landline": f"+3314567890{n}",
            "phone": f"+3361234567{n}",
            "category": category,
        },
        per_minute_rate=rate,
        packages=[(15, 7500), (30, 13000)],
    )


DEMO = demo_data.DemoSpec(
    providers=[
        _provider("zoe.demo@expert.example", "Zoé", "Durand", "coaching", 150, 1),
        _provider("marc.demo@expert.example", "Marc", "Lefèvre", "droit", 300, 2),
    ],
    clients=[
        demo_data.DemoClient(
            "ines.demo@expert.example", {"first_name": "Inès", "last_name": "Moreau"}, 10000
        ),
        demo_data.DemoClient("hugo.demo@expert.example", {"first_name": "Hugo", "last_name": "Petit"}, 5000),
    ],
    credit_rules=("EXPERT-CONSULT-1",),
)


def load_demo(db: Session, platform: Any, now: Any) -> demo_data.DemoResult:
    return demo_data.load(db, platform, DEMO, now)


PACK = Pack(
    name="expert",
    label="Consultations d'experts indépendants",
    description="independent experts consult their own clients by phone or video, now or by "
    "appointment; personal links and referral; a fixed platform fee per consultation",
    settings_model=ExpertSettings,
    platform_defaults=platform_defaults,
    module_figures={
        "roles.provider.required_fields": ("EXPERT-SIGNUP-1",),
        "roles.provider.min_age": ("EXPERT-SIGNUP-1",),
        "roles.client.required_fields": ("EXPERT-SIGNUP-2",),
        "metering.billing_increment_seconds": ("EXPERT-PRICE-1",),
        "metering.per_minute_cap": ("EXPERT-PRICE-4",),
        "metering.package_min_minutes": ("EXPERT-PRICE-2",),
        "metering.package_max_minutes": ("EXPERT-PRICE-2",),
        "metering.one_third_max_minutes": ("EXPERT-PRICE-3",),
        "metering.fee_per_consultation": ("EXPERT-FEE-1",),
        "scheduling.package_min_minutes": ("EXPERT-PRICE-2",),
        "scheduling.package_max_minutes": ("EXPERT-PRICE-2",),
        "scheduling.per_minute_budget_cap": ("EXPERT-PRICE-4",),
        "scheduling.fee_per_minute": ("EXPERT-FEE-1", "EXPERT-CANCEL-1"),
        "scheduling.fee_per_package": ("EXPERT-FEE-1", "EXPERT-CANCEL-1"),
        "scheduling.cancel_free_hours": ("EXPERT-CANCEL-1",),
        "scheduling.cancel_per_minute_fee_minutes": ("EXPERT-CANCEL-1",),
        "scheduling.cancel_package_fee_percent": ("EXPERT-CANCEL-1",),
        "scheduling.provider_fee_free_hours": ("EXPERT-CANCEL-2",),
        "reviews.appointment_window_days": ("EXPERT-RATING-1",),
        "growth.referral_percent": ("EXPERT-REFER-1",),
        "growth.referral_base": ("EXPERT-REFER-1",),
        "growth.public_base_url": ("EXPERT-LINK-1", "EXPERT-REFER-1"),
        "claims.kinds.consultation.filing_window": ("EXPERT-CLAIM-1",),
        "claims.kinds.consultation.answer_within": ("EXPERT-CLAIM-1",),
        "claims.kinds.technology.filing_window": ("EXPERT-CLAIM-2",),
        "claims.kinds.technology.answer_within": ("EXPERT-CLAIM-2",),
        "withdrawal_days": ("COMMON-WITHDRAW-1", "EXPERT-CONSULT-1"),
    },
    processes=("appointment",),
    policies={
        "rate": rating.rate,  # EXPERT-PRICE-1..4 (the metering module's)
        "split_fee": rating.split_fee,  # EXPERT-FEE-1
        "kyc_documents": policies.kyc_documents,
        "kyc_document_verdict": policies.kyc_document_verdict,
        "kyc_answer_due": policies.kyc_answer_due,
        "payout_verdict": policies.payout_verdict,
        "may_record": policies.may_record,
        "rating_opposition": policies.rating_opposition,
        "sanction_verdict": policies.sanction_verdict,
    },
    claims_presets=("expert-consultation", "expert-technology"),
    templates=(),
    terms_dir=Path(__file__).resolve().parent / "terms",
    terms_version="expert-2026-12",
    rules=(
        "EXPERT-SIGNUP-1",
        "EXPERT-SIGNUP-2",
        "EXPERT-LINK-1",
        "EXPERT-REFER-1",
        "EXPERT-CONSULT-1",
        "EXPERT-PRICE-1",
        "EXPERT-PRICE-2",
        "EXPERT-PRICE-3",
        "EXPERT-PRICE-4",
        "EXPERT-FEE-1",
        "EXPERT-CANCEL-1",
        "EXPERT-CANCEL-2",
        "EXPERT-WALLET-1",
        "EXPERT-WALLET-2",
        "EXPERT-RECORD-1",
        "EXPERT-RATING-1",
        "EXPERT-SANCTION-1",
        "EXPERT-CLAIM-1",
        "EXPERT-CLAIM-2",
    ),
    demo=load_demo,
    hooks=(_register,),
)
