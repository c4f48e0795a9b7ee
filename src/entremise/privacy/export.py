"""The export of everything held about a user (COMMON-PRIVACY-1; GDPR art. 15 access, art. 20
portability): a JSON archive made of every registered exporter's section, and a readable HTML
summary of the same archive.

Synchronous by design: it is built when asked, in one read transaction, and handed over at once. No
copy of the archive is stored, so there is no second set of personal data to secure and purge, and
no download link that would be a bearer credential to all of it (see docs/privacy.md).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from entremise.accounts import service as accounts
from entremise.audit.service import Actor, record
from entremise.platforms.service import PlatformView
from entremise.privacy import domain
from entremise.privacy import hooks as _hooks  # noqa: F401 (registers the accounts and notify hooks)
from entremise.privacy.pages import language, template
from entremise.privacy.registry import EXPORTERS, load_module_hooks

FORMAT = "entremise.personal-data/1"

LABELS: dict[str, dict[str, Any]] = {
    "fr": {
        "title": "Vos données personnelles",
        "intro": "Voici tout ce que la plateforme conserve à votre sujet, rubrique par rubrique.",
        "platform": "Plateforme",
        "account": "Compte",
        "generated": "Établi le",
        "machine": "La même archive existe au format JSON, lisible par une machine (portabilité).",
        "none": "aucune donnée",
        "rights": "Vous pouvez demander la rectification, l'effacement ou la limitation de ces données, "
        "vous opposer à leur traitement, et saisir la CNIL (www.cnil.fr).",
        "sections": {
            "accounts": "Compte, profil, sessions et appareils",
            "terms": "Conditions acceptées et droit de rétractation",
            "audit": "Journal des actions vous concernant",
            "messages": "Messages envoyés",
            "ledger": "Comptes et mouvements d'argent",
            "processes": "Réservations et commandes",
            "privacy": "Consentements, demandes et directives",
        },
    },
    "en": {
        "title": "Your personal data",
        "intro": "Here is everything the platform holds about you, section by section.",
        "platform": "Platform",
        "account": "Account",
        "generated": "Generated",
        "machine": "The same archive exists as machine-readable JSON (portability).",
        "none": "no data",
        "rights": "You may ask for these data to be rectified, erased or restricted, object to their "
        "processing, and complain to the CNIL (www.cnil.fr).",
        "sections": {
            "accounts": "Account, profile, sessions and devices",
            "terms": "Terms accepted and withdrawal rights",
            "audit": "Log of the actions about you",
            "messages": "Messages sent",
            "ledger": "Money accounts and movements",
            "processes": "Bookings and orders",
            "privacy": "Consents, requests and directives",
        },
    },
}


def build_export(
    db: Session, *, platform: PlatformView, user_id: str, now: datetime, actor: Actor | None = None
) -> dict[str, Any]:
    """Every exporter's section about `user_id` of `platform` (404 for a user of another platform).
    The export itself is written to the audit trail (who asked, when, which sections)."""
    load_module_hooks()
    accounts.get_user(db, platform_id=platform.id, user_id=user_id)
    sections = {name: EXPORTERS[name](db, platform, user_id) for name in sorted(EXPORTERS)}
    archive = {
        "format": FORMAT,
        "generated_at": now.isoformat(),
        "platform": {"slug": platform.slug, "name": platform.name},
        "user_id": user_id,
        "rules": [domain.RULE_REQUESTS],
        "sections": sections,
    }
    archive = dict(
        json.loads(json.dumps(archive, allow_nan=False))
    )  # an exporter returning non-JSON fails here
    record(
        db,
        platform_id=platform.id,
        actor=actor or Actor("user", user_id),
        action="privacy.exported",
        obj=("user", user_id),
        at=now,
        rules=[domain.RULE_REQUESTS],
        data={"sections": sorted(sections)},
    )
    return archive


def render_summary(archive: dict[str, Any], locale: str) -> str:
    """The archive as a readable HTML page, in French or English."""
    lang = language(locale)
    return template("export_summary.html.j2").render(export=archive, t=LABELS[lang], locale=lang)
