"""Rating of metered sessions (pure): each rule by its ID, and properties over many durations."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from entremise.kernel.money import Money
from entremise.metering import rating
from entremise.metering.rating import Tariff

CONSULT = Tariff("per_minute", "EUR", rate_per_minute=200, connection_fee=125)


def amounts(r: rating.Rating) -> dict[str, int]:
    return {line.code: line.amount for line in r.lines}


def test_CONSULT_CALL_1_per_started_minute_by_default() -> None:
    r = rating.rate(CONSULT, 61)
    assert r.billed_seconds == 61
    assert amounts(r)["minutes"] == 400  # two started minutes at 2 €
    assert next(line for line in r.lines if line.code == "minutes").rules == ("CONSULT-CALL-1",)


def test_billing_increment_is_a_setting_per_second() -> None:
    per_second = Tariff("per_minute", "EUR", rate_per_minute=200, increment_seconds=1)
    assert rating.rate(per_second, 90).total == Money(300, "EUR")
    assert rating.rate(per_second, 1).total == Money(3, "EUR")  # 3.33 cents rounded half-up


def test_CONSULT_CALL_2_one_connection_fee_per_call() -> None:
    r = rating.rate(CONSULT, 600)
    assert amounts(r)["connection_fee"] == 125
    assert r.total == Money(125 + 10 * 200, "EUR")
    assert [line.rules for line in r.lines if line.code == "connection_fee"] == [("CONSULT-CALL-2",)]


def test_CONSULT_CALL_3_mobile_surcharge_per_minute() -> None:
    mobile = Tariff(
        "per_minute", "EUR", rate_per_minute=200, connection_fee=125, mobile_surcharge_per_minute=10
    )
    r = rating.rate(mobile, 5 * 60)
    assert amounts(r)["mobile_surcharge"] == 50
    assert r.total == Money(125 + 1000 + 50, "EUR")
    assert "CONSULT-CALL-3" in r.rules


def test_CONSULT_GIFT_1_free_minutes_cost_nothing_and_no_connection_fee_when_all_free() -> None:
    gift = Tariff("per_minute", "EUR", rate_per_minute=200, connection_fee=125, free_minutes=10)
    free = rating.rate(gift, 9 * 60 + 30)
    assert free.total == Money(0, "EUR")
    assert [line.code for line in free.lines] == ["free_minutes"]
    assert free.lines[0].rules == ("CONSULT-GIFT-1",)
    paid = rating.rate(gift, 12 * 60)
    assert amounts(paid) == {"connection_fee": 125, "free_minutes": 0, "minutes": 400}


def test_EXPERT_PRICE_2_package_price_when_more_than_a_third_honoured() -> None:
    package = Tariff("package", "EUR", package_minutes=15, package_price=7500, rate_rule="EXPERT-PRICE-1")
    r = rating.rate(package, 6 * 60)
    assert r.total == Money(7500, "EUR")
    assert r.lines[0].rules == ("EXPERT-PRICE-2",)


def test_EXPERT_PRICE_3_one_third_of_the_price_when_at_most_a_third_honoured() -> None:
    package = Tariff("package", "EUR", package_minutes=15, package_price=7500)
    r = rating.rate(package, 4 * 60)  # the terms' own example: 75 € for 15 minutes, 4 used: 25 €
    assert r.total == Money(2500, "EUR")
    assert r.lines[0].rules == ("EXPERT-PRICE-2", "EXPERT-PRICE-3")
    assert rating.rate(package, 5 * 60).total == Money(2500, "EUR")  # exactly a third
    assert rating.rate(package, 5 * 60 + 1).total == Money(7500, "EUR")


def test_EXPERT_PRICE_3_does_not_apply_beyond_60_minutes() -> None:
    long = Tariff("package", "EUR", package_minutes=90, package_price=30000)
    assert rating.rate(long, 10 * 60).total == Money(30000, "EUR")


def test_EXPERT_PRICE_3_third_rounded_down_for_the_client() -> None:
    package = Tariff("package", "EUR", package_minutes=30, package_price=10000)
    assert rating.rate(package, 60).total == Money(3333, "EUR")


def test_package_is_cut_at_its_length() -> None:
    package = Tariff("package", "EUR", package_minutes=15, package_price=7500)
    assert rating.max_seconds(package, None) == 15 * 60
    assert rating.rate(package, 20 * 60).billed_seconds == 15 * 60


def test_EXPERT_PRICE_4_per_minute_consultation_never_above_the_cap() -> None:
    expert = Tariff("per_minute", "EUR", rate_per_minute=300, cap=5000, rate_rule="EXPERT-PRICE-1")
    assert rating.max_seconds(expert, 100_000) == 16 * 60  # 16 minutes at 3 € = 48 €, 17 would be 51 €
    r = rating.rate(expert, 3600, budget=100_000)
    assert r.total == Money(4800, "EUR")
    assert r.billed_seconds == 16 * 60


def test_budget_buys_a_maximum_duration() -> None:
    assert rating.max_seconds(CONSULT, 1125) == 5 * 60  # 1.25 € + 5 × 2 €
    assert rating.max_seconds(CONSULT, 1124) == 4 * 60
    assert rating.minimum_price(CONSULT) == 325


def test_nothing_charged_when_nobody_talked() -> None:
    assert rating.rate(CONSULT, 0).lines == ()
    assert rating.rate(Tariff("package", "EUR", package_minutes=15, package_price=7500), 0).total.is_zero


def test_split_resale_commission_and_vat_add_up() -> None:
    s = rating.split_resale(Money(1325, "EUR"), Decimal("30"), Decimal("20.0"))
    assert s.vat == Money(221, "EUR")  # 1325 - round(1325 / 1.2) = 1325 - 1104
    assert s.platform == Money(331, "EUR")  # 30 % of 1104, rounded half-up
    assert s.provider + s.platform + s.vat == s.total


def test_EXPERT_FEE_1_fixed_fee_charged_to_the_provider() -> None:
    s = rating.split_fee(Money(4500, "EUR"), Money(300, "EUR"), Decimal("20.0"))
    assert s.provider == Money(4200, "EUR")
    assert s.platform + s.vat == Money(300, "EUR")
    assert s.rules == ("EXPERT-FEE-1",)
    small = rating.split_fee(Money(200, "EUR"), Money(300, "EUR"), Decimal("20.0"))
    assert small.provider.is_zero and small.platform + small.vat == Money(200, "EUR")


tariffs = st.builds(
    Tariff,
    kind=st.just("per_minute"),
    currency=st.just("EUR"),
    rate_per_minute=st.integers(0, 2000),
    increment_seconds=st.sampled_from([1, 10, 30, 60]),
    connection_fee=st.integers(0, 500),
    mobile_surcharge_per_minute=st.integers(0, 50),
    free_minutes=st.integers(0, 15),
    cap=st.one_of(st.none(), st.integers(100, 10_000)),
    max_minutes=st.integers(1, 240),
)
packages = st.builds(
    Tariff,
    kind=st.just("package"),
    currency=st.just("EUR"),
    package_minutes=st.integers(5, 90),
    package_price=st.integers(0, 50_000),
    connection_fee=st.integers(0, 500),
    mobile_surcharge_per_minute=st.integers(0, 50),
)
seconds = st.integers(0, 6 * 3600)
budgets = st.one_of(st.none(), st.integers(0, 50_000))


@given(st.one_of(tariffs, packages), seconds, budgets)
def test_total_is_the_sum_of_the_lines_and_every_line_cites_a_rule(
    t: Tariff, s: int, budget: int | None
) -> None:
    r = rating.rate(t, s, budget)
    assert r.total.amount == sum(line.amount for line in r.lines)
    assert all(line.rules for line in r.lines)
    assert all(line.amount >= 0 for line in r.lines)


@given(tariffs, seconds, seconds, budgets)
def test_monotone_in_duration(t: Tariff, a: int, b: int, budget: int | None) -> None:
    short, long = sorted((a, b))
    assert rating.rate(t, short, budget).total <= rating.rate(t, long, budget).total


@given(tariffs, seconds, st.integers(0, 50_000))
def test_never_above_the_budget_nor_the_cap(t: Tariff, s: int, budget: int) -> None:
    total = rating.rate(t, s, budget).total.amount
    assert total <= budget
    if t.cap is not None:
        assert total <= t.cap


@given(tariffs, st.integers(0, 50_000))
def test_max_seconds_is_what_the_budget_buys(t: Tariff, budget: int) -> None:
    m = rating.max_seconds(t, budget)
    assert m <= t.max_minutes * 60
    assert rating.rate(t, m, budget).billed_seconds == m
    if m < t.max_minutes * 60:
        # one more increment would cost more than allowed
        limit = rating.price_ceiling(t, budget)
        assert limit is not None
        assert rating._uncapped(t, m + t.increment_seconds) > limit


@given(st.one_of(tariffs, packages), seconds)
def test_split_adds_up(t: Tariff, s: int) -> None:
    total = rating.rate(t, s).total
    for split in (
        rating.split_resale(total, Decimal("27.5"), Decimal("20.0")),
        rating.split_fee(total, Money(300, "EUR"), Decimal("20.0")),
    ):
        assert split.provider + split.platform + split.vat == total
        assert not split.provider.is_negative and not split.platform.is_negative
