"""The teacher's pages in headless Chromium: log in, the grade book, entry, refusal, correction.

On the browser tests' own site (:func:`tests.integration.browser.browser_site`); these tests
write term II scores of Ngữ văn in the open class 6A9 (2026-2027), one student each, so they
do not depend on each other or on the principal's tests (which close term I).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from typing import Any
from uuid import UUID

import pyotp
from playwright.sync_api import Browser, Page, expect

from tests.integration.browser import (
    PHONE,
    cookie_client,
    log_in,
    open_page,
    shot,
)
from tests.integration.web import HOME_CODE, OPEN_CLASS, OPEN_YEAR, PASSWORD, Site

# The fixtures, shared by every browser test module of the session (see browser.py).
SUBJECT = "Ngữ văn"
#: Elements reaching past the right edge of the screen, outside a scrolling box (for the
#: failure message of the phone test).
WIDER_THAN_SCREEN = """() => [...document.querySelectorAll("body *")]
  .filter(e => !e.closest(".scroll, nav.pills"))
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
  .map(e => e.tagName + (e.className ? "." + e.className : "") + (e.name ? "[" + e.name + "]" : ""))
  .join(" ")"""
TERM = 2


def code(i: int) -> str:
    """Student code of the open class's ``i``-th student (as web.open_year_in_progress)."""
    return f"HS{HOME_CODE}9{i:03d}"


def book(site: Site) -> str:
    return f"/classes/{site.home}/{OPEN_YEAR}/{OPEN_CLASS}"


def api_entries(page: Page, site: Site, record: UUID) -> list[dict[str, Any]]:
    """The student's Ngữ văn term II entries as the JSON API shows them (the page's session)."""
    with cookie_client(page, site) as client:
        r = client.get(
            f"/api/v1/schools/{site.home}/years/{OPEN_YEAR}/classes/{OPEN_CLASS}/gradebook"
        )
    assert r.status_code == 200, r.text
    student = next(s for s in r.json()["students"] if s["record"] == str(record))
    return [e for e in student["entries"] if e["subject"] == SUBJECT and e["term"] == TERM]


def cell(page: Page, i: int, kind: str = "tx") -> Any:
    return page.locator(f'tr[data-student="{code(i)}"] td[data-cell="{SUBJECT}|{TERM}|{kind}"]')


def enter_one(page: Page, record: UUID, value: str, kind: str = "tx") -> None:
    form = page.locator("#entry form")
    form.locator("select[name=student]").select_option(str(record))
    form.locator("select[name=subject]").select_option(SUBJECT)
    form.locator("select[name=term]").select_option(str(TERM))
    form.locator("select[name=kind]").select_option(kind)
    form.locator("input[name=value]").fill(value)
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()


def test_login_page_refuses_then_lets_the_teacher_in(browser: Browser, browser_site: Site) -> None:
    site = browser_site
    with open_page(browser, site, allow=("401",)) as page:
        page.goto("/")
        expect(page.locator("main")).to_contain_text("Cán bộ, giáo viên: đăng nhập")
        page.goto("/login")
        expect(page.locator("h1")).to_have_text("Đăng nhập")
        shot(page, "login")
        page.fill("input[name=username]", "gv001")
        page.fill("input[name=password]", "không phải mật khẩu")
        page.click("form[action='/login'] button[type=submit]")
        expect(page.locator(".flash.error")).to_have_text(
            "Sai tên đăng nhập, mật khẩu hoặc mã xác thực."
        )
        expect(page.locator("input[name=username]")).to_have_value("gv001")
        assert not [c for c in page.context.cookies() if c["name"] == "socai_session"]

        log_in(page, site, "gv001")
        session = next(c for c in page.context.cookies() if c["name"] == "socai_session")
        assert session["httpOnly"] and session["sameSite"] == "Strict" and session["path"] == "/"
        expect(page.locator("h1")).to_contain_text("Xin chào")
        link = page.locator(f'a[href="{book(site)}"]')
        expect(link).to_contain_text(OPEN_CLASS)
        expect(page.locator("main")).to_contain_text(f"Năm học {OPEN_YEAR}")
        shot(page, "home-teacher")
        link.click()
        expect(page.locator("h1")).to_have_text(f"Sổ điểm lớp {OPEN_CLASS} – năm học {OPEN_YEAR}")


def test_an_account_with_totp_is_asked_for_its_code(browser: Browser, browser_site: Site) -> None:
    """cb001 (the staff officer, used by no other browser test) enrols TOTP first."""
    site = browser_site
    argv = [sys.executable, "-m", "api.cli", "--data", str(site.data)]
    proc = subprocess.run(
        [*argv, "account", "totp", "cb001", "--json"],
        env=site.env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    totp = pyotp.parse_uri(json.loads(proc.stdout)["otpauth"])
    assert isinstance(totp, pyotp.TOTP)
    with open_page(browser, site, allow=("401",)) as page:
        page.goto("/login")
        expect(page.locator("input[name=totp]")).to_have_count(0)
        page.fill("input[name=username]", "cb001")
        page.fill("input[name=password]", PASSWORD)
        page.click("form[action='/login'] button[type=submit]")
        expect(page.locator(".flash.error")).to_have_text(
            "Cần mã xác thực hai lớp: nhập mã 6 chữ số."
        )
        expect(page.locator("input[name=totp]")).to_be_visible()
        page.fill("input[name=password]", PASSWORD)
        page.fill("input[name=totp]", "000000" if totp.now() != "000000" else "111111")
        page.click("form[action='/login'] button[type=submit]")
        expect(page.locator(".flash.error")).to_have_text(
            "Sai tên đăng nhập, mật khẩu hoặc mã xác thực."
        )
        page.fill("input[name=password]", PASSWORD)
        page.fill("input[name=totp]", totp.now())
        page.click("form[action='/login'] button[type=submit]")
        page.wait_for_url(f"{site.base}/")
        expect(page.locator("h1")).to_contain_text("Xin chào")


def test_score_entered_shows_in_the_table_and_the_api(browser: Browser, browser_site: Site) -> None:
    site = browser_site
    record = site.open_students[5]
    with open_page(browser, site) as page:
        log_in(page, site, "gv001")
        page.goto(book(site))
        before = api_entries(page, site, record)
        enter_one(page, record, "7,5")
        expect(page.locator(".flash.ok")).to_have_text("Đã ghi 1 điểm.")
        expect(cell(page, 5)).to_contain_text("7.5")
        after = api_entries(page, site, record)
        new = [e for e in after if e["version"] not in {b["version"] for b in before}]
        assert [(e["kind"], e["value"]) for e in new] == [("tx", "7.5")]
        shot(page, "gradebook")


def test_out_of_range_score_is_refused_in_vietnamese_and_nothing_is_written(
    browser: Browser, browser_site: Site
) -> None:
    site = browser_site
    record = site.open_students[4]
    with open_page(browser, site, allow=("422",)) as page:
        log_in(page, site, "gv001")
        page.goto(book(site))
        before = api_entries(page, site, record)
        enter_one(page, record, "11")
        expect(page.locator("#entry .flash.error")).to_have_text("Điểm phải từ 0 đến 10.")
        form = page.locator("#entry form")
        # The form keeps what was typed, so the teacher fixes the one wrong box.
        expect(form.locator("input[name=value]")).to_have_value("11")
        expect(form.locator("select[name=student]")).to_have_value(str(record))
        expect(form.locator("select[name=kind]")).to_have_value("tx")
        expect(form.locator("input[name=value]")).to_have_attribute("aria-invalid", "true")
        shot(page, "gradebook-refused")
        enter_one(page, record, "8,25")
        expect(page.locator("#entry .flash.error")).to_contain_text("một chữ số thập phân")
        assert api_entries(page, site, record) == before
        expect(cell(page, 4)).to_have_text("")


def test_column_save_and_correction(browser: Browser, browser_site: Site) -> None:
    site = browser_site
    first, second = site.open_students[2], site.open_students[3]
    with open_page(browser, site, allow=("422",)) as page:
        log_in(page, site, "gv001")
        page.goto(book(site))
        column = page.locator("#column form")
        column.locator("select[name=subject]").select_option(SUBJECT)
        column.locator("select[name=term]").select_option(str(TERM))
        column.locator("select[name=kind]").select_option("gk")
        column.locator(f'input[name="value-{first}"]').fill("6")
        column.locator(f'input[name="value-{second}"]').fill("-1")
        column.locator("button[type=submit]").click()
        # One wrong box: nothing of the column is written, the boxes keep their values.
        expect(page.locator("#column .flash.error")).to_have_text("Điểm phải từ 0 đến 10.")
        expect(column.locator(f'input[name="value-{first}"]')).to_have_value("6")
        assert api_entries(page, site, first) == []
        column.locator(f'input[name="value-{second}"]').fill("9")
        column.locator("button[type=submit]").click()
        expect(page.locator(".flash.ok")).to_have_text("Đã ghi 2 điểm.")
        expect(cell(page, 2, "gk")).to_have_text("6")
        expect(cell(page, 3, "gk")).to_have_text("9")

        # Correct the first one: the term is open, so it takes effect now.
        (entry,) = api_entries(page, site, first)
        expect(page.locator("#correct")).to_contain_text("đề nghị đính chính")
        correct = page.locator("#correct form")
        correct.locator("select[name=entry]").select_option(f"{first}:{entry['version']}")
        correct.locator("input[name=value]").fill("6,5")
        correct.locator("input[name=reason]").fill("Chấm sót câu 3")
        correct.locator("button[type=submit]").click()
        expect(page.locator(".flash.ok")).to_have_text("Đã sửa điểm.")
        expect(cell(page, 2, "gk").locator("del")).to_have_text("6")
        expect(cell(page, 2, "gk").locator("ins")).to_have_text("6.5")
        (fixed,) = api_entries(page, site, first)
        assert (fixed["original"], fixed["value"]) == ("6.0", "6.5")
        assert fixed["correction_reason"] == "Chấm sót câu 3"


def test_grade_book_on_a_phone(browser: Browser, browser_site: Site) -> None:
    site = browser_site
    with open_page(browser, site, viewport=PHONE) as page:
        log_in(page, site, "gv001")
        page.goto(book(site))
        expect(page.locator("h1")).to_contain_text(OPEN_CLASS)
        # The page itself never scrolls sideways; the table does, inside its box.
        wide = page.evaluate(WIDER_THAN_SCREEN)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], wide
        box = page.locator(".scroll").first
        assert box.evaluate("e => e.scrollWidth > e.clientWidth")
        # The entry form stacks: one field under the other, each as wide as the form.
        form = page.locator("#entry form")
        student = form.locator("select[name=student]").bounding_box()
        value = form.locator("input[name=value]").bounding_box()
        assert student is not None and value is not None
        assert abs(student["x"] - value["x"]) < 2 and value["y"] > student["y"]
        assert student["width"] > PHONE["width"] * 0.7
        shot(page, "gradebook-phone")


def test_english_and_log_out(browser: Browser, browser_site: Site) -> None:
    site = browser_site
    with open_page(browser, site) as page:
        log_in(page, site, "gv001")
        page.goto(book(site) + "?lang=en")
        expect(page.locator("h1")).to_have_text(f"Grade book {OPEN_CLASS}, {OPEN_YEAR}")
        page.goto("/")  # remembered in the cookie
        expect(page.locator("h1")).to_contain_text("Welcome")
        page.click("a[hreflang=vi]")
        expect(page.locator("h1")).to_contain_text("Xin chào")
        page.click("form.logout button")
        page.wait_for_url(f"{site.base}/login")
        expect(page.locator(".flash.ok")).to_have_text("Bạn đã đăng xuất.")
        page.goto(book(site))
        page.wait_for_url(re.compile(r".*/login\?next=.+"))
        expect(page.locator("h1")).to_have_text("Đăng nhập")
