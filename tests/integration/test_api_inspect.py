"""The inspector's API over HTTP, on SQLite and PostgreSQL (the shared demo sites, read-only).

Scoping (the school's inspector, principal and deputy read; its teachers get 403; another
school's accounts 404), timeline pages and filters, a transferred student's record timeline
split between the two schools' inspectors, anomalies, changes over time, the audit report in
each format, and the read log (inspectors' own reads included).

Tests only read (the read log grows): every comparison between two calls is bounded by a
log position taken first (``before``), so events other tests append meanwhile do not count.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import httpx
import pytest

from api.demo import PARTNER_CODE
from ledger.domain import staff_id, student_id
from ledger.inspection import VIETNAM
from tests.integration.web import HOME_CODE, Site

#: A student who began the year at the partner school and moved to the home school.
TRANSFERRED = "HS790007020001"
#: A student of 6A1 (GVCN: GV001) who stayed at the home school.
STAYED = "HS790007010001"


@pytest.fixture(params=["site", pytest.param("pg_site", marks=pytest.mark.postgres)])
def served(request: pytest.FixtureRequest) -> Site:
    site: Site = request.getfixturevalue(request.param)
    return site


_CLIENTS: dict[tuple[str, str], httpx.Client] = {}


def _client(site: Site, user: str) -> httpx.Client:
    key = (site.base, user)
    if key not in _CLIENTS:
        _CLIENTS[key] = site.client(user)
    return _CLIENTS[key]


@pytest.fixture(scope="module", autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    for c in _CLIENTS.values():
        c.close()
    _CLIENTS.clear()


def _get(site: Site, user: str, path: str, **params: Any) -> httpx.Response:
    return _client(site, user).get(path, params=params)


def _timeline(site: Site, **params: Any) -> dict[str, Any]:
    r = _get(site, "thanhtra", f"/api/v1/schools/{site.home}/timeline", **params)
    assert r.status_code == 200, r.text
    return dict(r.json())


def _bound(site: Site) -> int:
    """A log position after every event so far: later events do not change counts below it."""
    return int(_timeline(site, limit=1)["rows"][0]["position"]) + 1


# -- scoping ------------------------------------------------------------------------------------

ROUTES = [
    "/api/v1/schools/{school}/timeline",
    "/api/v1/schools/{school}/anomalies",
    "/api/v1/schools/{school}/changes",
    "/api/v1/schools/{school}/audit-report?format=json",
    "/api/v1/schools/{school}/reads",
]


def test_who_may_inspect_the_school(served: Site) -> None:
    home, partner = served.home, served.partner
    for route in ROUTES:
        url = route.format(school=home)
        assert httpx.get(f"{served.base}{url}").status_code == 401, url
        for user in ("thanhtra", "ht001", "pht001"):
            assert _client(served, user).get(url).status_code == 200, (user, url)
        for user in ("gv001", "gv002", "cb001"):
            r = _client(served, user).get(url)
            assert r.status_code == 403, (user, url, r.text)
        for user in ("thanhtra201", "ht201", "gv201"):
            assert _client(served, user).get(url).status_code == 404, (user, url)
        # The home school's inspector does not see the partner school.
        other = route.format(school=partner)
        assert _client(served, "thanhtra").get(other).status_code == 404, other
        assert _client(served, "thanhtra201").get(other).status_code == 200, other
        # The school by its mã trường; a malformed or unknown school.
        assert _client(served, "thanhtra").get(route.format(school=HOME_CODE)).status_code == 200
        assert _client(served, "thanhtra").get(route.format(school="xyz")).status_code == 422
        unknown = route.format(school="00000000-0000-0000-0000-000000000000")
        assert _client(served, "thanhtra").get(unknown).status_code == 404


def test_a_transferred_students_timeline_is_split_between_the_schools(served: Site) -> None:
    record = student_id(TRANSFERRED)
    url = f"/api/v1/records/{record}/timeline"
    parts = {}
    for user, code in (("thanhtra", HOME_CODE), ("thanhtra201", PARTNER_CODE)):
        r = _get(served, user, url, limit=500)
        assert r.status_code == 200, (user, r.text)
        rows = r.json()["rows"]
        assert rows and {row["school"] for row in rows} == {code}
        assert {row["record"] for row in rows} == {str(record)}
        parts[code] = {row["position"] for row in rows}
    assert not parts[HOME_CODE] & parts[PARTNER_CODE]
    # The principal reads like the inspector of the same school.
    assert {row["position"] for row in _get(served, "ht001", url, limit=500).json()["rows"]} >= (
        parts[HOME_CODE]
    )
    # A teacher who reads the record may not read its timeline; strangers do not see it.
    assert _get(served, "gv001", f"/api/v1/records/{student_id(STAYED)}/timeline").status_code == (
        403
    )
    assert _get(served, "gv201", f"/api/v1/records/{student_id(STAYED)}/timeline").status_code == (
        404
    )
    missing = "/api/v1/records/00000000-0000-0000-0000-000000000000/timeline"
    assert _get(served, "thanhtra", missing).status_code == 404
    assert _get(served, "thanhtra", "/api/v1/records/nope/timeline").status_code == 422


# -- the timeline -------------------------------------------------------------------------------


def test_timeline_pages_orders_and_cursor(served: Site) -> None:
    bound = _bound(served)
    first = _timeline(served, limit=5, before=bound)
    second = _timeline(served, limit=5, page=2, before=bound)
    positions = [r["position"] for r in first["rows"] + second["rows"]]
    assert len(positions) == 10 and positions == sorted(positions, reverse=True)
    assert first["total"] == second["total"] > 10
    assert first["next_page"] == 2 and first["pages"] == -(-first["total"] // 5)
    # The cursor gives the same second page.
    cursor = _timeline(served, limit=5, before=first["next_before"])
    assert [r["position"] for r in cursor["rows"]] == [r["position"] for r in second["rows"]]
    # Oldest first: the first ten, in log order.
    oldest = _timeline(served, limit=10, order="asc", before=bound)
    ascending = [r["position"] for r in oldest["rows"]]
    assert ascending == sorted(ascending) and oldest["total"] == first["total"]
    whole = _timeline(served, limit=500, order="asc", before=bound)
    if whole["total"] <= 500:
        assert ascending == [r["position"] for r in whole["rows"]][:10]
    row = first["rows"][0]
    assert row["school"] == HOME_CODE and row["label"] and row["description"] is not None
    for bad in ({"limit": 0}, {"limit": 501}, {"page": 0}, {"order": "up"}, {"before": -1}):
        r = _get(served, "thanhtra", f"/api/v1/schools/{served.home}/timeline", **bad)
        assert r.status_code == 422, (bad, r.text)
    deep = _get(served, "thanhtra", f"/api/v1/schools/{served.home}/timeline", page=100, limit=500)
    assert deep.status_code == 422


def test_timeline_filters(served: Site) -> None:
    bound = _bound(served)
    everything = _timeline(served, limit=1, before=bound)["total"]
    # Event types.
    wanted = {"ScoreCorrected", "CorrectionProposed", "CorrectionApproved"}
    fixes = _timeline(served, limit=500, before=bound, event=",".join(sorted(wanted)))
    assert fixes["total"] >= 2 and {r["event"] for r in fixes["rows"]} <= wanted
    assert fixes["total"] < everything
    # The actor, by staff id or by staff code.
    gv001 = str(staff_id(HOME_CODE, "GV001"))
    by_id = _timeline(served, limit=500, before=bound, actor=gv001)
    by_code = _timeline(served, limit=500, before=bound, actor="GV001")
    assert 0 < by_id["total"] == by_code["total"] < everything
    assert {r["signer"] for r in by_id["rows"]} == {gv001}
    # The record, by id or by mã học sinh.
    record = str(student_id(STAYED))
    by_record = _timeline(served, limit=500, before=bound, record=record)
    assert by_record["total"] == _timeline(served, limit=1, before=bound, record=STAYED)["total"]
    assert by_record["total"] > 0 and {r["record"] for r in by_record["rows"]} == {record}
    # A day (Vietnam time), both ends inclusive.
    day = datetime.fromisoformat(by_record["rows"][-1]["time"]).astimezone(VIETNAM).date()
    on_day = _timeline(
        served, limit=500, before=bound, record=record, **{"from": str(day), "to": str(day)}
    )
    assert on_day["total"] > 0
    assert {
        datetime.fromisoformat(r["time"]).astimezone(VIETNAM).date() for r in on_day["rows"]
    } == {day}
    later = _timeline(served, limit=1, before=bound, **{"from": "2099-01-01"})
    assert later["total"] == 0 and later["rows"] == []
    for bad in (
        {"from": "yesterday"},
        {"to": "2025-13-01"},
        {"from": "2026-01-02", "to": "2026-01-01"},
        {"actor": "GV 001"},
        {"event": "Score-Recorded"},
    ):
        r = _get(served, "thanhtra", f"/api/v1/schools/{served.home}/timeline", **bad)
        assert r.status_code == 422, (bad, r.text)


# -- anomalies and changes ----------------------------------------------------------------------


def test_anomalies(served: Site) -> None:
    r = _get(served, "thanhtra", f"/api/v1/schools/{served.home}/anomalies", lang="en")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["audit"]["ok"] is True and body["audit"]["problems"] == 0
    found = body["anomalies"]
    # The demo's correction after the term closed is a question worth asking.
    kinds = {a["kind"] for a in found}
    assert "correction_after_close" in kinds
    assert sum(body["counts"].values()) == len(found)
    assert all(a["explanation"] and a["school"] == HOME_CODE for a in found)
    only = _get(
        served,
        "thanhtra",
        f"/api/v1/schools/{served.home}/anomalies",
        kind="correction_after_close",
    ).json()["anomalies"]
    assert only and {a["kind"] for a in only} == {"correction_after_close"}
    assert {a["severity"] for a in only} == {"question"}
    for bad in ({"kind": "bogus"}, {"severity": "minor"}, {"lang": "fr"}):
        r = _get(served, "thanhtra", f"/api/v1/schools/{served.home}/anomalies", **bad)
        assert r.status_code == 422, bad


def test_changes_over_time_count_the_timeline(served: Site) -> None:
    bound = _bound(served)
    total = _timeline(served, limit=1, before=bound)["total"]
    url = f"/api/v1/schools/{served.home}/changes"
    # Changes take no cursor: bound them by time instead (the last row's second).
    last = datetime.fromisoformat(_timeline(served, limit=1, before=bound)["rows"][0]["time"])
    to = last.astimezone(VIETNAM).replace(microsecond=0).isoformat()
    capped = _timeline(served, limit=1, to=to)["total"]
    for bucket in ("day", "week", "month"):
        r = _get(served, "thanhtra", url, bucket=bucket, to=to)
        assert r.status_code == 200, r.text
        body = r.json()
        series = body["series"]
        assert body["bucket"] == bucket and series
        assert sum(p["events"] for p in series) == body["total"] == capped
        assert all(p["entries"] + p["corrections"] <= p["events"] for p in series)
        keys = [p["bucket"] for p in series]
        assert keys == sorted(keys)
        if bucket == "week":
            assert all(date.fromisoformat(k).weekday() == 0 for k in keys)
    assert capped <= total
    entries = _get(served, "thanhtra", url, event="ScoreRecorded", to=to).json()
    assert 0 < entries["total"] < capped
    assert _get(served, "thanhtra", url, bucket="year").status_code == 422


# -- the audit report ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "media"),
    [
        ("json", "application/json"),
        ("csv", "text/csv"),
        ("html", "text/html"),
        ("pdf", "application/pdf"),
    ],
)
def test_the_audit_report_downloads_in_each_format(served: Site, fmt: str, media: str) -> None:
    url = f"/api/v1/schools/{served.home}/audit-report"
    # The PDF takes seconds to lay out: one language is enough for it.
    for lang in ("vi",) if fmt == "pdf" else ("vi", "en"):
        r = _get(served, "thanhtra", url, format=fmt, lang=lang)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].split(";")[0] == media
        disposition = r.headers["content-disposition"]
        assert disposition.startswith("attachment") and f".{fmt}" in disposition
        assert HOME_CODE in disposition
        if fmt == "json":
            report = json.loads(r.content)
            assert report["format"] == "socai-inspection/1"
            assert report["school"] == HOME_CODE and report["audit"]["ok"] is True
        elif fmt == "csv":
            text = r.content.decode("utf-8-sig")
            rows = list(csv.reader(io.StringIO(text)))
            assert rows[0][0] == ("STT nhật ký" if lang == "vi" else "log #")
            # The whole timeline of the school, not only the recent rows.
            positions = [int(row[0]) for row in rows[1:]]
            assert positions == sorted(positions) and len(positions) > 200
            assert {row[4] for row in rows[1:]} == {HOME_CODE}
        elif fmt == "html":
            assert b"<html" in r.content[:500].lower() and HOME_CODE.encode() in r.content
        else:
            assert r.content.startswith(b"%PDF-")


def test_the_audit_reports_other_csv_tables_and_refusals(served: Site) -> None:
    url = f"/api/v1/schools/{served.home}/audit-report"
    r = _get(served, "thanhtra", url, format="csv", table="anomalies", lang="en")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "anomalies" in r.headers["content-disposition"]
    assert len(list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))) >= 2
    for bad in (
        {"format": "xml"},
        {"format": "PDF "},
        {"format": "json", "lang": "fr"},
        {"format": "csv", "table": "secrets"},
    ):
        r = _get(served, "thanhtra", url, **bad)
        assert r.status_code == 422, (bad, r.text)


# -- the read log -------------------------------------------------------------------------------


def test_reads_are_logged_and_listed_by_school(served: Site) -> None:
    record = student_id(STAYED)
    # An inspector reads the record's timeline; the GVCN downloads the transcript.
    assert _get(served, "thanhtra", f"/api/v1/records/{record}/timeline").status_code == 200
    pdf = _get(served, "gv001", f"/api/v1/records/{record}/transcripts/1.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    url = f"/api/v1/schools/{served.home}/reads"
    reads = _get(served, "ht001", url, record=STAYED, limit=500).json()["reads"]
    actions = {(r["username"], r["action"]) for r in reads}
    assert ("thanhtra", "inspect.record_timeline") in actions
    assert ("gv001", "transcript.download") in actions
    assert all(r["object"] == str(record) and r["label"] == STAYED for r in reads)
    stamps = [r["at"] for r in reads]
    assert stamps == sorted(stamps, reverse=True)
    # Narrowed to one account; the school's own reads only.
    mine = _get(served, "thanhtra", url, username="gv001", limit=500).json()["reads"]
    assert mine and {r["username"] for r in mine} == {"gv001"}
    assert _get(served, "thanhtra", url, username="nobody-here").json()["reads"] == []
    # The timeline page read by the inspector is logged with the records it showed.
    page = _timeline(served, limit=3, record=STAYED)
    assert page["rows"]
    again = _get(served, "thanhtra", url, record=STAYED, username="thanhtra", limit=5).json()
    assert "inspect.timeline" in {r["action"] for r in again["reads"]}
    # Another school's record is not in this school's log.
    other = _get(served, "thanhtra201", f"/api/v1/schools/{served.partner}/reads", record=STAYED)
    assert other.status_code == 404
