"""The claims e-mails render in French and English, with the deadline, the decision and the mediator."""

from __future__ import annotations

import pytest

from entremise.notify.render import available_locales, render

MEDIATOR = {
    "name": "Médiateur Exemple",
    "address": "12 rue des Lilas, 75011 Paris",
    "website": "https://mediateur.example",
    "email": None,
}
BASE = {
    "platform_name": "Covoit Est",
    "reference": "R-000042",
    "label": "Contestation d'un trajet",
    "object": "trajet non effectué",
    "answer_due_at": "2027-01-14T23:00:00+00:00",
    "answer_due_day": "2027-01-14",
}
PAYLOADS = {
    "claims.acknowledged": {**BASE, "respondent": "provider", "filed_at": "2026-12-01T09:30:00+00:00"},
    "claims.received": {**BASE, "respondent": "platform", "filed_at": "2026-12-01T09:30:00+00:00"},
    "claims.reminder": BASE,
    "claims.overdue": BASE,
    "claims.mediation": {**BASE, "mediator": MEDIATOR, "odr_url": None},
    "claims.answered": {
        **BASE,
        "decision": "partly_accepted",
        "reasons": "le trajet a été écourté",
        "remedy": None,
        "refund": "12.50 EUR",
        "mediation": True,
        "mediator": MEDIATOR,
        "odr_url": None,
    },
    "claims.escalated": {**BASE, "reason": "pas de réponse du prestataire"},
    "claims.closed": {**BASE, "reason": None},
}
EXPECTED = {
    ("claims.acknowledged", "fr"): [
        "bien reçu",
        "Le prestataire concerné",
        "au plus tard le 14 janvier 2027",
    ],
    ("claims.acknowledged", "en"): ["received", "The provider concerned", "by 14 January 2027 at the latest"],
    ("claims.received", "fr"): ["vous est adressée", "au plus tard le 14 janvier 2027", "motifs"],
    ("claims.received", "en"): ["addressed to you", "by 14 January 2027", "reasons"],
    ("claims.reminder", "fr"): ["attend toujours votre réponse", "médiation"],
    ("claims.reminder", "en"): ["still awaits your answer", "mediation"],
    ("claims.overdue", "fr"): ["n'a pas été donnée", "médiation"],
    ("claims.overdue", "en"): ["has not been given", "mediation"],
    ("claims.mediation", "fr"): [
        "dans l'année",
        "sans réponse",
        "gratuitement",
        "Médiateur Exemple",
        "https://mediateur.example",
    ],
    ("claims.mediation", "en"): [
        "within one year",
        "without an answer",
        "free of charge",
        "Médiateur Exemple",
        "https://mediateur.example",
    ],
    ("claims.answered", "fr"): ["acceptée en partie", "Motifs : le trajet", "12.50 EUR", "Médiateur Exemple"],
    ("claims.answered", "en"): ["partly accepted", "Reasons: le trajet", "12.50 EUR", "Médiateur Exemple"],
    ("claims.escalated", "fr"): ["traitée directement", "Motif : pas de réponse"],
    ("claims.escalated", "en"): ["handled directly", "Reason: pas de réponse"],
    ("claims.closed", "fr"): ["clôturée"],
    ("claims.closed", "en"): ["closed"],
}


@pytest.mark.parametrize("locale", ["fr", "en"])
@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_every_claims_template_renders_in_french_and_english(name: str, locale: str) -> None:
    out = render(name, "email", locale, PAYLOADS[name])
    assert out.locale == locale
    assert out.subject and "R-000042" in out.subject and "Covoit Est" in out.subject
    for word in EXPECTED[(name, locale)]:
        assert word in out.text, (word, out.text)
    assert available_locales(name, "email") == ["en", "fr"]


def test_a_deadline_in_hours_is_shown_with_its_time() -> None:
    payload = {
        **PAYLOADS["claims.reminder"],
        "answer_due_at": "2026-12-03T13:05:00+00:00",
        "answer_due_day": None,
    }
    assert "avant le 3 décembre 2026 à 14 h 05" in render("claims.reminder", "email", "fr", payload).text
    assert "before 3 December 2026 at 14:05" in render("claims.reminder", "email", "en", payload).text


def test_the_odr_link_appears_only_when_given() -> None:
    shown = render(
        "claims.mediation", "email", "fr", {**PAYLOADS["claims.mediation"], "odr_url": "https://odr.example"}
    )
    assert "https://odr.example" in shown.text
    assert (
        "règlement en ligne"
        not in render("claims.mediation", "email", "fr", PAYLOADS["claims.mediation"]).text
    )


def test_a_fully_accepted_claim_does_not_mention_mediation() -> None:
    payload = {**PAYLOADS["claims.answered"], "decision": "accepted", "mediation": False, "refund": None}
    text = render("claims.answered", "email", "fr", payload).text
    assert "acceptée" in text and "médiateur" not in text and "remboursement" not in text


def test_without_a_published_mediator_the_claimant_is_told_how_to_get_one() -> None:
    payload = {**PAYLOADS["claims.mediation"], "mediator": None}
    assert "pas encore été publiées" in render("claims.mediation", "email", "fr", payload).text
