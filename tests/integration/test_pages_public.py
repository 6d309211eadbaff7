"""The public verification pages over HTTP: ``/verify`` (upload → verdict) and ``/verify/{tid}``.

A small demo of this module's own (3 students, every transcript issued once), served by a
real ``socai serve`` on loopback with a 2 MB upload limit. The verdict page is checked
against an independent verification of the same file (:func:`projections.verify.verify_pdf`
in this process): the same verdict and every check of its report on the page. The QR landing
page must show the issue's status, school, year, number and PDF hash, and nothing personal.
One student's transcript is superseded (a correction approved by the principal, then a new
issue) to see both pages say so. Hostile input gets a red verdict or a 4xx, never a 5xx.
On PostgreSQL (the shared ``pg_site``), the landing page and a verdict once more: the
transcript-id index (:mod:`projections.issued_index`) is a view on both engines.
"""

from __future__ import annotations

import hashlib
import html
import io
import json
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from uuid import uuid4

import httpx
import pytest
from pyhanko.pdf_utils.reader import PdfFileReader

from api.cli import main
from bench.serve import free_port, serving
from ledger.application import Settings
from ledger.domain import student_id
from projections.issuance import transcript_id
from projections.issued_index import find_issue
from projections.runner import ViewRunner
from projections.verify import trust_from_data_dir, verify_pdf
from tests.integration.web import Site, supersede

PASS = "trang xác minh công khai"
PASSWORD = "mật-khẩu-trang-xác-minh"
LIMIT = 2 * 1024 * 1024
#: The student whose transcript this module supersedes (the others stay current).
SUPERSEDED = "HS790007010002"
CURRENT = "HS790007010001"


@dataclass
class Served:
    data: Path
    base: str


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    data = tmp_path_factory.mktemp("pages-public") / "data"
    port = free_port()
    old = {k: os.environ.get(k) for k in ("SOCAI_KEY_PASSPHRASE", "SOCAI_DEMO_PASSWORD")}
    os.environ["SOCAI_KEY_PASSPHRASE"] = PASS
    os.environ["SOCAI_DEMO_PASSWORD"] = PASSWORD
    os.environ.pop("SOCAI_DATABASE_URL", None)
    try:
        assert main(["--data", str(data), "init", "--public-url", f"http://127.0.0.1:{port}"]) == 0
        assert main(["--data", str(data), "demo", "--students", "3", "--jobs", "1"]) == 0
        conf = json.loads((data / "socai.json").read_text("utf-8"))
        conf["verify_upload_limit"] = LIMIT
        (data / "socai.json").write_text(json.dumps(conf), "utf-8")
        with serving(data, port, {"SOCAI_KEY_PASSPHRASE": PASS}) as base:
            yield Served(data, base)
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _text(page: str) -> str:
    """The page's visible text, one space between words."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def _pdf(data: Path, code: str, number: int = 1) -> bytes:
    return (data / "out" / f"{code}-{number}.pdf").read_bytes()


def _upload(base: str, pdf: bytes, **params: str) -> httpx.Response:
    return httpx.post(
        f"{base}/verify",
        params=params,
        files={"file": ("hoc-ba.pdf", pdf, "application/pdf")},
        timeout=120,
    )


def _claims(pdf: bytes) -> dict[str, object]:
    """transcript.json of an issued PDF, read here with pyHanko (not by the page's code)."""
    reader = PdfFileReader(io.BytesIO(pdf))
    names = reader.root["/Names"]["/EmbeddedFiles"]["/Names"]
    for i in range(0, len(names), 2):
        if str(names[i]) == "transcript.json":
            found = json.loads(names[i + 1].get_object()["/EF"]["/F"].get_object().data)
            assert isinstance(found, dict)
            return found
    raise AssertionError("no transcript.json")


def _flip_in_first_signed_range(pdf: bytes) -> bytes:
    """The PDF with one byte of the page content changed (inside every signature's range)."""
    start = pdf.index(b"stream", pdf.index(b"/Contents"))  # the page's content stream
    tampered = bytearray(pdf)
    tampered[start + 40] ^= 0x01
    return bytes(tampered)


def _checks(page: str) -> dict[str, str]:
    """check name -> status, as the verdict page lists them."""
    return dict(re.findall(r'data-check="([^"]+)" data-status="([^"]+)"', page))


# -- the form ---------------------------------------------------------------------------------


def test_the_form_is_a_plain_upload_with_no_inline_script(served: Served) -> None:
    r = httpx.get(f"{served.base}/verify", timeout=30)
    assert r.status_code == 200
    assert 'enctype="multipart/form-data"' in r.text and 'name="file"' in r.text
    assert 'action="/verify"' in r.text and 'method="post"' in r.text
    # Scripts only from files (the CSP forbids inline ones); no style attributes.
    assert re.findall(r"<script(?![^>]*\bsrc=)", r.text) == []
    assert " style=" not in r.text
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["permissions-policy"].startswith("camera=(self)")
    js = httpx.get(f"{served.base}/static/verify.js", timeout=30)
    assert js.status_code == 200 and "BarcodeDetector" in js.text
    english = httpx.get(f"{served.base}/verify?lang=en", timeout=30)
    assert "Verify a digital transcript" in english.text


# -- verdicts ---------------------------------------------------------------------------------


def test_an_issued_transcript_gets_the_green_verdict_with_every_check(served: Served) -> None:
    pdf = _pdf(served.data, CURRENT)
    r = _upload(served.base, pdf)
    assert r.status_code == 200, r.text[:500]
    assert 'data-verdict="TOTAL-PASSED"' in r.text
    text = _text(r.text)
    assert "Học bạ hợp lệ" in text
    # The same checks as a verification made here, plus the online ones (this server issued it).
    independent = verify_pdf(pdf, trust_from_data_dir(served.data))
    assert independent.status == "TOTAL-PASSED"
    shown = _checks(r.text)
    assert set(shown) == {c.name for c in independent.checks} | {
        "online.status",
        "online.checkpoint",
    }
    assert set(shown.values()) == {"TOTAL-PASSED"}
    assert "bản hiện hành" in text
    # What the transcript says: the name and birth date from its own data, not more.
    claims = _claims(pdf)
    student = claims["student"]
    assert isinstance(student, dict)
    identity = student["identity"]
    assert identity["ho_va_ten"] in text
    assert identity["so_dinh_danh_ca_nhan"] not in text
    assert identity["ho_ten_me"] not in text
    assert hashlib.sha256(pdf).hexdigest() in text


def test_the_verdict_page_speaks_english_on_request(served: Served) -> None:
    r = _upload(served.base, _pdf(served.data, CURRENT), lang="en")
    assert r.status_code == 200
    text = _text(r.text)
    assert "Valid transcript" in text and "the current issue" in text


def test_a_tampered_transcript_is_red_and_names_the_failing_checks(served: Served) -> None:
    pdf = _flip_in_first_signed_range(_pdf(served.data, CURRENT))
    r = _upload(served.base, pdf)
    assert r.status_code == 200
    assert 'data-verdict="TOTAL-FAILED"' in r.text
    text = _text(r.text)
    assert "Học bạ KHÔNG hợp lệ" in text
    shown = _checks(r.text)
    failed = {name for name, status in shown.items() if status == "TOTAL-FAILED"}
    independent = verify_pdf(pdf, trust_from_data_dir(served.data))
    assert failed >= {c.name for c in independent.checks if c.status == "TOTAL-FAILED"}
    assert "signature.GVCN" in failed
    # The file's SHA-256 is not an issue the ledger knows.
    assert shown.get("online.status") == "TOTAL-FAILED"
    # Its claims are shown, marked as unverified.
    assert "CHƯA được xác minh" in text


@pytest.mark.parametrize(
    "body",
    [b"", b"not a pdf at all", b"%PDF-1.7\n garbage", b"\x00" * 5000],
    ids=["empty", "text", "broken-pdf", "zeros"],
)
def test_hostile_or_empty_files_are_refused_or_red_never_a_server_error(
    served: Served, body: bytes
) -> None:
    r = _upload(served.base, body)
    if body:
        assert r.status_code == 200
        assert 'data-verdict="TOTAL-FAILED"' in r.text
        assert "Học bạ KHÔNG hợp lệ" in _text(r.text)
    else:
        assert r.status_code == 422
        assert "Chưa chọn tệp" in _text(r.text)


def test_requests_that_are_not_form_uploads_get_a_clear_4xx(served: Served) -> None:
    base = served.base
    raw = httpx.post(
        f"{base}/verify", content=b"%PDF", headers={"Content-Type": "application/pdf"}, timeout=30
    )
    assert raw.status_code == 400 and "chọn tệp PDF" in _text(raw.text)
    broken = httpx.post(
        f"{base}/verify",
        content=b"--x\r\nContent-Disposition: form-data",
        headers={"Content-Type": "multipart/form-data; boundary=x"},
        timeout=30,
    )
    assert 400 <= broken.status_code < 500
    other = httpx.post(f"{base}/verify", files={"other": ("a.pdf", b"%PDF")}, timeout=30)
    assert other.status_code == 422
    big = httpx.post(
        f"{base}/verify",
        files={"file": ("big.pdf", b"%PDF" + b"0" * (LIMIT + 100_000), "application/pdf")},
        timeout=60,
    )
    assert big.status_code == 413


def test_a_logged_in_upload_without_the_token_is_still_verified(served: Served) -> None:
    """The form changes nothing: a session without its CSRF token is ignored, not refused."""
    login = httpx.post(
        f"{served.base}/api/v1/auth/login",
        json={"username": "gv001", "password": PASSWORD},
        timeout=30,
    )
    assert login.status_code == 200, login.text
    token = login.json()["token"]
    r = httpx.post(
        f"{served.base}/verify",
        files={"file": ("hb.pdf", _pdf(served.data, CURRENT), "application/pdf")},
        cookies={"socai_session": token},
        timeout=120,
    )
    assert r.status_code == 200 and 'data-verdict="TOTAL-PASSED"' in r.text


# -- the QR landing page ----------------------------------------------------------------------


def test_the_qr_landing_page_shows_the_issue_and_nothing_personal(served: Served) -> None:
    pdf = _pdf(served.data, CURRENT)
    claims = _claims(pdf)
    tid = transcript_id(student_id(CURRENT), 1)
    assert claims["verify_url"] == f"{served.base}/verify/{tid}"
    r = httpx.get(f"{served.base}/verify/{tid}", timeout=30)
    assert r.status_code == 200
    assert 'data-issue-status="current"' in r.text
    text = _text(r.text)
    school = claims["school"]
    assert isinstance(school, dict)
    assert school["name"] in text and "2025-2026" in text
    assert hashlib.sha256(pdf).hexdigest() in text
    assert 'action="/verify"' in r.text  # the full check is one upload away
    student = claims["student"]
    assert isinstance(student, dict)
    identity = student["identity"]
    for personal in (
        CURRENT,
        str(student_id(CURRENT)),
        identity["ho_va_ten"],
        identity["ngay_sinh"],
        identity["so_dinh_danh_ca_nhan"],
    ):
        assert personal not in r.text, personal


def test_unknown_or_malformed_transcript_ids_are_404_pages(served: Served) -> None:
    for tid in (str(uuid4()), "not-a-uuid", "0" * 300):
        r = httpx.get(f"{served.base}/verify/{tid}", timeout=30)
        assert r.status_code == 404, tid
        assert "Không tìm thấy học bạ" in _text(r.text)


def test_the_index_finds_every_issue_and_nothing_else(served: Served) -> None:
    settings = Settings(served.data)
    with ViewRunner(settings) as runner:
        for pdf in sorted((served.data / "out").glob("*-1.pdf")):
            code = pdf.name.split("-")[0]
            found = find_issue(runner, transcript_id(student_id(code), 1))
            assert found is not None and found.record == student_id(code)
            assert found.number == 1 and found.school_year == "2025-2026"
        assert find_issue(runner, transcript_id(student_id(CURRENT), 2)) is None
        assert find_issue(runner, str(uuid4())) is None


# -- a superseded issue -----------------------------------------------------------------------


def test_a_superseded_issue_says_so_on_both_pages(served: Served) -> None:
    base = served.base
    first_tid = transcript_id(student_id(SUPERSEDED), 1)
    before = httpx.get(f"{base}/verify/{first_tid}", timeout=30)
    assert 'data-issue-status="current"' in before.text
    supersede(served.data, SUPERSEDED)
    after = httpx.get(f"{base}/verify/{first_tid}", timeout=30)
    assert after.status_code == 200
    assert 'data-issue-status="superseded"' in after.text
    assert "Bản cấp đã bị thay thế" in _text(after.text)
    second_tid = transcript_id(student_id(SUPERSEDED), 2)
    current = httpx.get(f"{base}/verify/{second_tid}", timeout=30)
    assert 'data-issue-status="current"' in current.text
    # The old file is still genuine offline, but no longer the current issue: red, REVOKED.
    stale = _upload(base, _pdf(served.data, SUPERSEDED, 1))
    assert 'data-verdict="TOTAL-FAILED"' in stale.text
    assert _checks(stale.text)["online.status"] == "TOTAL-FAILED"
    assert "REVOKED" in stale.text and "đã bị thay thế bởi bản cấp lần 2" in _text(stale.text)
    fresh = _upload(base, _pdf(served.data, SUPERSEDED, 2))
    assert 'data-verdict="TOTAL-PASSED"' in fresh.text


# -- the rate limit ---------------------------------------------------------------------------


def test_verifications_are_rate_limited_per_client(served: Served, tmp_path: Path) -> None:
    """A copy of the data served with a burst of 2 verifications: the third gets a 429 page."""
    data = tmp_path / "data"
    shutil.copytree(served.data, data, ignore=shutil.ignore_patterns("*.sock", "*.lock"))
    conf = json.loads((data / "socai.json").read_text("utf-8"))
    conf["rate_limits"] = {"verify": [2, 0.5]}
    (data / "socai.json").write_text(json.dumps(conf), "utf-8")
    with serving(data, free_port(), {"SOCAI_KEY_PASSPHRASE": PASS}) as base:
        tid = transcript_id(student_id(CURRENT), 1)
        assert httpx.get(f"{base}/verify/{tid}", timeout=30).status_code == 200
        assert _upload(base, b"not a pdf").status_code == 200
        refused = _upload(base, b"not a pdf")
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) >= 1
        assert "Quá nhiều yêu cầu" in _text(refused.text)


# -- on PostgreSQL ----------------------------------------------------------------------------


def _current_issue(site: Site) -> tuple[Path, str, int]:
    """An issued PDF that is its record's current issue now: (path, student code, number)."""
    with httpx.Client(base_url=site.base, timeout=30) as client:
        for path in sorted((site.data / "out").glob("HS*-*.pdf")):
            code, _, number = path.stem.rpartition("-")
            issues = client.get(f"/api/v1/transcripts/{student_id(code)}").json()["transcripts"]
            sha = hashlib.sha256(path.read_bytes()).hexdigest()
            if any(t["sha256"] == sha and not t["superseded"] for t in issues):
                return path, code, int(number)
    raise AssertionError("no current issue among the issued files")


@pytest.mark.postgres
def test_the_landing_page_and_the_verdict_on_postgresql(pg_site: Site) -> None:
    """The transcript-id index is a view like the others: the same on PostgreSQL."""
    path, code, number = _current_issue(pg_site)
    tid = transcript_id(student_id(code), number)
    landing = httpx.get(f"{pg_site.base}/verify/{tid}", timeout=30)
    assert landing.status_code == 200
    assert 'data-issue-status="current"' in landing.text
    assert hashlib.sha256(path.read_bytes()).hexdigest() in landing.text
    with ViewRunner(pg_site.settings()) as runner:
        found = find_issue(runner, tid)
    assert found is not None and found.record == student_id(code) and not found.superseded
    verdict = _upload(pg_site.base, path.read_bytes())
    assert 'data-verdict="TOTAL-PASSED"' in verdict.text
    assert _checks(verdict.text)["online.status"] == "TOTAL-PASSED"
