"""Score rules of TT 22/2021 and TT 27/2020 (ledger.assessment)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.assessment import parse_score, round_half_up, term_average, year_average
from ledger.errors import InvalidScore


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("0", "0.0"),
        ("10", "10.0"),
        ("8.5", "8.5"),
        ("7,5", "7.5"),
        (9, "9.0"),
        (Decimal("6.0"), "6.0"),
    ],
)
def test_valid_scores(raw: object, want: str) -> None:
    assert parse_score(raw) == Decimal(want)
    assert str(parse_score(raw)) == want


@pytest.mark.parametrize(
    "raw",
    ["10.1", "-0.1", "8.25", "", "abc", "NaN", "sNaN", "Infinity", "1e1000", 10.5, None, True],
)
def test_invalid_scores(raw: object) -> None:
    with pytest.raises(InvalidScore):
        parse_score(raw)


def test_primary_tests_are_integers() -> None:
    # TT 27/2020 Điều 7: "không cho điểm thập phân".
    assert parse_score("9", integer_only=True) == Decimal("9.0")
    with pytest.raises(InvalidScore):
        parse_score("9.5", integer_only=True)


def test_half_up_not_bankers() -> None:
    # float round(8.25, 1) gives 8.2; the rule is half-up: 8.3.
    assert round_half_up(Decimal("8.25")) == Decimal("8.3")
    assert round_half_up(Decimal("8.35")) == Decimal("8.4")


def test_term_average_worked_example() -> None:
    # DOMAIN.md §1.4: tx 5.9, 5.1, 4.9; gk 6.2; ck 5.2 → 43.9 / 8 = 5.4875 → 5.5.
    tx = [Decimal("5.9"), Decimal("5.1"), Decimal("4.9")]
    assert term_average(tx, Decimal("6.2"), Decimal("5.2")) == Decimal("5.5")


def test_year_average_uses_rounded_terms() -> None:
    assert year_average(Decimal("6.5"), Decimal("7.0")) == Decimal("6.8")  # 20.5/3 = 6.833…


scores = st.integers(min_value=0, max_value=100).map(lambda n: Decimal(n) / 10)


@given(st.lists(scores, min_size=1, max_size=4), scores, scores)
def test_term_average_in_range_one_decimal(tx: list[Decimal], gk: Decimal, ck: Decimal) -> None:
    avg = term_average(tx, gk, ck)
    assert Decimal(0) <= avg <= Decimal(10)
    assert avg == avg.quantize(Decimal("0.1"))
    assert min([*tx, gk, ck]) <= avg + Decimal("0.05")
    assert avg - Decimal("0.05") <= max([*tx, gk, ck])


@given(st.integers(min_value=0, max_value=100))
def test_every_tenth_parses(n: int) -> None:
    assert parse_score(f"{n / 10:.1f}") == Decimal(n) / 10


def test_negative_zero_is_stored_as_zero() -> None:
    # Regression: Decimal("-0") quantized to "-0.0" would have entered payloads.
    assert str(parse_score("-0")) == "0.0"
    assert str(parse_score("-0.0")) == "0.0"
