"""``socai verify`` and :mod:`projections.verify` on genuine transcripts and hostile files.

The attack corpus (forgeries, incremental saves, shadow attacks…) is in
``test_verify_attacks.py``; here: the genuine file passes every check, the CLI's exit codes
and languages, and files built to exhaust the verifier (a decompression bomb, 10⁵ revisions,
a circular page tree, a file over the size limit) end in a verdict within seconds and bounded
memory, never a traceback.
"""

from __future__ import annotations

import json
import resource
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from api.cli import main, open_ledger
from api.demo import initialise, seed
from api.issuing import open_issuer
from ledger.application import Settings
from projections.verify import Limits, VerifyTrust, trust_from_data_dir, verify_file, verify_pdf
from projections.views import open_views
from signing.report import INDETERMINATE, TOTAL_FAILED, TOTAL_PASSED


@dataclass
class Issued:
    data_dir: Path
    files: list[Path]
    trust: VerifyTrust


@pytest.fixture(scope="module")
def issued(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Issued]:
    data = tmp_path_factory.mktemp("verify") / "data"
    settings = Settings(data)
    initialise(settings)
    ledger, pki = open_ledger(settings)
    assert pki is not None
    try:
        seed(ledger, pki, settings, students=3)
        with open_views(settings) as views:
            issuer = open_issuer(settings, ledger, pki, views)
            report = issuer.issue(issuer.students_of("2025-2026"), jobs=1)
            assert report.count("refused") == 0
    finally:
        ledger.close()
    yield Issued(data, sorted((data / "out").glob("*.pdf")), trust_from_data_dir(data))


def test_a_genuine_transcript_passes_every_check(issued: Issued) -> None:
    report = verify_pdf(issued.files[0].read_bytes(), issued.trust)
    assert report.status == TOTAL_PASSED, report.as_text("en")
    names = {c.name for c in report.checks}
    for expected in (
        "pdf.structure",
        "pdf.trailing",
        "signature.GVCN",
        "signature.HieuTruong",
        "signature.DauTruong",
        "timestamp.DocTimeStamp",
        "pdf.lock",
        "pdf.modification",
        "pdf.forms",
        "pdf.active_content",
        "signature.roles",
        "data.xml",
        "data.page",
        "ledger.chain",
        "ledger.signatures",
        "ledger.inclusion",
        "ledger.witnesses",
        "ledger.data",
    ):
        assert expected in names, expected
    assert report.document["student_code"] == issued.files[0].name.split("-")[0]
    sandboxed = verify_file(issued.files[0], issued.trust)
    assert sandboxed.as_dict() == report.as_dict()


def test_untrusted_anchors_and_witnesses_are_indeterminate(issued: Issued) -> None:
    from signing.pki import create_demo_pki

    other = create_demo_pki(
        issued.data_dir.parent / "other-pki",
        school_name="Trường Khác",
        school_code="01000001",
        province="Hà Nội",
        staff=[],
        passphrase=b"x",
        now=__import__("datetime").datetime.now(__import__("datetime").UTC),
    )
    report = verify_pdf(issued.files[0].read_bytes(), VerifyTrust(roots=(other.root,)))
    assert report.status == INDETERMINATE, report.as_text("en")
    witnesses = report.check("ledger.witnesses")
    assert witnesses is not None and witnesses.status == INDETERMINATE


def test_cli_exit_codes_json_and_languages(
    issued: Issued, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = str(issued.data_dir)
    assert main(["--data", data, "verify", str(issued.files[0])]) == 0
    out = capsys.readouterr().out
    assert "HỢP LỆ (TOTAL-PASSED)" in out and "✓ signature.GVCN" in out
    assert main(["--data", data, "verify", str(issued.files[0]), "--lang", "en", "--offline"]) == 0
    assert "VALID (TOTAL-PASSED)" in capsys.readouterr().out
    tampered = tmp_path / "tampered.pdf"
    raw = bytearray(issued.files[0].read_bytes())
    at = raw.index(b"/Type /Page") if b"/Type /Page" in raw else 200
    raw[at + 1] ^= 0x20  # one byte of the signed page
    tampered.write_bytes(bytes(raw))
    assert main(["--data", data, "verify", str(tampered), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["status"] == TOTAL_FAILED and report["subindication"]
    page = tmp_path / "report.html"
    assert main(["--data", data, "verify", str(issued.files[0]), "--html", str(page)]) == 0
    html = page.read_text("utf-8")
    assert "HỢP LỆ (TOTAL-PASSED)" in html and "signature.GVCN" in html
    assert "<script" not in html and "http" not in html.split("<body>")[0]
    capsys.readouterr()
    assert main(["--data", data, "verify", str(tmp_path / "missing.pdf")]) >= 64
    capsys.readouterr()
    assert main(["--data", str(tmp_path / "nowhere"), "verify", str(issued.files[0])]) >= 64


@pytest.mark.parametrize(
    "content",
    [b"", b"hello", b"%PDF-1.7\n", b"%PDF-1.7\n%%EOF\n", b"%PDF-1.7\n" + b"\xff" * 4096],
)
def test_garbage_gets_a_verdict(issued: Issued, content: bytes) -> None:
    report = verify_file(content, issued.trust)
    assert report.status == TOTAL_FAILED, report.as_text("en")


def _bomb(genuine: bytes) -> bytes:
    """The genuine file plus an update whose transcript.json inflates to 4 GiB of zeros."""
    from io import BytesIO

    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    z = zlib.compressobj(9)
    chunk = b"\0" * (1 << 20)
    body = b"".join(z.compress(chunk) for _ in range(4096)) + z.flush()  # about 4 MB
    w = IncrementalPdfFileWriter(BytesIO(genuine))
    names = w.root["/Names"]["/EmbeddedFiles"]["/Names"]
    spec = names[1].get_object()
    bomb = generic.StreamObject(
        {generic.pdf_name("/Filter"): generic.pdf_name("/FlateDecode")}, encoded_data=body
    )
    spec["/EF"][generic.pdf_name("/F")] = w.add_object(bomb)
    w.update_container(spec)
    out = BytesIO()
    w.write(out)
    return out.getvalue()


def _revisions(n: int) -> bytes:
    """A one-page PDF followed by ``n`` empty incremental updates (xref and trailer each)."""
    head = b"%PDF-1.7\n"
    objs = [
        b"1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n",
        b"2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n",
        b"3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 10 10] >>\nendobj\n",
    ]
    out = bytearray(head)
    offsets = []
    for o in objs:
        offsets.append(len(out))
        out += o
    prev = len(out)
    out += b"xref\n0 4\n0000000000 65535 f \n"
    out += b"".join(f"{off:010d} 00000 n \n".encode() for off in offsets)
    out += b"trailer\n<< /Size 4 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % prev
    for _ in range(n):
        at = len(out)
        out += (
            b"xref\n0 0\ntrailer\n<< /Size 4 /Root 1 0 R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n"
            % (
                prev,
                at,
            )
        )
        prev = at
    return bytes(out)


def _circular(genuine: bytes) -> bytes:
    """The genuine file plus an update that makes the page tree contain itself."""
    from io import BytesIO

    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    w = IncrementalPdfFileWriter(BytesIO(genuine))
    pages_ref = w.root.raw_get("/Pages")
    pages = pages_ref.get_object()
    kids = pages["/Kids"]
    kids.append(pages_ref)
    pages["/Count"] = generic.NumberObject(int(pages["/Count"]) + 1)
    w.update_container(pages)
    out = BytesIO()
    w.write(out)
    return out.getvalue()


@pytest.mark.parametrize("kind", ["bomb", "revisions", "circular"])
def test_hostile_files_end_in_a_verdict_within_seconds(issued: Issued, kind: str) -> None:
    if kind == "bomb":
        content = _bomb(issued.files[0].read_bytes())
    elif kind == "revisions":
        content = _revisions(100_000)
    else:
        content = _circular(issued.files[0].read_bytes())
    limits = Limits(seconds=10.0)
    started = time.monotonic()
    report = verify_file(content, issued.trust, limits=limits)
    elapsed = time.monotonic() - started
    assert report.status in (TOTAL_FAILED, INDETERMINATE), report.as_text("en")
    assert elapsed < limits.seconds + 3, elapsed
    # The children's peak resident memory stays under the budget (plus what they inherit).
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    assert peak < 1024 * 1024 * 1024, peak


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(
    issued: Issued, tmp_path: Path
) -> None:
    big = tmp_path / "big.pdf"
    with open(big, "wb") as f:
        f.truncate(30 * 1024 * 1024)  # sparse: nothing is written or read
    report = verify_file(big, issued.trust)
    assert report.status == TOTAL_FAILED
    assert "larger than" in report.checks[0].detail
