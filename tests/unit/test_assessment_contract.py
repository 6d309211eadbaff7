"""The public contract of ``ledger.assessment``, used as an outside caller would use it.

The names, parameter names and return types are fixed by the issue that set the contract; the
expected values come from DOMAIN.md (§1.2–§1.8 TT 22/2021, §2 TT 27/2020, §4.3 NĐ 233/2026). The
comment at each case says how its expected value was derived.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.assessment import (
    EVALUATION_THRESHOLDS,
    Award,
    Comment,
    ConductLevel,
    EvaluationLevel,
    LearningLevel,
    LevelResult,
    PrimaryLevel,
    PrimaryYearResult,
    Promotion,
    QualityLevel,
    assess_learning,
    award,
    conduct_year,
    evaluation_level,
    learning_level,
    parse_primary_test_score,
    primary_year_result,
    promotion,
    regular_count,
    regular_score_count,
    term_average,
    year_average,
)
from ledger.errors import InvalidInput, InvalidScore

D = Decimal
G, F, P, N = LearningLevel.GOOD, LearningLevel.FAIR, LearningLevel.PASS, LearningLevel.NOT_PASSED
#: The learning and conduct levels from worst to best, as a caller would rank them.
ORDER = [N, P, F, G]


def rank(level: LearningLevel) -> int:
    return ORDER.index(level)


def scores(*values: str) -> dict[str, Decimal]:
    """Scored subjects s0, s1, … with the given averages."""
    return {f"s{i}": D(v) for i, v in enumerate(values)}


def comments(*values: bool) -> dict[str, bool]:
    """Comment subjects c0, c1, … : True is Đạt, False is Chưa đạt."""
    return {f"c{i}": v for i, v in enumerate(values)}


#: Six subjects at 8.0 and two at 6.5: the least that meets every Tốt condition (§1.5).
GOOD_SCORES = ("8.0",) * 6 + ("6.5", "6.5")
#: Six subjects at 6.5 and two at 5.0: the least that meets every Khá condition (§1.5).
FAIR_SCORES = ("6.5",) * 6 + ("5.0", "5.0")
ALL_OK = (True, True, True, True)


# --- names and signatures ------------------------------------------------------------------------


def _params(func: Callable[..., object]) -> list[tuple[str, str]]:
    return [(p.name, p.kind.name) for p in inspect.signature(func).parameters.values()]


def test_signatures() -> None:
    positional = "POSITIONAL_OR_KEYWORD"
    assert _params(regular_score_count) == [("periods_per_year", positional)]
    assert _params(term_average) == [
        ("regular", positional),
        ("midterm", positional),
        ("final", positional),
    ]
    assert _params(year_average) == [("term1", positional), ("term2", positional)]
    assert _params(learning_level)[:2] == [("scored", positional), ("commented", positional)]
    assert _params(conduct_year) == [("term1", positional), ("term2", positional)]
    assert _params(evaluation_level)[:4] == [
        ("general", positional),
        ("performance", positional),
        ("disciplined", "KEYWORD_ONLY"),
        ("violation", "KEYWORD_ONLY"),
    ]
    assert regular_count is regular_score_count  # the earlier name still works


def test_keyword_arguments() -> None:
    tx = [D("5.9"), D("5.1"), D("4.9")]
    assert term_average(regular=tx, midterm=D("6.2"), final=D("5.2")) == D("5.5")
    assert year_average(term1=D("6.5"), term2=D("7.0")) == D("6.8")
    assert conduct_year(term1=ConductLevel.GOOD, term2=ConductLevel.PASS) is ConductLevel.FAIR
    level = learning_level(
        scored=scores(*GOOD_SCORES),
        commented=comments(*ALL_OK),
        adjust=True,
        comment_subject_can_adjust=True,
    )
    assert level is LearningLevel.GOOD
    assert evaluation_level(general=30, performance=70) is EvaluationLevel.OUTSTANDING


# --- enums ---------------------------------------------------------------------------------------

LABELS = ["Tốt", "Khá", "Đạt", "Chưa đạt"]


@pytest.mark.parametrize("enum", [LearningLevel, ConductLevel])
def test_level_enums_have_the_vietnamese_values(enum: type[LearningLevel]) -> None:
    assert [lv.value for lv in enum] == LABELS
    assert [lv.label for lv in enum] == LABELS
    assert enum("Tốt") is enum.GOOD
    assert enum("Khá") is enum.FAIR
    assert enum("Đạt") is enum.PASS
    assert enum("Chưa đạt") is enum.NOT_PASSED
    assert enum.GOOD.value == "Tốt"
    with pytest.raises(ValueError):
        enum("Tot")  # no diacritics-free spelling


def test_conduct_and_learning_levels_compare_equal() -> None:
    # One scale of four levels (TT 22/2021 Điều 8, Điều 9): a year learning level may be passed
    # where a conduct level is expected, as promotion() and award() do.
    assert ConductLevel("Khá") is LearningLevel("Khá")


def test_evaluation_level_values() -> None:
    assert [lv.value for lv in EvaluationLevel] == [
        "Hoàn thành xuất sắc nhiệm vụ",
        "Hoàn thành tốt nhiệm vụ",
        "Hoàn thành nhiệm vụ",
        "Không hoàn thành nhiệm vụ",
    ]
    assert EvaluationLevel("Hoàn thành nhiệm vụ") is EvaluationLevel.COMPLETED


@pytest.mark.parametrize(
    ("enum", "regulation"),
    [
        (LearningLevel, "TT22/2021"),
        (ConductLevel, "TT22/2021"),
        (Comment, "TT22/2021"),
        (Promotion, "TT22/2021"),
        (Award, "TT22/2021"),
        (PrimaryLevel, "TT27/2020"),
        (QualityLevel, "TT27/2020"),
        (PrimaryYearResult, "TT27/2020"),
        (EvaluationLevel, "NĐ233/2026"),
    ],
)
def test_every_enum_result_carries_its_regulation(enum: type[Award], regulation: str) -> None:
    assert {member.regulation for member in enum} == {regulation}


# --- §1.2 regular counts -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("periods", "want"),
    [(35, 2), (36, 3), (70, 3), (71, 4), (105, 4), (140, 4)],  # TT 22/2021 Điều 6
)
def test_regular_score_count(periods: int, want: int) -> None:
    assert regular_score_count(periods) == want


@pytest.mark.parametrize("periods", range(1, 36))
def test_regular_score_count_at_most_35_is_two(periods: int) -> None:
    assert regular_score_count(periods) == 2  # DOMAIN.md §1.2 [D]: ≤ 35 → 2


@pytest.mark.parametrize("periods", [0, -35, True, 35.0, "35", None])
def test_regular_score_count_refuses(periods: object) -> None:
    with pytest.raises(InvalidInput):
        regular_score_count(periods)  # type: ignore[arg-type]


# --- §1.4 averages -------------------------------------------------------------------------------


def test_term_average_worked_example() -> None:
    # DOMAIN.md §1.4: (5.9 + 5.1 + 4.9 + 2×6.2 + 3×5.2) / (3 + 5) = 43.9 / 8 = 5.4875 → 5.5.
    tx = [D("5.9"), D("5.1"), D("4.9")]
    assert (sum(tx) + 2 * D("6.2") + 3 * D("5.2")) / 8 == D("5.4875")
    result = term_average(tx, D("6.2"), D("5.2"))
    assert result == D("5.5")
    assert str(result) == "5.5"


@pytest.mark.parametrize(
    ("regular", "midterm", "final", "want"),
    [
        # (8.0 + 9.0 + 9.0 + 2×8.0 + 3×8.0) / 8 = 66.0 / 8 = 8.25 → 8.3; float round gives 8.2.
        (("8.0", "9.0", "9.0"), "8.0", "8.0", "8.3"),
        # (3×6.0 + 2×6.0 + 3×7.2) / 8 = 51.6 / 8 = 6.45 → 6.5; banker's rounding gives 6.4.
        (("6.0", "6.0", "6.0"), "6.0", "7.2", "6.5"),
        # Two regular scores: (7.0 + 8.0 + 2×7.0 + 3×8.0) / 7 = 53.0 / 7 = 7.571… → 7.6.
        (("7.0", "8.0"), "7.0", "8.0", "7.6"),
        # Four regular scores: (4×9.0 + 2×9.0 + 3×10.0) / 9 = 84.0 / 9 = 9.333… → 9.3.
        (("9.0",) * 4, "9.0", "10.0", "9.3"),
        (("0.0", "0.0"), "0.0", "0.0", "0.0"),
        (("10.0", "10.0"), "10.0", "10.0", "10.0"),
    ],
)
def test_term_average_rounds_half_up(
    regular: tuple[str, ...], midterm: str, final: str, want: str
) -> None:
    assert term_average([D(s) for s in regular], D(midterm), D(final)) == D(want)


def test_half_up_is_not_float_or_bankers_rounding() -> None:
    assert round(8.25, 1) == 8.2  # the float trap DOMAIN.md §1.1 warns about
    tx = [D("8.0"), D("9.0"), D("9.0")]
    assert term_average(tx, D("8.0"), D("8.0")) == D("8.3")


@pytest.mark.parametrize(
    ("term1", "term2", "want"),
    [
        ("6.5", "7.0", "6.8"),  # 20.5 / 3 = 6.833… → 6.8
        ("5.5", "5.5", "5.5"),
        ("9.0", "8.0", "8.3"),  # 25.0 / 3 = 8.333… → 8.3
        ("4.0", "5.0", "4.7"),  # 14.0 / 3 = 4.666… → 4.7
        ("10.0", "0.0", "3.3"),  # term II counts twice
        ("0.0", "10.0", "6.7"),
    ],
)
def test_year_average(term1: str, term2: str, want: str) -> None:
    assert year_average(D(term1), D(term2)) == D(want)


def test_year_average_takes_rounded_term_averages() -> None:
    # DOMAIN.md §1.4 [S]: ĐTBmcn uses the rounded ĐTBmhk, so 5.4875 itself is not an input.
    term1 = term_average([D("5.9"), D("5.1"), D("4.9")], D("6.2"), D("5.2"))
    assert year_average(term1, D("6.0")) == D("5.8")  # (5.5 + 12.0) / 3 = 5.833… → 5.8
    with pytest.raises(InvalidScore):
        year_average(D("5.4875"), D("6.0"))


@pytest.mark.parametrize("bad", [D("5.25"), D("10.1"), D("-0.1"), D("NaN"), D("Infinity")])
def test_averages_refuse_bad_scores(bad: Decimal) -> None:
    ok = D("5.0")
    calls: list[Callable[[], object]] = [
        lambda: term_average([ok, bad], ok, ok),
        lambda: term_average([ok], bad, ok),
        lambda: term_average([ok], ok, bad),
        lambda: year_average(bad, ok),
        lambda: year_average(ok, bad),
    ]
    for call in calls:
        with pytest.raises(InvalidScore):
            call()


@pytest.mark.parametrize("regular", [[], "5.0", None])
def test_term_average_needs_regular_scores(regular: object) -> None:
    with pytest.raises(InvalidInput):
        term_average(regular, D("5.0"), D("5.0"))  # type: ignore[arg-type]


def test_floats_are_refused() -> None:
    with pytest.raises(InvalidScore):
        term_average([5.0], D("5.0"), D("5.0"))  # type: ignore[list-item]
    with pytest.raises(InvalidScore):
        year_average(5.0, D("5.0"))  # type: ignore[arg-type]


# --- §1.5 learning level -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scored", "commented", "want"),
    [
        # Tốt: every C Đạt, every S ≥ 6.5, at least 6 S ≥ 8.0.
        (GOOD_SCORES, ALL_OK, G),
        (("10.0",) * 6, (), G),
        # One S at 6.4 breaks the Tốt floor; Khá holds (every S ≥ 5.0, 6 S ≥ 6.5): one level down.
        (("8.0",) * 6 + ("6.5", "6.4"), ALL_OK, F),
        # Only 5 S ≥ 8.0 breaks the Tốt count; Khá holds.
        (("8.0",) * 5 + ("7.9", "6.5", "6.5"), ALL_OK, F),
        # Khá: every C Đạt, every S ≥ 5.0, at least 6 S ≥ 6.5.
        (FAIR_SCORES, ALL_OK, F),
        # Only 5 S ≥ 6.5 breaks the Khá count; Đạt holds (8 S ≥ 5.0, none < 3.5).
        (("6.5",) * 5 + ("6.4", "5.0", "5.0"), ALL_OK, P),
        # Two S below 5.0 break the Khá floor (and k.3 needs one subject); Đạt holds (6 S ≥ 5.0).
        (("6.5",) * 6 + ("4.9", "4.9"), ALL_OK, P),
        # Đạt: at least 6 S ≥ 5.0, none < 3.5 (3.5 itself allowed), at most 1 C Chưa đạt.
        (("5.0",) * 6 + ("3.5", "3.5"), (True, True, True, False), P),
        # One C Chưa đạt on Khá scores: Đạt, one level below Khá, so k.3 does not apply.
        (FAIR_SCORES, (True, False, True, True), P),
        # Chưa đạt: two C Chưa đạt, however good the scores (two subjects, so no k.3).
        (GOOD_SCORES, (False, False, True, True), N),
        # Chưa đạt: only 5 S ≥ 5.0.
        (("5.0",) * 5 + ("4.9", "4.0", "4.0"), ALL_OK, N),
        # Chưa đạt: one S below 3.5; k.3 to Đạt needs the Khá count (6 S ≥ 6.5), here 0.
        (("5.0",) * 7 + ("3.4",), ALL_OK, N),
        # Chưa đạt: fewer than 6 scored subjects.
        (("10.0",) * 5, ALL_OK, N),
        ((), (), N),
    ],
)
def test_learning_level_table(
    scored: tuple[str, ...], commented: tuple[bool, ...], want: LearningLevel
) -> None:
    level = learning_level(scores(*scored), comments(*commented))
    assert level is want
    assert level.regulation == "TT22/2021"
    assert assess_learning(scores(*scored), comments(*commented)) == LevelResult(want, want, None)


@pytest.mark.parametrize(
    ("scored", "commented", "raw", "want", "subject"),
    [
        # Tốt but for s7 = 4.9: Khá fails (S < 5.0), Đạt holds → raw Đạt, two below Tốt → Khá.
        ((*GOOD_SCORES[:-1], "4.9"), ALL_OK, P, F, "s7"),
        # Tốt but for s7 = 3.4: Đạt fails too (S < 3.5) → raw Chưa đạt → Khá.
        ((*GOOD_SCORES[:-1], "3.4"), ALL_OK, N, F, "s7"),
        ((*GOOD_SCORES[:-1], "0.0"), ALL_OK, N, F, "s7"),
        # Tốt scores but c2 Chưa đạt: raw Đạt (one C allowed), two below Tốt → Khá.
        (GOOD_SCORES, (True, True, False, True), P, F, "c2"),
        # Khá but for s7 = 3.0: raw Chưa đạt, two below Khá → Đạt. Tốt is out of reach (six S
        # below 6.5), so the Khá target is the one that applies.
        ((*FAIR_SCORES[:-1], "3.0"), ALL_OK, N, P, "s7"),
    ],
)
def test_k3_adjustment_applies(
    scored: tuple[str, ...],
    commented: tuple[bool, ...],
    raw: LearningLevel,
    want: LearningLevel,
    subject: str,
) -> None:
    s, c = scores(*scored), comments(*commented)
    assert learning_level(s, c) is want
    assert assess_learning(s, c) == LevelResult(want, raw, subject, "TT22/2021")
    assert learning_level(s, c, adjust=False) is raw


@pytest.mark.parametrize(
    ("scored", "commented", "want"),
    [
        # Tốt but for s7 = 6.0: raw Khá, only one level below Tốt.
        ((*GOOD_SCORES[:-1], "6.0"), ALL_OK, F),
        # Khá but for one C Chưa đạt: raw Đạt, only one level below Khá.
        (FAIR_SCORES, (False, True), P),
        # Two scored subjects below 6.5: not "duy nhất 01 môn học".
        (("8.0",) * 6 + ("4.0", "4.0"), ALL_OK, P),
        # One low scored subject and one C Chưa đạt: two subjects.
        ((*GOOD_SCORES[:-1], "4.0"), (False, True), P),
        # Only six scored subjects, one at 3.0: the count of 6 S ≥ 8.0 is not waived.
        (("8.0",) * 5 + ("3.0",), ALL_OK, N),
    ],
)
def test_k3_adjustment_does_not_apply(
    scored: tuple[str, ...], commented: tuple[bool, ...], want: LearningLevel
) -> None:
    s, c = scores(*scored), comments(*commented)
    assert learning_level(s, c) is want
    assert assess_learning(s, c) == LevelResult(want, want, None)


def test_k3_comment_subject_reading_is_an_option() -> None:
    # [U] DOMAIN.md §1.5: whether a comment subject can be the "01 môn học" of k.3.
    s, c = scores(*GOOD_SCORES), comments(True, True, False, True)
    assert learning_level(s, c) is F
    assert learning_level(s, c, comment_subject_can_adjust=False) is P


def test_comment_enum_members_are_still_accepted() -> None:
    s = scores(*GOOD_SCORES)
    with_bools = {"GDTC": True, "Nghệ thuật": False}
    with_enum = {"GDTC": Comment.PASS, "Nghệ thuật": Comment.NOT_PASSED}
    assert learning_level(s, with_bools) is learning_level(s, with_enum) is F
    assert assess_learning(s, with_bools) == assess_learning(s, with_enum)


@pytest.mark.parametrize(
    ("scored", "commented", "error"),
    [
        ({}, {"GDTC": "Đạt"}, InvalidInput),
        ({}, {"GDTC": 1}, InvalidInput),
        ({}, {"GDTC": None}, InvalidInput),
        ({}, {"GDTC": LearningLevel.PASS}, InvalidInput),
        ({"Toán": D("7.0")}, {"Toán": True}, InvalidInput),  # scored and commented at once
        ({"Toán": D("7.25")}, {}, InvalidScore),
        ({"Toán": 7}, {}, InvalidScore),
        ([("Toán", D("7.0"))], {}, InvalidInput),
    ],
)
def test_learning_level_refuses(scored: object, commented: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        learning_level(scored, commented)  # type: ignore[arg-type]


# --- §1.6 conduct --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("term1", "term2", "want"),
    [(G, N, N), (N, G, F), (G, P, F)],  # the three unit tests DOMAIN.md §1.6 gives
)
def test_conduct_year_given_cases(
    term1: ConductLevel, term2: ConductLevel, want: ConductLevel
) -> None:
    assert conduct_year(term1, term2) is want


#: DOMAIN.md §1.6 written out pair by pair as (HK I, HK II, year), grouped by the table's rows.
CONDUCT_TABLE = [
    # Tốt: HK II Tốt, HK I Khá or Tốt.
    (F, G, G),
    (G, G, G),
    # Khá: HK II Khá, HK I Đạt, Khá or Tốt.
    (P, F, F),
    (F, F, F),
    (G, F, F),
    # Khá: HK II Đạt, HK I Tốt.
    (G, P, F),
    # Khá: HK II Tốt, HK I Đạt or Chưa đạt.
    (P, G, F),
    (N, G, F),
    # Đạt: HK II Đạt, HK I Khá, Đạt or Chưa đạt.
    (F, P, P),
    (P, P, P),
    (N, P, P),
    # Đạt: HK II Khá, HK I Chưa đạt.
    (N, F, P),
    # Chưa đạt: the remaining cases, which are HK II Chưa đạt.
    (G, N, N),
    (F, N, N),
    (P, N, N),
    (N, N, N),
]


def test_conduct_table_covers_every_pair_once() -> None:
    assert sorted((rank(a), rank(b)) for a, b, _ in CONDUCT_TABLE) == [
        (i, j) for i in range(4) for j in range(4)
    ]


@pytest.mark.parametrize(("term1", "term2", "want"), CONDUCT_TABLE)
def test_conduct_year_table(term1: ConductLevel, term2: ConductLevel, want: ConductLevel) -> None:
    result = conduct_year(term1, term2)
    assert result is want
    assert result.regulation == "TT22/2021"


def test_conduct_year_accepts_values_looked_up_by_label() -> None:
    assert conduct_year(ConductLevel("Tốt"), ConductLevel("Chưa đạt")).value == "Chưa đạt"


@pytest.mark.parametrize(("term1", "term2"), [("Tốt", G), (G, "Tốt"), (G, True), (G, None)])
def test_conduct_year_refuses_labels_and_other_values(term1: object, term2: object) -> None:
    with pytest.raises(InvalidInput):
        conduct_year(term1, term2)  # type: ignore[arg-type]


# --- §1.7 promotion ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("absences", "want"),
    [(0, Promotion.PROMOTED), (45, Promotion.PROMOTED), (46, Promotion.ABSENCES_OVER_LIMIT)],
)
def test_promotion_absence_limit(absences: int, want: Promotion) -> None:
    # TT 22/2021 Điều 12: "nghỉ học không quá 45 buổi".
    result = promotion(G, G, absences, 7)
    assert result is want
    assert result.regulation == "TT22/2021"


def test_absences_are_not_repaired_by_summer_steps() -> None:
    assert promotion(N, N, 46, 7) is Promotion.ABSENCES_OVER_LIMIT
    assert promotion(P, N, 46, 7, conduct_after_summer=G) is Promotion.ABSENCES_OVER_LIMIT


def test_summer_conduct_training() -> None:
    # TT 22/2021 Điều 13: conduct Chưa đạt → summer training; the re-evaluation replaces it.
    assert promotion(P, N, 0, 7) is Promotion.SUMMER_TRAINING_REQUIRED
    assert promotion(P, N, 0, 7, conduct_after_summer=P) is Promotion.PROMOTED_AFTER_SUMMER_TRAINING
    assert promotion(P, N, 0, 7, conduct_after_summer=N) is Promotion.RETAINED


def test_summer_reassessment() -> None:
    # TT 22/2021 Điều 14: conduct ≥ Đạt, learning Chưa đạt → re-assessment, level recomputed.
    assert promotion(N, P, 0, 8) is Promotion.REASSESSMENT_REQUIRED
    assert (
        promotion(N, P, 0, 8, learning_after_reassessment=P)
        is Promotion.PROMOTED_AFTER_REASSESSMENT
    )
    assert promotion(N, F, 0, 8, learning_after_reassessment=N) is Promotion.RETAINED


def test_conduct_training_comes_before_reassessment() -> None:
    # DOMAIN.md §1.7 (MOET answer): Điều 14 needs conduct ≥ Đạt, so Điều 13 comes first.
    assert promotion(N, N, 0, 11) is Promotion.SUMMER_TRAINING_REQUIRED
    assert promotion(N, N, 0, 11, conduct_after_summer=P) is Promotion.REASSESSMENT_REQUIRED
    assert (
        promotion(N, N, 0, 11, conduct_after_summer=P, learning_after_reassessment=F)
        is Promotion.PROMOTED_AFTER_REASSESSMENT
    )
    with pytest.raises(InvalidInput):
        promotion(N, N, 0, 11, learning_after_reassessment=P)


@pytest.mark.parametrize(
    ("grade", "want"), [(9, Promotion.COMPLETED_THCS), (12, Promotion.COMPLETED_THPT)]
)
def test_grades_9_and_12_complete_the_programme(grade: int, want: Promotion) -> None:
    assert promotion(G, G, 0, grade) is want
    assert promotion(P, P, 45, grade) is want
    assert promotion(N, P, 0, grade, learning_after_reassessment=P) is want
    assert promotion(P, N, 0, grade, conduct_after_summer=F) is want
    # Not completed: still pending, retained or over the absence limit.
    assert promotion(N, P, 0, grade) is Promotion.REASSESSMENT_REQUIRED
    assert promotion(N, P, 0, grade, learning_after_reassessment=N) is Promotion.RETAINED
    assert promotion(G, G, 46, grade) is Promotion.ABSENCES_OVER_LIMIT


@pytest.mark.parametrize("grade", [6, 7, 8, 10, 11])
def test_other_grades_are_promoted(grade: int) -> None:
    assert promotion(P, P, 0, grade) is Promotion.PROMOTED


# --- §1.8 awards ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("learning", "conduct", "scored", "want"),
    [
        # Xuất sắc: Tốt, Tốt and at least 6 scored subjects with ĐTBmcn ≥ 9.0.
        (G, G, ("9.0",) * 6 + ("6.5", "6.5"), Award.OUTSTANDING),
        (G, G, ("10.0",) * 8, Award.OUTSTANDING),
        # Only 5 subjects ≥ 9.0 (8.9 is one short): Giỏi.
        (G, G, ("9.0",) * 5 + ("8.9", "8.0", "6.5"), Award.EXCELLENT),
        (G, G, GOOD_SCORES, Award.EXCELLENT),
        # Either level below Tốt: no title.
        (F, G, ("9.0",) * 8, None),
        (G, F, ("9.0",) * 8, None),
        (P, P, FAIR_SCORES, None),
        (N, N, FAIR_SCORES, None),
    ],
)
def test_award(
    learning: LearningLevel, conduct: ConductLevel, scored: tuple[str, ...], want: Award | None
) -> None:
    result = award(learning, conduct, scores(*scored))
    assert result is want
    if result is not None:
        assert result.regulation == "TT22/2021"


# --- §2 primary (TT 27/2020) ---------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "want"), [("0", 0), ("7", 7), (10, 10), (D("9.0"), 9)])
def test_primary_test_scores_are_integers(raw: object, want: int) -> None:
    assert parse_primary_test_score(raw) == want


@pytest.mark.parametrize("raw", ["9.5", "0.1", D("8.5"), "11", "-1", 7.0])
def test_primary_test_scores_refuse_decimals_and_range(raw: object) -> None:
    # TT 27/2020 Điều 7: "không cho điểm thập phân".
    with pytest.raises(InvalidScore):
        parse_primary_test_score(raw)


T, H, C = PrimaryLevel.COMPLETED_WELL, PrimaryLevel.COMPLETED, PrimaryLevel.NOT_COMPLETED
QG, QP, QE = QualityLevel.GOOD, QualityLevel.PASS, QualityLevel.NEEDS_EFFORT


@pytest.mark.parametrize(
    ("levels", "qualities", "tests", "want"),
    [
        # Hoàn thành xuất sắc: all T, all Tốt, every end-of-year test ≥ 9.
        ((T, T), (QG, QG), (9, 10), PrimaryYearResult.OUTSTANDING),
        # Hoàn thành tốt: the same with tests ≥ 7 (one test 8 < 9).
        ((T, T), (QG, QG), (9, 8), PrimaryYearResult.COMPLETED_WELL),
        ((T, T), (QG, QG), (7, 7), PrimaryYearResult.COMPLETED_WELL),
        # Hoàn thành: a test below 7, a subject H or a quality Đạt.
        ((T, T), (QG, QG), (6, 10), PrimaryYearResult.COMPLETED),
        ((T, H), (QG, QG), (10, 10), PrimaryYearResult.COMPLETED),
        ((T, T), (QG, QP), (10, 10), PrimaryYearResult.COMPLETED),
        # Chưa hoàn thành: a subject C or a quality Cần cố gắng.
        ((T, C), (QG, QG), (10, 10), PrimaryYearResult.NOT_COMPLETED),
        ((T, T), (QG, QE), (10, 10), PrimaryYearResult.NOT_COMPLETED),
    ],
)
def test_primary_year_result(
    levels: tuple[PrimaryLevel, ...],
    qualities: tuple[QualityLevel, ...],
    tests: tuple[int, ...],
    want: PrimaryYearResult,
) -> None:
    subjects = {f"m{i}": lv for i, lv in enumerate(levels)}
    quals = {f"q{i}": q for i, q in enumerate(qualities)}
    scored = {f"m{i}": D(t) for i, t in enumerate(tests)}
    result = primary_year_result(subjects, quals, scored)
    assert result is want
    assert result.regulation == "TT27/2020"


def test_primary_year_result_refuses_decimal_test_scores() -> None:
    with pytest.raises(InvalidScore):
        primary_year_result({"Toán": T}, {"Trung thực": QG}, {"Toán": D("9.5")})


# --- §4.3 NĐ 233/2026 staff evaluation -----------------------------------------------------------

E = EvaluationLevel


@pytest.mark.parametrize(
    ("general", "performance", "want"),
    [
        (30, 70, E.OUTSTANDING),  # 100
        (20, 70, E.OUTSTANDING),  # 90: "≥ 90"
        (30, 60, E.OUTSTANDING),  # 90
        (19, 70, E.COMPLETED_WELL),  # 89
        (29, 60, E.COMPLETED_WELL),  # 89
        (20, 50, E.COMPLETED_WELL),  # 70: "70 to < 90"
        (19, 50, E.COMPLETED),  # 69
        (20, 30, E.COMPLETED),  # 50: "50 to < 70"
        (19, 30, E.NOT_COMPLETED),  # 49: "< 50"
        (0, 0, E.NOT_COMPLETED),
        (D("29.5"), D("60.5"), E.OUTSTANDING),  # 90.0
        (D("29.5"), D("60.4"), E.COMPLETED_WELL),  # 89.9
        (D("20"), D("29.9"), E.NOT_COMPLETED),  # 49.9
    ],
)
def test_evaluation_level_boundaries(
    general: Decimal | int, performance: Decimal | int, want: EvaluationLevel
) -> None:
    result = evaluation_level(general, performance)
    assert result is want
    assert result.regulation == "NĐ233/2026"


@pytest.mark.parametrize(("general", "performance"), [(30, 70), (20, 70), (20, 50), (20, 30)])
def test_discipline_or_violation_overrides_the_points(general: int, performance: int) -> None:
    # NĐ 233/2026 [S]: disciplined in the year, or a concluded violation → Không hoàn thành.
    assert evaluation_level(general, performance) is not E.NOT_COMPLETED
    assert evaluation_level(general, performance, disciplined=True) is E.NOT_COMPLETED
    assert evaluation_level(general, performance, violation=True) is E.NOT_COMPLETED
    assert (
        evaluation_level(general, performance, disciplined=True, violation=True) is E.NOT_COMPLETED
    )


def test_evaluation_thresholds_are_configurable() -> None:
    assert dict(EVALUATION_THRESHOLDS) == {
        E.OUTSTANDING: D(90),
        E.COMPLETED_WELL: D(70),
        E.COMPLETED: D(50),
    }
    with pytest.raises(TypeError):
        EVALUATION_THRESHOLDS[E.OUTSTANDING] = D(95)  # type: ignore[index]
    assert evaluation_level(20, 70, thresholds={E.OUTSTANDING: 95}) is E.COMPLETED_WELL
    assert evaluation_level(30, 65, thresholds={E.OUTSTANDING: D(95)}) is E.OUTSTANDING
    custom = {E.OUTSTANDING: 85, E.COMPLETED_WELL: 65, E.COMPLETED: 45}
    assert evaluation_level(15, 70, thresholds=custom) is E.OUTSTANDING  # 85
    assert evaluation_level(15, 30, thresholds=custom) is E.COMPLETED  # 45
    assert evaluation_level(14, 30, thresholds=custom) is E.NOT_COMPLETED  # 44


@pytest.mark.parametrize(
    ("general", "performance"),
    [
        (31, 0),  # tiêu chí chung ≤ 30
        (0, 71),  # kết quả thực hiện nhiệm vụ ≤ 70
        (D("30.1"), 0),
        (-1, 50),
        (20, D("-0.5")),
        (D("NaN"), 50),
        (20, D("Infinity")),
        (20.0, 50),
        (True, 50),
        ("20", 50),
        (None, 50),
    ],
)
def test_evaluation_level_refuses_out_of_range(general: object, performance: object) -> None:
    with pytest.raises(InvalidInput):
        evaluation_level(general, performance)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"disciplined": 1},
        {"violation": None},
        {"thresholds": {E.NOT_COMPLETED: 10}},
        {"thresholds": {"Hoàn thành nhiệm vụ": 50}},
        {"thresholds": {E.COMPLETED_WELL: 90}},  # not below Hoàn thành xuất sắc
        {"thresholds": {E.COMPLETED: 75}},  # above Hoàn thành tốt
        {"thresholds": {E.OUTSTANDING: 101}},
        {"thresholds": {E.OUTSTANDING: 90.0}},
        {"thresholds": [(E.OUTSTANDING, 90)]},
    ],
)
def test_evaluation_level_refuses_bad_options(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidInput):
        evaluation_level(20, 50, **kwargs)  # type: ignore[arg-type]


# --- properties ----------------------------------------------------------------------------------

tenths = st.integers(min_value=0, max_value=100).map(lambda n: D(n) / 10)
regulars = st.lists(tenths, min_size=1, max_size=4)
TENTH = D("0.1")


def one_decimal(value: Decimal) -> bool:
    return value == value.quantize(TENTH) and value.as_tuple().exponent == -1


@given(regulars, tenths, tenths)
def test_term_average_in_range_with_one_decimal(
    regular: list[Decimal], midterm: Decimal, final: Decimal
) -> None:
    avg = term_average(regular, midterm, final)
    assert D(0) <= avg <= D(10)
    assert one_decimal(avg)
    # A weighted mean lies between its smallest and largest input (after rounding to 0.1).
    assert min([*regular, midterm, final]) <= avg <= max([*regular, midterm, final])


@given(regulars, tenths, tenths, st.data())
def test_term_average_is_monotone(
    regular: list[Decimal], midterm: Decimal, final: Decimal, data: st.DataObject
) -> None:
    before = term_average(regular, midterm, final)
    which = data.draw(st.integers(min_value=0, max_value=len(regular) + 1))
    inputs = [*regular, midterm, final]
    inputs[which] = data.draw(tenths.filter(lambda x: x >= inputs[which]))
    after = term_average(inputs[:-2], midterm=inputs[-2], final=inputs[-1])
    assert after >= before


@given(tenths, tenths)
def test_year_average_in_range_and_between_the_terms(term1: Decimal, term2: Decimal) -> None:
    avg = year_average(term1, term2)
    assert D(0) <= avg <= D(10)
    assert one_decimal(avg)
    assert min(term1, term2) <= avg <= max(term1, term2)


@given(regulars, tenths, tenths, regulars, tenths, tenths)
def test_year_average_of_term_averages_lies_between_them(
    r1: list[Decimal], m1: Decimal, f1: Decimal, r2: list[Decimal], m2: Decimal, f2: Decimal
) -> None:
    t1, t2 = term_average(r1, m1, f1), term_average(r2, m2, f2)
    assert min(t1, t2) <= year_average(t1, t2) <= max(t1, t2)


@given(tenths, tenths, tenths)
def test_year_average_is_monotone(term1: Decimal, term2: Decimal, higher: Decimal) -> None:
    before = year_average(term1, term2)
    if higher >= term1:
        assert year_average(higher, term2) >= before
    if higher >= term2:
        assert year_average(term1, higher) >= before


scored_maps = st.lists(tenths, max_size=10).map(lambda xs: {f"s{i}": x for i, x in enumerate(xs)})
comment_maps = st.lists(st.booleans(), max_size=4).map(
    lambda xs: {f"c{i}": x for i, x in enumerate(xs)}
)


@given(scored_maps, comment_maps, st.data(), st.booleans(), st.booleans())
def test_learning_level_is_monotone(
    scored: dict[str, Decimal],
    commented: dict[str, bool],
    data: st.DataObject,
    adjust: bool,
    by_comment: bool,
) -> None:
    def level(s: dict[str, Decimal], c: dict[str, bool]) -> int:
        return rank(learning_level(s, c, adjust=adjust, comment_subject_can_adjust=by_comment))

    before = level(scored, commented)
    if scored:
        name = data.draw(st.sampled_from(sorted(scored)))
        higher = data.draw(tenths.filter(lambda x: x >= scored[name]))
        assert level(scored | {name: higher}, commented) >= before
    if commented:
        name = data.draw(st.sampled_from(sorted(commented)))
        assert level(scored, commented | {name: True}) >= before


@given(scored_maps, comment_maps, st.booleans(), st.booleans())
def test_learning_level_is_the_adjusted_level_of_assess_learning(
    scored: dict[str, Decimal], commented: dict[str, bool], adjust: bool, by_comment: bool
) -> None:
    options = {"adjust": adjust, "comment_subject_can_adjust": by_comment}
    result = assess_learning(scored, commented, **options)
    assert learning_level(scored, commented, **options) is result.level
    assert result.regulation == result.level.regulation == "TT22/2021"
    assert rank(result.level) >= rank(result.raw_level)
    if result.level is not result.raw_level:
        # k.3 lifts to the level next below its target ("mức liền kề"): Khá or Đạt, never Tốt.
        assert adjust
        assert result.level in (F, P)
        assert result.adjusted_by_subject in scored.keys() | commented.keys()
    as_enum = {k: Comment.PASS if v else Comment.NOT_PASSED for k, v in commented.items()}
    assert assess_learning(scored, as_enum, **options) == result


points = st.integers(min_value=0, max_value=1000).map(lambda n: D(n) / 10)


@given(
    points.filter(lambda x: x <= 30),
    points.filter(lambda x: x <= 70),
    points.filter(lambda x: x <= 30),
    points.filter(lambda x: x <= 70),
)
def test_evaluation_level_is_monotone_in_the_total(
    g1: Decimal, p1: Decimal, g2: Decimal, p2: Decimal
) -> None:
    worst_first = list(reversed(EvaluationLevel))
    a, b = evaluation_level(g1, p1), evaluation_level(g2, p2)
    if g1 + p1 <= g2 + p2:
        assert worst_first.index(a) <= worst_first.index(b)
    assert evaluation_level(g1, p1, disciplined=True) is E.NOT_COMPLETED
    assert evaluation_level(g1, p1, violation=True) is E.NOT_COMPLETED
