"""The JSON API of staff files, on the served demo site of each engine.

Reads use the demo's staff (GV001's file, the school's list); writes go to a staff file this
module opens itself (``H1S01``, as the staff officer) and a class of its own (``H1S``), so
nothing another test relies on changes.
"""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

import pytest

from tests.integration.api_client import (
    HOME,
    PARTNER_STAFF,
    accounts,
    client,
    clients,
    head,
    ok,
    refused,
    staff,
    web,  # noqa: F401 - the engine fixture
)
from tests.integration.web import OPEN_YEAR, Site

CODE = "H1S01"
IDENTITY = {"ho_va_ten": "Trần Văn Hồ Sơ", "ngay_sinh": "1990-01-01"}
DECISION = "QĐ số 99/QĐ-THCS (kiểm thử)"


@pytest.fixture(scope="module")
def member(web: Site) -> dict[str, Any]:  # noqa: F811
    """A staff file opened by the staff officer, and a class to assign it to."""
    with clients(web, "cb001", "ht001") as c:
        made = ok(
            c["cb001"].post(
                f"/schools/{HOME}/staff",
                json={"staff_code": CODE, "title": "Giáo viên", "identity": IDENTITY},
            )
        )
        year = f"/schools/{HOME}/years/{OPEN_YEAR}/classes"
        ok(c["ht001"].post(year, json={"class": "H1S", "grade": 6}))
        plan = {"subjects": {"Toán": {"periods_per_year": 35, "assessed": "score"}}}
        ok(c["ht001"].post(f"{year}/H1S/plan", json=plan))
    return {"site": web, "staff": UUID(made["staff"])}


def test_the_staff_list_is_for_leaders_staff_officers_and_inspectors(
    member: dict[str, Any],
) -> None:
    site: Site = member["site"]
    with clients(site, None, "ht001", "pht001", "cb001", "thanhtra", "gv001", "ht201") as c:
        for who in ("ht001", "pht001", "cb001", "thanhtra"):
            listed = ok(c[who].get(f"/schools/{HOME}/staff"))["staff"]
            codes = {s["staff_code"] for s in listed}
            assert {"HT001", "GV001", "CB001", CODE} <= codes
            assert not any("identity" in s for s in listed)
        year = ok(c["cb001"].get(f"/schools/{HOME}/staff", params={"school_year": OPEN_YEAR}))
        by_code = {s["staff_code"]: s for s in year["staff"]}
        assert {"class": "6A9", "subject": "Toán"} in by_code["GV001"]["assignments"]
        assert by_code["GV002"]["homeroom"] == "6A9"
        refused(c["gv001"].get(f"/schools/{HOME}/staff"), 403)
        refused(c["ht201"].get(f"/schools/{HOME}/staff"), 404)
        refused(c[None].get(f"/schools/{HOME}/staff"), 401)
    log = accounts(site).reads(object=staff("GV001"))
    assert ("cb001", "staff_list") in {(r["username"], r["action"]) for r in log}


def test_a_staff_file_and_who_sees_its_identity(member: dict[str, Any]) -> None:
    site: Site = member["site"]
    gv001 = staff("GV001")
    users = ("gv001", "ht001", "cb001", "pht001", "thanhtra", "gv002", "ht201")
    with clients(site, None, *users) as c:
        seen = {who: ok(c[who].get(f"/staff/{gv001}")) for who in users[:5]}
        assert seen["gv001"]["staff_code"] == "GV001"
        assert {"school_year": "2025-2026", "class_name": "6A1", "subject": "Toán"} in seen[
            "gv001"
        ]["assignments"]
        assert seen["gv001"]["history"][0]["event"] == "Opened"
        for who in ("gv001", "ht001", "cb001"):  # the owner, the principal, the staff officer
            assert seen[who]["identity"]["ho_va_ten"], who
            assert seen[who]["identity_shown"] is True
        for who in ("pht001", "thanhtra"):  # they read the file, not the identity
            assert seen[who]["identity"] is None and seen[who]["identity_shown"] is False
        refused(c["gv002"].get(f"/staff/{gv001}"), 403)  # a colleague
        refused(c["ht201"].get(f"/staff/{gv001}"), 404)
        refused(c["gv001"].get(f"/staff/{PARTNER_STAFF}"), 404)
        refused(c["ht001"].get(f"/staff/{uuid.uuid4()}"), 404)
        refused(c[None].get(f"/staff/{gv001}"), 401)
    readers = {
        (r["username"], r["action"]) for r in accounts(site).reads(object=gv001, limit=10_000)
    }
    assert {(u, "staff_file") for u in users[:5]} <= readers
    assert ("gv002", "staff_file") not in readers


def test_the_staff_officer_keeps_the_hr_history(member: dict[str, Any]) -> None:
    site: Site = member["site"]
    sid = member["staff"]
    path = f"/staff/{sid}"
    with clients(site, "cb001", "gv001", "thanhtra", "ht201", "ht001") as c:
        cb = c["cb001"]
        n = head(site)
        title = {"title": "Giáo viên THCS hạng II", "rank": "Hạng II", "code": "V.07.04.31"}
        refused(c["gv001"].post(f"{path}/titles", json={**title, "decision": DECISION}), 403)
        refused(c["thanhtra"].post(f"{path}/titles", json={**title, "decision": DECISION}), 403)
        refused(c["ht201"].post(f"{path}/titles", json={**title, "decision": DECISION}), 404)
        refused(
            c["ht201"].post(f"/staff/{uuid.uuid4()}/titles", json={**title, "decision": "x"}), 404
        )
        salary = {"step": 3, "coefficient": 3.0, "effective": "2026-09-01", "decision": DECISION}
        refused(cb.post(f"{path}/salary-steps", json={**salary, "step": 25}), 422)
        refused(cb.post(f"{path}/salary-steps", json={**salary, "coefficient": "ba"}), 422)
        refused(cb.post(f"{path}/salary-steps", json={**salary, "coefficient": "3.005"}), 422)
        discipline = {"form": "Phạt tiền", "decision": DECISION, "school_year": OPEN_YEAR}
        refused(cb.post(f"{path}/disciplines", json=discipline), 422)
        evaluation = {"school_year": OPEN_YEAR, "general": "45", "performance": "60"}
        refused(cb.post(f"{path}/evaluations", json=evaluation), 422)  # general is out of 30
        refused(cb.post(f"{path}/identity", json={"identity": {}}), 422)
        assert head(site) == n

        ok(cb.post(f"{path}/titles", json={**title, "decision": DECISION}))
        ok(cb.post(f"{path}/salary-steps", json=salary))
        ok(cb.post(f"{path}/salary-steps", json={**salary, "step": 4, "coefficient": "3,33"}))
        training = {
            "course": "Bồi dưỡng chương trình GDPT 2018",
            "institution": "Sở GD&ĐT",
            "qualification": "Chứng chỉ",
            "completed_on": "2026-08-15",
        }
        ok(cb.post(f"{path}/trainings", json=training))
        award = {"award": "Lao động tiên tiến", "decision": DECISION, "school_year": OPEN_YEAR}
        ok(cb.post(f"{path}/awards", json=award))
        ok(cb.post(f"{path}/disciplines", json={**discipline, "form": "Khiển trách"}))
        level = ok(
            cb.post(f"{path}/evaluations", json={**evaluation, "general": "28", "performance": 66})
        )["result"]["level"]
        assert level  # a discipline that year caps the level (NĐ 233/2026)
        refused(cb.post(f"{path}/evaluations", json={**evaluation, "general": "20"}), 409)
        ok(c["ht001"].post(f"{path}/identity", json={"identity": {**IDENTITY, "dan_toc": "Kinh"}}))

        got = ok(cb.get(path))
        assert (got["rank"], got["title_code"], got["salary_step"]) == ("Hạng II", "V.07.04.31", 4)
        assert got["salary_coefficient"] == "3.33"
        assert got["identity"] == {**IDENTITY, "dan_toc": "Kinh"}
        events = [h["event"] for h in got["history"]]
        assert events == [
            "Opened",
            "IdentityRecorded",
            "TitleAppointed",
            "SalaryStepRaised",
            "SalaryStepRaised",
            "TrainingCompleted",
            "AwardGranted",
            "DisciplineImposed",
            "AnnualEvaluationRecorded",
            "IdentityRecorded",
        ]
        assert got["history"][-2]["details"]["level"] == level
        assert "identity" not in got["history"][1]["details"]  # no ciphertext in the history


def test_the_principal_assigns_and_appoints(member: dict[str, Any]) -> None:
    site: Site = member["site"]
    sid = member["staff"]
    path = f"/staff/{sid}"
    teach = {"school_year": OPEN_YEAR, "class": "H1S", "subject": "Toán"}
    with clients(site, "ht001", "cb001", "pht001", "ht201", "gv001") as c:
        ht = c["ht001"]
        n = head(site)
        refused(c["cb001"].post(f"{path}/assignments", json=teach), 403)
        refused(c["pht001"].post(f"{path}/assignments", json=teach), 403)
        refused(c["ht201"].post(f"{path}/assignments", json=teach), 404)
        refused(ht.post(f"{path}/assignments", json={**teach, "subject": "Tin học"}), 422)
        refused(ht.delete(f"{path}/assignments", params={**teach}), 422)  # not assigned yet
        refused(
            c["cb001"].post(
                f"{path}/appointments", json={"position": "Phó hiệu trưởng", "decision": DECISION}
            ),
            403,
        )
        refused(
            ht.post(f"{path}/appointments", json={"position": "Tổ trưởng", "decision": DECISION}),
            422,
        )
        refused(ht.post(f"{path}/homeroom", json={"school_year": OPEN_YEAR, "class": "H9Z"}), 422)
        assert head(site) == n

        ok(ht.post(f"{path}/assignments", json=teach))
        refused(ht.post(f"{path}/assignments", json=teach), 409)
        ok(ht.post(f"{path}/homeroom", json={"school_year": OPEN_YEAR, "class": "H1S"}))
        appointed = ok(
            ht.post(
                f"{path}/appointments", json={"position": "Phó hiệu trưởng", "decision": DECISION}
            )
        )
        assert appointed["appointed"] == "Phó hiệu trưởng"
        refused(
            ht.post(
                f"{path}/appointments", json={"position": "Phó hiệu trưởng", "decision": DECISION}
            ),
            409,
        )
        got = ok(ht.get(path))
        assert got["assignments"] == [
            {"school_year": OPEN_YEAR, "class_name": "H1S", "subject": "Toán"}
        ]
        assert got["homerooms"] == {OPEN_YEAR: "H1S"}
        assert got["positions"] == ["Phó hiệu trưởng"]
        listed = ok(c["cb001"].get(f"{'/schools'}/{HOME}/years/{OPEN_YEAR}/classes"))["classes"]
        assert {k["class"]: k["homeroom"] for k in listed}["H1S"] == CODE

        ok(ht.delete(f"{path}/assignments", params=teach))
        ok(ht.delete(f"{path}/homeroom", params={"school_year": OPEN_YEAR, "class": "H1S"}))
        end = {"position": "Phó hiệu trưởng", "decision": DECISION}
        ok(ht.post(f"{path}/appointments/end", json=end))
        refused(ht.post(f"{path}/appointments/end", json=end), 422)
        got = ok(ht.get(path))
        assert (got["assignments"], got["homerooms"], got["positions"]) == ([], {}, [])


def test_opening_a_staff_file(member: dict[str, Any]) -> None:
    site: Site = member["site"]
    body = {"staff_code": "H1S02", "title": "Nhân viên"}
    with clients(site, "gv001", "pht001", "ht201", "cb001", "ht001") as c:
        n = head(site)
        refused(c["gv001"].post(f"/schools/{HOME}/staff", json=body), 403)
        refused(c["pht001"].post(f"/schools/{HOME}/staff", json=body), 403)
        refused(c["ht201"].post(f"/schools/{HOME}/staff", json=body), 404)
        refused(c["cb001"].post(f"/schools/{HOME}/staff", json={**body, "staff_code": CODE}), 409)
        refused(c["cb001"].post(f"/schools/{HOME}/staff", json={**body, "title": ""}), 422)
        assert head(site) == n
        made = ok(c["ht001"].post(f"/schools/{HOME}/staff", json=body))
    with client(site, "cb001") as cb:
        got = ok(cb.get(f"/staff/{made['staff']}"))
    assert (got["staff_code"], got["title"], got["identity"]) == ("H1S02", "Nhân viên", None)
