"""The principal's pages in headless Chromium: close a term, approve a correction, bulk-issue.

On the browser tests' own site (:func:`tests.integration.browser.browser_site`). Closing a
term needs every required entry of every student (``ledger.results.missing_for_term``: the
ĐĐGtx count of each subject's periods, one ĐĐGgk, one ĐĐGck, comment subjects alike), so
the tests fill term I of the open class through the JSON API first, as the subject
teachers (GV001: Toán, Ngữ văn; GV003: the rest), and only then close it on the page.
Bulk issuance needs records whose issued transcript is no longer current: the GVCN of
2025-2026's 6A1 (GV001) writes a remark on two of its students through the API, and the
principal's job issues exactly those two again.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
from playwright.sync_api import Browser, Page, expect

from tests.integration.browser import (
    cookie_client,
    log_in,
    open_page,
    shot,
)
from tests.integration.web import OPEN_CLASS, OPEN_YEAR, Site

# The fixtures, shared by every browser test module of the session (see browser.py).
DONE_YEAR = "2025-2026"
DONE_CLASS = "6A1"
#: The entry the correction test changes: student 0's Toán ĐĐGgk of term I, recorded as 7.
CORRECTED = ("Toán", "gk", "7")


def api(site: Site, username: str) -> httpx.Client:
    return site.client(username)


def gradebook(
    client: httpx.Client, site: Site, year: str = OPEN_YEAR, cls: str = OPEN_CLASS
) -> Any:
    r = client.get(f"/api/v1/schools/{site.home}/years/{year}/classes/{cls}/gradebook")
    assert r.status_code == 200, r.text
    return r.json()


def fill_term_one(site: Site) -> None:
    """Every entry term I of the open class still needs, as its subjects' teachers."""
    for teacher in ("gv001", "gv003"):
        with api(site, teacher) as client:
            book = gradebook(client, site)
            scores, comments = [], []
            for subject in book["subjects"]:
                if not subject["writable"]:
                    continue
                for student in book["students"]:
                    have = [
                        e
                        for e in student["entries"]
                        if e["subject"] == subject["subject"] and e["term"] == 1
                    ]
                    for kind, need in subject["required"].items():
                        for _ in range(need - len([e for e in have if e["kind"] == kind])):
                            entry = {
                                "record": student["record"],
                                "subject": subject["subject"],
                                "term": 1,
                                "kind": kind,
                            }
                            if subject["assessed"] == "comment":
                                comments.append({**entry, "value": "Đạt"})
                            else:
                                first = student["record"] == str(site.open_students[0])
                                value = (
                                    CORRECTED[2]
                                    if first and (subject["subject"], kind) == CORRECTED[:2]
                                    else "8"
                                )
                                scores.append({**entry, "value": value})
            for path, entries in (("/api/v1/scores", scores), ("/api/v1/comments", comments)):
                if entries:
                    r = client.post(path, json={"entries": entries})
                    assert r.status_code == 200, r.text


def closed_terms(site: Site) -> list[int]:
    with api(site, "ht001") as client:
        return list(gradebook(client, site)["closed_terms"])


def term_one_closed(site: Site) -> None:
    """Term I of the open class closed (filled and closed through the API when needed)."""
    if 1 in closed_terms(site):
        return
    fill_term_one(site)
    with api(site, "ht001") as client:
        r = client.post(
            f"/api/v1/schools/{site.home}/years/{OPEN_YEAR}/classes/{OPEN_CLASS}/terms/1/close"
        )
        assert r.status_code == 200, r.text


def close_on_page(page: Page, cls: str, term: int) -> None:
    form = page.locator("#close form")
    form.locator("select[name=class]").select_option(cls)
    form.locator("select[name=term]").select_option(str(term))
    form.locator("button[type=submit]").click()
    confirm = page.locator("#confirm")
    expect(confirm).to_contain_text(
        f"Xác nhận khóa sổ học kỳ {term} lớp {cls} năm học {OPEN_YEAR}?"
    )
    confirm.locator("button[type=submit]").click()
    page.wait_for_load_state()


def test_close_term_is_refused_until_every_score_then_closes(
    browser: Browser, browser_site: Site
) -> None:
    site = browser_site
    assert 1 not in closed_terms(site)
    with open_page(browser, site, allow=("422", "409")) as page:
        log_in(page, site, "ht001")
        expect(page.locator("a[href='/principal']").first).to_be_visible()
        shot(page, "home-principal")
        page.goto("/principal")
        expect(page.locator("h1")).to_have_text("Trang Hiệu trưởng")
        close_on_page(page, OPEN_CLASS, 1)
        error = page.locator("#close .flash.error")
        expect(error).to_contain_text("Chưa đủ điểm để khóa sổ")
        expect(error).to_contain_text("HK1: thiếu ĐĐGgk")
        assert 1 not in closed_terms(site)

        fill_term_one(site)
        page.goto("/principal")
        shot(page, "principal")
        close_on_page(page, OPEN_CLASS, 1)
        expect(page.locator(".flash.ok")).to_have_text(f"Đã khóa sổ học kỳ 1 lớp {OPEN_CLASS}.")
        expect(page.locator(f'#classes tr[data-class="{OPEN_CLASS}"]')).to_contain_text("HK1")
        assert closed_terms(site) == [1]
        # The averages of the closed term: Toán of student 0 has ĐĐGgk 7, the rest 8:
        # (4 × 8 + 2 × 7 + 3 × 8) / 9 = 7.78 → 7.8 (TT 22/2021 Điều 9 k.1).
        page.goto(f"/classes/{site.home}/{OPEN_YEAR}/{OPEN_CLASS}?view=summary")
        first = page.locator("table.summary tbody tr").first
        expect(first).to_contain_text("7.8")
        expect(page.locator("table.summary tbody tr").nth(1)).not_to_contain_text("7.8")
        # Closing it again is refused, in Vietnamese.
        page.goto("/principal")
        close_on_page(page, OPEN_CLASS, 1)
        expect(page.locator("#close .flash.error")).to_have_text(
            "Việc này đã được thực hiện trước đó."
        )


def test_correction_after_close_is_a_proposal_the_principal_approves(
    browser: Browser, browser_site: Site
) -> None:
    site = browser_site
    term_one_closed(site)
    record = site.open_students[0]
    subject, kind, old = CORRECTED
    with open_page(browser, site) as teacher:
        log_in(teacher, site, "gv001")
        teacher.goto(f"/classes/{site.home}/{OPEN_YEAR}/{OPEN_CLASS}?subject={subject}")
        with cookie_client(teacher, site) as client:
            student = next(
                s for s in gradebook(client, site)["students"] if s["record"] == str(record)
            )
        entry = next(
            e
            for e in student["entries"]
            if (e["subject"], e["kind"], e["term"]) == (subject, kind, 1)
        )
        form = teacher.locator("#correct form")
        option = form.locator(f'option[value="{record}:{entry["version"]}"]')
        expect(option).to_contain_text("đã khóa sổ")
        form.locator("select[name=entry]").select_option(f"{record}:{entry['version']}")
        form.locator("input[name=value]").fill("7,5")
        form.locator("input[name=reason]").fill("Phúc khảo: cộng sót 0,5 điểm câu 4")
        form.locator("button[type=submit]").click()
        expect(teacher.locator(".flash.ok")).to_have_text(
            "Học kỳ đã khóa sổ: đề nghị đính chính đã được gửi Hiệu trưởng phê duyệt."
        )
        cell = teacher.locator(
            f'tr[data-student="{student["student_code"]}"] td[data-cell="{subject}|1|{kind}"]'
        )
        expect(cell).to_have_text(old)  # nothing changes before the principal approves

    with open_page(browser, site) as page:
        log_in(page, site, "ht001")
        page.goto("/principal")
        row = page.locator("#proposals tr", has_text="Phúc khảo: cộng sót 0,5 điểm câu 4")
        expect(row).to_contain_text(student["student_code"])
        expect(row).to_contain_text("7.5")
        shot(page, "principal-proposal")
        row.locator("button[type=submit]").click()
        expect(page.locator(".flash.ok")).to_have_text("Đã phê duyệt đính chính.")
        expect(page.locator("#proposals")).to_contain_text("Không có đề nghị nào.")
        with cookie_client(page, site) as client:
            again = next(
                s for s in gradebook(client, site)["students"] if s["record"] == str(record)
            )
        fixed = next(e for e in again["entries"] if e["version"] == entry["version"])
        assert (fixed["original"], fixed["value"]) == ("7.0", "7.5")
        assert fixed["approved_by"] is not None

        # The record shows the original struck through, and who signed what.
        page.goto(f"/records/{record}")
        expect(page.locator("h1")).to_have_text(f"Học bạ {student['student_code']}")
        scores = page.locator(f'article[data-year="{OPEN_YEAR}"]')
        expect(scores.locator("del.was").first).to_have_text("7")
        expect(scores.locator("ins.corrected").first).to_have_text("7.5")
        history = page.locator("#history")
        approved = history.locator("tr", has_text="CorrectionApproved")
        expect(approved).to_contain_text("Trần Thị Hương")
        expect(history.locator("tr", has_text="CorrectionProposed")).to_contain_text(
            "Nguyễn Văn An"
        )
        shot(page, "record")


def test_bulk_issuance_runs_and_the_pdf_downloads(browser: Browser, browser_site: Site) -> None:
    site = browser_site
    with api(site, "gv001") as gvcn:
        book = gradebook(gvcn, site, DONE_YEAR, DONE_CLASS)
        changed = [UUID(s["record"]) for s in book["students"][:2]]
        for record in changed:
            r = gvcn.post(
                f"/api/v1/records/{record}/homeroom-remark",
                json={"text": "Em chăm ngoan, tiến bộ rõ trong học kỳ II."},
            )
            assert r.status_code == 200, r.text
    codes = {s["record"]: s["student_code"] for s in book["students"]}

    with open_page(browser, site) as page:
        log_in(page, site, "ht001")
        page.goto(f"/principal?year={DONE_YEAR}")
        form = page.locator("#issue form")
        form.locator("select[name=class]").select_option(DONE_CLASS)
        form.locator("button[type=submit]").click()
        page.wait_for_url(re.compile(r".*/issuance/[0-9a-f-]{36}$"))
        expect(page.locator("h1")).to_have_text("Tiến độ cấp học bạ")
        shot(page, "issuance-progress")
        # app.js polls the job and loads the final page when it ends.
        expect(page.locator(".state")).to_have_text("Hoàn tất", timeout=180_000)
        rows = page.locator("#issued tr[data-issued]")
        expect(rows).to_have_count(len(changed))
        assert sorted(rows.evaluate_all("rs => rs.map(r => r.dataset.issued)")) == sorted(
            codes[str(r)] for r in changed
        )
        expect(page.locator(".progress-card")).to_contain_text(f"Đã cấp mới: {len(changed)}")
        shot(page, "issuance-done")

        link = rows.first.locator("a[download]")
        href = link.get_attribute("href")
        assert href is not None
        record = href.split("/")[4]
        with page.expect_download() as info:
            link.click()
        content = Path(info.value.path()).read_bytes()
        assert content.startswith(b"%PDF-")
        with cookie_client(page, site) as client:
            r = client.get(f"/api/v1/records/{record}/transcripts")
        assert r.status_code == 200, r.text
        issued = r.json()["transcripts"]
        newest = issued[-1]
        assert newest["number"] == 2 and href.endswith(f"/transcripts/{newest['number']}.pdf")
        assert hashlib.sha256(content).hexdigest() == newest["sha256"]
        assert issued[0]["superseded"] and newest["current"]
