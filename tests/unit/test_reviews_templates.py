"""The e-mails of reviews: a held review (automated means disclosed, a person decides) and a
decision with its reasons, grounds and redress (COMMON-MODERATION-1, LAW-DSA-16, LAW-DSA-17)."""

from __future__ import annotations

import pytest

from entremise.notify.render import available_locales, render

BASE = {
    "platform_name": "Covoit Est",
    "review_id": "r1",
    "rating": 1,
    "created_at": "2026-11-25T08:00:00+00:00",
}


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_LAW_DSA_16_a_held_review_tells_its_author_a_filter_flagged_it_and_a_person_decides(
    locale: str,
) -> None:
    out = render(
        "reviews.held", "email", locale, {**BASE, "excerpts": ["c0nn4rd"], "rules": ["COMMON-MODERATION-1"]}
    )
    assert "Covoit Est" in out.subject and "\n" not in out.subject
    assert "c0nn4rd" in out.text and "COMMON-MODERATION-1" in out.text
    assert ("filtre automatique" if locale == "fr" else "automated filter") in out.text
    assert ("une personne" if locale == "fr" else "a person") in out.text


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_LAW_DSA_17_a_removal_states_reasons_grounds_automation_and_redress(locale: str) -> None:
    payload = {**BASE, "action": "remove", "reason": "Insulte.", "rules": ["LAW-DSA-17"], "automated": True}
    out = render("reviews.decided", "email", locale, payload)
    assert "Insulte." in out.text and "LAW-DSA-17" in out.text
    assert ("six mois" if locale == "fr" else "six months") in out.text
    assert ("filtre automatique" if locale == "fr" else "automated filter") in out.text
    published = render(
        "reviews.decided", "email", locale, {**payload, "action": "publish", "automated": False}
    )
    assert ("six mois" if locale == "fr" else "six months") not in published.text


def test_both_locales_exist() -> None:
    for name in ("reviews.held", "reviews.decided"):
        assert available_locales(name, "email") == ["en", "fr"]
