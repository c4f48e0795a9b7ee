"""A platform's settings: figures of its rules, each beside the rule ID it implements.

Stored as JSON on the platform row, validated by this model; a pack provides its defaults and
an operator overrides them without code (`entremise platform create --settings file.json`).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from entremise.billing.settings import BillingSettings
from entremise.claims.settings import ClaimsSettings
from entremise.fraud.settings import FraudSettings
from entremise.growth.settings import GrowthSettings
from entremise.kyc.settings import KycSettings
from entremise.moderation.settings import ModerationSettings
from entremise.orders.settings import OrdersSettings
from entremise.payments.settings import PaymentsSettings
from entremise.payouts.settings import PayoutSettings
from entremise.privacy.settings import PrivacySettings
from entremise.reviews.settings import ReviewsSettings
from entremise.sanctions.settings import SanctionsSettings
from entremise.scheduling.settings import SchedulingSettings

ROLES = ("client", "provider", "org_admin", "org_user", "staff")
AUDIENCES = ("client", "provider", "business")
# the fields a registration may carry beyond e-mail and password
PROFILE_FIELDS = (
    "phone",
    "first_name",
    "last_name",
    "birth_date",
    "civility",
    "status",
    "address",
    "country",
    "occupation",
    "landline",
    "category",
    "company_name",
    "organisation_name",
)


class RoleRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    required_fields: list[str] = Field(default_factory=list)  # EXPERT-SIGNUP-1/2, CARPOOL-ACCOUNT-1
    min_age: int | None = None  # EXPERT (adult members)
    self_service: bool = True  # consult: providers are created by staff
    audience: str = "client"  # which terms document this role accepts


class PlatformSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    locale: str = "fr"
    timezone: str = "Europe/Paris"
    default_region: str = "FR"  # phone numbers without a country prefix
    login_identifiers: list[str] = Field(
        default_factory=lambda: ["email"]
    )  # COMMON-ACCOUNT-2 (carpool: phone)
    roles: dict[str, RoleRules] = Field(
        default_factory=lambda: {
            "client": RoleRules(audience="client"),
            "provider": RoleRules(audience="provider"),
            "org_admin": RoleRules(audience="business", required_fields=["organisation_name"]),
            "org_user": RoleRules(audience="business", self_service=False),
            "staff": RoleRules(audience="provider", self_service=False),
        }
    )
    # COMMON-TERMS-2: minimum days between announcing new terms and their effective date, and the
    # days after the announcement during which a member may terminate (carpool: 14 and 10).
    terms_notice_days: int = Field(default=0, ge=0)
    terms_termination_days: int = Field(default=0, ge=0)
    withdrawal_days: int = Field(default=14, ge=14)  # COMMON-WITHDRAW-1
    # COMMON-PRIVACY-3 retention, in days, by kind of data
    retention_days: dict[str, int] = Field(
        default_factory=lambda: {"civil_identity": 5 * 365, "account": 365, "connection": 365}
    )
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)
    scheduling: SchedulingSettings = Field(default_factory=SchedulingSettings)
    orders: OrdersSettings = Field(default_factory=OrdersSettings)
    growth: GrowthSettings = Field(default_factory=GrowthSettings)
    # kinds of claims, mediation (docs/claims.md)
    claims: ClaimsSettings = Field(default_factory=ClaimsSettings)
    billing: BillingSettings = Field(default_factory=BillingSettings)
    payments: PaymentsSettings = Field(default_factory=PaymentsSettings)
    # notices, moderation, complaints (docs/moderation.md); sanctions (docs/sanctions.md)
    moderation: ModerationSettings = Field(default_factory=ModerationSettings)
    sanctions: SanctionsSettings = Field(default_factory=SanctionsSettings)
    # reviews: text, windows, double-blind, the pre-moderation filter (docs/reviews.md)
    reviews: ReviewsSettings = Field(default_factory=ReviewsSettings)
    # fraud signals: thresholds and linking identifiers (docs/fraud.md)
    fraud: FraudSettings = Field(default_factory=FraudSettings)
    kyc: KycSettings = Field(default_factory=KycSettings)  # EXPERT-WALLET-1 (docs/kyc.md)
    payouts: PayoutSettings = Field(default_factory=PayoutSettings)  # EXPERT-WALLET-2, CARPOOL-PAY-1
