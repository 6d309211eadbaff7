"""The inspector's pages in headless Chromium, and who may open them.

``thanhtra`` (inspector of the home school) logs in, opens the school's page: the chart of
changes is an ``<svg>`` with bars whose counts add up to the school's events, the timeline
filters by event type (every row shown is of a chosen type, and a correction is among
them), a record's page shows each event's signer, certificate and authority verdict, and
the audit report downloads as a PDF. The partner school's page is a 404 for them; a teacher
of the school gets a 403, a principal the page, and no session goes to the log-in page.

On the browser tests' own site (generous log-in limits). Screenshots
(``SOCAI_SCREENSHOTS=1``): ``inspect-school``, ``inspect-school-phone``, ``inspect-record``.
"""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Browser, expect

from api.demo import PARTNER_CODE
from tests.integration.browser import PHONE, log_in, open_page, shot
from tests.integration.web import HOME_CODE, Site

#: Event types of the filter: corrections the demo makes (direct, and proposed + approved).
CORRECTIONS = ["ScoreCorrected", "CorrectionProposed", "CorrectionApproved"]


def test_the_inspector_reads_the_school_filters_and_downloads_the_report(
    browser: Browser, browser_site: Site
) -> None:
    site = browser_site
    with open_page(browser, site) as page:
        log_in(page, site, "thanhtra")
        page.goto(f"/inspect/{site.home}")
        expect(page.locator("h1")).to_contain_text(HOME_CODE)
        # The chart: bars, labelled for screen readers, adding up to the events counted.
        chart = page.locator("svg.chart-wide")
        expect(chart).to_be_visible()
        expect(chart).to_have_attribute("role", "img")
        bars = chart.locator("rect.chart-bar")
        assert bars.count() >= 1
        counts = [
            int(m.group(1))
            for title in chart.locator("rect.chart-bar title").all_text_contents()
            if (m := re.search(r": (\d+)$", title))
        ]
        total = int(page.locator("[data-timeline-total]").get_attribute("data-timeline-total") or 0)
        assert total > 0 and sum(counts) == total
        assert any(float(b.get_attribute("height") or 0) > 0 for b in bars.all())
        shot(page, "inspect-school", full_page=False)

        # Filter by event type: only corrections are left, and the demo made some.
        page.select_option("select[name=event]", CORRECTIONS)
        page.click("form.filters button[type=submit]")
        page.wait_for_url(re.compile(r"event=ScoreCorrected"))
        rows = page.locator("table.timeline-table tbody tr")
        assert rows.count() >= 2
        events = {r.get_attribute("data-event") for r in rows.all()}
        assert events <= set(CORRECTIONS) and "CorrectionApproved" in events
        filtered = int(
            page.locator("[data-timeline-total]").get_attribute("data-timeline-total") or 0
        )
        assert filtered == rows.count() < total
        # The form keeps the choice.
        chosen = page.eval_on_selector(
            "select[name=event]", "s => [...s.selectedOptions].map(o => o.value)"
        )
        assert sorted(chosen) == sorted(CORRECTIONS)

        # The audit report, as a PDF.
        with page.expect_download() as download:
            page.click("a[data-report=pdf]")
        pdf = download.value
        assert pdf.suggested_filename.endswith(".pdf")
        with open(pdf.path(), "rb") as f:
            body = f.read()
        assert body.startswith(b"%PDF-") and len(body) > 10_000

        # A record's own page: who signed each event, with which certificate, on what authority.
        page.locator("table.timeline-table a").first.click()
        page.wait_for_url(re.compile(r"/inspect/records/[0-9a-f-]{36}"))
        expect(page.locator("[data-audit]")).to_have_attribute("data-audit", "ok")
        first = page.locator("table.record-table tbody tr").first
        expect(first).to_have_attribute("data-version", "1")
        expect(first.locator("td").nth(5)).to_contain_text(re.compile(r"[0-9a-f]{16}…"))
        expect(first.locator("td").nth(6)).to_contain_text("đã kiểm tra")
        shot(page, "inspect-record", full_page=False)


def test_the_school_page_fits_a_phone(browser: Browser, browser_site: Site) -> None:
    site = browser_site
    with open_page(browser, site, viewport=PHONE) as page:
        log_in(page, site, "thanhtra")
        page.goto(f"/inspect/{HOME_CODE}")
        expect(page.locator("svg.chart-narrow")).to_be_visible()
        expect(page.locator("svg.chart-wide")).to_be_hidden()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], width
        shot(page, "inspect-school-phone", full_page=False)


def test_another_school_is_not_found_for_the_inspector(
    browser: Browser, browser_site: Site
) -> None:
    site = browser_site
    with open_page(browser, site, allow=("404",)) as page:
        log_in(page, site, "thanhtra")
        answer = page.goto(f"/inspect/{site.partner}")
        assert answer is not None and answer.status == 404
        expect(page.locator("main")).to_contain_text("Không tìm thấy")
        assert PARTNER_CODE not in page.locator("main").inner_text()


def _cookie_client(site: Site, username: str) -> httpx.Client:
    token = site.login(username)["token"]
    return httpx.Client(base_url=site.base, cookies={"socai_session": token}, timeout=120)


def test_who_may_open_the_inspector_pages(browser_site: Site) -> None:
    site = browser_site
    anonymous = httpx.get(f"{site.base}/inspect/{site.home}", timeout=30)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/login?next=")
    with _cookie_client(site, "gv001") as teacher:
        assert teacher.get(f"/inspect/{site.home}").status_code == 403
        assert teacher.get(f"/inspect/{site.home}/report?format=json").status_code == 403
    with _cookie_client(site, "ht001") as principal:
        page = principal.get(f"/inspect/{site.home}")
        assert page.status_code == 200 and "svg" in page.text
        assert principal.get(f"/inspect/{site.partner}").status_code == 404
    with _cookie_client(site, "thanhtra") as inspector:
        bad = inspector.get(f"/inspect/{site.home}", params={"from": "hôm qua"})
        assert bad.status_code == 200 and "Bộ lọc không hợp lệ" in bad.text
        report = inspector.get(f"/inspect/{site.home}/report", params={"format": "csv"})
        assert report.status_code == 200 and report.headers["content-type"].startswith("text/csv")
        wrong = inspector.get(f"/inspect/{site.home}/report", params={"format": "docx"})
        assert wrong.status_code == 422
        assert inspector.get("/inspect/records/not-a-uuid").status_code == 404
