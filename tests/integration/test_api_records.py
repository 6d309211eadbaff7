"""The JSON API of student records, on the served demo site of each engine.

Each engine's site is shared by the whole test session, so this module works in classes of
its own, opened through the API as the principal (which tests the set-up routes too):
``H1R`` (three students, GV001 teaching Toán and Giáo dục thể chất) for scores and
refusals, and ``H1C`` (two students, GV001 also their GVCN) for a term's whole life: entry,
close, proposal, approval, direct correction, conduct, absences, remarks, the year result.
Every refusal is checked to have written nothing (the ledger's head does not move).
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import UUID

import pytest

from ledger.domain import COMMENTED, SCORED, student_id
from tests.integration.api_client import (
    HOME,
    PARTNER,
    PARTNER_RECORD,
    accounts,
    client,
    clients,
    head,
    ok,
    refused,
    setup_class,
    version,
    wait_readable,
    web,  # noqa: F401 - the engine fixture
)
from tests.integration.web import HOME_CODE, OPEN_YEAR, Site

PLAN = {"Toán": (35, SCORED), "Giáo dục thể chất": (35, COMMENTED)}
TEACHERS = {"Toán": "GV001", "Giáo dục thể chất": "GV001"}
NAME = "Nguyễn Thị Thử Nghiệm"
YEAR_PATH = f"/schools/{HOME}/years/{OPEN_YEAR}"


def book_path(class_name: str) -> str:
    return f"{YEAR_PATH}/classes/{class_name}/gradebook"


@pytest.fixture(scope="module")
def book(web: Site) -> dict[str, Any]:  # noqa: F811
    """The module's two classes on ``web``: their record ids."""
    scoring = setup_class(
        web,
        "H1R",
        PLAN,
        TEACHERS,
        None,
        [
            (f"HS{HOME_CODE}H1R0", {"ho_va_ten": NAME, "ngay_sinh": "2014-03-02"}),
            (f"HS{HOME_CODE}H1R1", None),
            (f"HS{HOME_CODE}H1R2", None),
        ],
    )
    closing = setup_class(
        web, "H1C", PLAN, TEACHERS, "GV001", [(f"HS{HOME_CODE}H1C{i}", None) for i in range(2)]
    )
    wait_readable(web, "gv001", "H1R")
    wait_readable(web, "gv001", "H1C")
    return {"site": web, "scoring": scoring, "closing": closing}


def score(record: UUID, subject: str, term: int, kind: str, value: object) -> dict[str, Any]:
    return {"record": str(record), "subject": subject, "term": term, "kind": kind, "value": value}


def entries_of(site: Site, record: UUID, username: str = "ht001") -> list[dict[str, Any]]:
    with client(site, username) as c:
        return list(ok(c.get(f"/records/{record}"))["entries"])


# -- reads --------------------------------------------------------------------------------------


def test_schools_and_classes_are_scoped(book: dict[str, Any]) -> None:
    site: Site = book["site"]
    with clients(site, "gv001", "thanhtra", "ht201", "cb001") as c:
        mine = ok(c["gv001"].get("/schools"))["schools"]
        assert [(s["school"], s["code"], s["as"]) for s in mine] == [
            (str(HOME), HOME_CODE, "staff")
        ]
        assert [s["as"] for s in ok(c["thanhtra"].get("/schools"))["schools"]] == ["inspector"]
        assert [s["school"] for s in ok(c["ht201"].get("/schools"))["schools"]] == [str(PARTNER)]

        listed = {k["class"]: k for k in ok(c["gv001"].get(f"{YEAR_PATH}/classes"))["classes"]}
        assert listed["H1C"]["homeroom"] == "GV001" and listed["H1C"]["students"] == 2
        assert listed["H1R"]["reads"] and listed["H1R"]["students"] == 3
        officer = ok(c["cb001"].get(f"{YEAR_PATH}/classes"))["classes"]
        assert {k["class"] for k in officer} >= {"H1R", "H1C"}
        assert not any(k["reads"] for k in officer)  # the staff officer teaches nothing

        refused(c["ht201"].get(f"{YEAR_PATH}/classes"), 404)
        refused(c["gv001"].get(f"/schools/{HOME}/years/2030-2031/classes"), 404)
        refused(c["gv001"].get(f"/schools/{uuid.uuid4()}/years/{OPEN_YEAR}/classes"), 404)
    with client(site) as anonymous:
        refused(anonymous.get("/schools"), 401)
        refused(anonymous.get(f"{YEAR_PATH}/classes"), 401)


def test_gradebook_is_scoped_names_opened_and_reads_logged(book: dict[str, Any]) -> None:
    site: Site = book["site"]
    first = book["scoring"][0]
    with clients(site, "gv001", "thanhtra", "gv002", "cb001", "ht201", "pht001") as c:
        got = ok(c["gv001"].get(book_path("H1R")))
        assert (got["class"], got["grade"], got["level"]) == ("H1R", 6, "THCS")
        assert got["may"] == {
            "record": ["Giáo dục thể chất", "Toán"],
            "homeroom": False,
            "close_terms": False,
            "approve": False,
        }
        subjects = {s["subject"]: s for s in got["subjects"]}
        assert subjects["Toán"]["required"] == {"tx": 2, "gk": 1, "ck": 1}
        assert subjects["Giáo dục thể chất"]["assessed"] == COMMENTED
        names = {s["record"]: s["name"] for s in got["students"]}
        assert names == {str(r): None for r in book["scoring"]} | {str(first): NAME}

        seen = ok(c["thanhtra"].get(book_path("H1R")))
        assert {s["name"] for s in seen["students"]} == {NAME, None}
        ok(c["pht001"].get(book_path("H1R")))
        refused(c["gv002"].get(book_path("H1R")), 403, "NotAuthorized")
        refused(c["cb001"].get(book_path("H1R")), 403, "NotAuthorized")
        refused(c["ht201"].get(book_path("H1R")), 404, "RecordNotFound")
        refused(c["gv001"].get(book_path("H9Z")), 404)
    with client(site) as anonymous:
        refused(anonymous.get(book_path("H1R")), 401)

    log = accounts(site).reads(object=first)
    readers = {(r["username"], r["action"]) for r in log}
    assert {("gv001", "gradebook"), ("thanhtra", "gradebook"), ("pht001", "gradebook")} <= readers
    assert not any(r["username"] in ("gv002", "cb001", "ht201") for r in log)  # refused: no read


def test_record_and_history_of_a_demo_record(book: dict[str, Any]) -> None:
    site: Site = book["site"]
    demo = student_id(f"HS{HOME_CODE}0001")  # 6A1 of 2025-2026: GV001 was its GVCN
    with clients(site, "gv001", "thanhtra", "cb001", "ht201") as c:
        rec = ok(c["gv001"].get(f"/records/{demo}"))
        assert rec["student_code"] == f"HS{HOME_CODE}0001"
        assert rec["years"][0]["school_year"] == "2025-2026"
        assert rec["identity"] and rec["identity"]["ho_va_ten"]
        assert rec["transcripts"] and rec["transcripts"][0]["number"] == 1
        assert rec["results"]["2025-2026"]["regulation"] == "TT22/2021"
        assert [(k["school_year"], k["term"]) for k in rec["conduct"]] == [
            ("2025-2026", 1),
            ("2025-2026", 2),
        ]
        assert rec["entries"] and all(e["school_year"] == "2025-2026" for e in rec["entries"])
        assert rec["version"] == version(site, demo)

        events = ok(c["thanhtra"].get(f"/records/{demo}/history"))["events"]
        assert events[0]["event"] == "Enrolled" and events[0]["version"] == 1
        assert [e["version"] for e in events] == list(range(1, rec["version"] + 1))
        assert all(len(e["hash"]) == 64 and e["signer"] for e in events)

        refused(c["cb001"].get(f"/records/{demo}"), 403)
        refused(c["ht201"].get(f"/records/{demo}"), 404)
        refused(c["ht201"].get(f"/records/{demo}/history"), 404)
        refused(c["gv001"].get(f"/records/{uuid.uuid4()}"), 404)
        refused(c["gv001"].get("/records/not-a-uuid"), 422)
    actions = {(r["username"], r["action"]) for r in accounts(site).reads(object=demo)}
    assert {("gv001", "record"), ("thanhtra", "history")} <= actions
    assert ("cb001", "record") not in actions


# -- writes -------------------------------------------------------------------------------------


def test_a_score_is_written_and_read_back_at_once(book: dict[str, Any]) -> None:
    site: Site = book["site"]
    first = book["scoring"][0]
    before = version(site, first)
    with client(site, "gv001") as c:
        got = ok(
            c.post(
                f"/records/{first}/scores",
                json={"subject": "Toán", "term": 1, "kind": "tx", "value": 7.5},
            )
        )
        assert got == {"record": str(first), "version": before + 1}
        # Read-your-writes: the views catch up before the read (on any worker).
        shown = ok(c.get(book_path("H1R")))
        row = next(s for s in shown["students"] if s["record"] == str(first))
        assert [(e["version"], e["value"], e["kind"]) for e in row["entries"]] == [
            (before + 1, "7.5", "tx")
        ]
    assert version(site, first) == before + 1


def test_a_column_is_one_save(book: dict[str, Any]) -> None:
    site: Site = book["site"]
    ids = book["scoring"]
    n = head(site)
    with client(site, "gv001") as c:
        values = ["8", 6.5, "9,5"]
        got = ok(
            c.post(
                "/scores",
                json={"entries": [score(r, "Toán", 1, "gk", v) for r, v in zip(ids, values)]},
            )
        )
        assert got == {"recorded": 3}
        passed = ["Đạt", True, "Chưa đạt"]
        body = {"entries": [score(r, "Giáo dục thể chất", 1, "gk", p) for r, p in zip(ids, passed)]}
        assert ok(c.post("/comments", json=body)) == {"recorded": 2 + 1}
    assert head(site) == n + 6
    shown = {
        e["subject"]: e["value"]
        for r in ids
        for e in entries_of(site, r)
        if e["kind"] == "gk" and r == ids[2]
    }
    assert shown == {"Toán": "9.5", "Giáo dục thể chất": "Chưa đạt"}


def test_refused_writes_write_nothing(book: dict[str, Any]) -> None:
    site: Site = book["site"]
    s0, s1, s2 = book["scoring"]
    toan = {"subject": "Toán", "term": 1, "kind": "ck", "value": "8.0"}
    n = head(site)
    with clients(site, None, "gv001", "gv002", "gv003", "thanhtra", "ht001", "ht201") as c:
        path = f"/records/{s1}/scores"
        refused(c[None].post(path, json=toan), 401)
        for who in ("gv002", "gv003", "ht001", "thanhtra"):
            refused(c[who].post(path, json=toan), 403, "NotAuthorized")
        refused(c["ht201"].post(path, json=toan), 404, "RecordNotFound")
        refused(c["gv001"].post(f"/records/{PARTNER_RECORD}/scores", json=toan), 404)
        refused(c["gv001"].post(f"/records/{uuid.uuid4()}/scores", json=toan), 404)
        gv = c["gv001"]
        refused(gv.post(path, json={**toan, "value": "10.5"}), 422, "InvalidScore")
        refused(gv.post(path, json={**toan, "value": "7.25"}), 422, "InvalidScore")
        refused(gv.post(path, json={**toan, "value": True}), 422)
        refused(gv.post(path, json={**toan, "kind": "xx"}), 422)
        refused(gv.post(path, json={**toan, "term": 3}), 422)
        refused(gv.post(path, json={**toan, "extra": 1}), 422)
        refused(gv.post(path, json={**toan, "subject": "Tin học"}), 403)  # not assigned
        refused(gv.post(path, json={**toan, "subject": "Giáo dục thể chất"}), 422)  # by comment
        refused(
            gv.post(path, content=b'{"subject": "To', headers={"content-type": "application/json"}),
            422,
        )
        # A column is all or nothing: one bad entry, one stranger's record.
        bad = [score(s1, "Toán", 1, "ck", "8.0"), score(s2, "Toán", 1, "ck", "12")]
        refused(gv.post("/scores", json={"entries": bad}), 422, "InvalidScore")
        foreign = [score(s1, "Toán", 1, "ck", "8.0"), score(PARTNER_RECORD, "Toán", 1, "ck", "8")]
        refused(gv.post("/scores", json={"entries": foreign}), 404)
        many = [score(s0, "Toán", 1, "tx", "5")] * 501
        refused(gv.post("/scores", json={"entries": many}), 422)
        refused(gv.post("/scores", json={"entries": []}), 422)
        maybe = [score(s1, "Giáo dục thể chất", 1, "ck", "có lẽ")]
        refused(gv.post("/comments", json={"entries": maybe}), 422, "InvalidInput")
        refused(
            c["gv002"].post("/scores", json={"entries": [score(s1, "Toán", 1, "ck", "8")]}), 403
        )
    assert head(site) == n


def test_school_year_setup(book: dict[str, Any]) -> None:
    site: Site = book["site"]
    n = head(site)
    enrol = {
        "school": str(HOME),
        "student_code": f"HS{HOME_CODE}H1R0",
        "school_year": OPEN_YEAR,
        "grade": 6,
        "class": "H1R",
    }
    with clients(site, "ht001", "gv001", "ht201", "pht001") as c:
        ht = c["ht001"]
        refused(c["gv001"].post(f"/schools/{HOME}/years", json={"school_year": "2031-2032"}), 403)
        refused(c["pht001"].post(f"/schools/{HOME}/years", json={"school_year": "2031-2032"}), 403)
        refused(c["ht201"].post(f"/schools/{HOME}/years", json={"school_year": "2031-2032"}), 404)
        refused(ht.post(f"/schools/{HOME}/years", json={"school_year": "2031"}), 422)
        refused(ht.post(f"/schools/{HOME}/years", json={"school_year": OPEN_YEAR}), 409)
        refused(ht.post(f"{YEAR_PATH}/classes", json={"class": "H1R", "grade": 6}), 409)
        refused(ht.post(f"{YEAR_PATH}/classes", json={"class": "H1X", "grade": 10}), 422)
        refused(ht.post(f"{YEAR_PATH}/classes", json={"class": "H1X", "grade": 13}), 422)
        planned = {"subjects": {"Toán": {"periods_per_year": 35, "assessed": "score"}}}
        refused(ht.post(f"{YEAR_PATH}/classes/H1R/plan", json=planned), 409)
        refused(ht.post(f"{YEAR_PATH}/classes/H1R/plan", json={"subjects": {}}), 422)
        refused(c["gv001"].post(f"{YEAR_PATH}/classes/H1R/plan", json=planned), 403)
        refused(ht.post("/records", json=enrol), 409, "AlreadyExists")
        refused(ht.post("/records", json={**enrol, "student_code": "HSNEW1", "class": "H9Z"}), 422)
        refused(
            ht.post("/records", json={**enrol, "student_code": "HSNEW1", "school": str(PARTNER)}),
            404,
        )
        refused(c["gv001"].post("/records", json={**enrol, "student_code": "HSNEW1"}), 403)
        refused(c["ht201"].post("/records", json={**enrol, "student_code": "HSNEW1"}), 404)
        assert head(site) == n
        # A past year, as a school digitising its archive would open it (no test lists it).
        opened = ok(ht.post(f"/schools/{HOME}/years", json={"school_year": "2019-2020"}))
        assert (opened["school_year"], opened["level"]) == ("2019-2020", "THCS")
        refused(ht.post(f"/schools/{HOME}/years", json={"school_year": "2019-2020"}), 409)
        assert ok(ht.get(f"/schools/{HOME}/years/2019-2020/classes"))["classes"] == []
    assert head(site) == n + 1


def test_a_term_from_entry_to_year_result(book: dict[str, Any]) -> None:
    site: Site = book["site"]
    c0, c1 = book["closing"]
    close = f"{YEAR_PATH}/classes/H1C/terms"

    def fill(c: Any, term: int) -> None:
        for r in (c0, c1):
            kinds = [("tx", "7.0"), ("tx", "8.0"), ("gk", "6.5"), ("ck", "9.0")]
            ok(
                c.post(
                    "/scores", json={"entries": [score(r, "Toán", term, k, v) for k, v in kinds]}
                )
            )
            passed = [
                score(r, "Giáo dục thể chất", term, k, "Đạt") for k in ("tx", "tx", "gk", "ck")
            ]
            ok(c.post("/comments", json={"entries": passed}))

    with clients(site, "gv001", "gv002", "gv003", "ht001", "ht201", "thanhtra", "pht001") as c:
        gv, ht = c["gv001"], c["ht001"]
        # The GVCN's part, while the terms are open: conduct, absences, remarks.
        n = head(site)
        refused(c["gv002"].post(f"/records/{c0}/conduct", json={"term": 1, "level": "Tốt"}), 403)
        refused(gv.post(f"/records/{c0}/conduct", json={"term": 1, "level": "Xuất sắc"}), 422)
        refused(gv.post(f"/records/{c0}/absences", json={"term": 1, "sessions": 300}), 422)
        refused(
            c["gv003"].post(f"/records/{c0}/remarks", json={"subject": "Toán", "text": "x"}), 403
        )
        refused(c["gv002"].post(f"/records/{c0}/homeroom-remark", json={"text": "x"}), 403)
        assert head(site) == n
        for r in (c0, c1):
            for term in (1, 2):
                ok(gv.post(f"/records/{r}/conduct", json={"term": term, "level": "Tốt"}))
                ok(gv.post(f"/records/{r}/absences", json={"term": term, "sessions": 1}))
        ok(gv.post(f"/records/{c0}/remarks", json={"subject": "Toán", "text": "Tiến bộ tốt."}))
        ok(gv.post(f"/records/{c0}/homeroom-remark", json={"text": "Chăm ngoan, lễ phép."}))

        # Term I: every entry, then the close (principal only; another school: 404).
        refused(ht.post(f"{close}/1/close"), 422, "Incomplete")
        fill(gv, 1)
        n = head(site)
        refused(gv.post(f"{close}/1/close"), 403)
        refused(c["pht001"].post(f"{close}/1/close"), 403)  # a deputy reads, does not close
        refused(c["thanhtra"].post(f"{close}/1/close"), 403)
        refused(c["ht201"].post(f"{close}/1/close"), 404)
        refused(ht.post(f"{close}/3/close"), 422)
        assert head(site) == n
        assert ok(ht.post(f"{close}/I/close")) == {
            "school_year": OPEN_YEAR,
            "class": "H1C",
            "closed": 1,
        }
        refused(ht.post(f"{close}/1/close"), 409, "AlreadyExists")
        assert ok(gv.get(book_path("H1C")))["closed_terms"] == [1]

        # A closed term takes no new entry; a correction becomes a proposal.
        n = head(site)
        late = {"subject": "Toán", "term": 1, "kind": "tx", "value": "5.0"}
        refused(gv.post(f"/records/{c0}/scores", json=late), 422, "TermClosed")
        refused(gv.post(f"/records/{c0}/conduct", json={"term": 1, "level": "Khá"}), 422)
        assert head(site) == n
        gk = next(e for e in entries_of(site, c0) if e["kind"] == "gk" and e["subject"] == "Toán")
        fix = {"corrects": gk["version"], "value": "7.5", "reason": "Phúc khảo: cộng sót 1 điểm"}
        refused(c["gv003"].post(f"/records/{c0}/corrections", json=fix), 403)
        refused(c["ht201"].post(f"/records/{c0}/corrections", json=fix), 404)
        refused(gv.post(f"/records/{c0}/corrections", json={**fix, "value": "11"}), 422)
        assert head(site) == n
        proposed = ok(gv.post(f"/records/{c0}/corrections", json=fix))
        assert proposed["kind"] == "proposal"
        proposal = proposed["version"]

        pending = ok(ht.get(f"/schools/{HOME}/corrections"))["proposals"]
        mine = [p for p in pending if p["record"] == str(c0)]
        assert [(p["proposal"], p["current"], p["proposed"]) for p in mine] == [
            (proposal, "6.5", "7.5")
        ]
        assert ok(c["thanhtra"].get(f"/schools/{HOME}/corrections?state=all"))["proposals"]
        refused(gv.get(f"/schools/{HOME}/corrections"), 403)
        refused(c["ht201"].get(f"/schools/{HOME}/corrections"), 404)
        refused(ht.get(f"/schools/{HOME}/corrections?state=maybe"), 422)

        approve = f"/records/{c0}/corrections/{proposal}/approve"
        refused(gv.post(approve), 403)
        refused(c["ht201"].post(approve), 404)
        assert ok(ht.post(approve))["approved"] == proposal
        refused(ht.post(approve), 422)
        after = next(e for e in entries_of(site, c0) if e["version"] == gk["version"])
        assert (after["value"], after["original"]) == ("7.5", "6.5")
        assert after["approved_by"] and after["correction_reason"] == fix["reason"]
        pending = ok(ht.get(f"/schools/{HOME}/corrections"))["proposals"]
        assert not [p for p in pending if p["record"] == str(c0)]

        # Term II is open: its teacher corrects directly.
        written = ok(gv.post(f"/records/{c0}/scores", json={**late, "term": 2}))
        direct = {"corrects": written["version"], "value": "6.0", "reason": "Nhập nhầm điểm"}
        refused(c["gv003"].post(f"/records/{c0}/corrections", json=direct), 403)
        assert ok(gv.post(f"/records/{c0}/corrections", json=direct))["kind"] == "correction"
        fixed = next(e for e in entries_of(site, c0) if e["version"] == written["version"])
        assert (fixed["value"], fixed["original"]) == ("6.0", "5.0")

        # Term II: the rest of the entries, the close, then the year result (GVCN only).
        refused(gv.post(f"/records/{c0}/year-result", json={}), 422, "Incomplete")
        for r in (c0, c1):
            kinds = [("tx", "8.0"), ("gk", "7.0"), ("ck", "8.5")]
            ok(gv.post("/scores", json={"entries": [score(r, "Toán", 2, k, v) for k, v in kinds]}))
        ok(gv.post("/scores", json={"entries": [score(c1, "Toán", 2, "tx", "9.0")]}))
        passed = [
            score(r, "Giáo dục thể chất", 2, k, True)
            for r in (c0, c1)
            for k in ("tx", "tx", "gk", "ck")
        ]
        ok(gv.post("/comments", json={"entries": passed}))
        ok(ht.post(f"{close}/II/close"))
        refused(c["gv002"].post(f"/records/{c0}/year-result", json={}), 403)
        result = ok(gv.post(f"/records/{c0}/year-result", json={"stage": "year"}))["result"]
        assert result["conduct"]["year"] == "Tốt"
        # ĐTBmhk = (ΣĐĐGtx + 2·ĐĐGgk + 3·ĐĐGck) / (n + 5): (7 + 8 + 2·7.5 + 3·9) / 7 = 8.14…
        assert result["subjects"]["Toán"]["term1"] == "8.1"
        rec = ok(ht.get(f"/records/{c0}"))
        assert rec["results"][OPEN_YEAR]["stage"] == "year"
        assert [(a["term"], a["sessions"]) for a in rec["absences"]] == [(1, 1), (2, 1)]
        assert rec["proposals"][0]["approved"] is True


def test_parallel_reads_catch_up_once_and_agree(book: dict[str, Any]) -> None:
    site: Site = book["site"]
    s2 = book["scoring"][2]
    with client(site, "gv001") as gv:
        body = {"subject": "Toán", "term": 2, "kind": "tx", "value": "4.5"}
        written = ok(gv.post(f"/records/{s2}/scores", json=body))

        def read(_: int) -> list[int]:
            with client(site, "gv001") as c:
                got = ok(c.get(book_path("H1R")))
            row = next(s for s in got["students"] if s["record"] == str(s2))
            return sorted(e["version"] for e in row["entries"])

        with ThreadPoolExecutor(8) as pool:
            seen = list(pool.map(read, range(16)))
    assert all(v == seen[0] for v in seen)
    assert written["version"] in seen[0]
