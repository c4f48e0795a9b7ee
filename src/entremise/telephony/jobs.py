"""The worker job sending the sandbox provider's due webhooks to this engine's own HTTP API."""

from __future__ import annotations

from datetime import datetime

import httpx

from entremise.runtime import Runtime
from entremise.telephony import delivery
from entremise.telephony.sandbox import webhook_secret


def deliver_sandbox_webhooks(
    runtime: Runtime, now: datetime, http: httpx.Client | None = None, reference: str | None = None
) -> int:
    """Post the sandbox's due webhooks to `ENTREMISE_BASE_URL` (or through `http`)."""
    secret = webhook_secret(runtime.settings.secret_key)
    if http is not None:
        return delivery.deliver_due(runtime.sessions, now=now, secret=secret, http=http, reference=reference)
    with httpx.Client(base_url=runtime.settings.base_url, timeout=10.0) as client:
        return delivery.deliver_due(runtime.sessions, now=now, secret=secret, http=client)
