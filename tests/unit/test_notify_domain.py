"""Pure rules of delivery: backoff, dead letters, locale fallback, human dates, Message-ID."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from entremise.notify.domain import (
    after_failure,
    format_date,
    format_datetime,
    locale_candidates,
    message_id,
    retry_delay,
)

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def test_backoff_doubles_from_one_minute_and_caps_at_one_hour() -> None:
    assert [retry_delay(n) for n in range(1, 10)] == [
        timedelta(minutes=m) for m in (1, 2, 4, 8, 16, 32, 60, 60, 60)
    ]
    assert retry_delay(10_000) == timedelta(hours=1)
    with pytest.raises(ValueError):
        retry_delay(0)


def test_transient_failure_is_retried_until_max_attempts() -> None:
    plan = after_failure(1, 8, NOW, permanent=False)
    assert not plan.dead and plan.next_attempt_at == NOW + timedelta(minutes=1)
    assert after_failure(7, 8, NOW, permanent=False).dead is False
    last = after_failure(8, 8, NOW, permanent=False)
    assert last.dead and last.next_attempt_at is None


def test_permanent_failure_is_dead_at_once() -> None:
    assert after_failure(1, 8, NOW, permanent=True).dead


def test_locale_candidates() -> None:
    assert locale_candidates("en") == ["en", "fr"]
    assert locale_candidates("en_GB") == ["en-GB", "en", "fr"]
    assert locale_candidates("fr-CA") == ["fr-CA", "fr"]
    assert locale_candidates(None) == ["fr"]
    assert locale_candidates("../x") == ["fr"]


def test_dates_in_french_and_english() -> None:
    assert format_date("2026-12-01", "fr", "Europe/Paris") == "1er décembre 2026"
    assert format_date("2026-12-02", "fr", "Europe/Paris") == "2 décembre 2026"
    assert format_date("2026-08-15", "en", "Europe/Paris") == "15 August 2026"
    assert format_date(date(2026, 2, 1), "en", "Europe/Paris") == "1 February 2026"
    # a datetime late in the UTC evening is already the next day in Paris
    assert format_date("2026-12-31T23:30:00+00:00", "fr", "Europe/Paris") == "1er janvier 2027"


def test_datetimes_in_french_and_english() -> None:
    assert format_datetime("2026-11-23T08:00:00Z", "fr", "Europe/Paris") == "23 novembre 2026 à 9 h"
    assert format_datetime("2026-11-23T08:07:00Z", "fr", "Europe/Paris") == "23 novembre 2026 à 9 h 07"
    assert format_datetime("2026-11-23T13:07:00Z", "en", "Europe/Paris") == "23 November 2026 at 14:07"
    assert (
        format_datetime("2026-06-23T13:07:00", "en", "Europe/Paris") == "23 June 2026 at 15:07"
    )  # naive = UTC
    assert format_datetime("2026-11-23", "fr", "Europe/Paris") == "23 novembre 2026"
    assert format_datetime("2026-11-23T08:00:00Z", "de", "Europe/Paris") == "23 novembre 2026 à 9 h"


def test_bad_dates_raise() -> None:
    with pytest.raises(ValueError):
        format_date("soon", "fr", "Europe/Paris")


def test_message_id_is_stable_and_names_the_row() -> None:
    assert message_id(42, "0a-1b", "example.org") == "<outbox.42.0a1b@example.org>"
    assert message_id(42, "p-1", "example.org") == message_id(42, "p-1", "example.org")
    assert message_id(42, "p-1", "example.org") != message_id(42, "p-2", "example.org")
