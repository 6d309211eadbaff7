"""The public verification pages in headless Chromium: upload a học bạ số, read the verdict.

On the browser tests' own demo site (:func:`tests.integration.browser.browser_site`, generous
rate limits; other browser tests issue new transcripts there, so each test picks a file
that is the current issue at that moment). A genuine transcript gets the green verdict, a
tampered copy the red one with its failing check readable once expanded, a file that is not
a PDF a red verdict; the QR landing page says "current" and shows no personal data; the
camera scan (``static/verify.js``) opens the landing page of the code it reads, where the
browser has ``BarcodeDetector`` (faked here: headless Chromium on Linux has none).

Screenshots (``SOCAI_SCREENSHOTS=1``): ``verify-form``, ``verify-green``,
``verify-green-phone``, ``verify-red``, ``verify-qr-landing-phone``.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from pyhanko.pdf_utils.reader import PdfFileReader

from ledger.domain import student_id
from projections.issuance import transcript_id
from tests.integration.browser import PHONE, open_page, shot
from tests.integration.web import Site


def _current_issue(site: Site) -> tuple[Path, str, int]:
    """An issued PDF that is its record's current issue now: (path, student code, number)."""
    with httpx.Client(base_url=site.base, timeout=30) as client:
        for path in sorted((site.data / "out").glob("HS*-*.pdf")):
            code, _, number = path.stem.rpartition("-")
            answer = client.get(f"/api/v1/transcripts/{student_id(code)}")
            assert answer.status_code == 200, answer.text
            sha = hashlib.sha256(path.read_bytes()).hexdigest()
            issues = answer.json()["transcripts"]
            if any(t["sha256"] == sha and not t["superseded"] for t in issues):
                return path, code, int(number)
    raise AssertionError("no current issue among the issued files")


def _tampered(pdf: bytes) -> bytes:
    """One byte of the page's content stream changed: inside every signature's range."""
    start = pdf.index(b"stream", pdf.index(b"/Contents"))
    out = bytearray(pdf)
    out[start + 40] ^= 0x01
    return bytes(out)


def _upload(page: Page, site: Site, name: str, data: bytes) -> None:
    page.goto("/verify")
    page.set_input_files(
        "form.verify-upload input[type=file]",
        files=[{"name": name, "mimeType": "application/pdf", "buffer": data}],
    )
    page.click("form.verify-upload button[type=submit]")
    page.wait_for_selector("section.verdict")


def test_an_issued_transcript_reads_green_on_desktop_and_phone(
    browser: Browser, browser_site: Site
) -> None:
    site = browser_site
    path, code, _ = _current_issue(site)
    with open_page(browser, site) as page:
        page.goto("/verify")
        expect(page.locator("h1")).to_have_text("Xác minh học bạ số")
        # No BarcodeDetector in headless Chromium: the camera part stays hidden.
        expect(page.locator("[data-qr-scan]")).to_be_hidden()
        shot(page, "verify-form")
        page.set_input_files("form.verify-upload input[type=file]", str(path))
        page.click("form.verify-upload button[type=submit]")
        verdict = page.locator("section.verdict")
        expect(verdict).to_have_attribute("data-verdict", "TOTAL-PASSED")
        expect(verdict.locator("h1")).to_have_text("Học bạ hợp lệ")
        expect(page.locator("section.freshness")).to_contain_text("bản hiện hành")
        # Every check passed, and each opens to its detail.
        checks = page.locator("details.check")
        assert checks.count() >= 20
        assert page.locator("details.check-failed, details.check-indeterminate").count() == 0
        first = page.locator("details[data-check='signature.HieuTruong']")
        expect(first.locator(".check-detail")).to_be_hidden()
        first.locator("summary").click()
        expect(first.locator(".check-detail")).to_be_visible()
        expect(first.locator(".check-detail")).to_contain_text("hợp lệ")
        # What the transcript says: its student code and school, from the file itself.
        expect(page.locator("section.claims")).to_contain_text(code)
        page.evaluate("window.scrollTo(0, 0)")
        shot(page, "verify-green", full_page=False)
    with open_page(browser, site, viewport=PHONE) as page:
        _upload(page, site, path.name, path.read_bytes())
        expect(page.locator("section.verdict h1")).to_have_text("Học bạ hợp lệ")
        # Nothing is wider than the phone's screen (tables scroll inside their box).
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], width
        shot(page, "verify-green-phone", full_page=False)


def test_a_tampered_copy_reads_red_with_the_failing_check_expanded(
    browser: Browser, browser_site: Site
) -> None:
    site = browser_site
    path, _, _ = _current_issue(site)
    with open_page(browser, site) as page:
        _upload(page, site, "sua.pdf", _tampered(path.read_bytes()))
        verdict = page.locator("section.verdict")
        expect(verdict).to_have_attribute("data-verdict", "TOTAL-FAILED")
        expect(verdict.locator("h1")).to_have_text("Học bạ KHÔNG hợp lệ")
        expect(verdict).to_contain_text("HASH_FAILURE")
        failed = page.locator("details.check-failed[data-check='signature.GVCN']")
        expect(failed).to_have_count(1)
        detail = failed.locator(".check-detail")
        expect(detail).to_be_hidden()
        failed.locator("summary").click()
        expect(detail).to_be_visible()
        expect(detail).to_contain_text("không khớp")
        shot(page, "verify-red")


def test_a_file_that_is_not_a_pdf_reads_red(browser: Browser, browser_site: Site) -> None:
    with open_page(browser, browser_site) as page:
        page.goto("/verify")
        page.set_input_files(
            "form.verify-upload input[type=file]",
            files=[{"name": "anh.png", "mimeType": "image/png", "buffer": b"\x89PNG\r\n\x1a\n"}],
        )
        page.click("form.verify-upload button[type=submit]")
        verdict = page.locator("section.verdict")
        expect(verdict).to_have_attribute("data-verdict", "TOTAL-FAILED")
        expect(verdict).to_contain_text("không phải tệp PDF")


def test_the_qr_landing_page_on_a_phone_says_current_and_nothing_personal(
    browser: Browser, browser_site: Site
) -> None:
    site = browser_site
    path, code, number = _current_issue(site)
    tid = transcript_id(student_id(code), number)
    with open_page(browser, site, viewport=PHONE) as page:
        page.goto(f"/verify/{tid}")
        expect(page.locator("[data-issue-status]")).to_have_attribute(
            "data-issue-status", "current"
        )
        expect(page.locator("h1")).to_have_text("Bản cấp hiện hành")
        text = page.locator("main").inner_text()
        assert hashlib.sha256(path.read_bytes()).hexdigest() in text
        assert code not in text and str(student_id(code)) not in text
        names = _names(site, code)
        assert names and not any(n in text for n in names), names
        shot(page, "verify-qr-landing-phone")
        # The full check is the same upload form, on this page.
        page.set_input_files("form.verify-upload input[type=file]", str(path))
        page.click("form.verify-upload button[type=submit]")
        expect(page.locator("section.verdict")).to_have_attribute("data-verdict", "TOTAL-PASSED")


def _names(site: Site, code: str) -> list[str]:
    """The student's name and personal number, as the issued file carries them."""
    pdf = sorted((site.data / "out").glob(f"{code}-*.pdf"))[0]
    with pdf.open("rb") as f:
        names = PdfFileReader(f).root["/Names"]["/EmbeddedFiles"]["/Names"]
        for i in range(0, len(names), 2):
            if str(names[i]) == "transcript.json":
                data = json.loads(names[i + 1].get_object()["/EF"]["/F"].get_object().data)
                identity = data["student"]["identity"] or {}
                return [identity["ho_va_ten"], identity["so_dinh_danh_ca_nhan"]]
    return []


#: A stand-in for the BarcodeDetector API and a camera: a canvas stream for the video, and a
#: detector that "reads" the value the test puts in ``window.__qrValue``.
FAKE_CAMERA = """
window.BarcodeDetector = class {
  static async getSupportedFormats() { return ["qr_code"]; }
  constructor(options) { this.options = options; }
  async detect(source) {
    return window.__qrValue ? [{ rawValue: window.__qrValue, format: "qr_code" }] : [];
  }
};
Object.defineProperty(navigator, "mediaDevices", { value: {
  getUserMedia: async () => {
    const canvas = document.createElement("canvas");
    canvas.width = 64; canvas.height = 64;
    canvas.getContext("2d").fillRect(0, 0, 64, 64);
    return canvas.captureStream(5);
  },
}});
"""


@pytest.mark.parametrize("where", ["here", "elsewhere"])
def test_the_camera_scan_opens_the_landing_page_of_this_site_only(
    browser: Browser, browser_site: Site, where: str
) -> None:
    site = browser_site
    _, code, number = _current_issue(site)
    tid = transcript_id(student_id(code), number)
    value = (
        f"{site.base}/verify/{tid}" if where == "here" else f"https://example.invalid/verify/{tid}"
    )
    with open_page(browser, site, viewport=PHONE) as page:
        page.add_init_script(FAKE_CAMERA)
        page.goto("/verify")
        scan = page.locator("[data-qr-scan]")
        expect(scan).to_be_visible()
        page.evaluate("value => { window.__qrValue = value; }", value)
        scan.locator("[data-qr-start]").click()
        if where == "here":
            page.wait_for_url(re.compile(rf"/verify/{tid}$"))
            expect(page.locator("[data-issue-status]")).to_have_attribute(
                "data-issue-status", "current"
            )
        else:
            link = scan.locator("[data-qr-link] a")
            expect(link).to_be_visible()
            expect(link).to_have_attribute("href", value)
            assert page.url.endswith("/verify")
