"""The document half of a học bạ số: transcript data, JSON, XML, the PDF/A-3B page, the fonts.

A session fixture seeds the demo school (``api.demo``, 5 students, SQLite in a temporary
directory, about two seconds) and builds the transcripts of three students from the
transcript and staff views: the re-sit student (TT 22/2021 Điều 14), a classmate, and the
student transferred in after term I. Synthetic variants cover what the demo lacks: a TT
27/2020 primary year, four years with an award and an adjusted learning level, a shredded
identity.

The PDF checks use Poppler (``pdftotext``, ``pdffonts``, ``pdfdetach``, ``pdftoppm``) and
``qpdf``. A missing tool skips its test with a message, unless ``SOCAI_REQUIRE_PDFTOOLS`` is
set (CI sets it), where it fails.
"""

from __future__ import annotations

import copy
import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from api.cli import open_ledger
from api.demo import DEMO_STAFF, PRINCIPAL_CODE, initialise, seed
from ledger.application import Settings
from ledger.catalog import PRIMARY_PLAN, PRIMARY_QUALITIES
from ledger.domain import school_id, student_id
from projections import fonts
from projections.errors import ProjectionError, TranscriptIncomplete
from projections.pdf import BOX_HEIGHT, BOX_WIDTH, PAGE_H, PAGE_W, render_transcript
from projections.transcript import (
    FORMAT,
    IssueInfo,
    Signatory,
    TranscriptInvalid,
    build_transcript,
    from_xml,
    to_json,
    to_xml,
)
from projections.views import open_views

SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "schemas"
REQUIRE_TOOLS = os.environ.get("SOCAI_REQUIRE_PDFTOOLS", "") not in ("", "0")
RESIT, CLASSMATE, TRANSFERRED = "HS790007010001", "HS790007010002", "HS790007020001"
SCHOOL_NAME = "Trường THCS Nguyễn Du (demo)"
PROOF = b'{"events":[],"note":"test proof bundle"}\n'


def tool(name: str) -> str:
    """The path of a command-line tool, or skip (fail under SOCAI_REQUIRE_PDFTOOLS)."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (Poppler utilities / qpdf)"
        if REQUIRE_TOOLS:
            pytest.fail(message + " and SOCAI_REQUIRE_PDFTOOLS is set")
        pytest.skip(message)
    return path


def run(*args: str | Path) -> str:
    done = subprocess.run([str(a) for a in args], capture_output=True, check=True)
    return done.stdout.decode("utf-8")


@dataclass
class Inputs:
    """What build_transcript takes, for one student."""

    years: list[dict[str, Any]]
    province: str
    teachers: dict[tuple[str, str], str]
    homerooms: dict[str, str]
    signers: list[Signatory]

    def build(self, **changes: Any) -> dict[str, Any]:
        args: dict[str, Any] = {
            "province": self.province,
            "teachers": self.teachers,
            "homerooms": self.homerooms,
            "signers": self.signers,
            "issue": IssueInfo("HB-79000701-2026-000001", 1, "2026-06-30", 130, "ab" * 32, None),
            "verify_url": "https://hocba.example.vn/verify/HB-79000701-2026-000001",
        }
        args.update(changes)
        years = args.pop("years", self.years)
        return build_transcript(years, **args)


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Inputs]:
    settings = Settings(tmp_path_factory.mktemp("transcript-demo") / "data")
    initialise(settings)
    ledger, pki = open_ledger(settings)
    assert pki is not None
    out: dict[str, Inputs] = {}
    try:
        seed(ledger, pki, settings, students=5)
        with open_views(settings) as views:
            views.runner.catch_up(views.transcripts)
            views.runner.catch_up(views.staff)

            # Who taught and who was GVCN, from the staff files' histories: the staff view's
            # assignments() lists only assignments in force, and the demo transfers a teacher
            # (GV011, Ngữ văn in 6A2) away at the end of the year.
            taught: dict[tuple[str, str, str], tuple[str, str]] = {}
            led: dict[tuple[str, str], tuple[str, str]] = {}
            for school in ("79000701", "79000702"):
                for member in views.staff.staff_of_school(school_id(school)):
                    file = views.staff.staff_file(UUID(member["staff"]), ledger.vault) or {}
                    who = (str((file.get("identity") or {}).get("ho_va_ten")), member["staff_code"])
                    for h in file.get("history", []):
                        d = h["details"]
                        if h["event"] == "TeachingAssigned":
                            taught[(d["school_year"], d["class_name"], d["subject"])] = who
                        elif h["event"] == "HomeroomAssigned":
                            led[(d["school_year"], d["class_name"])] = who

            principal = next(s for s in DEMO_STAFF if s.code == PRINCIPAL_CODE)
            for code in (RESIT, CLASSMATE, TRANSFERRED):
                years = views.transcripts.transcripts_of(student_id(code), ledger.vault)
                teachers: dict[tuple[str, str], str] = {}
                homerooms: dict[str, str] = {}
                for y in years:
                    sy, cls = y["school_year"], y["class_name"]
                    for subject in y["result"]["subjects"]:
                        teachers[(sy, subject)] = taught[(sy, cls, subject)][0]
                    homerooms[sy] = led[(sy, cls)][0]
                gvcn_code = led[(years[-1]["school_year"], years[-1]["class_name"])][1]
                last = years[-1]["school_year"]
                signers = [
                    Signatory("gvcn", homerooms[last], "Giáo viên chủ nhiệm", gvcn_code),
                    Signatory("hieu_truong", principal.name, "Hiệu trưởng", principal.code),
                    Signatory("seal", pki.school_name, "Con dấu điện tử", None),
                ]
                out[code] = Inputs(years, pki.province, teachers, homerooms, signers)
    finally:
        ledger.close()
    return out


def primary_years(inputs: Inputs) -> list[dict[str, Any]]:
    """A TT 27/2020 year (grade 4), in the shape of ledger.results.primary_result."""
    year = copy.deepcopy(inputs.years[-1])
    sy = year["school_year"]
    levels = ("Hoàn thành tốt", "Hoàn thành", "Chưa hoàn thành")
    subjects = {}
    for i, (name, (_, assessed)) in enumerate(sorted(PRIMARY_PLAN.items())):
        level = levels[0] if i % 3 else levels[1]
        subjects[name] = {
            "assessed": assessed,
            "level": level,
            "code": "T" if level == levels[0] else "H",
            "test": str(7 + i % 3) if assessed == "score" else None,
        }
    year.update(grade=4, class_name="4A", stage="year")
    year["result"] = {
        "school_year": sy,
        "grade": 4,
        "class_name": "4A",
        "subjects": subjects,
        "qualities": {q: ("Tốt", "Đạt")[i % 2] for i, q in enumerate(PRIMARY_QUALITIES)},
        "absences": 3,
        "result": "Hoàn thành tốt",
        "regulation": "TT27/2020",
    }
    return [year]


def primary_inputs(inputs: Inputs) -> Inputs:
    years = primary_years(inputs)
    sy = years[0]["school_year"]
    teachers = {(sy, s): "Phạm Quốc Bảo" for s in PRIMARY_PLAN}
    return Inputs(years, inputs.province, teachers, inputs.homerooms, inputs.signers[:2])


def four_years(inputs: Inputs) -> Inputs:
    """Grades 6–9 from one demo year: an adjusted level, an award, summer conduct training."""
    base = inputs.years[-1]
    years, teachers, homerooms = [], {}, {}
    for i, sy in enumerate(("2022-2023", "2023-2024", "2024-2025", "2025-2026")):
        y = copy.deepcopy(base)
        y.update(school_year=sy, grade=6 + i, class_name=f"{6 + i}A1")
        y["result"].update(school_year=sy, grade=6 + i, class_name=f"{6 + i}A1")
        for subject in y["result"]["subjects"]:
            teachers[(sy, subject)] = inputs.teachers[(base["school_year"], subject)]
        homerooms[sy] = inputs.homerooms[base["school_year"]]
        years.append(y)
    years[1]["result"].update(learning="Khá", learning_raw="Đạt", adjusted_by="Toán")
    years[2]["result"]["award"] = "Học sinh Giỏi"
    years[2]["awards"] = [
        {
            "version": 900,
            "award": "Giải Nhì Hội khỏe Phù Đổng cấp phường, môn cờ vua",
            "decision": "Quyết định số 90/QĐ-THCSND ngày 28/5/2026",
            "granted_by": "x",
            "granted_at": "2026-05-28T01:00:00+00:00",
        }
    ]
    years[3]["result"].update(promotion="Hoàn thành chương trình THCS", conduct_after_summer="Đạt")
    return Inputs(years, inputs.province, teachers, homerooms, inputs.signers)


def attachments(data: Mapping[str, Any]) -> dict[str, bytes]:
    return {"transcript.json": to_json(data), "transcript.xml": to_xml(data), "proof.json": PROOF}


@pytest.fixture(scope="session")
def documents(
    demo: dict[str, Inputs], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[dict[str, Any], Path, Any]]:
    """name -> (data, PDF path, RenderedPdf) for the demo students and the variants."""
    directory = tmp_path_factory.mktemp("transcript-pdfs")
    cases = {code: (inputs.build(), True) for code, inputs in demo.items()}
    cases["primary"] = (primary_inputs(demo[CLASSMATE]).build(), False)
    cases["four-years"] = (four_years(demo[RESIT]).build(), True)
    out = {}
    for name, (data, seal) in cases.items():
        rendered = render_transcript(data, attachments=attachments(data), seal=seal)
        path = directory / f"{name}.pdf"
        path.write_bytes(rendered.pdf)
        out[name] = (data, path, rendered)
    return out


# -- the data ------------------------------------------------------------------------------------


def test_demo_transcript_has_the_recorded_results(demo: dict[str, Inputs]) -> None:
    data = demo[RESIT].build()
    assert data["format"] == FORMAT and data["level"] == "THCS"
    assert data["student"]["code"] == RESIT and not data["student"]["shredded"]
    assert data["school"] == {
        "code": "79000701",
        "name": SCHOOL_NAME,
        "province": demo[RESIT].province,
    }
    (year,) = data["years"]
    assert year["result"] == demo[RESIT].years[0]["result"]  # verbatim, for the verifier
    assert year["stage"] == "after_summer"
    assert year["promotion"] == "Lên lớp sau kiểm tra, đánh giá lại"
    assert year["learning"]["after_reassessment"] == "Đạt"
    names = [s["name"] for s in year["subjects"]]
    assert names[:3] == ["Ngữ văn", "Toán", "Ngoại ngữ 1"]  # ledger.catalog.THCS_PLAN order
    maths = next(s for s in year["subjects"] if s["name"] == "Toán")
    assert maths["reassessed"] == "5.5" and maths["teacher"] and maths["remark"]
    assert year["homeroom"]["remark"] and year["homeroom"]["teacher"]
    assert [s["role"] for s in data["signers"]] == ["gvcn", "hieu_truong", "seal"]


def test_transfer_history_is_kept(demo: dict[str, Inputs]) -> None:
    data = demo[TRANSFERRED].build()
    events = [h["event"] for h in data["history"]]
    assert events == ["Enrolled", "TransferredOut", "TransferredIn"]
    out = data["history"][1]
    assert out["school_code"] == "79000702" and out["to_school_code"] == "79000701"
    assert out["reason"]


def test_same_inputs_give_the_same_dict_and_bytes(demo: dict[str, Inputs]) -> None:
    a, b = demo[RESIT].build(), demo[RESIT].build()
    assert a == b
    assert to_json(a) == to_json(b) and to_xml(a) == to_xml(b)


def test_json_is_canonical(demo: dict[str, Inputs]) -> None:
    data = demo[CLASSMATE].build()
    raw = to_json(data)
    assert raw.endswith(b"}\n") and b"\n" not in raw[:-1]
    assert json.loads(raw) == data
    expected = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert raw == expected.encode("utf-8") + b"\n"
    assert "Giáo dục thể chất".encode() in raw  # raw UTF-8, not \\u escapes


def _all_data(demo: dict[str, Inputs]) -> list[dict[str, Any]]:
    shredded = copy.deepcopy(demo[CLASSMATE].years)
    for y in shredded:
        y["identity"], y["shredded"] = None, True
        for r in y["remarks"]:
            r["text"] = None
    return [
        *(inputs.build() for inputs in demo.values()),
        primary_inputs(demo[CLASSMATE]).build(),
        four_years(demo[RESIT]).build(),
        demo[CLASSMATE].build(years=shredded),
    ]


def test_json_schema_accepts_the_transcripts(demo: dict[str, Inputs]) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((SCHEMAS / "transcript.schema.json").read_text("utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for data in _all_data(demo):
        validator.validate(json.loads(to_json(data)))
    bad = demo[RESIT].build()
    bad["years"][0]["absences"] = -1
    assert not validator.is_valid(bad)


def test_xml_schema_accepts_the_transcripts_and_xml_reads_back(demo: dict[str, Inputs]) -> None:
    xmlschema = pytest.importorskip("xmlschema")
    schema = xmlschema.XMLSchema(str(SCHEMAS / "transcript.xsd"))
    for data in _all_data(demo):
        xml = to_xml(data)
        schema.validate(io.BytesIO(xml))
        assert from_xml(xml) == data == json.loads(to_json(data))
        assert xml.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<transcript xmlns=')


def test_from_xml_refuses_what_is_not_a_transcript(demo: dict[str, Inputs]) -> None:
    good = to_xml(demo[RESIT].build())
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE t [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
        b'<transcript xmlns="urn:socai:transcript:1">&b;</transcript>'
    )
    cases = [
        bomb,
        b"<transcript/>",  # no namespace
        good.replace(b"<level>THCS</level>", b"<level>THCS</level><extra/>"),
        good.replace(b"<grade>6</grade>", b"<grade>six</grade>", 1),
        good.replace(b"<format>socai-transcript/1</format>", b"<format>other/9</format>"),
        good[:200],
        "not bytes",
    ]
    for xml in cases:
        with pytest.raises(TranscriptInvalid):
            from_xml(xml)  # type: ignore[arg-type]


def test_a_year_without_a_result_names_the_year(demo: dict[str, Inputs]) -> None:
    years = copy.deepcopy(demo[RESIT].years)
    years[0]["result"] = None
    with pytest.raises(TranscriptIncomplete, match="2025-2026"):
        demo[RESIT].build(years=years)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda i: i.build(years=[]), "no school year"),
        (lambda i: i.build(teachers={}), "teacher of Ngữ văn"),
        (lambda i: i.build(homerooms={}), "homeroom teacher"),
        (lambda i: i.build(signers=i.signers[1:]), "no gvcn"),
        (lambda i: i.build(years=[{**i.years[0], "identity": None}]), "identity"),
        (lambda i: i.build(years=[{**i.years[0], "remarks": []}]), "remark of the homeroom"),
    ],
)
def test_missing_inputs_are_named(demo: dict[str, Inputs], change: Any, expected: str) -> None:
    with pytest.raises(TranscriptIncomplete, match=expected):
        change(demo[RESIT])


@pytest.mark.parametrize(
    "issue",
    [
        IssueInfo("", 1, "2026-06-30", 1, "ab", None),
        IssueInfo("HB 1", 1, "2026-06-30", 1, "ab", None),
        IssueInfo("HB-1", 0, "2026-06-30", 1, "ab", None),
        IssueInfo("HB-1", 1, "30/06/2026", 1, "ab", None),
        IssueInfo("HB-1", 1, "2026-06-30", 1, "AB", None),
        IssueInfo("HB-1", 1, "2026-06-30", 1, "ab", "xyz"),
    ],
)
def test_bad_issue_info_is_refused(demo: dict[str, Inputs], issue: IssueInfo) -> None:
    with pytest.raises(TranscriptInvalid):
        demo[RESIT].build(issue=issue)


def test_text_the_fonts_cannot_draw_is_refused(demo: dict[str, Inputs]) -> None:
    years = copy.deepcopy(demo[RESIT].years)
    years[0]["remarks"][0]["text"] = "Rất tốt 😀"
    with pytest.raises(TranscriptInvalid, match="U\\+1F600"):
        demo[RESIT].build(years=years)
    with pytest.raises(TranscriptInvalid):
        demo[RESIT].build(verify_url="javascript:alert(1)")
    assert issubclass(TranscriptInvalid, ProjectionError)
    assert issubclass(TranscriptIncomplete, ProjectionError)


# -- the fonts -------------------------------------------------------------------------------------


def test_cached_fonts_are_static_subsets_that_cover_vietnamese() -> None:
    from fontTools.ttLib import TTFont

    for style in ("regular", "bold", "italic"):
        path = fonts.serif_path(style)
        assert path == fonts.serif_path(style) and path.parent == fonts.cache_dir()
        assert path.name == fonts.file_name(style)
        font = TTFont(path)
        assert "fvar" not in font and "gvar" not in font  # static
        cmap = font.getBestCmap()
        assert all(ord(c) in cmap for c in fonts.VIETNAMESE_CHARSET)
        assert {"GSUB", "GPOS", "GDEF", "name"} <= set(font.keys())  # HarfBuzz, pyHanko
        assert font["post"].formatType == 2 and cmap[ord("ệ")] != "glyph00001"  # glyph names
        assert font["name"].getDebugName(1) == "Noto Serif"
    assert fonts.file_name("bold").startswith("NotoSerif-Bold-")
    assert fonts.uncovered("Nguyễn Thị Ánh Tuyết, lớp 6A1 – Đạt “Tốt”\n") == set()
    assert fonts.uncovered("Điểm → 中") == {"→", "中"}
    assert fonts.uncovered("Nguye\u0302\u0303n") == set()  # decomposed: NFC first


def test_font_cache_is_written_once_and_atomically(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("SOCAI_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(fonts, "build", lambda style: b"font bytes of " + style.encode())
    path = fonts.serif_path("italic")
    assert path.parent == tmp_path / "fonts" and path.read_bytes() == b"font bytes of italic"
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left
    monkeypatch.setattr(fonts, "build", lambda style: pytest.fail("built twice"))
    assert fonts.serif_path("italic") == path


# -- the PDF -------------------------------------------------------------------------------------


def test_rendering_twice_gives_the_same_bytes(
    demo: dict[str, Inputs], documents: dict[str, Any]
) -> None:
    data, path, rendered = documents[RESIT]
    again = render_transcript(data, attachments=attachments(data), seal=True)
    assert again.pdf == rendered.pdf == path.read_bytes()
    assert again.fields == rendered.fields
    assert rendered.pdf.startswith(b"%PDF-1.7") and b"/Encrypt" not in rendered.pdf


def test_rendering_in_another_process_gives_the_same_bytes(
    documents: dict[str, Any], tmp_path: Path
) -> None:
    data, path, _ = documents[TRANSFERRED]
    (tmp_path / "data.json").write_bytes(to_json(data))
    script = (
        "import json, sys\n"
        "from projections.pdf import render_transcript\n"
        "from projections.transcript import to_json, to_xml\n"
        "d = json.loads(open(sys.argv[1], encoding='utf-8').read())\n"
        "a = {'transcript.json': to_json(d), 'transcript.xml': to_xml(d),\n"
        f"     'proof.json': {PROOF!r}}}\n"
        "sys.stdout.buffer.write(render_transcript(d, attachments=a, seal=True).pdf)\n"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "data.json")],
        capture_output=True,
        check=True,
        cwd=root,
    )
    assert done.stdout == path.read_bytes()


def test_the_page_shows_the_transcript_in_vietnamese(documents: dict[str, Any]) -> None:
    pdftotext = tool("pdftotext")
    data, path, _ = documents[RESIT]
    text = run(pdftotext, "-layout", path, "-")
    identity = data["student"]["identity"]
    for expected in (
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "SỞ GIÁO DỤC VÀ ĐÀO TẠO",
        "TRƯỜNG THCS NGUYỄN DU (DEMO)",
        "HỌC BẠ",
        "TRUNG HỌC CƠ SỞ",
        identity["ho_va_ten"].upper(),
        identity["so_dinh_danh_ca_nhan"],
        RESIT,
        SCHOOL_NAME,
        "Giáo dục thể chất",
        "Hoạt động trải nghiệm,",
        "Lên lớp sau kiểm tra, đánh giá lại",
        "Nhận xét của giáo viên chủ nhiệm",
        "Giáo viên chủ nhiệm",
        "Hiệu trưởng",
        "Xác nhận của nhà trường (con dấu)",
        "Ngày cấp: 30/06/2026",
        data["issue"]["transcript_id"],
        "Trang 1/2",
        "Trang 2/2",
    ):
        assert expected in text, expected
    maths = next(s for s in data["years"][0]["subjects"] if s["name"] == "Toán")
    assert maths["remark"].split(";")[0] in text


def test_transfer_and_variants_render(documents: dict[str, Any]) -> None:
    pdftotext = tool("pdftotext")
    transferred = run(pdftotext, "-layout", documents[TRANSFERRED][1], "-")
    assert "Chuyển trường" in transferred and "Mã trường 79000702" in transferred
    primary = run(pdftotext, "-layout", documents["primary"][1], "-")
    for expected in (
        "TIỂU HỌC",
        "Tiếng Việt",
        "Hoàn thành tốt (T)",
        "Yêu nước",
        "Kết quả giáo dục",
    ):
        assert expected in primary, expected
    assert "Xác nhận của nhà trường" not in primary  # seal=False: two boxes
    four = run(pdftotext, "-layout", documents["four-years"][1], "-")
    for expected in (
        "2022-2023",
        "9A1",
        "Học sinh Giỏi",
        "Quyết định số 90/QĐ-THCSND",
        "khoản 3 Điều 9",
        "Hoàn thành chương trình THCS",
        "Trang 5/5",
    ):
        assert expected in four, expected


def test_a_shredded_identity_renders_without_personal_data(demo: dict[str, Inputs]) -> None:
    pdftotext = tool("pdftotext")
    years = copy.deepcopy(demo[CLASSMATE].years)
    name = years[0]["identity"]["ho_va_ten"]
    for y in years:
        y["identity"], y["shredded"] = None, True
        for r in y["remarks"]:
            r["text"] = None
    data = demo[CLASSMATE].build(years=years)
    assert data["student"]["identity"] is None
    pdf = render_transcript(data, attachments=attachments(data), seal=False).pdf
    done = subprocess.run(
        [pdftotext, "-layout", "-", "-"], input=pdf, capture_output=True, check=True
    )
    text = done.stdout.decode("utf-8")
    assert "đã được xóa" in text and name not in text and CLASSMATE in text


def test_only_embedded_noto_serif_fonts(documents: dict[str, Any]) -> None:
    pdffonts = tool("pdffonts")
    for _, path, _ in documents.values():
        rows = run(pdffonts, path).splitlines()[2:]
        assert len(rows) == 3
        for row in rows:
            name, emb = row.split()[0], row.split()[-5]
            assert name.split("+")[1] in {"NotoSerif-Regular", "NotoSerif-Bold", "NotoSerif-Italic"}
            assert emb == "yes", row


def test_exactly_the_three_attachments(documents: dict[str, Any], tmp_path: Path) -> None:
    pdfdetach = tool("pdfdetach")
    data, path, _ = documents[RESIT]
    listing = run(pdfdetach, "-list", path).splitlines()
    assert listing[0] == "3 embedded files"
    assert sorted(line.split(": ", 1)[1] for line in listing[1:]) == [
        "proof.json",
        "transcript.json",
        "transcript.xml",
    ]
    run(pdfdetach, "-saveall", "-o", tmp_path, path)
    assert (tmp_path / "transcript.json").read_bytes() == to_json(data)
    assert from_xml((tmp_path / "transcript.xml").read_bytes()) == data
    assert (tmp_path / "proof.json").read_bytes() == PROOF


def test_qpdf_finds_no_error(documents: dict[str, Any]) -> None:
    qpdf = tool("qpdf")
    for _, path, _ in documents.values():
        assert "No syntax or stream encoding errors" in run(qpdf, "--check", path)


def test_pdfa3_structure(documents: dict[str, Any]) -> None:
    from pyhanko.pdf_utils.reader import PdfFileReader

    rendered = documents[RESIT][2]
    reader = PdfFileReader(io.BytesIO(rendered.pdf))
    root = reader.root
    for forbidden in ("/OpenAction", "/AA", "/AcroForm", "/JavaScript"):
        assert forbidden not in root, forbidden
    assert "/Encrypt" not in reader.trailer and len(reader.trailer["/ID"]) == 2
    assert str(root["/Lang"]) == "vi-VN"
    (intent,) = root["/OutputIntents"]
    assert intent["/S"] == "/GTS_PDFA1" and intent["/DestOutputProfile"].data[36:40] == b"acsp"
    xmp = root["/Metadata"].data.decode("utf-8")
    assert "<pdfaid:part>3</pdfaid:part>" in xmp and "<pdfaid:conformance>B<" in xmp
    assert "2026-06-30T00:00:00+07:00" in xmp and "<dc:title>" in xmp
    names = root["/Names"]["/EmbeddedFiles"]["/Names"]
    specs = {str(names[i]): names[i + 1] for i in range(0, len(names), 2)}
    assert list(specs) == ["proof.json", "transcript.json", "transcript.xml"]
    assert len(root["/AF"]) == 3
    expected = {
        "proof.json": ("/Supplement", "/application/json"),
        "transcript.json": ("/Data", "/application/json"),
        "transcript.xml": ("/Data", "/application/xml"),
    }
    for name, spec in specs.items():
        relationship, mime = expected[name]
        assert spec["/AFRelationship"] == relationship and str(spec["/UF"]) == name
        stream = spec["/EF"]["/F"]
        assert stream["/Subtype"] == mime and "/ModDate" in stream["/Params"]
    for page in reader.root["/Pages"]["/Kids"]:
        assert "/Annots" not in page.get_object()


def test_signature_boxes(documents: dict[str, Any]) -> None:
    from pyhanko.pdf_utils.reader import PdfFileReader

    rendered = documents[RESIT][2]
    pages = PdfFileReader(io.BytesIO(rendered.pdf)).root["/Pages"]["/Count"]
    assert [(f.role, f.field_name) for f in rendered.fields] == [
        ("gvcn", "GVCN"),
        ("hieu_truong", "HieuTruong"),
        ("seal", "DauTruong"),
    ]
    for f in rendered.fields:
        x1, y1, x2, y2 = f.box
        assert all(isinstance(v, int) for v in f.box)
        assert (x2 - x1, y2 - y1) == (BOX_WIDTH, BOX_HEIGHT)
        assert 0 <= x1 and x2 <= PAGE_W and 0 <= y1 and y2 <= PAGE_H
        assert f.page == pages - 1 == 1  # the last page, 0-based
    lefts = [f.box[0] for f in rendered.fields]
    assert lefts == sorted(lefts) and lefts[1] - lefts[0] >= BOX_WIDTH  # side by side
    primary = documents["primary"][2]
    assert [f.role for f in primary.fields] == ["gvcn", "hieu_truong"]


def test_a_seal_box_needs_a_seal_signer(demo: dict[str, Inputs]) -> None:
    inputs = demo[RESIT]
    data = inputs.build(signers=inputs.signers[:2])
    with pytest.raises(TranscriptIncomplete, match="seal"):
        render_transcript(data, attachments=attachments(data), seal=True)
    with pytest.raises(TranscriptInvalid, match="attachment"):
        render_transcript(data, attachments={"evil.js": b"x"}, seal=False)


@pytest.mark.parametrize(
    "spoil",
    [
        lambda d: d.pop("school"),
        lambda d: d.update(level="ĐH"),
        lambda d: d["issue"].update(issued_on="2026-02-30"),
        lambda d: d["years"][0].update(grade="6"),
        lambda d: d["years"][0].update(regulation="TT58/2011"),
        lambda d: d["years"][0]["subjects"][0].update(remark="\x07"),
        lambda d: d["student"].update(extra=1),
        lambda d: d["years"][0]["result"].update(average=8.5),  # floats are not canonical
    ],
)
def test_rendering_refuses_malformed_data(demo: dict[str, Inputs], spoil: Any) -> None:
    data = demo[RESIT].build()
    spoil(data)
    with pytest.raises(TranscriptInvalid):
        render_transcript(data, attachments={"proof.json": PROOF}, seal=False)


def test_qr_code_carries_the_verification_address(
    documents: dict[str, Any], tmp_path: Path
) -> None:
    import segno
    from PIL import Image

    pdftoppm = tool("pdftoppm")
    data, path, _ = documents[RESIT]
    run(pdftoppm, "-r", "300", "-gray", "-png", "-f", "1", "-l", "1", path, tmp_path / "page")
    page = Image.open(next(tmp_path.glob("page*.png"))).convert("L")
    w, h = page.size
    corner = page.crop((int(w * 0.6), 0, w, int(h * 0.35)))  # the QR is top right on page 1
    expected = segno.make(data["verify_url"], error="m", boost_error=False, micro=False)
    assert expected.error == "M"
    assert sampled_matrix(corner, len(expected.matrix)) == [list(r) for r in expected.matrix]
    try:
        import zxingcpp  # type: ignore[import-not-found]
    except ImportError:
        return  # no decoder installed: the module-by-module comparison above stands
    (found,) = zxingcpp.read_barcodes(corner)
    assert found.text == data["verify_url"]


def sampled_matrix(image: Any, n: int) -> list[list[int]]:
    """Find an n×n QR symbol in a grey image and read it by sampling module centres.

    The symbol's first row is dark for seven modules at both ends (the two top finder
    patterns, ISO/IEC 18004 §6.3.3) and spans n modules: the first row of the image that
    looks like that gives the symbol's position and module size.
    """
    pixels = image.load()
    w, h = image.size

    def dark(x: int, y: int) -> bool:
        return bool(pixels[x, y] < 128)

    for top in range(h):
        row = [x for x in range(w) if dark(x, top)]
        if not row:
            continue
        left, right = row[0], row[-1]
        module = (right - left + 1) / n
        if module < 2:
            continue
        run = next((x for x in range(left, right + 1) if not dark(x, top)), right + 1) - left
        if abs(run - 7 * module) <= 1.5 and all(
            dark(int(left + (c + 0.5) * module), top) for c in (*range(7), *range(n - 7, n))
        ):
            break
    else:
        raise AssertionError("no QR symbol found")
    return [
        [int(dark(int(left + (c + 0.5) * module), int(top + (r + 0.5) * module))) for c in range(n)]
        for r in range(n)
    ]
