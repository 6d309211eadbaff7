"""Issued học bạ số checked by independent tools: openssl, qpdf and poppler, not pyHanko.

One small demo on SQLite issues every transcript once (module fixture); each test runs on
three of the files. The signatures are cut out of the raw bytes here (ByteRange and
Contents found by hand, the DER length read to drop the zero padding) and verified by
``openssl cms -verify`` (the approval signatures, CAdES) and ``openssl ts -verify`` (the
document time-stamp and each signature's time-stamp token); asn1crypto only parses the CMS
to find the token. qpdf checks the syntax and gives the object graph (``--json``) and the
decompressed file (``--qdf``); poppler lists the fonts, the text, the attachments and the
signatures. ``docs/transcripts.md`` shows the same commands for a user.

A missing tool skips its tests with a message, unless ``SOCAI_REQUIRE_PDFTOOLS=1`` (qpdf,
poppler) or ``SOCAI_REQUIRE_OPENSSL=1`` (openssl) is set: then they fail.

OpenSSL 3.0 ``cms`` has no ``-untrusted``: the intermediates go in with ``-certfile``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import cms
from cryptography import x509

from api.cli import open_ledger
from api.demo import SCHOOL_YEAR, initialise, seed
from api.issuing import open_issuer
from ledger.application import Settings
from ledger.domain import StudentRecord, student_id
from projections.transcript import from_xml
from projections.views import open_views

STUDENTS = 3
FILES = 3
REQUIRE_PDFTOOLS = "SOCAI_REQUIRE_PDFTOOLS"
REQUIRE_OPENSSL = "SOCAI_REQUIRE_OPENSSL"
ATTACHMENTS = {"transcript.json", "transcript.xml", "proof.json"}
APPROVALS = ["GVCN", "HieuTruong", "DauTruong"]
#: The reasons :mod:`projections.issuance` gives the three approval signatures, in order.
REASONS = [
    "Giáo viên chủ nhiệm xác nhận học bạ",
    "Hiệu trưởng xác nhận và cấp học bạ",
    "Xác nhận của nhà trường",
]
#: id-aa-signatureTimeStampToken (RFC 3161 Appendix A; ETSI EN 319 122-1 §5.3).
SIGNATURE_TIME_STAMP_TOKEN = "1.2.840.113549.1.9.16.2.14"


def _which(name: str) -> str:
    """The tool's path; skip (or fail, when required by the environment) without it."""
    env = REQUIRE_OPENSSL if name == "openssl" else REQUIRE_PDFTOOLS
    path = shutil.which(name)
    if path is None:
        if os.environ.get(env) == "1":
            pytest.fail(f"{name} is required ({env}=1) but is not on PATH")
        pytest.skip(f"{name} not on PATH (set {env}=1 to make this a failure)")
    return path


def _run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_which(str(args[0])), *map(str, args[1:])],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
    )


def _ok(*args: str | Path, cwd: Path | None = None) -> str:
    result = _run(*args, cwd=cwd)
    assert result.returncode == 0, f"{args[:2]} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


# -- the issued files -------------------------------------------------------------------------


@dataclass(frozen=True)
class Issued:
    """One issued transcript and what it should contain."""

    path: Path
    student_code: str
    signer_certs: tuple[Path, Path, Path]
    """PEM files of the GVCN, the principal and the school seal in ``DATA/pki``."""
    trust: Path
    """``root.pem``, ``chain.pem`` (Sở and school CAs), ``tsa.pem`` (TSA and Sở CA)."""


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> list[Issued]:
    """A three-student demo on SQLite with every transcript issued once, and its trust files."""
    base = tmp_path_factory.mktemp("issued")
    settings = Settings(base / "data", None)
    initialise(settings)
    ledger, pki = open_ledger(settings)
    assert pki is not None
    try:
        seed(ledger, pki, settings, students=STUDENTS)
        with open_views(settings) as views:
            issuer = open_issuer(settings, ledger, pki, views)
            report = issuer.issue(issuer.students_of(SCHOOL_YEAR), jobs=1)
            assert report.count("refused") == 0, [o.detail for o in report.outcomes]
            homerooms: dict[str, str] = {}
            for outcome in report.outcomes:
                record = ledger.load(student_id(outcome.student_code), StudentRecord)
                _grade, class_name, _school = record.years[SCHOOL_YEAR]
                homerooms[outcome.student_code] = next(
                    h["staff_code"]
                    for h in views.staff.homerooms(record.school, SCHOOL_YEAR)
                    if h["class_name"] == class_name
                )
            principal = issuer.principal_code
    finally:
        ledger.close()
    pki_dir = settings.data_dir / "pki"
    trust = base / "trust"
    trust.mkdir()
    ca = pki_dir / "ca"
    shutil.copy(ca / "root.pem", trust / "root.pem")
    so, school = (ca / "so.pem").read_bytes(), (ca / "school.pem").read_bytes()
    (trust / "chain.pem").write_bytes(so + school)
    (trust / "tsa.pem").write_bytes((pki_dir / "tsa" / "cert.pem").read_bytes() + so)
    issued = [
        Issued(
            path=Path(o.path),
            student_code=o.student_code,
            signer_certs=(
                pki_dir / "staff" / homerooms[o.student_code] / "cert.pem",
                pki_dir / "staff" / principal / "cert.pem",
                pki_dir / "seal" / "cert.pem",
            ),
            trust=trust,
        )
        for o in report.outcomes
        if o.status == "issued" and o.path is not None
    ]
    assert len(issued) >= FILES
    return sorted(issued, key=lambda i: i.path)[:FILES]


@pytest.fixture(params=range(FILES), ids=[f"pdf{i}" for i in range(FILES)])
def issued(request: pytest.FixtureRequest, run: list[Issued]) -> Issued:
    index: int = request.param
    return run[index]


# -- signatures, from the raw bytes -----------------------------------------------------------


@dataclass(frozen=True)
class Signature:
    """One signature dictionary as found in the file's bytes."""

    byte_range: tuple[int, int, int, int]
    contents: tuple[int, int]
    """Offsets of the ``<`` and the ``>`` of the Contents hex string."""
    der: bytes
    """The CMS object, without the zero padding after it."""
    padding: bytes
    dictionary: bytes
    """The raw bytes of the object holding the dictionary, ``N G obj`` to ``endobj``."""

    @property
    def subfilter(self) -> str:
        m = re.search(rb"/SubFilter\s*/([^\s/<>\[\]()]+)", self.dictionary)
        return m.group(1).decode() if m else ""

    @property
    def reason(self) -> str | None:
        m = re.search(rb"/Reason\s*([(<])", self.dictionary)
        if m is None:
            return None
        if m.group(1) == b"<":
            hex_ = self.dictionary[m.end() : self.dictionary.index(b">", m.end())]
            raw = bytes.fromhex(hex_.decode())
        else:
            raw = _literal_string(self.dictionary, m.end())
        # A text string (ISO 32000-1 §7.9.2.2): UTF-16BE with its BOM, else PDFDocEncoding
        # (read as Latin-1, which agrees with it on the printable ASCII used here).
        return raw[2:].decode("utf-16-be") if raw[:2] == b"\xfe\xff" else raw.decode("latin-1")

    @property
    def end(self) -> int:
        _a, _b, c, d = self.byte_range
        return c + d

    def signed_bytes(self, pdf: bytes) -> bytes:
        a, b, c, d = self.byte_range
        return pdf[a : a + b] + pdf[c : c + d]


_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def _literal_string(data: bytes, start: int) -> bytes:
    """The bytes of the literal string whose ``(`` ends at ``start`` (ISO 32000-1 §7.3.4.2)."""
    out = bytearray()
    depth, i = 1, start
    while True:
        ch = data[i : i + 1]
        if ch == b"\\":
            nxt = data[i + 1 : i + 2]
            octal = re.match(rb"[0-7]{1,3}", data[i + 1 : i + 4])
            if octal:
                out.append(int(octal.group(0), 8) & 0xFF)
                i += 1 + len(octal.group(0))
                continue
            if nxt in (b"\r", b"\n"):  # a line continuation
                i += 3 if data[i + 1 : i + 3] == b"\r\n" else 2
                continue
            out += _ESCAPES.get(nxt, nxt)
            i += 2
            continue
        if ch == b"(":
            depth += 1
        elif ch == b")":
            depth -= 1
            if depth == 0:
                return bytes(out)
        out += ch
        i += 1


def _der_length(der: bytes) -> int:
    """Length of the DER TLV at the start of ``der`` (X.690 §8.1.3), header included."""
    assert der[:1] == b"\x30", "the Contents do not start with a DER SEQUENCE"
    first = der[1]
    if first < 0x80:
        return 2 + first
    n = first & 0x7F
    assert 0 < n <= 4, f"not a definite DER length: {first:#x}"
    return 2 + n + int.from_bytes(der[2 : 2 + n], "big")


def _signatures(pdf: bytes) -> list[Signature]:
    # Object headers only where a digit run starts: the Contents are long runs of digits.
    headers = [m.start() for m in re.finditer(rb"(?<!\d)\d{1,10}\s+\d{1,5}\s+obj\b", pdf)]
    out = []
    for m in re.finditer(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", pdf):
        start = max(h for h in headers if h < m.start())
        end = pdf.index(b"endobj", m.end()) + len(b"endobj")
        contents = list(re.finditer(rb"/Contents\s*<([0-9A-Fa-f]*)>", pdf[start:end]))
        assert len(contents) == 1, f"{len(contents)} /Contents in the signature at {start}"
        hex_ = contents[0]
        blob = bytes.fromhex(hex_.group(1).decode())
        length = _der_length(blob)
        a, b, c, d = map(int, m.groups())
        out.append(
            Signature(
                byte_range=(a, b, c, d),
                contents=(start + hex_.start(1) - 1, start + hex_.end(1)),
                der=blob[:length],
                padding=blob[length:],
                dictionary=pdf[start:end],
            )
        )
    return out


def _revision_ends(pdf: bytes) -> list[int]:
    """Offset after each ``%%EOF`` and its end-of-line marker (ISO 32000-1 §7.5.5)."""
    ends = []
    for m in re.finditer(rb"%%EOF", pdf):
        eol = re.match(rb"\r\n|\r|\n", pdf[m.end() : m.end() + 2])
        ends.append(m.end() + (len(eol.group(0)) if eol else 0))
    return ends


def _signer_info(der: bytes) -> Any:
    signed_data = cms.ContentInfo.load(der)["content"]
    [signer_info] = signed_data["signer_infos"]
    return signer_info


def _cms_verify(sig: Signature, pdf: bytes, work: Path, name: str, trust: Path) -> Any:
    (work / f"{name}.der").write_bytes(sig.der)
    (work / f"{name}.bin").write_bytes(sig.signed_bytes(pdf))
    return _run(
        "openssl",
        "cms",
        "-verify",
        "-cades",
        "-binary",
        "-inform",
        "DER",
        "-in",
        work / f"{name}.der",
        "-content",
        work / f"{name}.bin",
        "-CAfile",
        trust / "root.pem",
        "-certfile",
        trust / "chain.pem",
        "-purpose",
        "any",
        "-signer",
        work / f"{name}.signer.pem",
        "-out",
        os.devnull,
    )


def _ts_verify(token: bytes, data: bytes, work: Path, name: str, trust: Path) -> Any:
    (work / f"{name}.tsr").write_bytes(token)
    (work / f"{name}.bin").write_bytes(data)
    return _run(
        "openssl",
        "ts",
        "-verify",
        "-in",
        work / f"{name}.tsr",
        "-token_in",
        "-data",
        work / f"{name}.bin",
        "-CAfile",
        trust / "root.pem",
        "-untrusted",
        trust / "tsa.pem",
    )


def test_every_byte_range_covers_its_revision_but_the_contents(issued: Issued) -> None:
    pdf = issued.path.read_bytes()
    sigs = _signatures(pdf)
    assert [s.subfilter for s in sigs] == ["ETSI.CAdES.detached"] * 3 + ["ETSI.RFC3161"]
    assert [s.reason for s in sigs] == [*REASONS, None]
    assert b"/Type /DocTimeStamp" in sigs[-1].dictionary
    ends = _revision_ends(pdf)
    for sig in sigs:
        a, b, c, _d = sig.byte_range
        lt, gt = sig.contents
        assert a == 0
        assert a + b == lt and pdf[lt : lt + 1] == b"<"
        assert c == gt + 1 and pdf[gt : gt + 1] == b">"
        assert sig.end in ends, f"{sig.byte_range} does not end at a %%EOF"
        assert sig.der and set(sig.padding) <= {0}
    assert sigs[-1].end == len(pdf)
    # Revisions: the rendered PDF, GVCN, Hiệu trưởng, seal, the DSS, the document time-stamp.
    assert len(ends) == 6
    assert [ends.index(s.end) for s in sigs] == [1, 2, 3, 5]


def test_openssl_verifies_every_signature_over_its_byte_range(
    issued: Issued, tmp_path: Path
) -> None:
    pdf = issued.path.read_bytes()
    sigs = _signatures(pdf)
    assert len(sigs) == 4
    for i, (sig, cert) in enumerate(zip(sigs[:3], issued.signer_certs, strict=True)):
        result = _cms_verify(sig, pdf, tmp_path, f"sig{i}", issued.trust)
        assert result.returncode == 0 and "Verification successful" in result.stderr, (
            f"{APPROVALS[i]}: {result.stderr}"
        )
        # The signer is the one expected in this place of the order, byte for byte.
        signer = x509.load_pem_x509_certificate((tmp_path / f"sig{i}.signer.pem").read_bytes())
        assert signer == x509.load_pem_x509_certificate(cert.read_bytes()), APPROVALS[i]
    stamp = sigs[3]
    result = _ts_verify(stamp.der, stamp.signed_bytes(pdf), tmp_path, "doc-ts", issued.trust)
    assert result.returncode == 0 and "Verification: OK" in result.stdout, result.stderr


def test_openssl_rejects_a_flipped_byte_in_the_signed_range(issued: Issued, tmp_path: Path) -> None:
    pdf = issued.path.read_bytes()
    sigs = _signatures(pdf)
    where = sigs[0].byte_range[1] // 2  # inside the first range, far from the Contents
    spoiled = bytearray(pdf)
    spoiled[where] ^= 0xFF
    result = _cms_verify(sigs[0], bytes(spoiled), tmp_path, "bad", issued.trust)
    assert result.returncode != 0 and "Verification failure" in result.stderr
    stamp = sigs[3]
    data = stamp.signed_bytes(bytes(spoiled))
    result = _ts_verify(stamp.der, data, tmp_path, "bad-ts", issued.trust)
    assert result.returncode != 0 and "Verification: FAILED" in result.stdout


def test_each_signature_time_stamp_token_stamps_its_signature_value(
    issued: Issued, tmp_path: Path
) -> None:
    pdf = issued.path.read_bytes()
    for i, sig in enumerate(_signatures(pdf)[:3]):
        signer_info = _signer_info(sig.der)
        tokens = [
            attr["values"]
            for attr in signer_info["unsigned_attrs"]
            if attr["type"].dotted == SIGNATURE_TIME_STAMP_TOKEN
        ]
        assert len(tokens) == 1 and len(tokens[0]) == 1, f"{APPROVALS[i]}: {len(tokens)} tokens"
        token = tokens[0][0].dump()
        # RFC 3161 imprint over the value of the SignerInfo's signature OCTET STRING
        # (ETSI EN 319 122-1 §5.3).
        value = signer_info["signature"].native
        result = _ts_verify(token, value, tmp_path, f"tst{i}", issued.trust)
        assert result.returncode == 0 and "Verification: OK" in result.stdout, (
            f"{APPROVALS[i]}: {result.stderr}"
        )
        wrong = bytes([value[0] ^ 1]) + value[1:]
        result = _ts_verify(token, wrong, tmp_path, f"tst{i}-wrong", issued.trust)
        assert result.returncode != 0, f"{APPROVALS[i]}: a wrong imprint verified"


def test_the_last_approval_signature_locks_the_document(issued: Issued) -> None:
    last = _signatures(issued.path.read_bytes())[2]
    assert re.search(rb"/TransformMethod\s*/FieldMDP", last.dictionary)
    assert re.search(rb"/Action\s*/All\b", last.dictionary)
    assert re.search(rb"/P\s+1\b", last.dictionary)


# -- qpdf -------------------------------------------------------------------------------------


class QpdfObjects:
    """The object graph from ``qpdf --json=2`` (strings ``u:``/``b:``, references ``N G R``)."""

    def __init__(self, path: Path) -> None:
        out = _ok("qpdf", "--json=2", "--json-key=qpdf", "--json-stream-data=none", path)
        self.objects: dict[str, Any] = json.loads(out)["qpdf"][1]
        self.root = self.get(self.objects["trailer"]["value"]["/Root"])

    def get(self, value: Any) -> Any:
        """``value`` with a reference resolved (a stream gives its dictionary)."""
        if isinstance(value, str) and re.fullmatch(r"\d+ \d+ R", value):
            obj = self.objects[f"obj:{value}"]
            return obj["value"] if "value" in obj else obj["stream"]["dict"]
        return value

    @staticmethod
    def text(value: str) -> str:
        if value.startswith("u:"):
            return value[2:]
        assert value.startswith("b:"), value
        return bytes.fromhex(value[2:]).decode("latin-1")


def test_qpdf_check_finds_no_errors(issued: Issued) -> None:
    out = _ok("qpdf", "--check", issued.path)
    assert "No syntax or stream encoding errors found" in out


def test_pdfa3_identification_output_intent_and_associated_files(issued: Issued) -> None:
    objects = QpdfObjects(issued.path)
    root = objects.root
    metadata = root["/Metadata"].split()[0]
    xmp = _ok("qpdf", f"--show-object={metadata}", "--filtered-stream-data", issued.path)
    assert re.search(r"""pdfaid:part\s*(=\s*["']3["']|>\s*3\s*<)""", xmp), xmp
    assert re.search(r"""pdfaid:conformance\s*(=\s*["']B["']|>\s*B\s*<)""", xmp), xmp
    intents = [objects.get(i) for i in objects.get(root["/OutputIntents"])]
    assert [i["/S"] for i in intents] == ["/GTS_PDFA1"]
    assert "/DestOutputProfile" in intents[0]
    files = [objects.get(f) for f in objects.get(root["/AF"])]
    relationships = {objects.text(f["/UF"]): f["/AFRelationship"] for f in files}
    assert relationships == {
        "transcript.json": "/Data",
        "transcript.xml": "/Data",
        "proof.json": "/Supplement",
    }
    names = objects.get(objects.get(root["/Names"])["/EmbeddedFiles"])["/Names"]
    assert {objects.text(n) for n in names[::2]} == ATTACHMENTS


def test_the_acroform_holds_only_signature_fields(issued: Issued) -> None:
    objects = QpdfObjects(issued.path)
    fields = [objects.get(f) for f in objects.get(objects.root["/AcroForm"])["/Fields"]]
    assert all("/Kids" not in f for f in fields)
    assert [f.get("/FT") for f in fields] == ["/Sig"] * len(fields)
    assert {objects.text(f["/T"]) for f in fields} == {*APPROVALS, "DocTimeStamp"}


def test_no_javascript_and_no_actions_anywhere(issued: Issued, tmp_path: Path) -> None:
    qdf = tmp_path / "qdf.pdf"
    _ok("qpdf", "--qdf", "--object-streams=disable", issued.path, qdf)
    text = qdf.read_bytes()
    assert b"%QDF-1.0" in text[:32]  # qpdf's decompressed, one-object-a-time form
    # Font programs are binary glyph data, not PDF syntax: a stray "/AA" in them would be
    # noise, so the data of the streams a font descriptor points to (/FontFile2) is skipped.
    programs = set(re.findall(rb"/FontFile[23]?\s+(\d+)\s+0\s+R", text))
    skipped = []

    def strip(m: re.Match[bytes]) -> bytes:
        if m.group(2) not in programs:
            return m.group(0)
        skipped.append(m.group(2))
        return m.group(1) + m.group(4)

    scanned = re.sub(
        rb"(\n(\d+) 0 obj\n(?:(?!endobj).)*?stream\r?\n)(.*?)(\r?\nendstream)",
        strip,
        text,
        flags=re.S,
    )
    assert len(programs) >= 4 and sorted(skipped) == sorted(programs)
    found = re.findall(rb"/(?:JavaScript|JS|OpenAction|AA)(?=[\s/<>\[\]()%]|$)", scanned)
    assert found == []


# -- poppler ----------------------------------------------------------------------------------


def test_every_font_is_embedded_subset_noto_serif_appearances_included(issued: Issued) -> None:
    lines = _ok("pdffonts", issued.path).splitlines()
    assert lines[0].split()[:4] == ["name", "type", "encoding", "emb"]
    rows = [line.split() for line in lines[2:] if line.strip()]
    assert rows
    listed = set()
    for row in rows:
        name, emb, sub, number = row[0], row[-5], row[-4], int(row[-2])
        assert (emb, sub) == ("yes", "yes"), row
        assert re.fullmatch(r"[A-Z]{6}\+NotoSerif-\S+", name), row
        listed.add(number)
    # The fonts of the three signature appearances are among them.
    objects = QpdfObjects(issued.path)
    appearance_fonts = set()
    for ref in objects.get(objects.root["/AcroForm"])["/Fields"]:
        field = objects.get(ref)
        if "/AP" not in field:
            continue  # the document time-stamp has no appearance
        stack = [objects.get(objects.get(field["/AP"])["/N"])]
        while stack:
            form = stack.pop()
            resources = objects.get(form.get("/Resources", {}))
            for font in objects.get(resources.get("/Font", {})).values():
                appearance_fonts.add(int(font.split()[0]))
            stack += [objects.get(x) for x in objects.get(resources.get("/XObject", {})).values()]
    assert len(appearance_fonts) >= 3
    assert appearance_fonts <= listed


def _attachments(issued: Issued, tmp_path: Path) -> dict[str, bytes]:
    out = tmp_path / "attachments"
    out.mkdir()
    _ok("pdfdetach", "-saveall", "-o", out, issued.path)
    return {p.name: p.read_bytes() for p in out.iterdir()}


def test_pdfdetach_lists_and_extracts_the_three_attachments(issued: Issued, tmp_path: Path) -> None:
    listing = _ok("pdfdetach", "-list", issued.path).splitlines()
    assert listing[0] == "3 embedded files"
    assert sorted(re.sub(r"^\d+: ", "", line) for line in listing[1:]) == sorted(ATTACHMENTS)
    files = _attachments(issued, tmp_path)
    assert set(files) == ATTACHMENTS
    data = json.loads(files["transcript.json"])
    assert data == from_xml(files["transcript.xml"])
    assert data["student"]["code"] == issued.student_code
    assert json.loads(files["proof.json"])["record"] == data["student"]["id"]


def _words(text: str) -> str:
    return " ".join(text.split())


def _contains(text: str, phrase: str) -> bool:
    """``phrase`` as whole words in ``text``, whitespace normalised, code points compared."""
    return re.search(rf"(?<!\w){re.escape(_words(phrase))}(?!\w)", _words(text)) is not None


def test_the_text_layer_has_the_vietnamese_strings_exactly(issued: Issued, tmp_path: Path) -> None:
    data = json.loads(_attachments(issued, tmp_path)["transcript.json"])
    name = data["student"]["identity"]["ho_va_ten"]
    phrases = [data["school"]["name"]]
    subjects = []
    for year in data["years"]:
        conduct = (year.get("conduct") or {}).get("year")
        phrases += [p for p in (year["homeroom"]["teacher"], year.get("promotion"), conduct) if p]
        subjects += [s["name"] for s in year["subjects"]]
    for phrase in [name, *phrases, *subjects]:
        assert unicodedata.is_normalized("NFC", phrase), phrase
    # -layout keeps the page's geometry, so a subject name that wraps in its table cell is
    # interleaved with the score columns; the reading order keeps a cell's lines together.
    layout = _ok("pdftotext", "-layout", "-enc", "UTF-8", issued.path, "-")
    reading = _ok("pdftotext", "-enc", "UTF-8", issued.path, "-")
    for text in (layout, reading):
        # The identity block prints the name in capitals, as the paper học bạ does.
        assert _contains(text, name) or _contains(text, name.upper()), name
        missing = [p for p in phrases if not _contains(text, p)]
        assert missing == []
    assert [s for s in subjects if not _contains(reading, s)] == []


def test_pdfsig_lists_four_signatures_and_the_approvals_are_valid(issued: Issued) -> None:
    out = _ok("pdfsig", issued.path)
    blocks = re.split(r"^Signature #\d+:$", out, flags=re.M)[1:]
    fields = {}
    for block in blocks:
        m = re.search(r"Signature Field Name: (\S+)", block)
        assert m, block
        fields[m.group(1)] = block
    assert len(blocks) == 4 and set(fields) == {*APPROVALS, "DocTimeStamp"}
    for name in APPROVALS:
        assert "Signature Validation: Signature is Valid." in fields[name], fields[name]
        assert "ETSI.CAdES.detached" in fields[name]
    assert "Total document signed" in fields["DocTimeStamp"]


def test_the_file_is_a_pdf_from_the_header_to_the_last_eof(issued: Issued) -> None:
    pdf = issued.path.read_bytes()
    assert pdf.startswith(b"%PDF-")
    tail = pdf[pdf.rindex(b"%%EOF") + len(b"%%EOF") :]
    assert tail.strip() == b"", tail[:64]
