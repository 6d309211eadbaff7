"""Derived results of a student's school year, recomputed from the events alone.

:func:`year_result` is the one place where a record's entries become term and
year averages, comment results, the learning and conduct levels, the promotion
decision and the award, through the pure rules of :mod:`ledger.assessment`
(DESIGN.md invariant 6). The GVCN's ``record_year_result`` command stores its
output; ``socai audit`` recomputes it from the events and flags any difference;
the transcript views show it. The output is plain JSON (strings, ints, None),
so the same events always give the same bytes.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ledger import assessment as rules
from ledger.assessment import Comment, Level
from ledger.catalog import PRIMARY_QUALITIES
from ledger.domain import COMMENTED, SchoolYear, StudentRecord
from ledger.errors import Incomplete, InvalidInput

#: Result stages: the year result, and the result after the summer steps (Điều 13, 14).
YEAR = "year"
AFTER_SUMMER = "after_summer"


def term_entries(
    record: StudentRecord, school_year: str, subject: str, term: int
) -> dict[str, list[Any]]:
    """The entries of one subject and term, by kind, in the order they were recorded."""
    out: dict[str, list[Any]] = {"tx": [], "gk": [], "ck": []}
    for _, entry in sorted(record.entries_of(school_year).items()):
        if entry.subject == subject and entry.term == term:
            out[entry.kind].append(entry.score if entry.score is not None else entry.passed)
    return out


def missing_for_term(
    record: StudentRecord, year: SchoolYear, class_name: str, term: int
) -> list[str]:
    """What a term close still needs from this student (TT 22/2021 Điều 6, 7; TT 27/2020)."""
    if year.level == "TH":
        return _primary_missing(record, year, class_name, term)
    missing = []
    for subject, plan in sorted(year.plans.get(class_name, {}).items()):
        got = term_entries(record, year.school_year, subject, term)
        if plan.assessed == COMMENTED:
            need = rules.comment_regular_count()
        else:
            need = rules.regular_score_count(plan.periods_per_year)
        if len(got["tx"]) < need:
            missing.append(f"{subject} HK{term}: {len(got['tx'])}/{need} ĐĐGtx")
        for kind, label in (("gk", "ĐĐGgk"), ("ck", "ĐĐGck")):
            if not got[kind]:
                missing.append(f"{subject} HK{term}: thiếu {label}")
    return missing


def _primary_missing(
    record: StudentRecord, year: SchoolYear, class_name: str, term: int
) -> list[str]:
    """TT 27/2020: every subject's level, the end-of-term test where planned, the qualities."""
    sy = year.school_year
    missing = []
    for subject, plan in sorted(year.plans.get(class_name, {}).items()):
        if (sy, subject, term) not in record.subject_levels:
            missing.append(f"{subject} HK{term}: thiếu mức đánh giá")
        if plan.assessed != COMMENTED and not term_entries(record, sy, subject, term)["ck"]:
            missing.append(f"{subject} HK{term}: thiếu bài kiểm tra định kì")
    for quality in PRIMARY_QUALITIES:
        if (sy, quality, term) not in record.qualities:
            missing.append(f"{quality} HK{term}")
    return missing


def primary_result(record: StudentRecord, year: SchoolYear) -> dict[str, Any]:
    """The year result of a primary student (TT 27/2020 Điều 9), from the end-of-year levels."""
    sy = year.school_year
    grade, class_name, _ = record.years[sy]
    missing = _primary_missing(record, year, class_name, 2)
    if missing:
        raise Incomplete("missing: " + "; ".join(missing))
    plan = year.plans.get(class_name, {})
    subjects = {s: rules.PrimaryLevel(record.subject_levels[(sy, s, 2)]) for s in sorted(plan)}
    qualities = {q: rules.QualityLevel(record.qualities[(sy, q, 2)]) for q in PRIMARY_QUALITIES}
    tests = {
        s: term_entries(record, sy, s, 2)["ck"][0]
        for s, p in sorted(plan.items())
        if p.assessed != COMMENTED
    }
    outcome = rules.primary_year_result(subjects, qualities, tests)
    return {
        "school_year": sy,
        "grade": grade,
        "class_name": class_name,
        "subjects": {
            s: {
                "assessed": plan[s].assessed,
                "level": lv.value,
                "code": lv.code,
                "test": str(tests[s]) if s in tests else None,
            }
            for s, lv in subjects.items()
        },
        "qualities": {q: lv.value for q, lv in qualities.items()},
        "absences": sum(n for (y, _t), n in record.absences.items() if y == sy),
        "result": outcome.value,
        "regulation": outcome.regulation,
    }


def _level(label: str | None, what: str) -> Level:
    if label is None:
        raise Incomplete(f"missing {what}")
    try:
        return Level(label)
    except ValueError:
        raise InvalidInput(f"{what} {label!r} is not a level") from None


def year_result(record: StudentRecord, year: SchoolYear, *, stage: str = YEAR) -> dict[str, Any]:
    """The year result of ``record`` in ``year`` (TT 22/2021 Điều 8, 9, 12–15).

    Raises :class:`Incomplete` naming every missing entry. ``stage`` AFTER_SUMMER
    applies the summer conduct re-evaluation and the subject re-assessments.
    """
    sy = year.school_year
    membership = record.years.get(sy)
    if membership is None:
        raise InvalidInput(f"the student was not in this school in {sy}")
    if year.level == "TH":
        if stage != YEAR:
            raise InvalidInput("TT 27/2020 has no summer stage here")
        return primary_result(record, year)
    grade, class_name, _ = membership
    plan = year.plans.get(class_name, {})
    if not plan:
        raise Incomplete(f"class {class_name} has no subject plan for {sy}")
    missing = missing_for_term(record, year, class_name, 1)
    missing += missing_for_term(record, year, class_name, 2)
    for term in (1, 2):
        if (sy, term) not in record.conduct:
            missing.append(f"rèn luyện HK{term}")
    if missing:
        raise Incomplete("missing: " + "; ".join(missing))

    subjects: dict[str, dict[str, Any]] = {}
    scored: dict[str, Decimal] = {}
    commented: dict[str, Comment] = {}
    for subject, p in sorted(plan.items()):
        terms = [term_entries(record, sy, subject, t) for t in (1, 2)]
        row: dict[str, Any] = {"assessed": p.assessed}
        if p.assessed == COMMENTED:
            need = rules.comment_regular_count()
            results = [
                rules.comment_term_result(
                    [
                        Comment.PASS if v else Comment.NOT_PASSED
                        for v in t["tx"] + t["gk"] + t["ck"]
                    ],
                    need + 2,
                )
                for t in terms
            ]
            year_comment = rules.comment_year_result(results[1])
            row.update(term1=results[0].value, term2=results[1].value, year=year_comment.value)
            commented[subject] = year_comment
        else:
            averages = [rules.term_average(t["tx"], t["gk"][0], t["ck"][0]) for t in terms]
            avg = rules.year_average(averages[0], averages[1])
            row.update(term1=str(averages[0]), term2=str(averages[1]), year=str(avg))
            scored[subject] = avg
        row["reassessed"] = record.reassessed.get((sy, subject))
        subjects[subject] = row

    conduct1 = _level(record.conduct.get((sy, 1)), "rèn luyện HK1")
    conduct2 = _level(record.conduct.get((sy, 2)), "rèn luyện HK2")
    conduct = rules.conduct_year(conduct1, conduct2)
    absences = sum(n for (y, _t), n in record.absences.items() if y == sy)
    learning = rules.assess_learning(scored, commented)

    conduct_after = None
    learning_after = None
    if stage == AFTER_SUMMER:
        if conduct is Level.NOT_PASSED:
            conduct_after = _level(record.summer_conduct.get(sy), "rèn luyện sau hè")
        if learning.level is Level.NOT_PASSED and (
            conduct_after is None or conduct_after is not Level.NOT_PASSED
        ):
            # TT 22/2021 Điều 14: the re-assessment replaces the year result of each subject.
            after_scored = dict(scored)
            after_commented = dict(commented)
            for subject in rules.subjects_to_reassess(scored, commented):
                value = record.reassessed.get((sy, subject))
                if value is None:
                    raise Incomplete(f"missing: {subject} kiểm tra lại")
                if subject in after_scored:
                    after_scored[subject] = rules.parse_score(value)
                else:
                    after_commented[subject] = Comment(value)
            learning_after = rules.assess_learning(after_scored, after_commented).level
    elif stage != YEAR:
        raise InvalidInput(f"stage must be {YEAR!r} or {AFTER_SUMMER!r}")

    decision = rules.promotion(
        learning.level,
        conduct,
        absences,
        grade,
        conduct_after_summer=conduct_after,
        learning_after_reassessment=learning_after,
    )
    title = rules.award(learning.level, conduct, scored)
    return {
        "school_year": sy,
        "grade": grade,
        "class_name": class_name,
        "subjects": subjects,
        "learning": learning.level.value,
        "learning_raw": learning.raw_level.value,
        "adjusted_by": learning.adjusted_by_subject,
        "conduct": {"term1": conduct1.value, "term2": conduct2.value, "year": conduct.value},
        "conduct_after_summer": None if conduct_after is None else conduct_after.value,
        "learning_after_reassessment": None if learning_after is None else learning_after.value,
        "absences": absences,
        "promotion": decision.value,
        "award": None if title is None else title.value,
        "regulation": learning.regulation,
    }
