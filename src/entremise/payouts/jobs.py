"""The worker's payout job: after each billing period, pay the platforms on a monthly schedule
(CARPOOL-PAY-1). Safe to run often and in several workers: a payout per provider and period is
keyed by the period, so a second run orders nothing new."""

from __future__ import annotations

from datetime import datetime

from entremise.kernel.errors import Conflict
from entremise.kyc.psp import provider_for
from entremise.payouts import service
from entremise.platforms import service as platforms
from entremise.runtime import Runtime


def scheduled_payouts(runtime: Runtime, now: datetime) -> int:
    total = 0
    with runtime.sessions() as db:
        with db.begin():
            due = [p for p in platforms.list_platforms(db) if p.settings.payouts.schedule == "monthly"]
        for platform in due:
            with db.begin():
                try:
                    provider = provider_for(db, platform.id, now)
                except Conflict:
                    continue  # no payment provider installed: nothing can be paid
                total += service.scheduled_run(db, provider, platform=platform, now=now)
    return total
