"""The học bạ số page: a PDF/A-3B document drawn from the transcript data.

:func:`render_transcript` draws the data of :func:`projections.transcript.build_transcript`
on A4 pages in the order of the paper học bạ (DOMAIN.md §3.2): the national motto, the Sở
and the school, the title with the cấp học, the student's identity and codes, the school
history (enrolment, transfers), one block per school year (subjects with both terms, the
year, the re-assessment, the teacher and their remark; learning and conduct results,
absences, promotion, awards, the GVCN's remark), then the issue (số phát hành, lần cấp,
ngày cấp, replaced issue), a QR code of the verification address on page 1, and the
signature area: empty boxes for the GVCN, the principal and, with ``seal``, the school's
organisation seal. Their rectangles come back in :attr:`RenderedPdf.fields` for the signer,
who adds the signature fields (DESIGN.md §4: GVCN, then Hiệu trưởng, then the seal).

The file is PDF/A-3B (ISO 19005-3): the three static Noto Serif styles of
:mod:`projections.fonts` embedded (never a standard 14 font), an sRGB output intent, XMP
metadata with ``pdfaid:part`` 3 and ``pdfaid:conformance`` B, the document language
``vi-VN``, and the attachments as associated files listed in the catalog's ``/AF`` and
``/EmbeddedFiles`` (``/Data`` for ``transcript.json`` and ``transcript.xml``,
``/Supplement`` for ``proof.json``). It has no JavaScript, no actions (no ``/OpenAction``
either), no form fields and no encryption.

Reproducible: the dates (XMP, attachments) are midnight of ``issue.issued_on`` in Vietnam
time, the trailer ``/ID`` is a hash of the file's bytes, and the font subsets are built from
the glyphs used, so the same data and attachments give the same bytes.

Fast: the fonts are parsed once per process. fpdf2 would subset each font with fontTools for
every document (about 25 ms of the 35 ms a page took); here each embedded font keeps the
glyph ids of the cached font and only the outlines of the glyphs used (with their
components) are copied, from tables split once, so a document costs a few milliseconds.
This relies on fpdf2's ``OutputProducer`` internals of 2.8 (hence ``fpdf2>=2.8.9,<2.9``).
"""

from __future__ import annotations

import array
import hashlib
import math
import struct
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from functools import cache
from html import escape
from typing import Any

import segno
from fpdf import FPDF
from fpdf.enums import OutputIntentSubType
from fpdf.fonts import PDFFontDescriptor, SubsetMap, TTFFont
from fpdf.output import CIDSystemInfo, OutputProducer, PDFFont, PDFFontStream, PDFICCProfile
from fpdf.syntax import Name, PDFArray, PDFContentStream, PDFString

from projections import fonts
from projections.errors import TranscriptIncomplete
from projections.transcript import TT27, Role, TranscriptInvalid, validate

# -- results -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignatureBox:
    """Where a signature goes: an empty labelled box on the page."""

    #: ``gvcn``, ``hieu_truong`` or ``seal``.
    role: Role
    #: The ASCII name the signature field should get: ``GVCN``, ``HieuTruong``, ``DauTruong``.
    field_name: str
    #: 0-based page index.
    page: int
    #: (x1, y1, x2, y2) in whole PDF points, origin bottom-left (pyHanko ``SigFieldSpec.box``).
    box: tuple[int, int, int, int]


@dataclass(frozen=True)
class RenderedPdf:
    """A rendered, unsigned transcript."""

    #: The PDF/A-3B file.
    pdf: bytes
    #: The signature boxes, in signing order (GVCN, Hiệu trưởng, then the seal if any).
    fields: tuple[SignatureBox, ...]


#: Attachment name -> (MIME type, AFRelationship, description).
ATTACHMENTS: dict[str, tuple[str, str, str]] = {
    "proof.json": (
        "application/json",
        "Supplement",
        "Bằng chứng từ sổ cái: sự kiện, chứng thư, bằng chứng bao hàm, điểm kiểm tra",
    ),
    "transcript.json": ("application/json", "Data", "Dữ liệu học bạ (JSON)"),
    "transcript.xml": ("application/xml", "Data", "Dữ liệu học bạ (XML)"),
}
FIELD_NAMES: dict[str, str] = {"gvcn": "GVCN", "hieu_truong": "HieuTruong", "seal": "DauTruong"}
BOX_LABELS: dict[str, str] = {
    "gvcn": "Giáo viên chủ nhiệm",
    "hieu_truong": "Hiệu trưởng",
    "seal": "Xác nhận của nhà trường (con dấu)",
}
#: Signature box size in points (the signer draws its appearance inside).
BOX_WIDTH = 160
BOX_HEIGHT = 70

VIETNAM = timezone(timedelta(hours=7))

# -- page geometry (points) ----------------------------------------------------------------

PAGE_W, PAGE_H = 595.28, 841.89
LEFT = 42.0
RIGHT = PAGE_W - 42.0
TOP = 40.0
BOTTOM = PAGE_H - 46.0
WIDTH = RIGHT - LEFT
FAMILY = "notoserif"
STYLES = {"": "regular", "B": "bold", "I": "italic"}
BORDER = "0.35 G 0.5 w"
SHADE = "0.92 g"
#: Line height as a multiple of the font size.
LEADING = 1.3

LEVEL_NAMES = {"TH": "TIỂU HỌC", "THCS": "TRUNG HỌC CƠ SỞ", "THPT": "TRUNG HỌC PHỔ THÔNG"}


def render_transcript(
    data: Mapping[str, Any], *, attachments: Mapping[str, bytes], seal: bool
) -> RenderedPdf:
    """The transcript PDF of ``data`` with ``attachments`` embedded, and its signature boxes.

    ``attachments`` maps file names to bytes; only ``transcript.json``,
    ``transcript.xml`` and ``proof.json`` are accepted (each at most once, all three
    expected by verifiers). ``seal`` adds the box of the school's organisation seal and
    needs a ``seal`` signer in the data. Raises :class:`TranscriptInvalid` or
    :class:`TranscriptIncomplete` for data or attachments it cannot render.
    """
    _check_data(data, attachments, seal)
    doc = _Document(data)
    boxes = _Layout(doc, data, seal).run()
    for name in sorted(attachments):  # the /EmbeddedFiles name tree is sorted by name
        mime, relationship, description = ATTACHMENTS[name]
        doc.embed_file(
            bytes=bytes(attachments[name]),
            basename=name,
            mime_type=mime,
            associated_file_relationship=relationship,
            desc=description,
            creation_date=doc.issued_at,
            modification_date=doc.issued_at,
            compress=True,
        )
    pdf = bytes(doc.output(output_producer_class=_Producer))
    return RenderedPdf(pdf, tuple(boxes))


def _check_data(data: Mapping[str, Any], attachments: Mapping[str, bytes], seal: bool) -> None:
    if not isinstance(data, Mapping):
        raise TranscriptInvalid("transcript data must be a mapping")
    validate(data)
    for name, value in attachments.items():
        if name not in ATTACHMENTS:
            raise TranscriptInvalid(f"unknown attachment {name!r}: one of {sorted(ATTACHMENTS)}")
        if not isinstance(value, (bytes, bytearray)) or not value:
            raise TranscriptInvalid(f"attachment {name} must be non-empty bytes")
    roles = {s["role"] for s in data["signers"]}
    for role in ("gvcn", "hieu_truong", *(("seal",) if seal else ())):
        if role not in roles:
            raise TranscriptIncomplete(f"signers: no {role} for its signature box")


# -- fonts: parsed once, subset per document -------------------------------------------------

_GLYF_MORE = 0x0020
_GLYF_WORDS = 0x0001
_GLYF_SCALE = 0x0008
_GLYF_XY_SCALE = 0x0040
_GLYF_2X2 = 0x0080
#: Tables an embedded TrueType program for a CIDFontType2 needs (ISO 32000-1 §9.9), plus
#: name and OS/2 (names, licence, metrics) and post (reduced to format 3).
_KEEP = (
    "OS/2",
    "cvt ",
    "fpgm",
    "glyf",
    "head",
    "hhea",
    "hmtx",
    "loca",
    "maxp",
    "name",
    "post",
    "prep",
)


def _checksum(data: bytes) -> int:
    """OpenType table checksum: the sum of big-endian uint32 words, modulo 2**32."""
    padded = data + b"\0" * (-len(data) % 4)
    words = array.array("I", padded)
    if sys.byteorder == "little":
        words.byteswap()
    return sum(words) & 0xFFFFFFFF


class _FontProgram:
    """A static TrueType font split into tables and glyphs once, subset per document.

    A subset keeps every glyph id (the CIDToGIDMap maps codes to the cached font's glyph
    ids) and empties the outlines of glyphs not used; composite glyphs bring their
    components (OpenType ``glyf`` composite flags).
    """

    def __init__(self, data: bytes, glyph_order: Sequence[str], postscript: str) -> None:
        num_tables = struct.unpack_from(">H", data, 4)[0]
        self.tables: dict[str, bytes] = {}
        for i in range(num_tables):
            tag, _, offset, length = struct.unpack_from(">4sIII", data, 12 + 16 * i)
            self.tables[tag.decode("latin-1")] = data[offset : offset + length]
        head = self.tables["head"]
        self.num_glyphs = struct.unpack_from(">H", self.tables["maxp"], 4)[0]
        short = struct.unpack_from(">h", head, 50)[0] == 0
        loca = self.tables["loca"]
        if short:
            offsets = [
                2 * o
                for o in struct.unpack(
                    f">{self.num_glyphs + 1}H", loca[: 2 * (self.num_glyphs + 1)]
                )
            ]
        else:
            offsets = list(
                struct.unpack(f">{self.num_glyphs + 1}I", loca[: 4 * (self.num_glyphs + 1)])
            )
        glyf = self.tables["glyf"]
        self.glyphs = []
        for gid in range(self.num_glyphs):
            g = glyf[offsets[gid] : offsets[gid + 1]]
            self.glyphs.append(g + b"\0" * (-len(g) % 4))
        self.components = [self._components(g) for g in self.glyphs]
        self.gid = {name: i for i, name in enumerate(glyph_order)}
        self.postscript = postscript
        # head with checkSumAdjustment 0 and long loca offsets (indexToLocFormat 1).
        self.head = head[:8] + b"\0\0\0\0" + head[12:50] + struct.pack(">h", 1) + head[52:]
        self.post = struct.pack(">I", 0x00030000) + self.tables["post"][4:32]
        self.fixed = {
            tag: (table, _checksum(table))
            for tag, table in self.tables.items()
            if tag in _KEEP and tag not in ("glyf", "loca", "head", "post")
        }

    @staticmethod
    def _components(glyph: bytes) -> tuple[int, ...]:
        if len(glyph) < 10 or struct.unpack_from(">h", glyph, 0)[0] >= 0:
            return ()
        out, pos = [], 10
        while True:
            flags, index = struct.unpack_from(">HH", glyph, pos)
            out.append(index)
            pos += 4 + (4 if flags & _GLYF_WORDS else 2)
            if flags & _GLYF_SCALE:
                pos += 2
            elif flags & _GLYF_XY_SCALE:
                pos += 4
            elif flags & _GLYF_2X2:
                pos += 8
            if not flags & _GLYF_MORE:
                return tuple(out)

    def closure(self, gids: Iterator[int] | Sequence[int] | set[int]) -> set[int]:
        """``gids`` with .notdef and every component, recursively."""
        todo, seen = [0, *gids], set()
        while todo:
            gid = todo.pop()
            if gid not in seen and 0 <= gid < self.num_glyphs:
                seen.add(gid)
                todo.extend(self.components[gid])
        return seen

    def subset(self, gids: set[int]) -> bytes:
        """The font with only the outlines of ``gids`` (glyph ids unchanged)."""
        parts, offsets, pos = [], [], 0
        for gid in range(self.num_glyphs):
            offsets.append(pos)
            if gid in gids:
                g = self.glyphs[gid]
                parts.append(g)
                pos += len(g)
        offsets.append(pos)
        glyf = b"".join(parts)
        loca = struct.pack(f">{len(offsets)}I", *offsets)
        tables = {tag: table for tag, (table, _) in self.fixed.items()}
        sums = {tag: s for tag, (_, s) in self.fixed.items()}
        for tag, table in (
            ("glyf", glyf),
            ("loca", loca),
            ("head", self.head),
            ("post", self.post),
        ):
            tables[tag], sums[tag] = table, _checksum(table)
        return _sfnt(tables, sums)


def _sfnt(tables: dict[str, bytes], sums: dict[str, int]) -> bytes:
    """An OpenType file of ``tables`` (OpenType §5 "Organization of an OpenType font")."""
    tags = sorted(tables)
    n = len(tags)
    entry_selector = n.bit_length() - 1
    search_range = 16 << entry_selector
    header = struct.pack(
        ">IHHHH", 0x00010000, n, search_range, entry_selector, n * 16 - search_range
    )
    offset = 12 + 16 * n
    records, body = [], []
    for tag in tags:
        table = tables[tag]
        records.append(struct.pack(">4sIII", tag.encode("latin-1"), sums[tag], offset, len(table)))
        padded = table + b"\0" * (-len(table) % 4)
        body.append(padded)
        offset += len(padded)
    font = bytearray(header + b"".join(records) + b"".join(body))
    # head.checkSumAdjustment = 0xB1B0AFBA - checksum of the whole font (OpenType 'head').
    head_at = 12 + 16 * n + sum(len(b) for b in body[: tags.index("head")])
    adjustment = (0xB1B0AFBA - _checksum(bytes(font))) & 0xFFFFFFFF
    struct.pack_into(">I", font, head_at + 8, adjustment)
    return bytes(font)


@dataclass(frozen=True)
class _Font:
    """One style: the parsed fpdf2 font to clone, its program and its character widths."""

    template: TTFFont
    program: _FontProgram
    #: character -> advance width in 1/1000 em
    widths: dict[str, float]


_LOAD_LOCK = threading.Lock()


@cache
def _fonts() -> dict[str, _Font]:
    """The three styles, parsed once per process."""
    with _LOAD_LOCK:
        loaded = {}
        scratch = FPDF(unit="pt")
        for style, name in STYLES.items():
            path = fonts.serif_path(name)  # type: ignore[arg-type]
            scratch.add_font(FAMILY, style, str(path))
            template = scratch.fonts[f"{FAMILY}{style}"]
            assert isinstance(template, TTFFont)
            postscript = template.ttfont["name"].getDebugName(6) or f"NotoSerif-{name}"
            program = _FontProgram(path.read_bytes(), template.ttfont.getGlyphOrder(), postscript)
            widths = {c: float(template.cw[ord(c)]) for c in fonts.VIETNAMESE_CHARSET}
            loaded[style] = _Font(template, program, widths)
        return loaded


def _clone(template: TTFFont, index: int) -> TTFFont:
    """A fresh per-document font sharing the parsed, read-only parts of ``template``."""
    font = TTFFont.__new__(TTFFont)
    for slot in TTFFont.__slots__:
        if hasattr(template, slot):
            setattr(font, slot, getattr(template, slot))
    font.i = index
    font.missing_glyphs = []
    font.biggest_size_pt = 0
    font.color_font = None
    font._hbfont = None
    font.subset = SubsetMap(font)
    return font


@cache
def srgb_profile() -> bytes:
    """An sRGB ICC profile (Pillow's LittleCMS), with a fixed date so its bytes never vary."""
    from PIL import ImageCms

    profile = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    # ICC.1 §7.2.8: bytes 24–35 are the creation date; LittleCMS writes the current time.
    profile[24:36] = struct.pack(">6H", 2000, 1, 1, 0, 0, 0)
    return bytes(profile)


class _Producer(OutputProducer):
    """fpdf2's output, with fast font subsets and no ``/OpenAction``."""

    fpdf: _Document

    def _add_fonts(self, *_: Any) -> dict[int, Any]:  # type: ignore[override]
        out: dict[int, Any] = {}
        loaded = _fonts()
        for font in sorted(self.fpdf.fonts.values(), key=lambda f: f.i):
            assert isinstance(font, TTFFont)
            out[font.i] = self._font(font, loaded[font.fontkey[len(FAMILY) :]])
        return out

    def _font(self, font: TTFFont, style: _Font) -> PDFFont:
        program = style.program
        cid_gid: dict[int, int] = {}
        widths: dict[int, int] = {}
        bfchar: list[str] = []
        for glyph, code in sorted(font.subset.items(), key=lambda item: item[1]):
            if glyph is None:
                continue
            cid_gid[code] = program.gid.get(glyph.glyph_name, 0)
            widths[code] = glyph.glyph_width
            chars = glyph.unicode if isinstance(glyph.unicode, tuple) else (glyph.unicode,)
            if chars and chars != (0,):
                text = "".join(chr(c) for c in chars).encode("utf-16-be").hex().upper()
                bfchar.append(f"<{code:04X}> <{text}>\n")
        gids = program.closure(set(cid_gid.values()))
        tag = "".join(
            chr(65 + b % 26)
            for b in hashlib.sha256(repr((program.postscript, sorted(gids))).encode()).digest()[:6]
        )
        base = f"{tag}+{program.postscript}"

        type0 = PDFFont(subtype="Type0", base_font=base, encoding="Identity-H")
        self._add_pdf_obj(type0, "fonts")
        cid_font = PDFFont(
            subtype="CIDFontType2", base_font=base, d_w=font.desc.missing_width, w=_widths(widths)
        )
        self._add_pdf_obj(cid_font, "fonts")
        type0.descendant_fonts = PDFArray([cid_font])

        blocks = "".join(
            f"{len(bfchar[i : i + 100])} beginbfchar\n{''.join(bfchar[i : i + 100])}endbfchar\n"
            for i in range(0, len(bfchar), 100)
        )
        cmap = (
            "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
            "/CIDSystemInfo\n<</Registry (Adobe)\n/Ordering (UCS)\n/Supplement 0\n>> def\n"
            "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
            "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
            f"{blocks}endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend"
        )
        to_unicode = PDFContentStream(cmap.encode("latin-1"), compress=True)
        self._add_pdf_obj(to_unicode, "fonts")
        type0.to_unicode = to_unicode

        system = CIDSystemInfo()
        system.ordering = PDFString("Identity", encrypt=True)
        self._add_pdf_obj(system, "fonts")
        cid_font.c_i_d_system_info = system

        d = font.desc
        descriptor = PDFFontDescriptor(
            ascent=d.ascent,
            descent=d.descent,
            cap_height=d.cap_height,
            flags=d.flags,
            font_b_box=d.font_b_box,
            italic_angle=d.italic_angle,
            stem_v=d.stem_v,
            missing_width=d.missing_width,
        )
        descriptor.font_name = Name(base)
        self._add_pdf_obj(descriptor, "fonts")
        cid_font.font_descriptor = descriptor

        cid_map = bytearray(2 * (max(cid_gid, default=0) + 1))
        for code, gid in cid_gid.items():
            struct.pack_into(">H", cid_map, 2 * code, gid)
        cid_map_obj = PDFContentStream(bytes(cid_map), compress=True)
        self._add_pdf_obj(cid_map_obj, "fonts")
        cid_font.c_i_d_to_g_i_d_map = cid_map_obj

        stream = PDFFontStream(program.subset(gids))
        self._add_pdf_obj(stream, "fonts")
        descriptor.font_file2 = stream  # type: ignore[attr-defined]

        # SubsetMap caches are per class (functools.cache): drop this document's entries.
        font.subset.pick.cache_clear()
        font.subset.get_glyph.cache_clear()
        return type0

    def _finalize_catalog(self, catalog_obj: Any, **kwargs: Any) -> None:  # type: ignore[override]
        super()._finalize_catalog(catalog_obj, **kwargs)
        catalog_obj.open_action = None  # no actions at all (DESIGN.md §4)


def _widths(widths: dict[int, int]) -> str:
    """The CIDFont ``/W`` array: runs of consecutive codes as ``c [w1 w2 …]``."""
    parts: list[str] = []
    run: list[int] = []
    start = prev = -2
    for code in sorted(widths):
        if code != prev + 1 and run:
            parts.append(f"{start} [{' '.join(map(str, run))}]")
            run = []
        if not run:
            start = code
        run.append(widths[code])
        prev = code
    if run:
        parts.append(f"{start} [{' '.join(map(str, run))}]")
    return f"[{' '.join(parts)}]"


class _Document(FPDF):
    """One transcript's FPDF, with its fonts cloned from the process-wide templates."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        super().__init__(unit="pt", format="A4", enforce_compliance="PDF/A-3B")
        self.set_auto_page_break(False)
        self.set_margins(LEFT, TOP, PAGE_W - RIGHT)
        issued = date.fromisoformat(data["issue"]["issued_on"])
        self.issued_at = datetime(issued.year, issued.month, issued.day, tzinfo=VIETNAM)
        self.set_creation_date(self.issued_at)
        self.set_lang("vi-VN")
        for style, loaded in _fonts().items():
            key = f"{FAMILY}{style}"
            self.fonts[key] = _clone(loaded.template, len(self.fonts) + 1)
        self.add_output_intent(
            OutputIntentSubType.PDFA,
            output_condition_identifier="sRGB",
            output_condition="IEC 61966-2-1:1999",
            registry_name="http://www.color.org",
            dest_output_profile=PDFICCProfile(contents=srgb_profile(), n=3, alternate="DeviceRGB"),
            info="sRGB IEC61966-2.1",
        )
        self.set_xmp_metadata(_xmp(data, self.issued_at))

    def _default_file_id(self, buffer: bytearray) -> str:
        # ISO 32000-1 §14.4: both halves equal when first written; a hash of the content.
        digest = hashlib.sha256(bytes(buffer)).hexdigest()[:32].upper()
        return f"<{digest}><{digest}>"


def _xmp(data: Mapping[str, Any], issued_at: datetime) -> str:
    """XMP metadata: PDF/A-3B identification, Dublin Core, fixed dates (ISO 19005-3 §6.6)."""
    import fpdf as fpdf_module

    student = data["student"]
    identity = student.get("identity") or {}
    name = identity.get("ho_va_ten")
    title = f"Học bạ {LEVEL_NAMES[data['level']].lower()} – " + (
        f"{name} – {student['code']}" if name else student["code"]
    )
    when = issued_at.isoformat()
    return "\n".join(
        (
            '<x:xmpmeta xmlns:x="adobe:ns:meta/">',
            ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">',
            '  <rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/">',
            "   <pdfaid:part>3</pdfaid:part>",
            "   <pdfaid:conformance>B</pdfaid:conformance>",
            "  </rdf:Description>",
            '  <rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">',
            "   <dc:format>application/pdf</dc:format>",
            f'   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">{escape(title)}</rdf:li>'
            "</rdf:Alt></dc:title>",
            f"   <dc:creator><rdf:Seq><rdf:li>{escape(data['school']['name'])}</rdf:li>"
            "</rdf:Seq></dc:creator>",
            "   <dc:language><rdf:Bag><rdf:li>vi-VN</rdf:li></rdf:Bag></dc:language>",
            f"   <dc:identifier>{escape(data['issue']['transcript_id'])}</dc:identifier>",
            "  </rdf:Description>",
            '  <rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/">',
            f"   <xmp:CreateDate>{when}</xmp:CreateDate>",
            f"   <xmp:ModifyDate>{when}</xmp:ModifyDate>",
            f"   <xmp:MetadataDate>{when}</xmp:MetadataDate>",
            "   <xmp:CreatorTool>Sổ Cái (socai)</xmp:CreatorTool>",
            "  </rdf:Description>",
            '  <rdf:Description rdf:about="" xmlns:pdf="http://ns.adobe.com/pdf/1.3/">',
            f"   <pdf:Producer>socai, fpdf2 {escape(fpdf_module.__version__)}</pdf:Producer>",
            "  </rdf:Description>",
            " </rdf:RDF>",
            "</x:xmpmeta>",
        )
    )


# -- layout ------------------------------------------------------------------------------------


#: A run of text in a table cell: (text, style, align), style "", "B" or "I", align "L" or "C".
Piece = tuple[str, str, str]


def _cell(text: str | None, style: str = "", align: str = "L") -> list[Piece]:
    return [(text, style, align)] if text else []


@dataclass
class _Item:
    """An unbreakable piece of a page: its height and how to draw it at a top y."""

    height: float
    draw: Callable[[float], None]
    #: Items to draw again at the top of a new page when a break falls before this one.
    repeat: Sequence[_Item] = field(default_factory=tuple)


def _vn_date(iso: str) -> str:
    """``YYYY-MM-DD`` (or an ISO timestamp, taken in Vietnam time) as ``dd/mm/yyyy``."""
    try:
        if len(iso) == 10:
            d = date.fromisoformat(iso)
        else:
            moment = datetime.fromisoformat(iso)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            d = moment.astimezone(VIETNAM).date()
    except ValueError:
        return iso
    return f"{d.day:02d}/{d.month:02d}/{d.year}"


class _Layout:
    """Draws the transcript page by page and returns the signature boxes.

    Blocks are lists of :class:`_Item`; :meth:`place` moves a block that does not fit the
    rest of a page to a new page when it fits a whole one, and otherwise breaks it between
    items, repeating the items' ``repeat`` (a year's title band and the table header).
    """

    def __init__(self, doc: _Document, data: Mapping[str, Any], seal: bool) -> None:
        self.doc = doc
        self.data = data
        self.seal = seal
        self.fonts = _fonts()
        self.y = TOP
        self.font: tuple[str, float] | None = None
        identity = data["student"]["identity"] or {}
        self.name: str | None = identity.get("ho_va_ten")
        self.schools = {data["school"]["code"]: data["school"]["name"]}
        for year in data["years"]:
            self.schools.setdefault(year["school"]["code"], year["school"]["name"])

    # -- text and lines --

    def width(self, text: str, style: str, size: float) -> float:
        w = self.fonts[style].widths
        return sum(w.get(c, 600.0) for c in text) * size / 1000.0

    def wrap(self, text: str, style: str, size: float, width: float) -> list[str]:
        """Greedy line breaking at spaces (and at line feeds); a word wider than a line is cut."""
        lines: list[str] = []
        space = self.width(" ", style, size)
        for paragraph in text.split("\n"):
            line, line_w = "", 0.0
            for word in paragraph.split(" "):
                word_w = self.width(word, style, size)
                if line and line_w + space + word_w <= width:
                    line, line_w = f"{line} {word}", line_w + space + word_w
                    continue
                if line:
                    lines.append(line)
                while word_w > width and len(word) > 1:
                    cut = len(word) - 1
                    while cut > 1 and self.width(word[:cut], style, size) > width:
                        cut -= 1
                    lines.append(word[:cut])
                    word = word[cut:]
                    word_w = self.width(word, style, size)
                line, line_w = word, word_w
            lines.append(line)
        return lines

    def text(
        self,
        x: float,
        top: float,
        text: str,
        style: str = "",
        size: float = 9.5,
        align: str = "L",
        width: float = 0.0,
    ) -> None:
        """One line in a box starting at ``top``; its baseline is one font size lower."""
        if not text:
            return
        if self.font != (style, size):
            self.doc.set_font(FAMILY, style, size)
            self.font = (style, size)
        if align != "L":
            w = self.width(text, style, size)
            x += (width - w) if align == "R" else (width - w) / 2
        self.doc.text(x, top + size, text)

    def lines(
        self,
        x: float,
        top: float,
        lines: Sequence[str],
        style: str = "",
        size: float = 9.5,
        align: str = "L",
        width: float = 0.0,
    ) -> None:
        for i, line in enumerate(lines):
            self.text(x, top + i * size * LEADING, line, style, size, align, width)

    def raw(self, operators: str) -> None:
        """Page-content operators (ISO 32000-1 §8), in points from the bottom-left corner."""
        self.doc._out(operators)

    def rect(self, x: float, top: float, w: float, h: float, *, fill: bool = False) -> None:
        y = PAGE_H - top - h
        paint, shade = ("B", SHADE + " ") if fill else ("S", "")
        self.raw(f"q {shade}{BORDER} {x:.2f} {y:.2f} {w:.2f} {h:.2f} re {paint} Q")

    def band(self, top: float, h: float) -> None:
        self.raw(f"q {SHADE} {LEFT:.2f} {PAGE_H - top - h:.2f} {WIDTH:.2f} {h:.2f} re f Q")

    def hline(self, x1: float, x2: float, top: float, width: float = 0.5) -> None:
        y = PAGE_H - top
        self.raw(f"q 0 G {width:.2f} w {x1:.2f} {y:.2f} m {x2:.2f} {y:.2f} l S Q")

    # -- pages and blocks --

    def switch(self, page: int) -> None:
        """Draw on ``page`` again; its content stream needs its own font selection."""
        self.doc.page = page
        self.doc.current_font_is_set_on_page = False
        self.font = None

    def new_page(self) -> None:
        self.doc.add_page()
        self.font = None
        self.y = TOP
        if self.doc.page > 1:
            code = self.data["student"]["code"]
            who = f"Học bạ {self.name} – " if self.name else "Học bạ – "
            self.text(LEFT, self.y, f"{who}mã học sinh {code}", "I", 8, "R", WIDTH)
            self.hline(LEFT, RIGHT, self.y + 13, 0.3)
            self.y += 20

    def place(self, items: Sequence[_Item], *, keep: bool = True) -> None:
        total = sum(i.height for i in items)
        if keep and self.y + total > BOTTOM and total <= BOTTOM - (TOP + 20):
            self.new_page()
        for item in items:
            if self.y + item.height > BOTTOM:
                self.new_page()
                for again in item.repeat:
                    again.draw(self.y)
                    self.y += again.height
            item.draw(self.y)
            self.y += item.height

    def gap(self, height: float) -> _Item:
        return _Item(height, lambda top: None)

    def paragraph(
        self,
        text: str,
        style: str = "",
        size: float = 9.5,
        *,
        x: float = LEFT,
        width: float = WIDTH,
        align: str = "L",
        after: float = 2.0,
    ) -> _Item:
        lines = self.wrap(text, style, size, width)
        return _Item(
            len(lines) * size * LEADING + after,
            lambda top: self.lines(x, top, lines, style, size, align, width),
        )

    def labelled(
        self,
        label: str,
        value: str,
        size: float = 9.5,
        *,
        value_style: str = "",
        x: float = LEFT,
        width: float = WIDTH,
    ) -> _Item:
        """``label: value``, the value wrapped under itself (a hanging indent)."""
        head = f"{label}: "
        indent = self.width(head, "", size)
        lines = self.wrap(value or "—", value_style, size, width - indent)

        def draw(top: float) -> None:
            self.text(x, top, head, "", size)
            self.lines(x + indent, top, lines, value_style, size)

        return _Item(len(lines) * size * LEADING + 1.5, draw)

    def pairs(
        self, left: tuple[str, str], right: tuple[str, str] | None, *, bold: bool = False
    ) -> _Item:
        """Two ``label: value`` items side by side."""
        half = WIDTH / 2
        a = self.labelled(*left, value_style="B" if bold else "", width=half - 8)
        b = self.labelled(*right, x=LEFT + half, width=half) if right else None

        def draw(top: float) -> None:
            a.draw(top)
            if b is not None:
                b.draw(top)

        return _Item(max(a.height, b.height if b else 0.0), draw)

    def rich(self, segments: Sequence[tuple[str, str]], size: float = 9.5) -> _Item:
        """A paragraph of styled runs ``(text, style)``, wrapped at spaces."""
        words: list[list[tuple[str, str]]] = []
        current: list[tuple[str, str]] = []
        for text, style in segments:
            for k, part in enumerate(text.split(" ")):
                if k and current:
                    words.append(current)
                    current = []
                if part:
                    current.append((part, style))
        if current:
            words.append(current)
        # Each line: pieces (x, text, style, starts a word).
        lines: list[list[tuple[float, str, str, bool]]] = [[]]
        pos = 0.0
        for word in words:
            w = sum(self.width(t, st, size) for t, st in word)
            gap = self.width(" ", word[0][1], size) if lines[-1] else 0.0
            if lines[-1] and pos + gap + w > WIDTH:
                lines.append([])
                pos, gap = 0.0, 0.0
            pos += gap
            for k, (t, st) in enumerate(word):
                lines[-1].append((pos, t, st, k == 0))
                pos += self.width(t, st, size)

        def draw(top: float) -> None:
            for n, line in enumerate(lines):
                i = 0
                while i < len(line):  # neighbouring pieces of one style: one text object
                    start, text, style, _ = line[i]
                    j = i + 1
                    while j < len(line) and line[j][2] == style:
                        text += (" " if line[j][3] else "") + line[j][1]
                        j += 1
                    self.text(LEFT + start, top + n * size * LEADING, text, style, size)
                    i = j

        return _Item(len(lines) * size * LEADING + 1.5, draw)

    def heading(self, text: str, size: float = 10.5) -> _Item:
        return _Item(size * LEADING + 5, lambda top: self.text(LEFT, top + 2, text, "B", size))

    def table(
        self,
        columns: Sequence[tuple[str, float]],
        rows: Sequence[Sequence[Sequence[Piece]]],
        size: float = 8.5,
        header_size: float = 8.0,
    ) -> list[_Item]:
        """A bordered table: a shaded header row, then one item per row."""
        pad = 3.0
        lh = size * LEADING
        titles = [self.wrap(title, "B", header_size, w - 2 * pad) for title, w in columns]
        hh = max(len(t) for t in titles) * header_size * LEADING + 2 * pad

        def draw_header(top: float) -> None:
            x = LEFT
            for (_, w), lines in zip(columns, titles, strict=True):
                self.rect(x, top, w, hh, fill=True)
                inset = (hh - len(lines) * header_size * LEADING) / 2 - 1
                self.lines(x + pad, top + inset, lines, "B", header_size, "C", w - 2 * pad)
                x += w

        header = _Item(hh, draw_header)
        items = [header]
        for row in rows:
            cells: list[list[tuple[list[str], str, str]]] = [
                [
                    (self.wrap(text, style, size, w - 2 * pad), style, align)
                    for text, style, align in cell
                ]
                for (_, w), cell in zip(columns, row, strict=True)
            ]
            count = max(sum(len(lines) for lines, _, _ in cell) for cell in cells)
            h = max(count, 1) * lh + 2 * pad
            items.append(_Item(h, self._row(columns, cells, h, size), (header,)))
        return items

    def _row(
        self,
        columns: Sequence[tuple[str, float]],
        cells: list[list[tuple[list[str], str, str]]],
        h: float,
        size: float,
    ) -> Callable[[float], None]:
        pad = 3.0

        def draw(top: float) -> None:
            x = LEFT
            for (_, w), cell in zip(columns, cells, strict=True):
                self.rect(x, top, w, h)
                y = top + pad - 1
                for lines, style, align in cell:
                    self.lines(x + pad, y, lines, style, size, align, w - 2 * pad)
                    y += len(lines) * size * LEADING
                x += w

        return draw

    # -- the document --

    def run(self) -> list[SignatureBox]:
        self.new_page()
        self.letterhead()
        self.title()
        self.identity()
        self.history()
        for i, year in enumerate(self.data["years"]):
            self.year(year, first=i == 0)
        boxes = self.closing()
        total = self.doc.page
        for page in range(1, total + 1):
            self.switch(page)
            self.footer(page, total)
        return boxes

    def footer(self, page: int, total: int) -> None:
        top = PAGE_H - 34
        self.hline(LEFT, RIGHT, top - 4, 0.3)
        self.text(LEFT, top, f"Học bạ số {self.data['issue']['transcript_id']}", "", 7.5)
        self.text(LEFT, top, f"Trang {page}/{total}", "", 8, "C", WIDTH)
        self.text(LEFT, top, f"Mã học sinh {self.data['student']['code']}", "", 7.5, "R", WIDTH)

    def letterhead(self) -> None:
        """The Sở and the school on the left, the national motto on the right (NĐ 30/2020 style)."""
        school = self.data["school"]
        top, left_w = self.y, WIDTH * 0.45
        right_x = LEFT + WIDTH * 0.42
        right_w = RIGHT - right_x
        lines = [("SỞ GIÁO DỤC VÀ ĐÀO TẠO", "")]
        lines += [(t, "") for t in self.wrap(school["province"].upper(), "", 9.5, left_w)]
        lines += [(t, "B") for t in self.wrap(school["name"].upper(), "B", 9.5, left_w)]
        y = top
        for line, style in lines:
            self.text(LEFT, y, line, style, 9.5, "C", left_w)
            y += 12.5
        self.hline(LEFT + left_w / 2 - 25, LEFT + left_w / 2 + 25, y + 2, 0.6)
        self.text(LEFT, y + 6, f"Mã trường: {school['code']}", "", 8.5, "C", left_w)
        motto = "Độc lập - Tự do - Hạnh phúc"
        self.text(right_x, top, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "B", 10, "C", right_w)
        self.text(right_x, top + 13, motto, "B", 10.5, "C", right_w)
        half = self.width(motto, "B", 10.5) / 2
        mid = right_x + right_w / 2
        self.hline(mid - half, mid + half, top + 29, 0.6)
        self.y = max(y + 18, top + 36) + 14

    def title(self) -> None:
        """HỌC BẠ and the cấp học, the issue line, and the QR code on the right."""
        issue = self.data["issue"]
        qr_size, qr_top = 78.0, self.y - 6
        self.qr(RIGHT - qr_size, qr_top, qr_size)
        tid = issue["transcript_id"]
        # The id is on the issue line below; under the code, only what it is for.
        self.text(
            RIGHT - qr_size, qr_top + qr_size + 1, "Quét mã để xác minh", "I", 6.5, "C", qr_size
        )
        self.text(LEFT, self.y + 4, "HỌC BẠ", "B", 22, "C", WIDTH)
        self.text(LEFT, self.y + 33, LEVEL_NAMES[self.data["level"]], "B", 13, "C", WIDTH)
        subtitle = "(Học bạ số – bản điện tử có chữ ký số)"
        self.text(LEFT, self.y + 52, subtitle, "I", 9, "C", WIDTH)
        self.y += 74
        issued = _vn_date(issue["issued_on"])
        line = f"Số: {tid}    Lần cấp: {issue['number']}    Ngày cấp: {issued}"
        self.text(LEFT, self.y, line, "", 9.5, "C", WIDTH)
        self.y = max(self.y + 14, qr_top + qr_size + 12)
        if issue["supersedes"]:
            replaced = f"Thay thế bản đã cấp có mã {issue['supersedes']}"
            self.place([self.paragraph(replaced, "I", 8.5, align="C")])
        self.y += 6

    def identity(self) -> None:
        student = self.data["student"]
        identity = student["identity"]
        items = [self.heading("I. THÔNG TIN HỌC SINH")]
        if identity is None:
            shredded = (
                "Dữ liệu cá nhân của học sinh đã được xóa theo quy định về bảo vệ dữ liệu cá "
                "nhân; kết quả học tập được lưu trữ vĩnh viễn."
            )
            items += [
                self.paragraph(shredded, "I"),
                self.pairs(("Mã học sinh", student["code"]), None),
            ]
        else:

            def get(key: str) -> str:
                return str(identity.get(key) or "")

            born = _vn_date(get("ngay_sinh")) if get("ngay_sinh") else ""
            number = get("so_dinh_danh_ca_nhan")
            items += [
                self.pairs(
                    ("Họ và tên", get("ho_va_ten").upper()),
                    ("Giới tính", get("gioi_tinh")),
                    bold=True,
                ),
                self.pairs(("Ngày sinh", born), ("Nơi sinh", get("noi_sinh"))),
                self.pairs(("Dân tộc", get("dan_toc")), ("Quốc tịch", get("quoc_tich"))),
                self.labelled("Chỗ ở hiện tại", get("cho_o_hien_tai") or get("noi_thuong_tru")),
                self.pairs(
                    ("Họ và tên cha", get("ho_ten_cha")), ("Họ và tên mẹ", get("ho_ten_me"))
                ),
            ]
            if get("nguoi_giam_ho"):
                items.append(self.labelled("Người giám hộ", get("nguoi_giam_ho")))
            codes = ("Số định danh cá nhân", number) if number else None
            items.append(self.pairs(("Mã học sinh", student["code"]), codes))
        self.place(items)
        self.y += 6

    def qr(self, x: float, top: float, size: float) -> None:
        """The verification address as a QR code, error correction M, as filled squares."""
        code = segno.make(self.data["verify_url"], error="m", boost_error=False, micro=False)
        matrix = code.matrix
        n = len(matrix)
        quiet = 4  # ISO/IEC 18004 §7.3.8: a quiet zone of four modules
        module = size / (n + 2 * quiet)
        ops = ["q 0 g"]
        for r, row in enumerate(matrix):
            y0 = PAGE_H - (top + (quiet + r + 1) * module)
            c = 0
            while c < n:
                if not row[c]:
                    c += 1
                    continue
                start = c
                while c < n and row[c]:
                    c += 1
                x0 = x + (quiet + start) * module
                ops.append(f"{x0:.3f} {y0:.3f} {(c - start) * module:.3f} {module:.3f} re")
        ops.append("f Q")
        self.raw("\n".join(ops))

    def history(self) -> None:
        """Enrolment, class changes and transfers (quá trình học tập)."""
        rows = []
        for h in self.data["history"]:
            code = h["school_code"] or ""
            name = self.schools.get(code)
            school = (f"{name} ({code})" if name else f"Mã trường {code}") if code else ""
            rows.append(
                [
                    _cell(h["school_year"]),
                    _cell(h["class_name"]),
                    _cell(school),
                    _cell(self.event_note(h)),
                    _cell(_vn_date(h["at"])),
                ]
            )
        if not rows:
            return
        columns = [("Năm học", 62.0), ("Lớp", 36.0), ("Trường", 160.0)]
        columns += [("Nội dung", WIDTH - 320.0), ("Ngày", 62.0)]
        self.place([self.heading("II. QUÁ TRÌNH HỌC TẬP"), *self.table(columns, rows)])
        self.y += 8

    def event_note(self, h: Mapping[str, Any]) -> str:
        event, cls = h["event"], h["class_name"] or ""
        if event == "TransferredOut":
            to = h["to_school_code"] or ""
            name = self.schools.get(to)
            note = "Chuyển trường" + (
                f", đến {name} ({to})" if name else f", đến trường mã {to}" if to else ""
            )
            return note + (f". Lý do: {h['reason']}" if h["reason"] else "")
        if event == "TransferredIn":
            return f"Chuyển đến, vào lớp {cls}"
        if event == "Enrolled":
            return f"Nhập học, vào lớp {cls}"
        if event == "ClassJoined":
            return f"Vào lớp {cls}"
        return str(event) + (f". {h['reason']}" if h["reason"] else "")

    def year(self, year: Mapping[str, Any], *, first: bool) -> None:
        """One school year: a title band, the subjects, the results; repeated on a page break."""
        school = year["school"]
        heading = (
            f"Năm học {year['school_year']} – Lớp {year['class_name']} – "
            f"{school['name']} ({school['code']})"
        )
        band = self.band_item(heading)
        again = self.band_item(f"{heading} (tiếp theo)")
        body = self.primary_year(year) if year["regulation"] == TT27 else self.secondary_year(year)
        for item in body:
            item.repeat = (again, *item.repeat)
        intro = [self.heading("III. KẾT QUẢ HỌC TẬP VÀ RÈN LUYỆN")] if first else []
        self.place([*intro, band, *body])
        self.y += 10

    def band_item(self, text: str) -> _Item:
        title = self.paragraph(text, "B", 10.5, x=LEFT + 3, width=WIDTH - 6, after=0)

        def draw(top: float) -> None:
            self.band(top, title.height + 4)
            title.draw(top + 1)

        return _Item(title.height + 6, draw)

    def teacher_cell(self, subject: Mapping[str, Any]) -> list[Piece]:
        return [*_cell(subject["remark"]), *_cell(subject["teacher"], "I")]

    def secondary_year(self, year: Mapping[str, Any]) -> list[_Item]:
        """TT 22/2021: term and year averages or Đạt/Chưa đạt, then Điều 8, 9, 12–15."""
        columns = [("Môn học, hoạt động giáo dục", 122.0), ("HK I", 40.0), ("HK II", 40.0)]
        columns += [("Cả năm", 42.0), ("Sau KT lại", 46.0), ("Nhận xét, GV bộ môn", WIDTH - 290)]
        rows = [
            [
                _cell(s["name"]),
                _cell(s["term1"], align="C"),
                _cell(s["term2"], align="C"),
                _cell(s["year"], "B", "C"),
                _cell(s["reassessed"], align="C"),
                self.teacher_cell(s),
            ]
            for s in year["subjects"]
        ]
        items = [*self.table(columns, rows), self.gap(5)]
        learning, conduct = year["learning"], year["conduct"]
        learned = [("Kết quả học tập: cả năm ", ""), (learning["year"], "B")]
        if learning["after_reassessment"]:
            learned += [
                ("; sau kiểm tra, đánh giá lại ", ""),
                (learning["after_reassessment"], "B"),
            ]
        items.append(self.rich(learned))
        if learning["adjusted_by"]:
            note = (
                f"(Mức theo bảng là {learning['raw']}; được điều chỉnh lên mức liền kề theo "
                f"khoản 3 Điều 9 Thông tư 22/2021/TT-BGDĐT do môn {learning['adjusted_by']}.)"
            )
            items.append(self.paragraph(note, "I", 8.5, x=LEFT + 12, width=WIDTH - 12))
        conducted = [("Kết quả rèn luyện: HK I ", ""), (conduct["term1"], "B")]
        conducted += [
            ("; HK II ", ""),
            (conduct["term2"], "B"),
            ("; cả năm ", ""),
            (conduct["year"], "B"),
        ]
        if conduct["after_summer"]:
            conducted += [("; sau rèn luyện trong kì nghỉ hè ", ""), (conduct["after_summer"], "B")]
        items += [
            self.rich(conducted),
            self.rich([("Số buổi nghỉ học cả năm: ", ""), (str(year["absences"]), "B")]),
            self.rich([("Xét lên lớp: ", ""), (year["promotion"], "B")]),
            *self.year_tail(year),
        ]
        return items

    def primary_year(self, year: Mapping[str, Any]) -> list[_Item]:
        """TT 27/2020: subject levels and test scores, phẩm chất and năng lực, the result."""
        columns = [("Môn học và hoạt động giáo dục", 150.0), ("Mức đạt được", 104.0)]
        columns += [("Điểm KTĐK", 56.0), ("Nhận xét, GV bộ môn", WIDTH - 310)]
        rows = [
            [
                _cell(s["name"]),
                _cell(f"{s['level']} ({s['code']})", "B", "C"),
                _cell(s["test"], align="C"),
                self.teacher_cell(s),
            ]
            for s in year["subjects"]
        ]
        items = [*self.table(columns, rows), self.gap(5)]
        qualities = year["qualities"]
        half = (len(qualities) + 1) // 2
        q_rows = []
        for i in range(half):
            left = qualities[i]
            right = qualities[i + half] if i + half < len(qualities) else {"name": "", "level": ""}
            q_rows.append(
                [
                    _cell(left["name"]),
                    _cell(left["level"], align="C"),
                    _cell(right["name"]),
                    _cell(right["level"], align="C"),
                ]
            )
        if q_rows:
            name_w = WIDTH / 2 - 70
            q_columns = [("Phẩm chất, năng lực", name_w), ("Mức", 70.0)] * 2
            items += [*self.table(q_columns, q_rows), self.gap(5)]
        items += [
            self.rich([("Số buổi nghỉ học cả năm: ", ""), (str(year["absences"]), "B")]),
            self.rich([("Kết quả giáo dục: ", ""), (year["outcome"], "B")]),
            *self.year_tail(year),
        ]
        return items

    def year_tail(self, year: Mapping[str, Any]) -> list[_Item]:
        """Awards, the GVCN's remark and name."""
        awards = [
            a["award"] + (f" ({a['decision']})" if a["decision"] else "") for a in year["awards"]
        ]
        homeroom = year["homeroom"]
        remark = homeroom["remark"]
        if remark is None:
            remark = "(nội dung đã được xóa theo quy định về bảo vệ dữ liệu cá nhân)"
        gvcn = f"Giáo viên chủ nhiệm: {homeroom['teacher']}"
        return [
            self.labelled("Khen thưởng", "; ".join(awards) if awards else "Không"),
            self.labelled("Nhận xét của giáo viên chủ nhiệm", remark),
            self.paragraph(gvcn, "I", 9, align="R"),
        ]

    def closing(self) -> list[SignatureBox]:
        """The issue (số phát hành, lần cấp, ngày cấp), then the empty signature boxes."""
        data, issue = self.data, self.data["issue"]
        issued = date.fromisoformat(issue["issued_on"])
        text = [
            self.heading("IV. XÁC NHẬN VÀ CẤP HỌC BẠ SỐ"),
            self.paragraph(
                f"Học bạ số gồm {len(data['years'])} năm học, được cấp lần thứ {issue['number']} "
                f"ngày {_vn_date(issue['issued_on'])}, số phát hành {issue['transcript_id']}; lập "
                f"từ hồ sơ học sinh phiên bản {issue['record_version']} (mã băm "
                f"{issue['record_head']}).",
                size=9,
            ),
        ]
        if issue["supersedes"]:
            replaced = f"Bản này thay thế bản đã cấp có mã {issue['supersedes']}."
            text.append(self.paragraph(replaced, size=9))
        text += [
            self.paragraph(
                "Dữ liệu của học bạ được đính kèm trong tệp transcript.json và transcript.xml (có "
                "giá trị như nhau) cùng bằng chứng từ sổ cái (proof.json). Kiểm tra tính xác thực "
                f"tại {data['verify_url']} hoặc quét mã QR ở trang 1.",
                size=9,
            ),
            self.gap(6),
            self.paragraph(
                f"{data['school']['province']}, ngày {issued.day} tháng {issued.month} "
                f"năm {issued.year}",
                "I",
                align="R",
            ),
        ]
        signers = {s["role"]: s for s in data["signers"]}
        roles: list[Role] = ["gvcn", "hieu_truong", *(["seal"] if self.seal else [])]  # type: ignore[list-item]
        if len(roles) == 2:
            xs = [round(LEFT) + 10, round(RIGHT) - 10 - BOX_WIDTH]
        else:
            step = (WIDTH - BOX_WIDTH) / 2
            xs = [round(LEFT + i * step) for i in range(3)]
        label_h, name_h = 26.0, 30.0
        boxes: list[SignatureBox] = []

        def draw(top: float) -> None:
            # Whole points, so that the signature field (pyHanko wants integers) is the box.
            y1 = math.floor(PAGE_H - (top + label_h) - BOX_HEIGHT)
            box_top = PAGE_H - y1 - BOX_HEIGHT
            wide = BOX_WIDTH + 20
            for role, x in zip(roles, xs, strict=True):
                signer = signers[role]
                self.text(x - 10, top, BOX_LABELS[role], "B", 9, "C", wide)
                self.text(x - 10, top + 12, "(chữ ký số)", "I", 8, "C", wide)
                self.raw(f"q 0.6 G 0.5 w [2 2] 0 d {x} {y1} {BOX_WIDTH} {BOX_HEIGHT} re S Q")
                under = box_top + BOX_HEIGHT + 4
                names = self.wrap(signer["name"], "B", 9.5, wide)
                self.lines(x - 10, under, names, "B", 9.5, "C", wide)
                title_top = under + len(names) * 9.5 * LEADING
                self.text(x - 10, title_top, signer["title"], "I", 8.5, "C", wide)
                box = (x, y1, x + BOX_WIDTH, y1 + BOX_HEIGHT)
                boxes.append(SignatureBox(role, FIELD_NAMES[role], self.doc.page - 1, box))

        self.place([*text, _Item(label_h + BOX_HEIGHT + name_h + 12, draw)])
        return boxes
