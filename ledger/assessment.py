"""Rules of assessment as pure functions on :class:`decimal.Decimal` and enums.

Every rule below is taken from ``DOMAIN.md`` with its tag there: [P] primary text, [S] secondary
sources only, [U] unconfirmed, [D] design choice of the report. [P] rules are implemented exactly;
each [U], [S] or [D] choice is a keyword parameter, named here, whose default is the stated choice.
The article is cited again at the line that implements it. Every function refuses out-of-domain
input with :class:`~ledger.errors.InvalidScore` or :class:`~ledger.errors.InvalidInput`.

Public contract (the names callers and tests import; DESIGN.md §5):

- ``regular_score_count(periods_per_year: int) -> int``; ``regular_count`` is the same function.
- ``term_average(regular: Sequence[Decimal], midterm: Decimal, final: Decimal) -> Decimal``
  and ``year_average(term1: Decimal, term2: Decimal) -> Decimal``: one decimal, half-up.
- ``learning_level(scored: Mapping[str, Decimal], commented: Mapping[str, bool | Comment],
  *, adjust=True, comment_subject_can_adjust=True) -> LearningLevel``: the level to record, after
  the Điều 9 k.3 adjustment. ``commented`` maps a comment subject to ``True`` (Đạt) or ``False``
  (Chưa đạt); :class:`Comment` members are accepted too. :func:`assess_learning` takes the same
  arguments and returns the whole :class:`LevelResult`: level, raw level, the subject that
  triggered k.3 and the regulation.
- ``conduct_year(term1: ConductLevel, term2: ConductLevel) -> ConductLevel``.
- ``promotion(year_learning, year_conduct, absences, grade, *, conduct_after_summer=None,
  learning_after_reassessment=None, max_absences=45) -> Promotion`` and
  ``award(year_learning, year_conduct, scored) -> Award | None``.
- ``parse_primary_test_score(value) -> Decimal`` and ``primary_year_result(subjects, qualities,
  end_of_year_tests) -> PrimaryYearResult`` (TT 27/2020).
- ``evaluation_level(general: Decimal | int, performance: Decimal | int, *, disciplined=False,
  violation=False, thresholds=EVALUATION_THRESHOLDS) -> EvaluationLevel`` (NĐ 233/2026).
- Enums: member names are English (``LearningLevel.GOOD``), values are the Vietnamese labels shown
  to users (``LearningLevel("Tốt") is LearningLevel.GOOD``, ``.value == .label == "Tốt"``).
  ``LearningLevel`` and ``ConductLevel`` are both :class:`Level` (Tốt, Khá, Đạt, Chưa đạt).
- Every computed enum result carries its regulation (DESIGN.md invariant 6): ``.regulation`` is
  :data:`REGULATION_TT22` (``"TT22/2021"``) on :class:`Level`, :class:`Comment`,
  :class:`Promotion` and :class:`Award`, :data:`REGULATION_TT27` (``"TT27/2020"``) on
  :class:`PrimaryLevel`, :class:`QualityLevel` and :class:`PrimaryYearResult`, and
  :data:`REGULATION_ND233` (``"NĐ233/2026"``) on :class:`EvaluationLevel`; :class:`LevelResult`
  has a ``regulation`` field. Averages are plain Decimals computed by TT 22/2021.

TT 22/2021/TT-BGDĐT (THCS/THPT), results carry ``REGULATION_TT22``:

- Scores [P], Điều 6 k.3, Điều 7 k.3: 0.0–10.0 with at most one decimal ("số nguyên hoặc số thập
  phân được lấy đến chữ số thập phân thứ nhất sau khi làm tròn số"). A value with a second decimal
  is refused, not rounded: the teacher records the rounded score (:func:`parse_score`).
- Rounding [D; half-up convention S]: half-up to 0.1 with decimal arithmetic
  (:func:`round_half_up`).
- Regular assessment count per term [P], Điều 6: comment subject 2; scored subject 35 periods/year
  2, >35–70 3, >70 4 (:func:`regular_score_count`, :func:`comment_regular_count`). Fewer than 35
  periods counts 2 [D]. The rule for cụm chuyên đề học tập is [U] and not implemented.
- ĐTBmhk and ĐTBmcn [P], Điều 9 k.1: (TĐĐGtx + 2×ĐĐGgk + 3×ĐĐGck) / (số ĐĐGtx + 5) and
  (ĐTBmhkI + 2×ĐTBmhkII) / 3, ĐTBmcn from the rounded term averages [S]
  (:func:`term_average`, :func:`year_average`).
- Comment subjects [P], Điều 9 k.1 a: term Đạt iff all required assessments are present and all
  are Đạt; year = term II (:func:`comment_term_result`, :func:`comment_year_result`).
- Learning level [P], Điều 9 k.2: the Tốt/Khá/Đạt/Chưa đạt table (:func:`learning_level`,
  :func:`assess_learning`).
- Adjustment [P], Điều 9 k.3, by the [D] reading of DOMAIN.md §1.5: a level two or more below
  Tốt (resp. Khá) because of one subject alone goes up to Khá (resp. Đạt). "Because of one subject
  alone" is read as: exactly one subject misses the target level's per-subject floor (comment Đạt;
  score ≥ 6.5 for Tốt, ≥ 5.0 for Khá) and the count condition (at least 6 scored subjects ≥ 8.0,
  resp. ≥ 6.5) holds. A short count is not attributed to one subject. Parameters: ``adjust``
  (default ``True``: the article applies) and ``comment_subject_can_adjust`` [U] (default
  ``True``: the text says "01 môn học", and Điều 5 calls comment subjects "môn học" too).
- Conduct year table [P], Điều 8 k.2 b (:func:`conduct_year`).
- Promotion [P], Điều 12: year conduct ≥ Đạt, year learning ≥ Đạt, absences ≤ 45 buổi counted at
  1 buổi/ngày [P] (``max_absences``, default :data:`MAX_ABSENCES`; the caller counts buổi).
  Summer conduct training [P], Điều 13, comes before the summer re-assessment [P], Điều 14 (MOET
  answer [S]), which covers every scored subject with ĐTBmcn < 5.0 and every comment subject
  Chưa đạt (:func:`subjects_to_reassess`), and whose results replace the year results before
  the learning level is recomputed. The outcome names follow ``KetQuaXetLenLop`` [D]
  (:class:`Promotion`, :func:`promotion`). Grades 9 and 12 complete THCS/THPT. Điều 11 (students
  with disabilities, decided by the principal) is not implemented.
- Awards [P], Điều 15: Học sinh Xuất sắc (conduct Tốt, learning Tốt, at least 6 scored subjects
  with ĐTBmcn ≥ 9.0) and Học sinh Giỏi (conduct Tốt, learning Tốt) (:func:`award`). Commendations
  for particular achievements are a decision, not a rule, and are not implemented.

TT 27/2020/TT-BGDĐT (primary), results carry ``REGULATION_TT27``:

- Periodic test scores [P], Điều 7 k.2: integers 0–10 (:func:`parse_primary_test_score`).
- Levels [P]: subjects T/H/C (:class:`PrimaryLevel`); qualities and competences Tốt / Đạt /
  Cần cố gắng (:class:`QualityLevel`, content [P], labels [S]).
- Year result [P], Điều 9 (:func:`primary_year_result`): Hoàn thành xuất sắc (all subjects T,
  all qualities Tốt, every end-of-year test ≥ 9); Hoàn thành tốt (same with tests ≥ 7);
  Hoàn thành (subjects ≥ H, qualities ≥ Đạt); Chưa hoàn thành otherwise. DOMAIN.md states no
  test-score floor for Hoàn thành; ``completed_min_test_score`` [U] (default ``None``, none)
  allows one. Support, re-assessment and retention of Chưa hoàn thành students are [U] and not
  implemented.

NĐ 233/2026/NĐ-CP (annual evaluation of viên chức, DOMAIN.md §4.3), every rule [S], results
carry ``REGULATION_ND233``:

- Points [S]: tiêu chí chung at most 30 (:data:`EVALUATION_MAX_GENERAL`), kết quả thực hiện
  nhiệm vụ at most 70 (:data:`EVALUATION_MAX_PERFORMANCE`), total on a 100-point scale.
- Levels [S] (:class:`EvaluationLevel`, :func:`evaluation_level`): Hoàn thành xuất sắc nhiệm vụ
  ≥ 90, Hoàn thành tốt nhiệm vụ 70 to < 90, Hoàn thành nhiệm vụ 50 to < 70, Không hoàn thành
  nhiệm vụ < 50. The floors are :data:`EVALUATION_THRESHOLDS`, overridable per call with
  ``thresholds``. Không hoàn thành nhiệm vụ whatever the points when the viên chức was
  disciplined (khiển trách or higher) for task-related violations in the year (``disciplined``)
  or has concluded ideological or ethical violations (``violation``; also the managers' case of
  corruption in their unit). The quota (Hoàn thành xuất sắc ≤ 20 % of those rated Hoàn thành tốt
  or better) applies to a unit, not a person, and is not implemented here.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from types import MappingProxyType

from ledger.errors import InvalidInput, InvalidScore

REGULATION_TT22 = "TT22/2021"
REGULATION_TT27 = "TT27/2020"
REGULATION_ND233 = "NĐ233/2026"

#: Most absences (buổi, counted at 1 buổi/ngày) that still allow promotion, TT 22/2021 Điều 12.
MAX_ABSENCES = 45

_TENTH = Decimal("0.1")
_MIN = Decimal(0)
_MAX = Decimal(10)


class _Labelled(enum.Enum):
    """An enum whose values are the Vietnamese labels shown to users."""

    @property
    def label(self) -> str:
        """The Vietnamese label shown to users."""
        return str(self.value)

    @property
    def regulation(self) -> str:
        """The regulation whose rules define this result (DESIGN.md invariant 6)."""
        return _REGULATION_OF[type(self)]


class Level(_Labelled):
    """Mức đánh giá of learning or conduct (TT 22/2021 Điều 8, Điều 9 k.2)."""

    GOOD = "Tốt"
    FAIR = "Khá"
    PASS = "Đạt"  # noqa: S105 (ruff reads the name PASS as a password)
    NOT_PASSED = "Chưa đạt"

    @property
    def rank(self) -> int:
        """Order of the levels: Chưa đạt 0 < Đạt 1 < Khá 2 < Tốt 3."""
        return _LEVEL_RANK[self]


_LEVEL_RANK = {Level.NOT_PASSED: 0, Level.PASS: 1, Level.FAIR: 2, Level.GOOD: 3}

#: Kết quả học tập (TT 22/2021 Điều 9 k.2): the four levels of :class:`Level`.
LearningLevel = Level
#: Kết quả rèn luyện (TT 22/2021 Điều 8): the same four levels as learning.
ConductLevel = Level


class Comment(_Labelled):
    """Result of a comment assessment (đánh giá bằng nhận xét, TT 22/2021 Điều 5)."""

    PASS = "Đạt"  # noqa: S105 (ruff reads the name PASS as a password)
    NOT_PASSED = "Chưa đạt"


class Promotion(_Labelled):
    """Outcome of the promotion decision (``KetQuaXetLenLop`` [D], TT 22/2021 Điều 12–14)."""

    PROMOTED = "Lên lớp"
    PROMOTED_AFTER_REASSESSMENT = "Lên lớp sau kiểm tra, đánh giá lại"
    PROMOTED_AFTER_SUMMER_TRAINING = "Lên lớp sau rèn luyện trong kì nghỉ hè"
    SUMMER_TRAINING_REQUIRED = "Phải rèn luyện trong kì nghỉ hè"
    REASSESSMENT_REQUIRED = "Phải kiểm tra, đánh giá lại"
    RETAINED = "Ở lại lớp"
    COMPLETED_THCS = "Hoàn thành chương trình THCS"
    COMPLETED_THPT = "Hoàn thành chương trình THPT"
    ABSENCES_OVER_LIMIT = "Không đủ điều kiện lên lớp: nghỉ quá số buổi quy định"


class Award(_Labelled):
    """Year-end title (danh hiệu, TT 22/2021 Điều 15)."""

    OUTSTANDING = "Học sinh Xuất sắc"
    EXCELLENT = "Học sinh Giỏi"


class PrimaryLevel(_Labelled):
    """Level of a primary subject or activity (TT 27/2020): T, H or C."""

    COMPLETED_WELL = "Hoàn thành tốt"
    COMPLETED = "Hoàn thành"
    NOT_COMPLETED = "Chưa hoàn thành"

    @property
    def code(self) -> str:
        """The one-letter code of the học bạ: T, H or C."""
        return {"COMPLETED_WELL": "T", "COMPLETED": "H", "NOT_COMPLETED": "C"}[self.name]


class QualityLevel(_Labelled):
    """Level of a primary quality (phẩm chất) or competence (năng lực) (TT 27/2020)."""

    GOOD = "Tốt"
    PASS = "Đạt"  # noqa: S105 (ruff reads the name PASS as a password)
    NEEDS_EFFORT = "Cần cố gắng"


class PrimaryYearResult(_Labelled):
    """Year-end educational result of a primary student (TT 27/2020 Điều 9)."""

    OUTSTANDING = "Hoàn thành xuất sắc"
    COMPLETED_WELL = "Hoàn thành tốt"
    COMPLETED = "Hoàn thành"
    NOT_COMPLETED = "Chưa hoàn thành"


class EvaluationLevel(_Labelled):
    """Xếp loại chất lượng of a viên chức for the year (NĐ 233/2026/NĐ-CP [S])."""

    OUTSTANDING = "Hoàn thành xuất sắc nhiệm vụ"
    COMPLETED_WELL = "Hoàn thành tốt nhiệm vụ"
    COMPLETED = "Hoàn thành nhiệm vụ"
    NOT_COMPLETED = "Không hoàn thành nhiệm vụ"


_REGULATION_OF: dict[type[_Labelled], str] = {
    Level: REGULATION_TT22,
    Comment: REGULATION_TT22,
    Promotion: REGULATION_TT22,
    Award: REGULATION_TT22,
    PrimaryLevel: REGULATION_TT27,
    QualityLevel: REGULATION_TT27,
    PrimaryYearResult: REGULATION_TT27,
    EvaluationLevel: REGULATION_ND233,
}


@dataclass(frozen=True)
class LevelResult:
    """A learning level with the raw level it was adjusted from (TT 22/2021 Điều 9 k.2, k.3)."""

    level: Level
    """The level to record: the adjusted level, or the raw level if no adjustment applies."""
    raw_level: Level
    """The level of the Điều 9 k.2 table before the k.3 adjustment."""
    adjusted_by_subject: str | None
    """The one subject whose result alone lowered the level (k.3), or ``None``."""
    regulation: str = REGULATION_TT22
    """The regulation whose rules computed this result (DESIGN.md invariant 6)."""


# --- validation helpers -------------------------------------------------------------------------


def _check_score(value: object, what: str = "score") -> Decimal:
    """Return ``value`` if it is a finite Decimal in 0.0–10.0 with at most one decimal."""
    if not isinstance(value, Decimal):
        raise InvalidScore(f"{what} must be a Decimal, not {type(value).__name__}")
    if not value.is_finite():
        raise InvalidScore(f"{what} is not a finite number: {value}")
    # Range before quantize: quantize of a huge exponent raises InvalidOperation.
    if not _MIN <= value <= _MAX:
        raise InvalidScore(f"{what} {value} outside 0–10 (TT 22/2021 thang điểm 10)")
    if value != value.quantize(_TENTH):
        raise InvalidScore(f"{what} {value} has more than one decimal (TT 22/2021 Điều 6)")
    return value


def _check_enum(value: object, kind: type[enum.Enum], what: str) -> None:
    if not isinstance(value, kind):
        raise InvalidInput(f"{what} must be a {kind.__name__}, not {value!r}")


def _check_int(value: object, what: str, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{what} must be an integer, not {value!r}")
    if value < minimum:
        raise InvalidInput(f"{what} must be at least {minimum}, not {value}")
    return value


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput(f"a subject name must be a non-empty string, not {name!r}")
    return name


def _check_scored(scored: object) -> dict[str, Decimal]:
    if not isinstance(scored, Mapping):
        raise InvalidInput("scored subjects must be a mapping of subject name to Decimal")
    return {_check_name(k): _check_score(v, f"average of {k}") for k, v in scored.items()}


def _check_commented(commented: object) -> dict[str, Comment]:
    """Comment results as :class:`Comment`; ``True`` is Đạt and ``False`` Chưa đạt."""
    if not isinstance(commented, Mapping):
        raise InvalidInput("comment subjects must be a mapping of subject name to bool or Comment")
    out: dict[str, Comment] = {}
    for k, v in commented.items():
        if isinstance(v, bool):
            v = Comment.PASS if v else Comment.NOT_PASSED
        elif not isinstance(v, Comment):
            raise InvalidInput(f"result of {k} must be a bool or a Comment, not {v!r}")
        out[_check_name(k)] = v
    return out


def _check_subjects(
    scored: object, commented: object
) -> tuple[dict[str, Decimal], dict[str, Comment]]:
    s, c = _check_scored(scored), _check_commented(commented)
    both = sorted(s.keys() & c.keys())
    if both:
        # TT 22/2021 Điều 5: a subject is assessed either by comment or with scores, not both.
        raise InvalidInput(f"subjects both scored and commented: {', '.join(both)}")
    return s, c


# --- scores and averages ------------------------------------------------------------------------


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
    if not isinstance(value, Decimal) or not value.is_finite():
        raise InvalidInput(f"cannot round {value!r}: a finite Decimal is required")
    try:
        return value.quantize(_TENTH, rounding=ROUND_HALF_UP)
    except InvalidOperation:
        raise InvalidInput(f"cannot round {value}: out of range") from None


def term_average(regular: Sequence[Decimal], midterm: Decimal, final: Decimal) -> Decimal:
    """ĐTBmhk per TT 22/2021 Điều 9 k.1, rounded half-up to one decimal.

    ``regular`` are the recorded ĐĐGtx, ``midterm`` the ĐĐGgk and ``final`` the ĐĐGck.
    """
    if isinstance(regular, (str, bytes)) or not isinstance(regular, Sequence) or not regular:
        raise InvalidScore("a term average needs a sequence of at least one regular score")
    tx = [_check_score(s, "regular score") for s in regular]
    gk = _check_score(midterm, "mid-term score")
    ck = _check_score(final, "end-of-term score")
    # TT 22/2021 Điều 9 k.1: (TĐĐGtx + 2×ĐĐGgk + 3×ĐĐGck) / (số ĐĐGtx + 5).
    return round_half_up((sum(tx, Decimal(0)) + 2 * gk + 3 * ck) / (len(tx) + 5))


def year_average(term1: Decimal, term2: Decimal) -> Decimal:
    """ĐTBmcn per TT 22/2021 Điều 9 k.1, from the rounded term averages."""
    term1, term2 = _check_score(term1, "term I average"), _check_score(term2, "term II average")
    # TT 22/2021 Điều 9 k.1: (ĐTBmhkI + 2×ĐTBmhkII) / 3.
    return round_half_up((term1 + 2 * term2) / 3)


# --- regular assessment counts and comment subjects --------------------------------------------


def regular_score_count(periods_per_year: int) -> int:
    """Number of ĐĐGtx to record per term for a scored subject (TT 22/2021 Điều 6).

    Fewer than 35 periods counts as 35 [D].
    """
    periods = _check_int(periods_per_year, "periods per year", minimum=1)
    if periods <= 35:  # TT 22/2021 Điều 6: "môn học có 35 tiết/năm học: 02 ĐĐGtx"; < 35 is [D]
        return 2
    if periods <= 70:  # TT 22/2021 Điều 6: "trên 35 tiết đến 70 tiết/năm học: 03 ĐĐGtx"
        return 3
    return 4  # TT 22/2021 Điều 6: "trên 70 tiết/năm học: 04 ĐĐGtx"


#: The earlier name of :func:`regular_score_count`, kept for existing callers.
regular_count = regular_score_count


def comment_regular_count() -> int:
    """Number of regular comment assessments per term for a comment subject (TT 22/2021 Điều 6)."""
    return 2  # TT 22/2021 Điều 6: "02 lần"; cụm chuyên đề học tập is [U], not covered


def comment_term_result(results: Sequence[Comment], required: int) -> Comment:
    """Term result of a comment subject (TT 22/2021 Điều 9 k.1 a).

    ``results`` are the term's recorded comment assessments; ``required`` is how many the term
    needs: :func:`comment_regular_count` plus one mid-term and one end-of-term, so 4 (Điều 6, 7).
    Recording more than ``required`` is refused: the sổ holds the selected ones only.
    """
    required = _check_int(required, "required assessments", minimum=1)
    if isinstance(results, (str, bytes)) or not isinstance(results, Sequence):
        raise InvalidInput("comment results must be a sequence of Comment")
    for r in results:
        _check_enum(r, Comment, "comment result")
    if len(results) > required:
        raise InvalidInput(f"{len(results)} comment results recorded, {required} required")
    # TT 22/2021 Điều 9 k.1 a: Đạt iff "có đủ số lần … và tất cả các lần được đánh giá mức Đạt".
    if len(results) == required and all(r is Comment.PASS for r in results):
        return Comment.PASS
    return Comment.NOT_PASSED


def comment_year_result(term2: Comment) -> Comment:
    """Year result of a comment subject: the term II result (TT 22/2021 Điều 9 k.1 a)."""
    _check_enum(term2, Comment, "term II result")
    return term2  # TT 22/2021 Điều 9 k.1 a: "Cả năm học: Đạt nếu kết quả học kì II … Đạt"


# --- learning level ------------------------------------------------------------------------------

# Thresholds of the TT 22/2021 Điều 9 k.2 table: a floor every scored subject must reach, and the
# score at least 06 scored subjects must reach ("ít nhất 06 môn học").
_MIN_COUNTED = 6
_GOOD_FLOOR, _GOOD_COUNT_AT = Decimal("6.5"), Decimal("8.0")
_FAIR_FLOOR, _FAIR_COUNT_AT = Decimal("5.0"), Decimal("6.5")
_PASS_COUNT_AT, _PASS_FLOOR = Decimal("5.0"), Decimal("3.5")


def _count_at_least(scored: Mapping[str, Decimal], threshold: Decimal) -> int:
    return sum(1 for s in scored.values() if s >= threshold)


def _not_passed(commented: Mapping[str, Comment]) -> list[str]:
    return [k for k, v in commented.items() if v is Comment.NOT_PASSED]


def _table_level(scored: Mapping[str, Decimal], commented: Mapping[str, Comment]) -> Level:
    """The TT 22/2021 Điều 9 k.2 table, first matching row."""
    failed_comments = len(_not_passed(commented))
    # Điều 9 k.2 a (Tốt): every comment Đạt; every score ≥ 6.5; at least 6 scores ≥ 8.0.
    if (
        failed_comments == 0
        and all(s >= _GOOD_FLOOR for s in scored.values())
        and _count_at_least(scored, _GOOD_COUNT_AT) >= _MIN_COUNTED
    ):
        return Level.GOOD
    # Điều 9 k.2 b (Khá): every comment Đạt; every score ≥ 5.0; at least 6 scores ≥ 6.5.
    if (
        failed_comments == 0
        and all(s >= _FAIR_FLOOR for s in scored.values())
        and _count_at_least(scored, _FAIR_COUNT_AT) >= _MIN_COUNTED
    ):
        return Level.FAIR
    # Điều 9 k.2 c (Đạt): at most 1 comment Chưa đạt; at least 6 scores ≥ 5.0; none < 3.5.
    if (
        failed_comments <= 1
        and _count_at_least(scored, _PASS_COUNT_AT) >= _MIN_COUNTED
        and all(s >= _PASS_FLOOR for s in scored.values())
    ):
        return Level.PASS
    return Level.NOT_PASSED  # Điều 9 k.2 d: "các trường hợp còn lại"


def _sole_cause(
    target: Level,
    scored: Mapping[str, Decimal],
    commented: Mapping[str, Comment],
    comment_subject_can_adjust: bool,
) -> str | None:
    """The one subject that alone keeps the student below ``target`` (Tốt or Khá), if any.

    [D] DOMAIN.md §1.5: every condition of ``target`` holds except one "every subject …"
    condition, which exactly one subject misses; the count condition must hold as it is.
    """
    floor, count_at = (
        (_GOOD_FLOOR, _GOOD_COUNT_AT) if target is Level.GOOD else (_FAIR_FLOOR, _FAIR_COUNT_AT)
    )
    low_scores = [k for k, s in scored.items() if s < floor]
    low_comments = _not_passed(commented)
    if len(low_scores) + len(low_comments) != 1:
        return None
    if low_comments and not comment_subject_can_adjust:  # [U] "01 môn học" and comment subjects
        return None
    if _count_at_least(scored, count_at) < _MIN_COUNTED:
        return None
    return (low_scores or low_comments)[0]


def assess_learning(
    scored: Mapping[str, Decimal],
    commented: Mapping[str, bool | Comment],
    *,
    adjust: bool = True,
    comment_subject_can_adjust: bool = True,
) -> LevelResult:
    """Term or year learning level (TT 22/2021 Điều 9 k.2) with the k.3 adjustment, in full.

    ``scored`` maps each scored subject to its ĐTBmhk (term) or ĐTBmcn (year); ``commented``
    maps each comment subject to its term or year result: ``True`` or :attr:`Comment.PASS` for
    Đạt, ``False`` or :attr:`Comment.NOT_PASSED` for Chưa đạt. ``adjust=False`` skips Điều 9 k.3.
    ``comment_subject_can_adjust`` [U] says whether a comment subject rated Chưa đạt can be the
    "01 môn học" of k.3 (default ``True``). The result holds the level to record, the raw level of
    the k.2 table, the subject that triggered k.3 (or ``None``) and the regulation.
    """
    s, c = _check_subjects(scored, commented)
    if not isinstance(adjust, bool) or not isinstance(comment_subject_can_adjust, bool):
        raise InvalidInput("adjust and comment_subject_can_adjust must be bool")
    raw = _table_level(s, c)
    if adjust:
        # TT 22/2021 Điều 9 k.3: lowered "từ 02 mức trở lên" below Tốt (so to Đạt or Chưa đạt)
        # "chỉ do kết quả đánh giá của duy nhất 01 môn học" → "điều chỉnh lên mức liền kề" (Khá).
        if raw.rank <= Level.PASS.rank:
            subject = _sole_cause(Level.GOOD, s, c, comment_subject_can_adjust)
            if subject is not None:
                return LevelResult(Level.FAIR, raw, subject)
        # TT 22/2021 Điều 9 k.3: two levels below Khá is Chưa đạt → Đạt.
        if raw is Level.NOT_PASSED:
            subject = _sole_cause(Level.FAIR, s, c, comment_subject_can_adjust)
            if subject is not None:
                return LevelResult(Level.PASS, raw, subject)
    return LevelResult(raw, raw, None)


def learning_level(
    scored: Mapping[str, Decimal],
    commented: Mapping[str, bool | Comment],
    *,
    adjust: bool = True,
    comment_subject_can_adjust: bool = True,
) -> LearningLevel:
    """The learning level to record (TT 22/2021 Điều 9 k.2, after the k.3 adjustment).

    Same arguments as :func:`assess_learning`, which also reports the raw level and the subject
    that triggered the adjustment.
    """
    return assess_learning(
        scored, commented, adjust=adjust, comment_subject_can_adjust=comment_subject_can_adjust
    ).level


# --- conduct -------------------------------------------------------------------------------------

_G, _F, _P, _N = Level.GOOD, Level.FAIR, Level.PASS, Level.NOT_PASSED

#: TT 22/2021 Điều 8 k.2 b, keyed by (HK I, HK II); DOMAIN.md §1.6 row by row.
_CONDUCT_YEAR: dict[tuple[ConductLevel, ConductLevel], ConductLevel] = {
    # Tốt: HK II Tốt, HK I Khá or Tốt.
    (_G, _G): _G,
    (_F, _G): _G,
    # Khá: HK II Khá, HK I Đạt, Khá or Tốt; HK II Đạt, HK I Tốt; HK II Tốt, HK I Đạt or Chưa đạt.
    (_P, _F): _F,
    (_F, _F): _F,
    (_G, _F): _F,
    (_G, _P): _F,
    (_P, _G): _F,
    (_N, _G): _F,
    # Đạt: HK II Đạt, HK I Khá, Đạt or Chưa đạt; HK II Khá, HK I Chưa đạt.
    (_F, _P): _P,
    (_P, _P): _P,
    (_N, _P): _P,
    (_N, _F): _P,
    # Chưa đạt: "các trường hợp còn lại", which is HK II Chưa đạt.
    (_G, _N): _N,
    (_F, _N): _N,
    (_P, _N): _N,
    (_N, _N): _N,
}


def conduct_year(term1: ConductLevel, term2: ConductLevel) -> ConductLevel:
    """Year conduct level from the two term levels (TT 22/2021 Điều 8 k.2 b)."""
    _check_enum(term1, ConductLevel, "term I conduct")
    _check_enum(term2, ConductLevel, "term II conduct")
    return _CONDUCT_YEAR[(term1, term2)]


# --- promotion -----------------------------------------------------------------------------------


def subjects_to_reassess(
    scored: Mapping[str, Decimal], commented: Mapping[str, bool | Comment]
) -> list[str]:
    """Subjects of the summer re-assessment (TT 22/2021 Điều 14), in input order.

    Every scored subject with ĐTBmcn < 5.0, then every comment subject rated Chưa đạt.
    """
    s, c = _check_subjects(scored, commented)
    # TT 22/2021 Điều 14: "môn học … có ĐTBmcn dưới 5,0 điểm" and "… được đánh giá mức Chưa đạt".
    return [k for k, v in s.items() if v < _FAIR_FLOOR] + _not_passed(c)


def promotion(
    year_learning: Level,
    year_conduct: Level,
    absences: int,
    grade: int,
    *,
    conduct_after_summer: Level | None = None,
    learning_after_reassessment: Level | None = None,
    max_absences: int = MAX_ABSENCES,
) -> Promotion:
    """Promotion decision of a THCS/THPT student (TT 22/2021 Điều 12–14).

    ``absences`` counts buổi on the 1 buổi/ngày plan, excused or not (Điều 12 [P]).
    ``conduct_after_summer`` is the GVCN's re-evaluation after summer training (Điều 13), only for
    a year conduct of Chưa đạt; ``learning_after_reassessment`` is the learning level recomputed
    after the summer re-assessment (Điều 14), only for a year learning of Chưa đạt and a conduct
    of at least Đạt. Without them the pending step is returned. Grades 9 and 12 complete the
    programme instead of being promoted. A student promoted after both summer steps is reported
    as promoted after re-assessment, the later step [D].
    """
    _check_enum(year_learning, Level, "year learning level")
    _check_enum(year_conduct, Level, "year conduct level")
    absences = _check_int(absences, "absences", minimum=0)
    grade = _check_int(grade, "grade", minimum=6)
    if grade > 12:
        raise InvalidInput(f"grade {grade} is not a THCS/THPT grade (6–12, TT 22/2021)")
    max_absences = _check_int(max_absences, "max_absences", minimum=0)
    if conduct_after_summer is not None:
        _check_enum(conduct_after_summer, Level, "conduct after summer training")
        if year_conduct is not Level.NOT_PASSED:
            raise InvalidInput("summer conduct training is only for a year conduct of Chưa đạt")
    if learning_after_reassessment is not None:
        _check_enum(learning_after_reassessment, Level, "learning level after re-assessment")
        if year_learning is not Level.NOT_PASSED:
            raise InvalidInput("summer re-assessment is only for a year learning of Chưa đạt")

    # TT 22/2021 Điều 12: "nghỉ không quá 45 buổi" is a condition no summer step can repair.
    if absences > max_absences:
        return Promotion.ABSENCES_OVER_LIMIT

    after_training = False
    if year_conduct is Level.NOT_PASSED:
        # TT 22/2021 Điều 13: Chưa đạt conduct → summer training; the re-evaluation replaces it.
        if conduct_after_summer is None:
            if learning_after_reassessment is not None:
                # Điều 14 needs conduct ≥ Đạt, so training comes first (MOET answer [S]).
                raise InvalidInput("re-assessment needs the conduct result after summer training")
            return Promotion.SUMMER_TRAINING_REQUIRED
        if conduct_after_summer is Level.NOT_PASSED:
            return Promotion.RETAINED
        after_training = True

    if year_learning is Level.NOT_PASSED:
        # TT 22/2021 Điều 14: conduct ≥ Đạt and learning Chưa đạt → re-assess the listed subjects;
        # the results replace the year results and the level is recomputed.
        if learning_after_reassessment is None:
            return Promotion.REASSESSMENT_REQUIRED
        if learning_after_reassessment is Level.NOT_PASSED:
            return Promotion.RETAINED  # TT 22/2021 Điều 12: "ở lại lớp"
        outcome = Promotion.PROMOTED_AFTER_REASSESSMENT
    elif after_training:
        outcome = Promotion.PROMOTED_AFTER_SUMMER_TRAINING
    else:
        outcome = Promotion.PROMOTED

    # TT 22/2021 Điều 12: the same conditions recognise completion of THCS (lớp 9) or THPT (lớp 12).
    if grade == 9:
        return Promotion.COMPLETED_THCS
    if grade == 12:
        return Promotion.COMPLETED_THPT
    return outcome


# --- awards --------------------------------------------------------------------------------------

_OUTSTANDING_AT = Decimal("9.0")


def award(year_learning: Level, year_conduct: Level, scored: Mapping[str, Decimal]) -> Award | None:
    """Year-end title, or ``None`` (TT 22/2021 Điều 15).

    ``scored`` maps each scored subject to its ĐTBmcn.
    """
    _check_enum(year_learning, Level, "year learning level")
    _check_enum(year_conduct, Level, "year conduct level")
    s = _check_scored(scored)
    if year_learning is not Level.GOOD or year_conduct is not Level.GOOD:
        return None
    # TT 22/2021 Điều 15: Xuất sắc also needs "ít nhất 06 môn học … có ĐTBmcn đạt từ 9,0 điểm".
    if _count_at_least(s, _OUTSTANDING_AT) >= _MIN_COUNTED:
        return Award.OUTSTANDING
    return Award.EXCELLENT  # TT 22/2021 Điều 15: rèn luyện Tốt and học tập Tốt


# --- primary (TT 27/2020) -------------------------------------------------------------------------


def parse_primary_test_score(value: object) -> Decimal:
    """A primary periodic test score: an integer 0–10 (TT 27/2020 Điều 7 k.2)."""
    return parse_score(value, integer_only=True)  # "không cho điểm thập phân"


def primary_year_result(
    subjects: Mapping[str, PrimaryLevel],
    qualities: Mapping[str, QualityLevel],
    end_of_year_tests: Mapping[str, Decimal],
    *,
    completed_min_test_score: int | None = None,
) -> PrimaryYearResult:
    """Year-end educational result of a primary student (TT 27/2020 Điều 9).

    ``subjects`` maps each subject and educational activity to its level; ``qualities`` maps each
    phẩm chất and năng lực to its level; ``end_of_year_tests`` maps tested subjects (which must
    appear in ``subjects``) to the end-of-year test score, an integer 0–10.
    ``completed_min_test_score`` [U] is a test-score floor for Hoàn thành (default ``None``: none,
    as DOMAIN.md §2 states the rule).
    """
    if not isinstance(subjects, Mapping) or not subjects:
        raise InvalidInput("a primary year result needs at least one subject")
    if not isinstance(qualities, Mapping) or not qualities:
        raise InvalidInput("a primary year result needs the qualities and competences")
    if not isinstance(end_of_year_tests, Mapping):
        raise InvalidInput("end-of-year tests must be a mapping of subject name to score")
    for k, v in subjects.items():
        _check_name(k)
        _check_enum(v, PrimaryLevel, f"level of {k}")
    for k, q in qualities.items():
        _check_name(k)
        _check_enum(q, QualityLevel, f"level of {k}")
    tests: list[Decimal] = []
    for k, t in end_of_year_tests.items():
        if _check_name(k) not in subjects:
            raise InvalidInput(f"test subject {k!r} has no subject level")
        if not isinstance(t, Decimal):
            raise InvalidScore(f"test score of {k} must be a Decimal, not {type(t).__name__}")
        tests.append(parse_primary_test_score(t))
    if completed_min_test_score is not None:
        completed_min_test_score = _check_int(
            completed_min_test_score, "completed_min_test_score", minimum=0
        )
        if completed_min_test_score > 10:
            raise InvalidInput("completed_min_test_score must be 0–10")

    all_t = all(v is PrimaryLevel.COMPLETED_WELL for v in subjects.values())
    all_good = all(q is QualityLevel.GOOD for q in qualities.values())
    # TT 27/2020 Điều 9: Hoàn thành xuất sắc, every end-of-year test ≥ 9.
    if all_t and all_good and all(t >= 9 for t in tests):
        return PrimaryYearResult.OUTSTANDING
    # TT 27/2020 Điều 9: Hoàn thành tốt, every end-of-year test ≥ 7.
    if all_t and all_good and all(t >= 7 for t in tests):
        return PrimaryYearResult.COMPLETED_WELL
    # TT 27/2020 Điều 9: Hoàn thành, subjects ≥ Hoàn thành, qualities ≥ Đạt.
    if (
        all(v is not PrimaryLevel.NOT_COMPLETED for v in subjects.values())
        and all(q is not QualityLevel.NEEDS_EFFORT for q in qualities.values())
        and (completed_min_test_score is None or all(t >= completed_min_test_score for t in tests))
    ):
        return PrimaryYearResult.COMPLETED
    return PrimaryYearResult.NOT_COMPLETED  # TT 27/2020 Điều 9: "các trường hợp còn lại"


# --- staff evaluation (NĐ 233/2026) ---------------------------------------------------------------

#: Most points for tiêu chí chung (NĐ 233/2026 [S]).
EVALUATION_MAX_GENERAL = 30
#: Most points for tiêu chí kết quả thực hiện nhiệm vụ (NĐ 233/2026 [S]).
EVALUATION_MAX_PERFORMANCE = 70

#: Least total points (of 100) for each level above Không hoàn thành nhiệm vụ (NĐ 233/2026 [S]).
#: Read-only; pass ``thresholds=`` to :func:`evaluation_level` to use other floors.
EVALUATION_THRESHOLDS: Mapping[EvaluationLevel, Decimal] = MappingProxyType(
    {
        EvaluationLevel.OUTSTANDING: Decimal(90),  # NĐ 233/2026 [S]: "từ 90 điểm trở lên"
        EvaluationLevel.COMPLETED_WELL: Decimal(70),  # NĐ 233/2026 [S]: 70 to < 90
        EvaluationLevel.COMPLETED: Decimal(50),  # NĐ 233/2026 [S]: 50 to < 70
    }
)

_RATED = (EvaluationLevel.OUTSTANDING, EvaluationLevel.COMPLETED_WELL, EvaluationLevel.COMPLETED)


def _check_points(value: object, what: str, *, maximum: int) -> Decimal:
    """Return ``value`` as a Decimal if it is an int or finite Decimal in 0–``maximum``."""
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise InvalidInput(f"{what} must be an integer or a Decimal, not {value!r}")
    d = Decimal(value)
    if not d.is_finite():
        raise InvalidInput(f"{what} is not a finite number: {value}")
    if not 0 <= d <= maximum:
        raise InvalidInput(f"{what} {value} outside 0–{maximum} (NĐ 233/2026)")
    return d


def _check_thresholds(thresholds: object) -> dict[EvaluationLevel, Decimal]:
    if not isinstance(thresholds, Mapping):
        raise InvalidInput("thresholds must be a mapping of EvaluationLevel to points")
    out = dict(EVALUATION_THRESHOLDS)
    for level, points in thresholds.items():
        if level not in _RATED:
            raise InvalidInput(f"no threshold can be set for {level!r}")
        out[level] = _check_points(points, f"threshold of {level.label}", maximum=100)
    floors = [out[level] for level in _RATED]
    if not floors[0] > floors[1] > floors[2]:
        raise InvalidInput(f"thresholds must decrease strictly from best to worst: {floors}")
    return out


def evaluation_level(
    general: Decimal | int,
    performance: Decimal | int,
    *,
    disciplined: bool = False,
    violation: bool = False,
    thresholds: Mapping[EvaluationLevel, Decimal | int] = EVALUATION_THRESHOLDS,
) -> EvaluationLevel:
    """Annual xếp loại chất lượng of a viên chức (NĐ 233/2026/NĐ-CP, every rule [S]).

    ``general`` is the tiêu chí chung score (0–30), ``performance`` the kết quả thực hiện nhiệm vụ
    score (0–70); the level follows their total on the 100-point scale. ``disciplined`` (khiển
    trách or higher in the year for task-related violations) or ``violation`` (concluded
    ideological or ethical violations; for managers, corruption in their unit) give Không hoàn
    thành nhiệm vụ whatever the points. ``thresholds`` overrides some or all floors of
    :data:`EVALUATION_THRESHOLDS`; they must decrease strictly. The result's ``regulation`` is
    :data:`REGULATION_ND233`.
    """
    g = _check_points(general, "general criteria points", maximum=EVALUATION_MAX_GENERAL)
    perf = _check_points(performance, "performance points", maximum=EVALUATION_MAX_PERFORMANCE)
    if not isinstance(disciplined, bool) or not isinstance(violation, bool):
        raise InvalidInput("disciplined and violation must be bool")
    floors = _check_thresholds(thresholds)
    # NĐ 233/2026 [S]: discipline or a concluded violation → Không hoàn thành nhiệm vụ.
    if disciplined or violation:
        return EvaluationLevel.NOT_COMPLETED
    total = g + perf  # NĐ 233/2026 [S]: tiêu chí chung ≤ 30 + kết quả ≤ 70 = thang 100
    for level in _RATED:
        if total >= floors[level]:
            return level
    return EvaluationLevel.NOT_COMPLETED  # NĐ 233/2026 [S]: "dưới 50 điểm"
