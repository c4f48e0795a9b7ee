"""French business days: weekends and public holidays, Alsace-Moselle's extra days, 2026 and 2027."""

from __future__ import annotations

from datetime import date

import pytest

from entremise.kernel.business_days import BusinessCalendar, subdivision_for

NATIONAL_2026 = {
    date(2026, 1, 1),
    date(2026, 4, 6),
    date(2026, 5, 1),
    date(2026, 5, 8),
    date(2026, 5, 14),
    date(2026, 5, 25),
    date(2026, 7, 14),
    date(2026, 8, 15),
    date(2026, 11, 1),
    date(2026, 11, 11),
    date(2026, 12, 25),
}
NATIONAL_2027 = {
    date(2027, 1, 1),
    date(2027, 3, 29),
    date(2027, 5, 1),
    date(2027, 5, 6),
    date(2027, 5, 8),
    date(2027, 5, 17),
    date(2027, 7, 14),
    date(2027, 8, 15),
    date(2027, 11, 1),
    date(2027, 11, 11),
    date(2027, 12, 25),
}
# Alsace-Moselle adds Good Friday and 26 December
ALSACE_MOSELLE = {2026: {date(2026, 4, 3), date(2026, 12, 26)}, 2027: {date(2027, 3, 26), date(2027, 12, 26)}}


def test_metropolitan_public_holidays_of_2026_and_2027() -> None:
    calendar = BusinessCalendar()
    assert calendar.public_holidays(2026) == NATIONAL_2026
    assert calendar.public_holidays(2027) == NATIONAL_2027


@pytest.mark.parametrize("departement", ["57", "67", "68"])
@pytest.mark.parametrize("year", [2026, 2027])
def test_alsace_moselle_adds_good_friday_and_26_december(departement: str, year: int) -> None:
    national = NATIONAL_2026 if year == 2026 else NATIONAL_2027
    assert BusinessCalendar(departement).public_holidays(year) == national | ALSACE_MOSELLE[year]


def test_departements_map_to_the_package_subdivisions() -> None:
    assert subdivision_for("57") == "57"
    assert subdivision_for("67") == subdivision_for("68") == "6AE"
    assert subdivision_for("75") is None and subdivision_for("2A") is None and subdivision_for(None) is None
    assert subdivision_for("974") == "974" and subdivision_for("988") == "NC"
    with pytest.raises(ValueError):
        subdivision_for("99")
    with pytest.raises(ValueError):
        BusinessCalendar("6AE")  # a subdivision is not a département


def test_good_friday_is_a_business_day_in_paris_but_not_in_strasbourg() -> None:
    good_friday = date(2026, 4, 3)
    assert BusinessCalendar("75").is_business_day(good_friday)
    assert not BusinessCalendar("67").is_business_day(good_friday)


def test_weekends_and_holidays_are_not_business_days() -> None:
    calendar = BusinessCalendar()
    assert not calendar.is_business_day(date(2026, 12, 5))  # Saturday
    assert not calendar.is_business_day(date(2026, 12, 6))  # Sunday
    assert not calendar.is_business_day(date(2026, 12, 25))  # Christmas, a Friday
    assert calendar.is_business_day(date(2026, 12, 24))
    assert calendar.next_business_day(date(2026, 12, 25)) == date(2026, 12, 28)
    assert calendar.next_business_day(date(2026, 12, 28)) == date(2026, 12, 28)


def test_adding_business_days_skips_the_start_day_weekends_and_holidays() -> None:
    calendar = BusinessCalendar()
    assert calendar.add_business_days(date(2026, 12, 1), 0) == date(2026, 12, 1)
    assert calendar.add_business_days(date(2026, 12, 4), 1) == date(2026, 12, 7)  # Friday -> Monday
    assert calendar.add_business_days(date(2026, 12, 24), 1) == date(2026, 12, 28)  # over Christmas
    # 30 business days from Tuesday 1 December 2026: Christmas and New Year's Day are skipped
    assert calendar.add_business_days(date(2026, 12, 1), 30) == date(2027, 1, 14)
    # over Easter Monday 2027 (29 March) and, in Alsace, Good Friday (26 March)
    assert calendar.add_business_days(date(2027, 3, 25), 2) == date(2027, 3, 30)
    assert BusinessCalendar("68").add_business_days(date(2027, 3, 25), 2) == date(2027, 3, 31)
    with pytest.raises(ValueError):
        calendar.add_business_days(date(2026, 12, 1), -1)
