"""Levels, conduct, promotion and awards of TT 22/2021, year results of TT 27/2020.

Every expected value below is derived by hand from DOMAIN.md §1.2–§1.8 and §2; the comment at each
case says how.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.assessment import (
    MAX_ABSENCES,
    REGULATION_TT22,
    Award,
    Comment,
    Level,
    LevelResult,
    PrimaryLevel,
    PrimaryYearResult,
    Promotion,
    QualityLevel,
    assess_learning,
    award,
    comment_regular_count,
    comment_term_result,
    comment_year_result,
    conduct_year,
    learning_level,
    parse_primary_test_score,
    primary_year_result,
    promotion,
    regular_count,
    round_half_up,
    subjects_to_reassess,
    term_average,
    year_average,
)
from ledger.errors import InvalidInput, InvalidScore, LedgerError

G, F, P, N = Level.GOOD, Level.FAIR, Level.PASS, Level.NOT_PASSED
OK, NO = Comment.PASS, Comment.NOT_PASSED


def scores(*values: str) -> dict[str, Decimal]:
    """Scored subjects s0, s1, … with the given averages."""
    return {f"s{i}": Decimal(v) for i, v in enumerate(values)}


def comments(*values: Comment) -> dict[str, Comment]:
    """Comment subjects c0, c1, … with the given results."""
    return {f"c{i}": v for i, v in enumerate(values)}


#: Six subjects at 8.0 and two at 6.5: the least that meets every Tốt condition (§1.5).
GOOD_SCORES = ("8.0",) * 6 + ("6.5", "6.5")
#: Six subjects at 6.5 and two at 5.0: the least that meets every Khá condition (§1.5).
FAIR_SCORES = ("6.5",) * 6 + ("5.0", "5.0")
ALL_COMMENTS_OK = (OK, OK, OK, OK)


# --- enums ---------------------------------------------------------------------------------------


def test_labels_are_vietnamese_and_members_english() -> None:
    assert [lv.label for lv in Level] == ["Tốt", "Khá", "Đạt", "Chưa đạt"]
    assert Level("Khá") is Level.FAIR
    assert [lv.rank for lv in (N, P, F, G)] == [0, 1, 2, 3]
    assert [c.label for c in Comment] == ["Đạt", "Chưa đạt"]
    assert [p.code for p in PrimaryLevel] == ["T", "H", "C"]
    assert PrimaryLevel.COMPLETED_WELL.label == "Hoàn thành tốt"
    assert [q.label for q in QualityLevel] == ["Tốt", "Đạt", "Cần cố gắng"]
    assert Award.OUTSTANDING.label == "Học sinh Xuất sắc"
    assert Promotion.RETAINED.label == "Ở lại lớp"
    assert PrimaryYearResult.OUTSTANDING.label == "Hoàn thành xuất sắc"


# --- §1.2 regular counts, §1.4 comment subjects and averages -----------------------------------


@pytest.mark.parametrize(
    ("periods", "want"), [(1, 2), (34, 2), (35, 2), (36, 3), (70, 3), (71, 4), (140, 4)]
)
def test_regular_count_boundaries(periods: int, want: int) -> None:
    assert regular_count(periods) == want


@pytest.mark.parametrize("periods", [0, -1, True, "35", 35.0, None])
def test_regular_count_refuses_bad_periods(periods: object) -> None:
    with pytest.raises(InvalidInput):
        regular_count(periods)  # type: ignore[arg-type]


def test_comment_regular_count() -> None:
    assert comment_regular_count() == 2


@pytest.mark.parametrize(
    ("results", "want"),
    [
        ([OK, OK, OK, OK], OK),  # full count, all Đạt
        ([OK, OK, OK], NO),  # one assessment missing
        ([OK, NO, OK, OK], NO),  # one Chưa đạt
        ([], NO),
    ],
)
def test_comment_term_result(results: list[Comment], want: Comment) -> None:
    assert comment_term_result(results, 4) is want


@pytest.mark.parametrize(
    ("results", "required"),
    [([OK] * 5, 4), ([OK], 0), (["Đạt"], 1), ("Đạt", 1), ([OK], True), (None, 1)],
)
def test_comment_term_result_refuses(results: object, required: object) -> None:
    with pytest.raises(InvalidInput):
        comment_term_result(results, required)  # type: ignore[arg-type]


def test_comment_year_result_is_term_two() -> None:
    assert comment_year_result(OK) is OK
    assert comment_year_result(NO) is NO
    with pytest.raises(InvalidInput):
        comment_year_result("Đạt")  # type: ignore[arg-type]


def test_worked_term_average_example() -> None:
    # DOMAIN.md §1.4: (5.9 + 5.1 + 4.9 + 2×6.2 + 3×5.2) / (3 + 5) = 43.9 / 8 = 5.4875 → 5.5.
    tx = [Decimal("5.9"), Decimal("5.1"), Decimal("4.9")]
    assert term_average(tx, Decimal("6.2"), Decimal("5.2")) == Decimal("5.5")


@pytest.mark.parametrize("bad", [Decimal("5.25"), Decimal("10.1"), Decimal("-0.1"), Decimal("NaN")])
def test_averages_refuse_out_of_domain_scores(bad: Decimal) -> None:
    ok = Decimal("5.0")
    with pytest.raises(InvalidScore):
        term_average([ok, bad], ok, ok)
    with pytest.raises(InvalidScore):
        term_average([ok], bad, ok)
    with pytest.raises(InvalidScore):
        year_average(ok, bad)


# --- §1.5 learning level table -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scored", "commented", "want"),
    [
        # Tốt: every C Đạt, every S ≥ 6.5, at least 6 S ≥ 8.0.
        (GOOD_SCORES, ALL_COMMENTS_OK, G),
        (("10.0",) * 6, (), G),
        # Only 5 S ≥ 8.0: the Tốt count fails, every Khá condition holds.
        (("8.0",) * 5 + ("7.9", "6.5", "6.5"), ALL_COMMENTS_OK, F),
        # Khá: every C Đạt, every S ≥ 5.0, at least 6 S ≥ 6.5.
        (FAIR_SCORES, ALL_COMMENTS_OK, F),
        # Only 5 S ≥ 6.5: the Khá count fails; 8 S ≥ 5.0 and none < 3.5 is Đạt.
        (("6.5",) * 5 + ("6.4", "5.0", "5.0"), ALL_COMMENTS_OK, P),
        # Đạt: at least 6 S ≥ 5.0, none < 3.5 (3.5 itself allowed), at most 1 C Chưa đạt.
        (("5.0",) * 6 + ("3.5", "3.5"), (OK, OK, OK, NO), P),
        # A single C Chưa đạt lowers Khá scores one level only: Đạt, no k.3 adjustment.
        (FAIR_SCORES, (OK, NO, OK, OK), P),
        # Chưa đạt: two C Chưa đạt.
        (GOOD_SCORES, (NO, NO, OK, OK), N),
        # Chưa đạt: only 5 S ≥ 5.0 (three subjects below 5.0, so k.3 cannot apply).
        (("5.0",) * 5 + ("4.9", "4.0", "4.0"), ALL_COMMENTS_OK, N),
        # Chưa đạt: a subject below 3.5; for Khá only 0 S ≥ 6.5, so k.3 cannot apply.
        (("5.0",) * 7 + ("3.4",), ALL_COMMENTS_OK, N),
        # Chưa đạt: fewer than 6 scored subjects, however high.
        (("10.0",) * 5, ALL_COMMENTS_OK, N),
        ((), (), N),
    ],
)
def test_learning_level_table(
    scored: tuple[str, ...], commented: tuple[Comment, ...], want: Level
) -> None:
    result = assess_learning(scores(*scored), comments(*commented))
    assert result == LevelResult(want, want, None)
    assert result.regulation == REGULATION_TT22
    assert learning_level(scores(*scored), comments(*commented)) is want


# --- §1.5 k.3 adjustment -------------------------------------------------------------------------


def test_k3_one_scored_subject_at_six_is_only_one_level() -> None:
    # Tốt except s7 = 6.0: Khá holds (every S ≥ 5.0, 6 S ≥ 6.5), one level down, no adjustment.
    result = assess_learning(scores(*GOOD_SCORES[:-1], "6.0"), comments(*ALL_COMMENTS_OK))
    assert result == LevelResult(F, F, None)


@pytest.mark.parametrize(
    ("low", "raw"),
    [
        ("4.9", P),  # Khá fails (S < 5.0); Đạt holds (7 S ≥ 5.0, none < 3.5): raw Đạt.
        ("3.4", N),  # also below 3.5: raw Chưa đạt.
        ("0.0", N),
    ],
)
def test_k3_tot_but_for_one_scored_subject_becomes_kha(low: str, raw: Level) -> None:
    result = assess_learning(scores(*GOOD_SCORES[:-1], low), comments(*ALL_COMMENTS_OK))
    assert result == LevelResult(F, raw, "s7")


def test_k3_tot_but_for_one_comment_subject() -> None:
    # Tốt scores, c2 Chưa đạt: Đạt allows one C Chưa đạt, so raw Đạt, two below Tốt.
    s, c = scores(*GOOD_SCORES), comments(OK, OK, NO, OK)
    assert assess_learning(s, c) == LevelResult(F, P, "c2")
    # [U] reading where a comment subject is not "01 môn học" for k.3.
    assert assess_learning(s, c, comment_subject_can_adjust=False) == LevelResult(P, P, None)


def test_k3_kha_but_for_one_scored_subject_becomes_dat() -> None:
    # Khá except s7 = 3.0: Đạt fails (a subject < 3.5), raw Chưa đạt, two below Khá → Đạt.
    # Tốt cannot be reached by one subject: six subjects are below 6.5.
    result = assess_learning(scores(*FAIR_SCORES[:-1], "3.0"), comments(*ALL_COMMENTS_OK))
    assert result == LevelResult(P, N, "s7")


def test_k3_kha_but_for_one_comment_subject_is_only_one_level() -> None:
    result = assess_learning(scores(*FAIR_SCORES), comments(NO, OK))
    assert result == LevelResult(P, P, None)


@pytest.mark.parametrize(
    ("scored", "commented", "raw"),
    [
        # Two scored subjects below 6.5: not "duy nhất 01 môn học".
        (("8.0",) * 6 + ("4.0", "4.0"), ALL_COMMENTS_OK, P),
        # One scored subject low and one comment subject Chưa đạt: two subjects.
        ((*GOOD_SCORES[:-1], "4.0"), (NO, OK), P),
        # Only six scored subjects, one of them 3.0: the count of 6 S ≥ 8.0 is not waived.
        (("8.0",) * 5 + ("3.0",), ALL_COMMENTS_OK, N),
    ],
)
def test_k3_does_not_apply(
    scored: tuple[str, ...], commented: tuple[Comment, ...], raw: Level
) -> None:
    assert assess_learning(scores(*scored), comments(*commented)) == LevelResult(raw, raw, None)


def test_k3_can_be_switched_off() -> None:
    s, c = scores(*GOOD_SCORES[:-1], "3.0"), comments(*ALL_COMMENTS_OK)
    assert assess_learning(s, c, adjust=False) == LevelResult(N, N, None)


@pytest.mark.parametrize(
    ("scored", "commented", "error"),
    [
        ({"Toán": Decimal("7.25")}, {}, InvalidScore),
        ({"Toán": Decimal("10.1")}, {}, InvalidScore),
        ({"Toán": Decimal("-1")}, {}, InvalidScore),
        ({"Toán": Decimal("sNaN")}, {}, InvalidScore),
        ({"Toán": Decimal("1e1000")}, {}, InvalidScore),
        ({"Toán": 7.0}, {}, InvalidScore),
        ({"Toán": "7.0"}, {}, InvalidScore),
        ({"": Decimal("7.0")}, {}, InvalidInput),
        ({}, {"GDTC": "Đạt"}, InvalidInput),
        ({"Toán": Decimal("7.0")}, {"Toán": OK}, InvalidInput),
        ([("Toán", Decimal("7.0"))], {}, InvalidInput),
    ],
)
def test_learning_level_refuses(scored: object, commented: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        learning_level(scored, commented)  # type: ignore[arg-type]


# --- §1.6 conduct year table ---------------------------------------------------------------------

#: DOMAIN.md §1.6 row by row: (year, HK II, HK I levels).
CONDUCT_ROWS = [
    (G, G, {F, G}),
    (F, F, {P, F, G}),
    (F, P, {G}),
    (F, G, {P, N}),
    (P, P, {F, P, N}),
    (P, F, {N}),
]


def _expected_conduct(term1: Level, term2: Level) -> Level:
    matches = [year for year, hk2, hk1s in CONDUCT_ROWS if hk2 is term2 and term1 in hk1s]
    assert len(matches) <= 1, "the rows of §1.6 overlap"
    return matches[0] if matches else N  # "các trường hợp còn lại"


@pytest.mark.parametrize("term2", list(Level))
@pytest.mark.parametrize("term1", list(Level))
def test_conduct_year_all_sixteen_pairs(term1: Level, term2: Level) -> None:
    assert conduct_year(term1, term2) is _expected_conduct(term1, term2)


def test_conduct_year_remaining_cases_are_hk2_chua_dat() -> None:
    remaining = {(a, b) for a in Level for b in Level if _expected_conduct(a, b) is N}
    assert remaining == {(a, N) for a in Level}


@pytest.mark.parametrize(
    ("term1", "term2", "want"),
    [(G, N, N), (N, G, F), (G, P, F)],  # the three unit tests given in DOMAIN.md §1.6
)
def test_conduct_year_given_cases(term1: Level, term2: Level, want: Level) -> None:
    assert conduct_year(term1, term2) is want


def test_conduct_year_refuses_non_levels() -> None:
    with pytest.raises(InvalidInput):
        conduct_year("Tốt", G)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        conduct_year(G, Comment.PASS)  # type: ignore[arg-type]


# --- §1.7 promotion ------------------------------------------------------------------------------

PROMOTION_PATHS: list[tuple[dict[str, object], Promotion]] = [
    ({"year_learning": G, "year_conduct": G, "absences": 0, "grade": 7}, Promotion.PROMOTED),
    ({"year_learning": P, "year_conduct": P, "absences": 45, "grade": 10}, Promotion.PROMOTED),
    (
        {"year_learning": P, "year_conduct": G, "absences": 46, "grade": 7},
        Promotion.ABSENCES_OVER_LIMIT,
    ),
    (
        {"year_learning": P, "year_conduct": N, "absences": 0, "grade": 7},
        Promotion.SUMMER_TRAINING_REQUIRED,
    ),
    (
        {
            "year_learning": P,
            "year_conduct": N,
            "absences": 0,
            "grade": 7,
            "conduct_after_summer": P,
        },
        Promotion.PROMOTED_AFTER_SUMMER_TRAINING,
    ),
    (
        {
            "year_learning": P,
            "year_conduct": N,
            "absences": 0,
            "grade": 7,
            "conduct_after_summer": N,
        },
        Promotion.RETAINED,
    ),
    (
        {"year_learning": N, "year_conduct": P, "absences": 0, "grade": 8},
        Promotion.REASSESSMENT_REQUIRED,
    ),
    (
        {
            "year_learning": N,
            "year_conduct": P,
            "absences": 0,
            "grade": 8,
            "learning_after_reassessment": P,
        },
        Promotion.PROMOTED_AFTER_REASSESSMENT,
    ),
    (
        {
            "year_learning": N,
            "year_conduct": F,
            "absences": 0,
            "grade": 8,
            "learning_after_reassessment": N,
        },
        Promotion.RETAINED,
    ),
    # Both Chưa đạt: conduct training first (Điều 13), then re-assessment (Điều 14).
    (
        {"year_learning": N, "year_conduct": N, "absences": 0, "grade": 11},
        Promotion.SUMMER_TRAINING_REQUIRED,
    ),
    (
        {
            "year_learning": N,
            "year_conduct": N,
            "absences": 0,
            "grade": 11,
            "conduct_after_summer": P,
        },
        Promotion.REASSESSMENT_REQUIRED,
    ),
    (
        {
            "year_learning": N,
            "year_conduct": N,
            "absences": 0,
            "grade": 11,
            "conduct_after_summer": P,
            "learning_after_reassessment": F,
        },
        Promotion.PROMOTED_AFTER_REASSESSMENT,
    ),
    # Lớp 9 and 12 complete the programme under the same conditions, also after summer.
    ({"year_learning": G, "year_conduct": G, "absences": 0, "grade": 9}, Promotion.COMPLETED_THCS),
    (
        {
            "year_learning": N,
            "year_conduct": P,
            "absences": 3,
            "grade": 12,
            "learning_after_reassessment": P,
        },
        Promotion.COMPLETED_THPT,
    ),
    (
        {"year_learning": N, "year_conduct": P, "absences": 0, "grade": 12},
        Promotion.REASSESSMENT_REQUIRED,
    ),
    (
        {"year_learning": G, "year_conduct": G, "absences": 50, "grade": 9},
        Promotion.ABSENCES_OVER_LIMIT,
    ),
    # The limit is a parameter with the [P] default of 45.
    (
        {"year_learning": G, "year_conduct": G, "absences": 46, "grade": 7, "max_absences": 50},
        Promotion.PROMOTED,
    ),
]


@pytest.mark.parametrize(("kwargs", "want"), PROMOTION_PATHS)
def test_promotion_paths(kwargs: dict[str, object], want: Promotion) -> None:
    assert promotion(**kwargs) is want  # type: ignore[arg-type]


def test_every_promotion_outcome_is_reachable() -> None:
    assert {want for _, want in PROMOTION_PATHS} == set(Promotion)
    assert MAX_ABSENCES == 45


@pytest.mark.parametrize(
    "kwargs",
    [
        {"absences": -1},
        {"absences": True},
        {"absences": 1.5},
        {"grade": 5},
        {"grade": 13},
        {"max_absences": -1},
        {"year_learning": "Tốt"},
        {"year_conduct": None},
        {"conduct_after_summer": P},  # year conduct is Tốt: no summer training
        {"learning_after_reassessment": P},  # year learning is Tốt: no re-assessment
        {"year_conduct": N, "year_learning": N, "learning_after_reassessment": P},
        {"year_conduct": N, "conduct_after_summer": "Đạt"},
    ],
)
def test_promotion_refuses(kwargs: dict[str, object]) -> None:
    args: dict[str, object] = {"year_learning": G, "year_conduct": G, "absences": 0, "grade": 7}
    with pytest.raises(InvalidInput):
        promotion(**(args | kwargs))  # type: ignore[arg-type]


def test_subjects_to_reassess() -> None:
    scored = {"Toán": Decimal("4.9"), "Ngữ văn": Decimal("5.0"), "KHTN": Decimal("2.0")}
    commented = {"Giáo dục thể chất": NO, "Nghệ thuật": OK}
    assert subjects_to_reassess(scored, commented) == ["Toán", "KHTN", "Giáo dục thể chất"]
    assert subjects_to_reassess(scores(*GOOD_SCORES), comments(*ALL_COMMENTS_OK)) == []
    with pytest.raises(InvalidScore):
        subjects_to_reassess({"Toán": Decimal("4.95")}, {})


# --- §1.8 awards ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("learning", "conduct", "scored", "want"),
    [
        (G, G, ("9.0",) * 6 + ("6.5",), Award.OUTSTANDING),
        (G, G, ("9.0",) * 5 + ("8.9", "8.0"), Award.EXCELLENT),  # only 5 at ≥ 9.0
        (G, G, GOOD_SCORES, Award.EXCELLENT),
        (F, G, ("9.0",) * 8, None),  # learning Khá
        (G, F, ("9.0",) * 8, None),  # conduct Khá
        (P, P, FAIR_SCORES, None),
    ],
)
def test_award(
    learning: Level, conduct: Level, scored: tuple[str, ...], want: Award | None
) -> None:
    assert award(learning, conduct, scores(*scored)) is want


def test_award_refuses() -> None:
    with pytest.raises(InvalidScore):
        award(G, G, {"Toán": Decimal("9.05")})
    with pytest.raises(InvalidInput):
        award("Tốt", G, {})  # type: ignore[arg-type]


# --- §2 primary (TT 27/2020) ---------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "want"), [("0", 0), ("7", 7), (10, 10), (Decimal("9.0"), 9)])
def test_primary_test_scores_are_integers(raw: object, want: int) -> None:
    assert parse_primary_test_score(raw) == want


@pytest.mark.parametrize("raw", ["9.5", "11", "-1", 7.0, "", Decimal("8.25")])
def test_primary_test_scores_refuse(raw: object) -> None:
    with pytest.raises(InvalidScore):
        parse_primary_test_score(raw)


T, H, C = PrimaryLevel.COMPLETED_WELL, PrimaryLevel.COMPLETED, PrimaryLevel.NOT_COMPLETED
QG, QP, QE = QualityLevel.GOOD, QualityLevel.PASS, QualityLevel.NEEDS_EFFORT


@pytest.mark.parametrize(
    ("levels", "qualities", "tests", "want"),
    [
        ((T, T, T), (QG, QG), (9, 10), PrimaryYearResult.OUTSTANDING),
        ((T, T, T), (QG, QG), (9, 8), PrimaryYearResult.COMPLETED_WELL),  # a test below 9
        ((T, T, T), (QG, QG), (7, 7), PrimaryYearResult.COMPLETED_WELL),
        ((T, T, T), (QG, QG), (6, 10), PrimaryYearResult.COMPLETED),  # a test below 7
        ((T, H, T), (QG, QG), (10, 10), PrimaryYearResult.COMPLETED),  # a subject H
        ((T, T, T), (QG, QP), (10, 10), PrimaryYearResult.COMPLETED),  # a quality Đạt
        ((H, H, H), (QP, QP), (0, 0), PrimaryYearResult.COMPLETED),  # §2 states no test floor
        ((T, C, T), (QG, QG), (10, 10), PrimaryYearResult.NOT_COMPLETED),
        ((T, T, T), (QG, QE), (10, 10), PrimaryYearResult.NOT_COMPLETED),
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
    scored = {f"m{i}": Decimal(t) for i, t in enumerate(tests)}
    assert primary_year_result(subjects, quals, scored) is want


def test_primary_completed_test_floor_is_a_parameter() -> None:
    subjects, quals = {"Toán": H, "Tiếng Việt": H}, {"Trung thực": QP}
    tests = {"Toán": Decimal(4), "Tiếng Việt": Decimal(6)}
    assert primary_year_result(subjects, quals, tests) is PrimaryYearResult.COMPLETED
    assert (
        primary_year_result(subjects, quals, tests, completed_min_test_score=5)
        is PrimaryYearResult.NOT_COMPLETED
    )


@pytest.mark.parametrize(
    ("subjects", "qualities", "tests", "kwargs", "error"),
    [
        ({}, {"q": QG}, {}, {}, InvalidInput),
        ({"Toán": T}, {}, {}, {}, InvalidInput),
        ({"Toán": "T"}, {"q": QG}, {}, {}, InvalidInput),
        ({"Toán": T}, {"q": Level.GOOD}, {}, {}, InvalidInput),
        ({"Toán": T}, {"q": QG}, {"Khoa học": Decimal(9)}, {}, InvalidInput),
        ({"Toán": T}, {"q": QG}, {"Toán": Decimal("8.5")}, {}, InvalidScore),
        ({"Toán": T}, {"q": QG}, {"Toán": 9}, {}, InvalidScore),
        ({"Toán": T}, {"q": QG}, {}, {"completed_min_test_score": 11}, InvalidInput),
    ],
)
def test_primary_year_result_refuses(
    subjects: object,
    qualities: object,
    tests: object,
    kwargs: dict[str, object],
    error: type[Exception],
) -> None:
    with pytest.raises(error):
        primary_year_result(subjects, qualities, tests, **kwargs)  # type: ignore[arg-type]


# --- properties ----------------------------------------------------------------------------------

tenths = st.integers(min_value=0, max_value=100).map(lambda n: Decimal(n) / 10)
scored_maps = st.lists(tenths, max_size=10).map(lambda xs: {f"s{i}": x for i, x in enumerate(xs)})
comment_maps = st.lists(st.sampled_from(Comment), max_size=4).map(
    lambda xs: {f"c{i}": x for i, x in enumerate(xs)}
)
flags = st.booleans()


@given(scored_maps, comment_maps, flags, flags)
def test_result_is_consistent_and_stamped(
    scored: dict[str, Decimal], commented: dict[str, Comment], adjust: bool, by_comment: bool
) -> None:
    r = assess_learning(scored, commented, adjust=adjust, comment_subject_can_adjust=by_comment)
    assert r.regulation == REGULATION_TT22
    assert r.level.rank >= r.raw_level.rank
    assert (r.adjusted_by_subject is None) == (r.level is r.raw_level)
    if r.adjusted_by_subject is not None:
        assert adjust
        assert r.adjusted_by_subject in scored.keys() | commented.keys()
        assert r.level in (F, P)


@given(scored_maps, comment_maps, st.data(), flags, flags)
def test_raising_a_score_never_lowers_the_level(
    scored: dict[str, Decimal],
    commented: dict[str, Comment],
    data: st.DataObject,
    adjust: bool,
    by_comment: bool,
) -> None:
    def level(s: dict[str, Decimal], c: dict[str, Comment]) -> int:
        return learning_level(s, c, adjust=adjust, comment_subject_can_adjust=by_comment).rank

    before = level(scored, commented)
    if scored:
        name = data.draw(st.sampled_from(sorted(scored)))
        higher = data.draw(tenths.filter(lambda x: x >= scored[name]))
        assert level(scored | {name: higher}, commented) >= before
    if commented:
        name = data.draw(st.sampled_from(sorted(commented)))
        assert level(scored, commented | {name: OK}) >= before


def _ledger_errors_only(call: Callable[[], object]) -> None:
    try:
        call()
    except LedgerError:
        pass


any_decimal = st.decimals(allow_nan=True, allow_infinity=True)


@given(st.lists(any_decimal, min_size=1, max_size=8), st.sampled_from(Level))
def test_only_ledger_errors_on_any_decimal(values: list[Decimal], lv: Level) -> None:
    scored = {f"s{i}": v for i, v in enumerate(values)}
    _ledger_errors_only(lambda: learning_level(scored, {}))
    _ledger_errors_only(lambda: award(lv, lv, scored))
    _ledger_errors_only(lambda: subjects_to_reassess(scored, {}))
    _ledger_errors_only(lambda: term_average(values, values[0], values[-1]))
    _ledger_errors_only(lambda: year_average(values[0], values[-1]))
    _ledger_errors_only(lambda: round_half_up(values[0]))
    _ledger_errors_only(lambda: parse_primary_test_score(values[0]))
    _ledger_errors_only(lambda: primary_year_result({"s0": T}, {"q": QG}, {"s0": values[0]}))


@given(st.decimals(min_value=0, max_value=10, allow_nan=False, allow_infinity=False))
def test_in_range_decimals_accepted_iff_one_decimal(value: Decimal) -> None:
    one_decimal = value == value.quantize(Decimal("0.1"))
    try:
        result = assess_learning({"Toán": value}, {})
    except InvalidScore:
        assert not one_decimal
    else:
        assert one_decimal
        assert result.level is N  # one scored subject can never reach the count of six
