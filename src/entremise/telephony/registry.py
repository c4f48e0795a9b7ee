"""Which telephony/video provider a name means: outbound (place calls, hang up, in a transaction)
and inbound (verify webhooks). Only the sandbox ships; a real adapter registers here."""

from __future__ import annotations

from sqlalchemy.orm import Session

from entremise.kernel.errors import NotFound
from entremise.telephony.port import TelephonyProvider
from entremise.telephony.sandbox import NAME as SANDBOX
from entremise.telephony.sandbox import SandboxTelephony, webhook_secret

NAMES = (SANDBOX,)


def outbound(name: str, db: Session) -> TelephonyProvider:
    if name == SANDBOX:
        return SandboxTelephony(db, secret="")
    raise NotFound(f"no telephony provider {name!r}")


def inbound(name: str, secret_key: str) -> TelephonyProvider:
    if name == SANDBOX:
        return SandboxTelephony(None, secret=webhook_secret(secret_key, name))
    raise NotFound(f"no telephony provider {name!r}")
