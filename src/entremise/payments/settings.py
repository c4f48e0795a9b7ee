"""The `payments` section of a platform's settings: which payment provider, and the figures of
the chargeback rule (CONSULT-CHARGEBACK-1: a card payment may be contested within 70 days, for
fraud only) and of the sandbox provider.

The chargeback figures default to the consult pack's, the only pack whose terms name them; a
platform whose terms say otherwise overrides them.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

RULE_ID = re.compile(r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$")
REASON = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class SandboxSettings(BaseModel):
    """How the sandbox provider behaves for this platform (development and tests)."""

    model_config = ConfigDict(extra="forbid")

    # seconds between an operation and the webhook that reports its outcome
    webhook_delay_seconds: int = Field(default=0, ge=0, le=86_400)
    # the test cards "charged back later" are charged back this many days after the payment
    chargeback_after_days: int = Field(default=30, ge=1, le=400)
    # a pre-authorisation not captured nor cancelled expires after this many days
    preauth_validity_days: int = Field(default=7, ge=1, le=30)
    # every webhook is delivered twice (a test of the receiver's deduplication)
    deliver_twice: bool = False


class PaymentsSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider: str = Field(default="sandbox", pattern=r"^[a-z][a-z0-9_]{1,39}$")
    # CONSULT-CHARGEBACK-1: the window counted from the payment, the reasons accepted, the rules cited
    chargeback_window_days: int = Field(default=70, ge=0, le=3660)
    chargeback_reasons: list[str] = Field(default_factory=lambda: ["fraud"])
    chargeback_rules: list[str] = Field(default_factory=lambda: ["CONSULT-CHARGEBACK-1"])
    sandbox: SandboxSettings = Field(default_factory=SandboxSettings)

    @field_validator("chargeback_reasons")
    @classmethod
    def _reasons(cls, value: list[str]) -> list[str]:
        for reason in value:
            if not REASON.match(reason):
                raise ValueError(f"{reason!r} is not a reason code (lower case, digits, underscores)")
        return value

    @field_validator("chargeback_rules")
    @classmethod
    def _rules(cls, value: list[str]) -> list[str]:
        for rule in value:
            if not RULE_ID.match(rule):
                raise ValueError(f"{rule!r} is not a rule ID")
        return value
