"""Primary school (TT 27/2020): integer tests, T/H/C levels, qualities, the year result."""

from __future__ import annotations

import pytest

from ledger.audit import audit
from ledger.catalog import PRIMARY_PLAN, PRIMARY_QUALITIES
from ledger.domain import COMMENTED
from ledger.errors import InvalidInput, InvalidScore, NotAuthorized
from tests.conftest import School

YEAR = "2024-2025"  # a primary year in the fixture's school (the level is per school year)
CLASS = "4A"


@pytest.fixture
def primary(school: School) -> School:
    p, led = school.principal, school.ledger
    led.open_school_year(p, YEAR, "TH")
    led.open_class(p, YEAR, CLASS, 4)
    led.plan_subjects(p, YEAR, CLASS, PRIMARY_PLAN)
    led.assign_teachings(p, school.staff("GV001"), YEAR, [(CLASS, s) for s in PRIMARY_PLAN])
    led.assign_homeroom(p, school.staff("GV001"), YEAR, CLASS)
    return school


def test_primary_year_result(primary: School) -> None:
    led, gv, p = primary.ledger, primary.teachers["GV001"], primary.principal
    rid = led.enrol_student(p, "HS-TH1", YEAR, 4, CLASS)
    tested = [s for s, (_, how) in PRIMARY_PLAN.items() if how != COMMENTED]
    with pytest.raises(InvalidScore, match="integer"):
        led.record_scores(gv, [(rid, "Toán", 1, "ck", "8.5")])  # "không cho điểm thập phân"
    with pytest.raises(InvalidInput, match="periodic tests"):
        led.record_scores(gv, [(rid, "Toán", 1, "tx", "8")])
    with pytest.raises(NotAuthorized):
        led.record_subject_levels(primary.teachers["GV002"], [(rid, "Toán", 1, "T")])
    for term in (1, 2):
        led.record_scores(gv, [(rid, s, term, "ck", "9") for s in tested])
        led.record_subject_levels(gv, [(rid, s, term, "T") for s in PRIMARY_PLAN])
        led.assess_qualities(gv, rid, term, dict.fromkeys(PRIMARY_QUALITIES, "Tốt"))
        led.close_term(p, YEAR, CLASS, term)
    result = led.record_year_result(gv, rid)
    assert result["result"] == "Hoàn thành xuất sắc"
    assert result["regulation"] == "TT27/2020"
    assert result["subjects"]["Toán"] == {
        "assessed": "score",
        "level": "Hoàn thành tốt",
        "code": "T",
        "test": "9.0",
    }
    assert audit(led).ok


def test_primary_term_close_names_missing_levels(primary: School) -> None:
    led, p = primary.ledger, primary.principal
    led.enrol_student(p, "HS-TH2", YEAR, 4, CLASS)
    with pytest.raises(InvalidInput, match="Toán HK1: thiếu mức đánh giá"):
        led.close_term(p, YEAR, CLASS, 1)
