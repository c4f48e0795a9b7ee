"""The fraud worker job: scan every platform for signals the moments of detection may have missed."""

from __future__ import annotations

import logging
from datetime import datetime

from entremise.fraud import service
from entremise.platforms import service as platforms
from entremise.runtime import Runtime

log = logging.getLogger("entremise.fraud")


def scan_all(runtime: Runtime, now: datetime) -> int:
    """One transaction per platform (a failing platform does not stop the others); signals raised."""
    with runtime.sessions() as db, db.begin():
        views = platforms.list_platforms(db)
    total = 0
    for p in views:
        try:
            with runtime.sessions() as db, db.begin():
                total += service.scan(db, platform=p, now=now)
        except Exception:  # logged; the next run tries again
            log.exception("fraud scan failed on platform %s", p.slug)
    return total
