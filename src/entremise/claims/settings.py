"""The claims section of a platform's settings: kinds of claims, business days, mediation.

Each kind of claim is keyed by its subject kind (the name a module registers its subjects under,
see `claims.subjects`) and usually picks a preset of `claims.presets`, overriding what it needs.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from entremise.claims.domain import CLAIM_FIELDS, Period
from entremise.claims.presets import PRESETS
from entremise.kernel.business_days import is_departement

KIND_NAME = re.compile(r"^[a-z][a-z0-9_.-]{0,39}$")
METHOD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
RULE_ID = re.compile(r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$")
CLAIMANT_ROLES = ("client", "provider", "org_admin", "org_user")
URL = re.compile(r"^https?://[^\s]+$")


class PeriodSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    count: int = Field(ge=1, le=3660)
    unit: Literal["hours", "days", "business_days"]
    from_end_of_day: bool = False  # hours only (CARPOOL-CONTEST-1: 48 h after the day of the trip)
    extend_to_business_day: bool = False  # days only: a last day off moves to the next business day

    @model_validator(mode="after")
    def _consistent(self) -> PeriodSettings:
        if self.from_end_of_day and self.unit != "hours":
            raise ValueError("from_end_of_day applies to hours only (days already start the next day)")
        if self.extend_to_business_day and self.unit != "days":
            raise ValueError("extend_to_business_day applies to calendar days only")
        return self

    def period(self) -> Period:
        return Period(self.count, self.unit, self.from_end_of_day, self.extend_to_business_day)


class ClaimKind(BaseModel):
    """One kind of claim: who may file it, until when, what it must state, who answers, how fast."""

    model_config = ConfigDict(extra="forbid")

    preset: str | None = None  # the preset this kind started from (its figures, then the overrides)
    label: str = Field(default="Réclamation", min_length=1, max_length=120)
    rules: list[str] = Field(default_factory=list)  # the rule IDs every decision on this kind cites
    # "registered": about a subject (a consultation, a ride...) whose facts a module registered;
    # "platform": about the platform itself (its technology): the claimant says when it occurred
    subject: Literal["registered", "platform"] = "registered"
    filing_window: PeriodSettings | None = None  # None: no filing window
    answer_within: PeriodSettings = Field(default_factory=lambda: PeriodSettings(count=30, unit="days"))
    respondent: Literal["provider", "platform"] = "platform"  # who must answer
    required_fields: list[str] = Field(default_factory=list)
    claimant_roles: list[str] = Field(default_factory=lambda: ["client"])
    refund_method: str | None = "credit_back"  # None: resolutions of this kind do not refund
    resolution_required: bool = False  # KIDRIDE-CLAIM-1: an accepted claim is refunded or put right
    remind_before_hours: int = Field(default=48, ge=1, le=24 * 366)  # reminder to the respondent
    # a policy registered with `claims.refunds.register_refund_policy` that may refuse a refund
    # from the subject's facts (consult: CONSULT-CALL-4, no refund of a cut call past 5 minutes)
    refund_policy: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_.-]{0,39}$")

    @model_validator(mode="before")
    @classmethod
    def _from_preset(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("preset") is not None:
            name = data["preset"]
            if not isinstance(name, str) or name not in PRESETS:
                raise ValueError(f"unknown preset {name!r} (one of {', '.join(sorted(PRESETS))})")
            return {**PRESETS[name], **data}
        return data

    @field_validator("rules")
    @classmethod
    def _rules(cls, value: list[str]) -> list[str]:
        bad = [r for r in value if not RULE_ID.match(r)]
        if bad:
            raise ValueError(f"not rule IDs: {', '.join(bad)}")
        return value

    @field_validator("required_fields")
    @classmethod
    def _fields(cls, value: list[str]) -> list[str]:
        bad = [f for f in value if f not in CLAIM_FIELDS]
        if bad:
            raise ValueError(f"unknown fields {', '.join(bad)} (one of {', '.join(CLAIM_FIELDS)})")
        return value

    @field_validator("claimant_roles")
    @classmethod
    def _roles(cls, value: list[str]) -> list[str]:
        bad = [r for r in value if r not in CLAIMANT_ROLES]
        if bad or not value:
            raise ValueError(f"claimant roles are among {', '.join(CLAIMANT_ROLES)} (at least one)")
        return value

    @field_validator("refund_method")
    @classmethod
    def _method(cls, value: str | None) -> str | None:
        if value is not None and not METHOD_NAME.match(value):
            raise ValueError("a refund method name: lowercase letters, digits and underscores")
        return value

    @model_validator(mode="after")
    def _platform_subject(self) -> ClaimKind:
        if self.subject == "platform":
            if "occurred_at" not in self.required_fields:
                self.required_fields = [*self.required_fields, "occurred_at"]
            if self.respondent != "platform":
                raise ValueError("a claim about the platform itself is answered by the platform")
            if self.refund_method is not None:
                raise ValueError("a claim about the platform itself has no payment to refund")
        return self


class Mediator(BaseModel):
    """A consumer mediator's contact details (Code de la consommation L616-1, R616-1)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    address: str = Field(min_length=1, max_length=500)
    website: str = Field(min_length=8, max_length=500)
    email: str | None = Field(default=None, max_length=254)

    @field_validator("website")
    @classmethod
    def _website(cls, value: str) -> str:
        if not URL.match(value):
            raise ValueError("an http(s) address")
        return value


class OdrLink(BaseModel):
    """The EU ODR platform link, shown only before `shown_before`: Regulation (EU) 2024/3228 closed
    the platform on 20 July 2025 and repealed the obligation to link to it."""

    model_config = ConfigDict(extra="forbid")

    url: str = "https://ec.europa.eu/consumers/odr"
    shown_before: date = date(2025, 7, 20)


class MediationSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # who sells to the consumer: "platform" (consult resells every service) or "provider" (expert:
    # each provider is the seller and designates their own mediator)
    seller: Literal["platform", "provider"] = "platform"
    mediator: Mediator | None = None  # the platform's mediator (CONSULT-MEDIATION-1)
    odr: OdrLink = Field(default_factory=OdrLink)


class ClaimsSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kinds: dict[str, ClaimKind] = Field(default_factory=dict)
    # the territory's département for business days: 57, 67 or 68 add Alsace-Moselle's Good Friday
    # and 26 December; None: metropolitan France's public holidays
    departement: str | None = None
    mediation: MediationSettings = Field(default_factory=MediationSettings)
    desk_email: str | None = Field(default=None, max_length=254)  # announces claims the platform answers

    @field_validator("kinds")
    @classmethod
    def _kind_names(cls, value: dict[str, ClaimKind]) -> dict[str, ClaimKind]:
        bad = [k for k in value if not KIND_NAME.match(k)]
        if bad:
            raise ValueError(f"kind names are lowercase letters, digits, '.', '-', '_': {', '.join(bad)}")
        return value

    @field_validator("departement")
    @classmethod
    def _departement(cls, value: str | None) -> str | None:
        if value is not None and not is_departement(value):
            raise ValueError("a French département code (01 to 95, 2A, 2B, 971...)")
        return value
