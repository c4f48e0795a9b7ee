"""Pure moderation and sanction policies, and their e-mails in French and English.

LAW-DSA-16, COMMON-NOTICE-1, LAW-DSA-17, LAW-DSA-20, CONSULT-SANCTION-1, EXPERT-SANCTION-1.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from entremise.moderation import domain
from entremise.notify.render import available_locales, render
from entremise.sanctions import domain as sanctions

AT = datetime(2026, 8, 31, 12, 0, tzinfo=UTC)


def _notice(**over):  # type: ignore[no-untyped-def]
    base = {
        "explanation": "insult",
        "location": "https://x.example/p/1",
        "name": "Durand",
        "email": "a@example.fr",
        "good_faith": True,
        "notifier_type": "natural",
        "first_names": "Claire",
        "profession": "nurse",
        "domicile": "Paris",
        "nationality": "FR",
        "birth_date": "1980-01-02",
        "birth_place": "Lyon",
        "legal_grounds": "art. 29 loi 1881",
        "author_letter": "copy",
    }
    base.update(over)
    return base


def test_LAW_DSA_16_the_dsa_fields_are_required() -> None:
    errors = domain.check_notice({}, require_lcen=False)
    assert {e.field for e in errors} == {
        "body.explanation",
        "body.location",
        "body.name",
        "body.email",
        "body.good_faith",
    }
    assert domain.check_notice(_notice(), require_lcen=False) == []


def test_COMMON_NOTICE_1_lcen_fields_and_the_letter_or_why_none() -> None:
    assert domain.check_notice(_notice(), require_lcen=True) == []
    assert (
        domain.check_notice(
            _notice(author_letter=None, author_unreachable_reason="no address"), require_lcen=True
        )
        == []
    )
    fields = {
        e.field
        for e in domain.check_notice(_notice(author_letter=None, birth_date="02/01/1980"), require_lcen=True)
    }
    assert fields == {"body.author_letter", "body.birth_date"}
    fields = {e.field for e in domain.check_notice(_notice(notifier_type="legal"), require_lcen=True)}
    assert fields == {"body.legal_form", "body.registered_office", "body.representative"}
    assert "150 000 €" in domain.FALSE_NOTICE_WARNING["fr"]


def test_COMMON_MODERATION_1_what_each_decision_does_and_how_it_is_undone() -> None:
    assert domain.content_action("remove", held=False) == "remove"
    assert domain.content_action("restrict", held=True) == "restrict"
    assert domain.content_action("keep", held=True) == "publish"
    assert domain.content_action("keep", held=False) is None
    assert domain.reversal_action("remove") == "restore" and domain.reversal_action("keep") == "remove"
    assert domain.needs_statement("restrict") and not domain.needs_statement("keep")


def test_LAW_DSA_17_a_statement_names_action_facts_automation_ground_and_redress() -> None:
    st = domain.statement(
        action="review removed",
        facts="insult",
        automated_detection=True,
        ground_kind="terms",
        ground="§10",
        rules=("CARPOOL-RATING-1",),
        complaint_deadline=domain.add_months(AT, 6),
    )
    assert st.rules == ("CARPOOL-RATING-1", "LAW-DSA-17")
    assert st.automated_detection and not st.automated_decision
    assert "2027-02-28" in st.redress and "LAW-DSA-20" in st.redress


def test_LAW_DSA_20_six_calendar_months_and_another_person() -> None:
    assert domain.add_months(AT, 6) == datetime(2027, 2, 28, 12, 0, tzinfo=UTC)
    assert domain.add_months(datetime(2026, 11, 23, tzinfo=UTC), 6) == datetime(2027, 5, 23, tzinfo=UTC)
    assert domain.complaint_verdict(AT, AT + timedelta(days=180), 6).allowed
    assert not domain.complaint_verdict(AT, datetime(2027, 2, 28, 12, 0, tzinfo=UTC), 6).allowed
    assert not domain.answerer_verdict("s1", "s1").allowed and domain.answerer_verdict("s1", "s2").allowed


def test_CONSULT_SANCTION_1_cure_period_and_EXPERT_SANCTION_1_effects() -> None:
    cure = sanctions.cure_deadline(AT, 30, ("CONSULT-SANCTION-1",))
    assert cure.outcome == AT + timedelta(days=30) and cure.rules == ("CONSULT-SANCTION-1",)
    assert sanctions.sworn_verdict(cure.outcome, AT + timedelta(days=29)).allowed
    assert not sanctions.sworn_verdict(cure.outcome, AT + timedelta(days=30)).allowed
    assert (
        sanctions.effects("wallet_freeze").freeze_wallets
        and not sanctions.effects("wallet_freeze").revoke_sessions
    )
    t = sanctions.effects("termination")
    assert t.freeze_wallets and t.ban_identifiers and t.revoke_sessions and t.hide_profile
    assert sanctions.effects("formal_notice").cure_period


STATEMENT = {
    "platform_name": "Covoit Est",
    "statement_id": "s-1",
    "action": "account suspended",
    "facts": "threats",
    "automated_detection": True,
    "automated_decision": False,
    "ground_kind": "terms",
    "ground": "§16.1.1",
    "rules": ["CARPOOL-SUSPEND-1", "LAW-DSA-17"],
    "contest_until": "2027-05-23T09:00:00+00:00",
    "contest_url": "https://x.example/complaints",
    "contest_token": "tok123",
}
PAYLOADS = {
    "moderation.notice_received": {
        "platform_name": "P",
        "notice_id": "n-1",
        "kind": "review",
        "location": "https://x.example/r/1",
        "received_at": "2026-11-23T09:00:00+00:00",
        "warning": "W",
    },
    "moderation.statement_of_reasons": STATEMENT,
    "moderation.notice_outcome": {
        "platform_name": "P",
        "notice_id": "n-1",
        "received_at": "2026-11-23T09:00:00+00:00",
        "outcome": "keep",
        "reasons": "fair criticism",
        "contest_until": "2027-05-23T09:00:00+00:00",
    },
    "moderation.complaint_answered": {
        "platform_name": "P",
        "complaint_id": "c-1",
        "outcome": "reversed",
        "reasons": "R",
        "filed_at": "2026-11-23T09:00:00+00:00",
    },
    "sanctions.lifted": {
        "platform_name": "P",
        "label": "account suspended",
        "reason": "R",
        "decided_at": "2026-11-23T09:00:00+00:00",
    },
}


@pytest.mark.parametrize("name", sorted(PAYLOADS))
@pytest.mark.parametrize("locale", ["fr", "en"])
def test_the_emails_render_in_french_and_english(name: str, locale: str) -> None:
    assert available_locales(name, "email") == ["en", "fr"]
    out = render(name, "email", locale, PAYLOADS[name], timezone="Europe/Paris")
    assert out.locale == locale and out.subject and out.text


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_LAW_DSA_17_the_statement_email_says_everything(locale: str) -> None:
    text = render(
        "moderation.statement_of_reasons",
        "email",
        locale,
        {**STATEMENT, "cure_until": "2026-12-23T09:00:00+00:00"},
    ).text
    for part in (
        "account suspended",
        "threats",
        "§16.1.1",
        "CARPOOL-SUSPEND-1",
        "tok123",
        "https://x.example/complaints",
    ):
        assert part in text
    assert ("outil automatisé" in text) if locale == "fr" else ("automated tool" in text)
    assert ("23 déc" in text) if locale == "fr" else ("23 Dec" in text)
