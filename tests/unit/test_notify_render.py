"""Rendering the notification templates: French and English, fallback, strict variables, escaping."""

from __future__ import annotations

import re

import pytest

from entremise.notify.render import RenderError, available_locales, render

EMAIL_TEMPLATES = {
    "accounts.password_reset": {
        "platform_name": "Covoit Est",
        "reset_url": "https://covoit.example/reset?token=abc&x=1",
        "expires_minutes": 30,
    },
    "accounts.password_changed": {"platform_name": "Covoit Est"},
    "accounts.account_closed": {"platform_name": "Covoit Est", "closed_at": "2026-11-23T13:05:00+00:00"},
    "accounts.credentials_reset_by_staff": {
        "platform_name": "Covoit Est",
        "reason": "connexions suspectes depuis un autre pays",
    },
    "terms.new_version": {
        "platform_name": "Covoit Est",
        "audience": "client",
        "version": "2027-01",
        "effective_at": "2027-01-01",
        "read_url": "https://covoit.example/terms/2027-01",
        "terminate_until": "2026-12-03",
    },
    "privacy.request_received": {
        "platform_name": "Covoit Est",
        "kind": "restriction",
        "request_id": "req-1",
        "received_at": "2026-12-01T10:00:00+00:00",
        "due_on": "2027-01-04",
    },
    "privacy.request_extended": {
        "platform_name": "Covoit Est",
        "kind": "access",
        "request_id": "req-1",
        "reason": "huit ans d'historique",
        "due_on": "2027-03-01",
    },
    "privacy.request_answered": {
        "platform_name": "Covoit Est",
        "kind": "erasure",
        "request_id": "req-1",
        "outcome": "partially_granted",
        "message": "Compte fermé.",
        "grounds": ["the law requires the data to be kept (GDPR art. 17(3)(b))"],
        "kept": [{"field": "last_name", "rule": "COMMON-PRIVACY-3", "until": "2031-12-01"}],
    },
    "marketing.announcement": {
        "platform_name": "Covoit Est",
        "title": "Nouveaux trajets",
        "body": "Des trajets vers Metz.\n\nÀ bientôt.",
        "unsubscribe_url": "https://covoit.example/u/abc",
    },
    "scheduling.appointment_booked": {
        "platform_name": "Covoit Est",
        "role": "client",
        "starts_at": "2026-11-25T08:00:00+00:00",
        "minutes": 30,
        "mode": "phone",
        "price": "45.00 EUR",
        "free_hours": 48,
    },
    "scheduling.appointment_reminder": {
        "platform_name": "Covoit Est",
        "role": "provider",
        "state": "confirmed",
        "starts_at": "2026-11-25T08:00:00+00:00",
        "minutes": 30,
        "mode": "video",
        "charged": "0.00 EUR",
        "provider_fee": None,
        "reason": None,
    },
    "scheduling.appointment_ended": {
        "platform_name": "Covoit Est",
        "role": "client",
        "state": "cancelled_by_client",
        "starts_at": "2026-11-25T08:00:00+00:00",
        "minutes": 30,
        "mode": "video",
        "charged": "15.00 EUR",
        "provider_fee": None,
        "reason": "cancelled less than 48 hours before",
    },
    "orders.order_update": {
        "platform_name": "Covoit Est",
        "event": "deliver",
        "title": "Logo sur mesure",
        "total": "80.00 EUR",
        "auto_accept_at": "2026-12-08T10:00:00+00:00",
    },
    "billing.document_issued": {
        "platform_name": "Covoit Est",
        "seller_name": "Covoit Est SAS",
        "customer_name": "Ada Martin",
        "kind": "invoice",
        "number": "FA-2026-000042",
        "issue_date": "2026-12-01",
        "due_date": "2026-12-31",
        "gross": "41,00\u00a0€",
        "einvoice": True,
    },
}
# words each locale's version must contain, beyond the payload values
EXPECTED = {
    ("billing.document_issued", "fr"): [
        "Bonjour Ada Martin",
        "facture FA-2026-000042",
        "31 décembre 2026",
        "Factur-X",
    ],
    ("billing.document_issued", "en"): [
        "Hello Ada Martin",
        "invoice FA-2026-000042",
        "31 December 2026",
        "Factur-X",
    ],
    ("accounts.password_reset", "fr"): ["Bonjour", "mot de passe", "30 minutes"],
    ("accounts.password_reset", "en"): ["Hello", "password", "30 minutes"],
    ("accounts.password_changed", "fr"): ["mot de passe", "modifié"],
    ("accounts.password_changed", "en"): ["password", "changed"],
    ("accounts.account_closed", "fr"): ["fermeture", "23 novembre 2026 à 14 h 05"],
    ("accounts.account_closed", "en"): ["closed", "23 November 2026 at 14:05"],
    ("accounts.credentials_reset_by_staff", "fr"): ["Motif : connexions suspectes", "réinitialisé"],
    ("accounts.credentials_reset_by_staff", "en"): ["Reason: connexions suspectes", "reset"],
    ("terms.new_version", "fr"): [
        "1er janvier 2027",
        "version 2027-01",
        "clients",
        "jusqu'au 3 décembre 2026",
    ],
    ("terms.new_version", "en"): ["1 January 2027", "Version 2027-01", "clients", "until 3 December 2026"],
    ("privacy.request_received", "fr"): ["limitation", "req-1", "4 janvier 2027", "dès maintenant"],
    ("privacy.request_received", "en"): ["restrict", "req-1", "4 January 2027", "from now on"],
    ("privacy.request_extended", "fr"): ["Motif : huit ans", "1er mars 2027", "CNIL"],
    ("privacy.request_extended", "en"): ["Reason: huit ans", "1 March 2027", "CNIL"],
    ("privacy.request_answered", "fr"): [
        "acceptée en partie",
        "17(3)(b)",
        "last_name : jusqu'au 1er décembre 2031",
        "CNIL",
    ],
    ("privacy.request_answered", "en"): [
        "granted in part",
        "17(3)(b)",
        "last_name: until 1 December 2031",
        "CNIL",
    ],
    ("marketing.announcement", "fr"): ["Des trajets vers Metz.", "en un clic : https://covoit.example/u/abc"],
    ("marketing.announcement", "en"): [
        "Des trajets vers Metz.",
        "in one click: https://covoit.example/u/abc",
    ],
    ("scheduling.appointment_booked", "fr"): ["25 novembre 2026 à 9 h,", "par téléphone", "45.00 EUR"],
    ("scheduling.appointment_booked", "en"): ["25 November 2026 at 09:00", "by phone", "45.00 EUR"],
    ("scheduling.appointment_reminder", "fr"): ["rendez-vous a lieu le 25 novembre 2026", "visioconférence"],
    ("scheduling.appointment_reminder", "en"): ["takes place on 25 November 2026", "by video"],
    ("scheduling.appointment_ended", "fr"): ["annulé par le client", "15.00 EUR"],
    ("scheduling.appointment_ended", "en"): ["cancelled by the client", "15.00 EUR"],
    ("orders.order_update", "fr"): ["livrée", "Logo sur mesure", "acceptée le 8 décembre 2026 à 11 h"],
    ("orders.order_update", "en"): ["delivered", "Logo sur mesure", "accepted on 8 December 2026 at 11:00"],
}


@pytest.mark.parametrize("locale", ["fr", "en"])
@pytest.mark.parametrize("name", sorted(EMAIL_TEMPLATES))
def test_every_email_template_renders_in_french_and_english(name: str, locale: str) -> None:
    payload = EMAIL_TEMPLATES[name]
    out = render(name, "email", locale, payload)
    assert out.locale == locale
    assert out.subject and "\n" not in out.subject and "Covoit Est" in out.subject
    assert "Covoit Est" in out.text
    for word in EXPECTED[(name, locale)]:
        assert word in out.text, (word, out.text)
    for value in ("reset_url", "read_url", "unsubscribe_url"):
        if value in payload:
            assert payload[value] in out.text
    if out.html is not None:
        assert f'<html lang="{locale}">' in out.html
        assert "Covoit Est" in out.html


def test_both_locales_exist_for_every_template() -> None:
    for name in EMAIL_TEMPLATES:
        assert available_locales(name, "email") == ["en", "fr"]
    assert available_locales("accounts.login_code", "sms") == ["en", "fr"]
    assert available_locales("marketing.announcement", "sms") == ["en", "fr"]


def test_french_and_english_texts_differ() -> None:
    fr = render("accounts.password_changed", "email", "fr", EMAIL_TEMPLATES["accounts.password_changed"])
    en = render("accounts.password_changed", "email", "en", EMAIL_TEMPLATES["accounts.password_changed"])
    assert fr.subject != en.subject and fr.text != en.text


def test_html_part_is_optional() -> None:
    assert render("accounts.password_changed", "email", "fr", {"platform_name": "X"}).html is None
    assert render("accounts.password_reset", "email", "fr", EMAIL_TEMPLATES["accounts.password_reset"]).html


def test_sms_login_code_in_french_and_english() -> None:
    fr = render("accounts.login_code", "sms", "fr", {"platform_name": "Covoit Est", "code": "482913"})
    en = render("accounts.login_code", "sms", "en", {"platform_name": "Covoit Est", "code": "482913"})
    assert fr.text.startswith("482913 est votre code de connexion Covoit Est")
    assert en.text.startswith("482913 is your Covoit Est sign-in code")
    assert fr.subject is None and fr.html is None
    assert len(en.text) <= 160 and len(fr.text) <= 160  # one SMS segment


def test_COMMON_TERMS_2_termination_window_is_announced_only_when_there_is_one() -> None:
    with_window = render("terms.new_version", "email", "fr", EMAIL_TEMPLATES["terms.new_version"])
    without = render(
        "terms.new_version", "email", "fr", {**EMAIL_TEMPLATES["terms.new_version"], "terminate_until": None}
    )
    assert "mettre fin" in with_window.text and with_window.html and "mettre fin" in with_window.html
    assert "mettre fin" not in without.text and without.html and "mettre fin" not in without.html
    en = render(
        "terms.new_version", "email", "en", {**EMAIL_TEMPLATES["terms.new_version"], "terminate_until": None}
    )
    assert "end your membership" not in en.text


def test_terms_audience_is_named_in_each_locale() -> None:
    payload = {**EMAIL_TEMPLATES["terms.new_version"], "audience": "provider"}
    assert "prestataires" in render("terms.new_version", "email", "fr", payload).text
    assert "providers" in render("terms.new_version", "email", "en", payload).text


@pytest.mark.parametrize("requested", ["de", "es-ES", None, "", "../../etc", "EN"])
def test_unknown_or_malformed_locale_falls_back_to_french(requested: str | None) -> None:
    out = render("accounts.password_changed", "email", requested, {"platform_name": "X"})
    assert out.locale == "fr"
    assert "modifié" in out.text


def test_regional_locale_falls_back_to_its_language() -> None:
    out = render("accounts.password_changed", "email", "en-GB", {"platform_name": "X"})
    assert out.locale == "en" and "changed" in out.text


def test_missing_payload_variable_is_an_error_not_a_hole() -> None:
    with pytest.raises(RenderError, match="reset_url"):
        render("accounts.password_reset", "email", "fr", {"platform_name": "X", "expires_minutes": 30})


def test_missing_optional_key_must_still_be_present_as_null() -> None:
    payload = {k: v for k, v in EMAIL_TEMPLATES["terms.new_version"].items() if k != "terminate_until"}
    with pytest.raises(RenderError, match="terminate_until"):
        render("terms.new_version", "email", "en", payload)


def test_unknown_audience_is_an_error() -> None:
    with pytest.raises(RenderError):
        render(
            "terms.new_version", "email", "fr", {**EMAIL_TEMPLATES["terms.new_version"], "audience": "alien"}
        )


def test_missing_template_is_an_error() -> None:
    with pytest.raises(RenderError, match=re.escape("no email template 'accounts.nothing_here'")):
        render("accounts.nothing_here", "email", "fr", {})
    with pytest.raises(RenderError, match="no sms template"):
        render("accounts.password_reset", "sms", "fr", EMAIL_TEMPLATES["accounts.password_reset"])
    with pytest.raises(RenderError, match="invalid template name"):
        render("../fr/accounts.login_code", "sms", "fr", {})
    with pytest.raises(RenderError, match="unknown channel"):
        render("accounts.password_changed", "fax", "fr", {"platform_name": "X"})


def test_bad_date_in_payload_is_an_error() -> None:
    with pytest.raises(RenderError, match="ValueError"):
        render("accounts.account_closed", "email", "fr", {"platform_name": "X", "closed_at": "yesterday"})


def test_html_escapes_payload_but_text_keeps_it_verbatim() -> None:
    payload = {"platform_name": "Tom & <Jerry>", "reason": "<script>alert(1)</script>"}
    out = render("accounts.credentials_reset_by_staff", "email", "en", payload)
    assert out.html is not None
    assert "<script>" not in out.html and "&lt;script&gt;" in out.html
    assert "Tom &amp; &lt;Jerry&gt;" in out.html
    assert "<script>alert(1)</script>" in out.text and "Tom & <Jerry>" in out.text


def test_subject_is_one_line_even_if_payload_has_newlines() -> None:
    out = render("accounts.password_changed", "email", "fr", {"platform_name": "A\r\nBcc: evil@example.com"})
    assert out.subject is not None and "\n" not in out.subject and "\r" not in out.subject


def test_dates_are_shown_in_the_platform_timezone() -> None:
    payload = {"platform_name": "X", "closed_at": "2026-07-01T22:30:00Z"}
    paris = render("accounts.account_closed", "email", "fr", payload, timezone="Europe/Paris")
    reunion = render("accounts.account_closed", "email", "fr", payload, timezone="Indian/Reunion")
    assert "2 juillet 2026 à 0 h 30" in paris.text
    assert "2 juillet 2026 à 2 h 30" in reunion.text


def test_COMMON_PRIVACY_2_every_marketing_message_shows_its_unsubscribe_link() -> None:
    payload = EMAIL_TEMPLATES["marketing.announcement"]
    for locale in ("fr", "en"):
        mail = render("marketing.announcement", "email", locale, payload)
        assert mail.html is not None and 'href="https://covoit.example/u/abc"' in mail.html
        sms = render("marketing.announcement", "sms", locale, payload)
        assert sms.text.endswith("https://covoit.example/u/abc")
