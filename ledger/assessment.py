"""Rules of assessment as pure functions on :class:`decimal.Decimal`.

This first slice holds the score rules of TT 22/2021 that every score event
depends on; the learning levels, conduct table, promotion and awards arrive
with the domain issue.

- A score is on the 10-point scale with at most one decimal after rounding
  (TT 22/2021 Điều 6 k.3, Điều 7 k.3: "số nguyên hoặc số thập phân được lấy
  đến chữ số thập phân thứ nhất sau khi làm tròn số"). A value with a second
  decimal is refused, not rounded: the teacher records the rounded score.
- Primary periodic tests are integers 0–10 (TT 27/2020 Điều 7 k.2).
- ĐTBmhk = (TĐĐGtx + 2×ĐĐGgk + 3×ĐĐGck) / (số ĐĐGtx + 5), and
  ĐTBmcn = (ĐTBmhkI + 2×ĐTBmhkII) / 3, each rounded half-up to 0.1
  (TT 22/2021 Điều 9 k.1), never with binary floats.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from ledger.errors import InvalidScore

REGULATION_TT22 = "TT22/2021"
REGULATION_TT27 = "TT27/2020"

_TENTH = Decimal("0.1")
_MIN = Decimal(0)
_MAX = Decimal(10)


def parse_score(value: object, *, integer_only: bool = False) -> Decimal:
    """Return ``value`` as a score ``Decimal`` with one decimal place.

    Raise :class:`InvalidScore` outside 0.0–10.0, with more than one decimal,
    or (``integer_only``, TT 27/2020) with any decimal.
    """
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise InvalidScore(f"score must be a decimal string or integer, not {type(value).__name__}")
    try:
        d = Decimal(str(value).strip().replace(",", "."))
    except InvalidOperation:
        raise InvalidScore(f"not a number: {value!r}") from None
    if not d.is_finite():
        raise InvalidScore(f"not a finite number: {value!r}")
    if not _MIN <= d <= _MAX:
        raise InvalidScore(f"score {d} outside 0–10 (TT 22/2021 thang điểm 10)")
    if d != d.quantize(_TENTH):
        raise InvalidScore(f"score {d} has more than one decimal (TT 22/2021 Điều 6)")
    if d.is_zero():
        d = Decimal(0)  # never store "-0.0"
    if integer_only and d != d.to_integral_value():
        raise InvalidScore(f"score {d} must be an integer (TT 27/2020 Điều 7)")
    return d.quantize(_TENTH)


def round_half_up(value: Decimal) -> Decimal:
    """Round to one decimal, half up ("làm tròn số"): 8.25 → 8.3."""
    return value.quantize(_TENTH, rounding=ROUND_HALF_UP)


def term_average(regular: Sequence[Decimal], mid: Decimal, end: Decimal) -> Decimal:
    """ĐTBmhk per TT 22/2021 Điều 9 k.1."""
    if not regular:
        raise InvalidScore("a term average needs at least one regular assessment")
    return round_half_up((sum(regular, Decimal(0)) + 2 * mid + 3 * end) / (len(regular) + 5))


def year_average(term1: Decimal, term2: Decimal) -> Decimal:
    """ĐTBmcn per TT 22/2021 Điều 9 k.1, from the rounded term averages."""
    return round_half_up((term1 + 2 * term2) / 3)
