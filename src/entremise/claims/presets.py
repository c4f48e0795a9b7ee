"""Named presets of claim kinds: the rules of the five reference platforms, as data.

A platform's settings pick a preset per subject kind and may override any of its figures:

    "claims": {"kinds": {"consultation": {"preset": "expert-consultation"},
                         "technology": {"preset": "expert-technology", "answer_within": {...}}}}

Each preset names the rule IDs it implements; the figures are the terms' own. Where a seed leaves
a figure open (the answer deadline of carpool and telephony), the preset's value is the engine's
default, documented in docs/claims.md.
"""

from __future__ import annotations

from typing import Any

PRESETS: dict[str, dict[str, Any]] = {
    # CONSULT-CLAIM-1: a claim states name, contact details, pseudonym and object; the platform (which
    # resells every service) answers within 30 business days of receipt. The terms set no filing window.
    "consult-claim": {
        "label": "Réclamation",
        "rules": ["CONSULT-CLAIM-1"],
        "subject": "registered",
        "filing_window": None,
        "answer_within": {"count": 30, "unit": "business_days"},
        "respondent": "platform",
        "required_fields": ["name", "contact", "pseudonym", "object"],
        "claimant_roles": ["client"],
        "refund_method": "credit_back",
    },
    # EXPERT-CLAIM-1: within 7 days of the consultation, from the client's space, with a mandatory
    # comment; the provider (the seller) has 14 days to handle it.
    "expert-consultation": {
        "label": "Réclamation sur une consultation",
        "rules": ["EXPERT-CLAIM-1"],
        "subject": "registered",
        "filing_window": {"count": 7, "unit": "days", "extend_to_business_day": True},
        "answer_within": {"count": 14, "unit": "days"},
        "respondent": "provider",
        "required_fields": ["comment"],
        "claimant_roles": ["client"],
        "refund_method": "credit_back",
    },
    # EXPERT-CLAIM-2: about the platform's technology, within 7 days of the incident (no claim past
    # 7 days); the platform has 45 days; then mediation.
    "expert-technology": {
        "label": "Réclamation sur la technologie de la plateforme",
        "rules": ["EXPERT-CLAIM-2"],
        "subject": "platform",
        "filing_window": {"count": 7, "unit": "days", "extend_to_business_day": True},
        "answer_within": {"count": 45, "unit": "days"},
        "respondent": "platform",
        "required_fields": ["comment", "occurred_at"],
        "claimant_roles": ["client", "provider"],
        "refund_method": None,
    },
    # KIDRIDE-CLAIM-1: within one week of the ride, with evidence; a proven defect is refunded or
    # put right within 7 days.
    "kidride-ride": {
        "label": "Réclamation sur une course",
        "rules": ["KIDRIDE-CLAIM-1"],
        "subject": "registered",
        "filing_window": {"count": 7, "unit": "days", "extend_to_business_day": True},
        "answer_within": {"count": 7, "unit": "days"},
        "respondent": "platform",
        "required_fields": ["comment", "evidence"],
        "claimant_roles": ["client"],
        "refund_method": "credit_back",
        "resolution_required": True,
    },
    # CARPOOL-CONTEST-1: a trip is deemed valid unless contested within 48 hours after the day of
    # the trip. The terms give no answer deadline: 30 days by default.
    "carpool-trip": {
        "label": "Contestation d'un trajet",
        "rules": ["CARPOOL-CONTEST-1"],
        "subject": "registered",
        "filing_window": {"count": 48, "unit": "hours", "from_end_of_day": True},
        "answer_within": {"count": 30, "unit": "days"},
        "respondent": "platform",
        "required_fields": ["comment"],
        "claimant_roles": ["client", "provider"],
        "refund_method": "credit_back",
    },
    # TEL-DISPUTE-1 (the filing part): an invoice is disputed within 10 days of receipt, with reasons.
    # Suspending only the disputed amount is the billing module's. No answer deadline in the terms:
    # 30 days by default.
    "telephony-invoice": {
        "label": "Contestation de facture",
        "rules": ["TEL-DISPUTE-1"],
        "subject": "registered",
        "filing_window": {"count": 10, "unit": "days", "extend_to_business_day": True},
        "answer_within": {"count": 30, "unit": "days"},
        "respondent": "platform",
        "required_fields": ["comment"],
        "claimant_roles": ["org_admin"],
        "refund_method": None,
    },
}

# CONSULT-CALL-4 on top of CONSULT-CLAIM-1: a consultation claim whose object is `cut_call` (the
# call was cut) may be refunded only when the consultation lasted 5 minutes or less; the consult
# pack registers the policy `consult-cut-call` (packs/consult/pack.py) with its figure.
PRESETS["consult-consultation"] = {
    **PRESETS["consult-claim"],
    "label": "Réclamation sur une consultation",
    "rules": ["CONSULT-CLAIM-1", "CONSULT-CALL-4"],
    "refund_policy": "consult-cut-call",
}
