"""The reviews' worker job: publish the double-blind reviews whose window has ended."""

from __future__ import annotations

from datetime import datetime

from entremise.reviews import service
from entremise.runtime import Runtime


def release_blind_reviews(runtime: Runtime, now: datetime) -> int:
    """Publish, in batches, every blind review past its `blind_until`; how many were published."""
    total = 0
    while True:
        with runtime.sessions() as db, db.begin():
            n = service.release_due(db, now=now, limit=200)
        total += n
        if n < 200:
            return total
