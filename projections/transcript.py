"""The canonical data of an issued học bạ số, as JSON and as XML.

:func:`build_transcript` turns the transcript view's years of one student
(:meth:`projections.views.TranscriptView.transcripts_of`) and what the issuing
school adds (teachers' names, signatories, the issue) into one plain dict, format
``socai-transcript/1``. That dict is what the PDF page shows, what is attached to
the PDF as ``transcript.json`` (:func:`to_json`) and ``transcript.xml``
(:func:`to_xml`), and what a verifier reads back (:func:`from_xml` gives the same
dict, so XML == JSON can be checked). Each year keeps the year result of
:mod:`ledger.results` verbatim under ``result`` so that a verifier can compare it
with a recomputation from the events (DESIGN.md invariant 6).

The same inputs always give the same dict and the same bytes: nothing here reads
a clock, and every list has a fixed order. The schemas are
``docs/schemas/transcript.schema.json`` (JSON Schema 2020-12) and
``docs/schemas/transcript.xsd`` (XML Schema 1.0).

Shape (``?`` marks a value that may be null; in XML a null is an absent element)::

    format        "socai-transcript/1"
    issue         transcript_id, number, issued_on (YYYY-MM-DD), record_version,
                  record_head (hex), supersedes? (hex)
    verify_url    the verification address the QR code carries
    school        code, name, province (the issuing school: that of the last year)
    student       id, code, identity? (field -> text; null once shredded), shredded
    level         "TH" | "THCS" | "THPT" (cấp học, from the grades)
    years[]       one per school year, oldest first; by ``regulation``:
      TT22/2021   school_year, school {code, name}, grade, class_name, regulation,
                  stage, result_version, result_recorded_at,
                  subjects[] {name, assessed, term1, term2, year, reassessed?,
                  teacher, remark?}, learning {year, raw, adjusted_by?,
                  after_reassessment?}, conduct {term1, term2, year, after_summer?},
                  absences, promotion, awards[] {award, decision?},
                  homeroom {teacher, remark?}, result
      TT27/2020   as above but subjects[] {name, assessed, level, code, test?,
                  teacher, remark?}, qualities[] {name, level}, absences, outcome,
                  awards, homeroom, result (no learning, conduct, promotion)
    history[]     version, event, school_year?, school_code?, grade?, class_name?,
                  to_school_code?, reason?, at
    signers[]     role ("gvcn", "hieu_truong", "seal"), name, title, staff_code?
"""

from __future__ import annotations

import json
import re
import unicodedata
import xml.etree.ElementTree as ET  # builds XML only; parsing goes through defusedxml
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from defusedxml import DefusedXmlException  # type: ignore[import-untyped]
from defusedxml.ElementTree import fromstring as _safe_fromstring  # type: ignore[import-untyped]

from ledger.catalog import PRIMARY_PLAN, PRIMARY_QUALITIES, THCS_PLAN
from projections.errors import ProjectionError, TranscriptIncomplete
from projections.fonts import uncovered

#: The format name, in the data and in the XML namespace.
FORMAT = "socai-transcript/1"
#: The XML namespace of ``transcript.xml``.
XML_NAMESPACE = "urn:socai:transcript:1"

#: Regulation names as :mod:`ledger.assessment` stamps them on results.
TT22 = "TT22/2021"
TT27 = "TT27/2020"

Role = Literal["gvcn", "hieu_truong", "seal"]
#: Signature order (DESIGN.md §4): GVCN, then Hiệu trưởng, then the school's seal.
ROLES: tuple[Role, ...] = ("gvcn", "hieu_truong", "seal")


class TranscriptInvalid(ProjectionError):
    """Transcript input or XML is malformed: a wrong type, a bad value, text the font lacks."""


@dataclass(frozen=True)
class Signatory:
    """A person (or the school's seal) who signs the transcript."""

    #: ``gvcn`` (giáo viên chủ nhiệm), ``hieu_truong`` or ``seal`` (con dấu của trường).
    role: Role
    #: Full name as printed under the signature box (the school's name for the seal).
    name: str
    #: Title as printed, e.g. "Giáo viên chủ nhiệm", "Hiệu trưởng".
    title: str
    #: The signer's staff code (mã giáo viên), or None for the seal.
    staff_code: str | None = None


@dataclass(frozen=True)
class IssueInfo:
    """What identifies one issued transcript."""

    #: The transcript's id, printed under the QR code (ASCII letters, digits, ``.``, ``_``, ``-``).
    transcript_id: str
    #: Issue number of this transcript for the student (lần cấp), 1 for the first.
    number: int
    #: Issue date ``YYYY-MM-DD`` in Vietnam time (UTC+7).
    issued_on: str
    #: The student record's version the transcript was issued at.
    record_version: int
    #: Hex hash of the record's event at ``record_version`` (the record head).
    record_head: str
    #: Hex hash identifying the transcript this one replaces, or None.
    supersedes: str | None = None


# -- building --------------------------------------------------------------------------------

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}\Z")
_HEX = re.compile(r"(?:[0-9a-f]{2})+\Z")
_URL = re.compile(r"https?://[!-~]+\Z")
_LEVELS = (("TH", range(1, 6)), ("THCS", range(6, 10)), ("THPT", range(10, 13)))


def level_of(grade: int) -> str:
    """The cấp học of ``grade``: TH (1–5), THCS (6–9), THPT (10–12)."""
    for level, grades in _LEVELS:
        if grade in grades:
            return level
    raise TranscriptInvalid(f"grade {grade} is not a grade of general education (1–12)")


def build_transcript(
    years: Sequence[Mapping[str, Any]],
    *,
    province: str,
    teachers: Mapping[tuple[str, str], str],
    homerooms: Mapping[str, str],
    signers: Sequence[Signatory],
    issue: IssueInfo,
    verify_url: str,
) -> dict[str, Any]:
    """The transcript data of one student (see the module docstring for its shape).

    ``years`` are the transcript view's years of the student, oldest first;
    ``teachers`` maps (school year, subject) to the subject teacher's full name,
    ``homerooms`` a school year to the GVCN's full name. Raises
    :class:`TranscriptIncomplete` naming what the page needs and is missing (a year
    without a result, a teacher's name, the identity, a signatory) and
    :class:`TranscriptInvalid` for malformed input.
    """
    if not years:
        raise TranscriptIncomplete("no school year to put in the transcript")
    first = years[0]
    student = _text(first, "student", "year 1")
    code = _text(first, "student_code", "year 1")
    built: list[dict[str, Any]] = []
    seen: list[str] = []
    for index, year in enumerate(years, 1):
        where = f"year {index}"
        sy = _text(year, "school_year", where)
        where = f"school year {sy}"
        if _text(year, "student", where) != student:
            raise TranscriptInvalid(f"{where}: belongs to another student")
        if seen and sy <= seen[-1]:
            raise TranscriptInvalid(f"{where}: years must be distinct and oldest first")
        seen.append(sy)
        built.append(_year(year, sy, teachers, homerooms))
    levels = {level_of(y["grade"]) for y in built}
    if len(levels) > 1:
        raise TranscriptInvalid(f"one học bạ covers one cấp học, these years span {sorted(levels)}")
    last = years[-1]
    shredded = _flag(first, "shredded", "year 1")
    identity = _identity(first.get("identity"), shredded)
    data: dict[str, Any] = {
        "format": FORMAT,
        "issue": _issue(issue),
        "verify_url": _url(verify_url),
        "school": {
            "code": _text(last, "school_code", f"school year {seen[-1]}"),
            "name": _text(last, "school_name", f"school year {seen[-1]}"),
            "province": _given(province, "province"),
        },
        "student": {"id": student, "code": code, "identity": identity, "shredded": shredded},
        "level": levels.pop(),
        "years": built,
        "history": [_history(h, i) for i, h in enumerate(_list(last, "history", "history"), 1)],
        "signers": _signers(signers),
    }
    _check_text(data, "transcript")
    return data


def _year(
    year: Mapping[str, Any],
    sy: str,
    teachers: Mapping[tuple[str, str], str],
    homerooms: Mapping[str, str],
) -> dict[str, Any]:
    where = f"school year {sy}"
    result = year.get("result")
    if result is None:
        raise TranscriptIncomplete(f"{where}: no year result recorded")
    if not isinstance(result, Mapping):
        raise TranscriptInvalid(f"{where}: the result is not a mapping")
    regulation = _text(result, "regulation", f"{where} result")
    if regulation not in (TT22, TT27):
        raise TranscriptInvalid(f"{where}: unknown regulation {regulation!r}")
    if result.get("school_year", sy) != sy:
        raise TranscriptInvalid(f"{where}: the result is of {result.get('school_year')}")
    grade = _int(year, "grade", where)
    shredded = _flag(year, "shredded", where)
    remarks = _remarks(year, where, shredded)
    homeroom_remark = remarks.pop("", None)
    if homeroom_remark is None and not shredded:
        raise TranscriptIncomplete(f"{where}: no remark of the homeroom teacher (nhận xét GVCN)")
    homeroom = homerooms.get(sy)
    if not homeroom:
        raise TranscriptIncomplete(f"{where}: no name of the homeroom teacher (GVCN)")
    subjects = _mapping(result, "subjects", f"{where} result")
    if not subjects:
        raise TranscriptIncomplete(f"{where}: the result has no subject")
    plan = PRIMARY_PLAN if regulation == TT27 else THCS_PLAN
    rows = []
    for name in _catalog_order(subjects, plan):
        row = subjects[name]
        if not isinstance(row, Mapping):
            raise TranscriptInvalid(f"{where}: subject {name!r} is not a mapping")
        teacher = teachers.get((sy, name))
        if not teacher:
            raise TranscriptIncomplete(f"{where}: no name of the teacher of {name}")
        rows.append(_subject(name, row, regulation, f"{where} {name}", teacher, remarks.get(name)))
    out: dict[str, Any] = {
        "school_year": sy,
        "school": {
            "code": _text(year, "school_code", where),
            "name": _text(year, "school_name", where),
        },
        "grade": grade,
        "class_name": _text(year, "class_name", where),
        "regulation": regulation,
        "stage": _text(year, "stage", where),
        "result_version": _int(year, "result_version", where),
        "result_recorded_at": _text(year, "result_recorded_at", where),
        "subjects": rows,
    }
    if out["stage"] not in ("year", "after_summer"):
        raise TranscriptInvalid(f"{where}: unknown stage {out['stage']!r}")
    rw = f"{where} result"
    if regulation == TT22:
        conduct = _mapping(result, "conduct", rw)
        out["learning"] = {
            "year": _text(result, "learning", rw),
            "raw": _text(result, "learning_raw", rw),
            "adjusted_by": _opt_text(result, "adjusted_by", rw),
            "after_reassessment": _opt_text(result, "learning_after_reassessment", rw),
        }
        out["conduct"] = {
            "term1": _text(conduct, "term1", f"{rw} conduct"),
            "term2": _text(conduct, "term2", f"{rw} conduct"),
            "year": _text(conduct, "year", f"{rw} conduct"),
            "after_summer": _opt_text(result, "conduct_after_summer", rw),
        }
        out["absences"] = _int(result, "absences", rw)
        out["promotion"] = _text(result, "promotion", rw)
    else:
        qualities = _mapping(result, "qualities", rw)
        out["qualities"] = [
            {"name": q, "level": _text(qualities, q, f"{rw} qualities")}
            for q in _catalog_order(qualities, PRIMARY_QUALITIES)
        ]
        out["absences"] = _int(result, "absences", rw)
        out["outcome"] = _text(result, "result", rw)
    out["awards"] = _awards(year, result, where)
    out["homeroom"] = {"teacher": homeroom, "remark": homeroom_remark}
    out["result"] = _plain(result, rw)
    return out


def _catalog_order(names: Iterable[str], catalog: Iterable[str]) -> list[str]:
    """``names`` in the catalog's order (ledger/catalog.py), the others after, by name."""
    rank = {name: i for i, name in enumerate(catalog)}
    return sorted(names, key=lambda n: (rank.get(n, len(rank)), n))


def _subject(
    name: str,
    row: Mapping[str, Any],
    regulation: str,
    where: str,
    teacher: str,
    remark: str | None,
) -> dict[str, Any]:
    assessed = _text(row, "assessed", where)
    if assessed not in ("score", "comment"):
        raise TranscriptInvalid(f"{where}: unknown assessment form {assessed!r}")
    if regulation == TT22:
        return {
            "name": name,
            "assessed": assessed,
            "term1": _text(row, "term1", where),
            "term2": _text(row, "term2", where),
            "year": _text(row, "year", where),
            "reassessed": _opt_text(row, "reassessed", where),
            "teacher": teacher,
            "remark": remark,
        }
    return {
        "name": name,
        "assessed": assessed,
        "level": _text(row, "level", where),
        "code": _text(row, "code", where),
        "test": _opt_text(row, "test", where),
        "teacher": teacher,
        "remark": remark,
    }


def _remarks(year: Mapping[str, Any], where: str, shredded: bool) -> dict[str, str | None]:
    """Subject ("" for the GVCN) -> the latest remark's text, None once shredded."""
    latest: dict[str, tuple[int, str | None]] = {}
    for i, r in enumerate(_list(year, "remarks", where), 1):
        w = f"{where} remark {i}"
        subject = r.get("subject") if isinstance(r, Mapping) else None
        if not isinstance(subject, str):
            raise TranscriptInvalid(f"{w}: no subject")
        version = _int(r, "version", w)
        text = r.get("text")
        if text is None and not shredded:
            raise TranscriptIncomplete(f"{w}: the remark's text is not available (no vault?)")
        if text is not None and not isinstance(text, str):
            raise TranscriptInvalid(f"{w}: text is not a string")
        if subject not in latest or version > latest[subject][0]:
            latest[subject] = (version, None if shredded else text)
    return {s: t for s, (_, t) in latest.items()}


def _awards(year: Mapping[str, Any], result: Mapping[str, Any], where: str) -> list[dict[str, Any]]:
    """The Điều 15 title of the result (no decision), then the recorded awards in order."""
    granted = []
    for i, a in enumerate(_list(year, "awards", where), 1):
        w = f"{where} award {i}"
        granted.append((_int(a, "version", w), _text(a, "award", w), _opt_text(a, "decision", w)))
    granted.sort()
    out = []
    title = result.get("award")
    if title is not None and not isinstance(title, str):
        raise TranscriptInvalid(f"{where} result: award is not a string")
    if title and title not in {award for _, award, _ in granted}:
        out.append({"award": title, "decision": None})
    out.extend({"award": award, "decision": decision} for _, award, decision in granted)
    return out


def _history(h: Any, index: int) -> dict[str, Any]:
    where = f"history {index}"
    if not isinstance(h, Mapping):
        raise TranscriptInvalid(f"{where}: not a mapping")
    return {
        "version": _int(h, "version", where),
        "event": _text(h, "event", where),
        "school_year": _opt_text(h, "school_year", where),
        "school_code": _opt_text(h, "school_code", where),
        "grade": _opt_int(h, "grade", where),
        "class_name": _opt_text(h, "class_name", where),
        "to_school_code": _opt_text(h, "to_school_code", where),
        "reason": _opt_text(h, "reason", where),
        "at": _text(h, "at", where),
    }


def _identity(identity: Any, shredded: bool) -> dict[str, str] | None:
    if shredded:
        return None
    if identity is None:
        raise TranscriptIncomplete("the student's identity is not available (no vault?)")
    if not isinstance(identity, Mapping):
        raise TranscriptInvalid("identity is not a mapping")
    out = {}
    for key in sorted(identity):
        value = identity[key]
        if not isinstance(key, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", key):
            raise TranscriptInvalid(f"identity field name {key!r} is not a snake_case name")
        if value is None:
            continue
        if not isinstance(value, str):
            raise TranscriptInvalid(f"identity field {key} is not a string")
        out[key] = value
    if not out.get("ho_va_ten"):
        raise TranscriptIncomplete("identity: no ho_va_ten (the student's full name)")
    return out


def _issue(issue: IssueInfo) -> dict[str, Any]:
    if not isinstance(issue, IssueInfo):
        raise TranscriptInvalid("issue must be an IssueInfo")
    if not isinstance(issue.transcript_id, str) or not _ID.match(issue.transcript_id):
        raise TranscriptInvalid(
            f"transcript id {issue.transcript_id!r}: 1–128 ASCII letters, digits, '.', '_', '-'"
        )
    for name in ("number", "record_version"):
        value = getattr(issue, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise TranscriptInvalid(f"issue {name} must be an integer ≥ 1, not {value!r}")
    try:
        issued = date.fromisoformat(issue.issued_on)
    except (TypeError, ValueError):
        issued = None
    if issued is None or issued.isoformat() != issue.issued_on:
        raise TranscriptInvalid(f"issued_on {issue.issued_on!r} is not a date YYYY-MM-DD")
    for name in ("record_head", "supersedes"):
        value = getattr(issue, name)
        if value is None and name == "supersedes":
            continue
        if not isinstance(value, str) or not _HEX.match(value):
            raise TranscriptInvalid(f"issue {name} must be lower-case hex, not {value!r}")
    return {
        "transcript_id": issue.transcript_id,
        "number": issue.number,
        "issued_on": issue.issued_on,
        "record_version": issue.record_version,
        "record_head": issue.record_head,
        "supersedes": issue.supersedes,
    }


def _url(url: str) -> str:
    if not isinstance(url, str) or not _URL.match(url) or len(url) > 1024:
        raise TranscriptInvalid(f"verify_url {url!r} is not an http(s) URL of printable ASCII")
    return url


def _signers(signers: Sequence[Signatory]) -> list[dict[str, Any]]:
    by_role: dict[str, Signatory] = {}
    for s in signers:
        if not isinstance(s, Signatory):
            raise TranscriptInvalid("signers must be Signatory values")
        if s.role not in ROLES:
            raise TranscriptInvalid(f"unknown signer role {s.role!r}: one of {list(ROLES)}")
        if s.role in by_role:
            raise TranscriptInvalid(f"two signers with role {s.role}")
        by_role[s.role] = s
    for role in ("gvcn", "hieu_truong"):
        if role not in by_role:
            raise TranscriptIncomplete(f"signers: no {role}")
    out = []
    for role in ROLES:
        if role in by_role:
            s = by_role[role]
            out.append(
                {
                    "role": role,
                    "name": _given(s.name, f"signer {role} name"),
                    "title": _given(s.title, f"signer {role} title"),
                    "staff_code": None
                    if s.staff_code is None
                    else _given(s.staff_code, "staff_code"),
                }
            )
    return out


def _given(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise TranscriptInvalid(f"{what} must be a non-empty string")
    return value


def _text(m: Mapping[str, Any], key: str, where: str) -> str:
    value = m.get(key)
    if value is None:
        raise TranscriptIncomplete(f"{where}: no {key}")
    if not isinstance(value, str):
        raise TranscriptInvalid(f"{where}: {key} is not a string: {value!r}")
    return value


def _opt_text(m: Mapping[str, Any], key: str, where: str) -> str | None:
    return None if m.get(key) is None else _text(m, key, where)


def _int(m: Mapping[str, Any], key: str, where: str) -> int:
    value = m.get(key)
    if value is None:
        raise TranscriptIncomplete(f"{where}: no {key}")
    if isinstance(value, bool) or not isinstance(value, int):
        raise TranscriptInvalid(f"{where}: {key} is not an integer: {value!r}")
    return value


def _opt_int(m: Mapping[str, Any], key: str, where: str) -> int | None:
    return None if m.get(key) is None else _int(m, key, where)


def _flag(m: Mapping[str, Any], key: str, where: str) -> bool:
    value = m.get(key, False)
    if not isinstance(value, bool):
        raise TranscriptInvalid(f"{where}: {key} is not a boolean")
    return value


def _mapping(m: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = m.get(key)
    if value is None:
        raise TranscriptIncomplete(f"{where}: no {key}")
    if not isinstance(value, Mapping):
        raise TranscriptInvalid(f"{where}: {key} is not a mapping")
    return value


def _list(m: Mapping[str, Any], key: str, where: str) -> list[Any]:
    value = m.get(key) or []
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise TranscriptInvalid(f"{where}: {key} is not a list")
    for item in value:
        if not isinstance(item, Mapping):
            raise TranscriptInvalid(f"{where}: an item of {key} is not a mapping")
    return list(value)


def _plain(value: Any, where: str) -> Any:
    """A deep copy of JSON data (objects with string keys, lists, strings, ints, bools, null)."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise TranscriptInvalid(f"{where}: key {k!r} is not a string")
            out[k] = _plain(v, f"{where}.{k}")
        return out
    if isinstance(value, (list, tuple)):
        return [_plain(v, where) for v in value]
    raise TranscriptInvalid(f"{where}: {type(value).__name__} is not allowed (no floats)")


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for k, v in value.items():
            yield path, k
            yield from _strings(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _strings(v, f"{path}[{i}]")


def _check_text(data: Mapping[str, Any], root: str) -> None:
    """Every string must be drawable by the embedded fonts (and so be valid XML text too)."""
    for path, text in _strings(data, root):
        bad = uncovered(text)
        if bad:
            listed = ", ".join(f"U+{ord(c):04X}" for c in sorted(bad))
            raise TranscriptInvalid(
                f"{path}: characters the transcript fonts cannot draw: {listed}"
            )
        if unicodedata.normalize("NFC", text) != text:
            raise TranscriptInvalid(f"{path}: text is not in Unicode NFC form")


# -- JSON ------------------------------------------------------------------------------------


def to_json(data: Mapping[str, Any]) -> bytes:
    """Canonical JSON: sorted keys, no spaces, raw UTF-8, one trailing newline."""
    try:
        text = json.dumps(
            data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False
        )
    except (TypeError, ValueError) as e:
        raise TranscriptInvalid(f"transcript data is not JSON: {e}") from e
    return text.encode("utf-8") + b"\n"


# -- XML -------------------------------------------------------------------------------------
#
# One declarative description of the format drives both directions. Every value is an
# element named after its JSON key, in the order below; a null is an absent element; a list
# is a wrapper element with one child per item; ``identity`` holds ``field`` elements with a
# ``key`` attribute; ``result`` holds the year result in the element vocabulary of XPath 3.1
# ``fn:json-to-xml`` (``map``, ``array``, ``string``, ``number``, ``boolean``, ``null``, with
# ``key`` on members of a map), so it survives any change of the result's keys losslessly.


@dataclass(frozen=True)
class _F:
    key: str
    kind: Any  # "str" | "int" | "bool" | "identity" | "json" | _Obj | _List | _Years
    optional: bool = False


@dataclass(frozen=True)
class _Obj:
    fields: tuple[_F, ...]


@dataclass(frozen=True)
class _List:
    item: str
    of: Any


@dataclass(frozen=True)
class _Years:
    """The list of years: the item element and its fields depend on the regulation."""

    variants: Mapping[str, tuple[str, _Obj]]


_SCHOOL = _Obj((_F("code", "str"), _F("name", "str")))
_AWARDS = _List("award", _Obj((_F("award", "str"), _F("decision", "str", True))))
_HOMEROOM = _Obj((_F("teacher", "str"), _F("remark", "str", True)))
_YEAR_HEAD = (
    _F("school_year", "str"),
    _F("school", _SCHOOL),
    _F("grade", "int"),
    _F("class_name", "str"),
    _F("regulation", "str"),
    _F("stage", "str"),
    _F("result_version", "int"),
    _F("result_recorded_at", "str"),
)
_SECONDARY_YEAR = _Obj(
    (
        *_YEAR_HEAD,
        _F(
            "subjects",
            _List(
                "subject",
                _Obj(
                    (
                        _F("name", "str"),
                        _F("assessed", "str"),
                        _F("term1", "str"),
                        _F("term2", "str"),
                        _F("year", "str"),
                        _F("reassessed", "str", True),
                        _F("teacher", "str"),
                        _F("remark", "str", True),
                    )
                ),
            ),
        ),
        _F(
            "learning",
            _Obj(
                (
                    _F("year", "str"),
                    _F("raw", "str"),
                    _F("adjusted_by", "str", True),
                    _F("after_reassessment", "str", True),
                )
            ),
        ),
        _F(
            "conduct",
            _Obj(
                (
                    _F("term1", "str"),
                    _F("term2", "str"),
                    _F("year", "str"),
                    _F("after_summer", "str", True),
                )
            ),
        ),
        _F("absences", "int"),
        _F("promotion", "str"),
        _F("awards", _AWARDS),
        _F("homeroom", _HOMEROOM),
        _F("result", "json"),
    )
)
_PRIMARY_YEAR = _Obj(
    (
        *_YEAR_HEAD,
        _F(
            "subjects",
            _List(
                "subject",
                _Obj(
                    (
                        _F("name", "str"),
                        _F("assessed", "str"),
                        _F("level", "str"),
                        _F("code", "str"),
                        _F("test", "str", True),
                        _F("teacher", "str"),
                        _F("remark", "str", True),
                    )
                ),
            ),
        ),
        _F("qualities", _List("quality", _Obj((_F("name", "str"), _F("level", "str"))))),
        _F("absences", "int"),
        _F("outcome", "str"),
        _F("awards", _AWARDS),
        _F("homeroom", _HOMEROOM),
        _F("result", "json"),
    )
)
_TRANSCRIPT = _Obj(
    (
        _F("format", "str"),
        _F(
            "issue",
            _Obj(
                (
                    _F("transcript_id", "str"),
                    _F("number", "int"),
                    _F("issued_on", "str"),
                    _F("record_version", "int"),
                    _F("record_head", "str"),
                    _F("supersedes", "str", True),
                )
            ),
        ),
        _F("verify_url", "str"),
        _F("school", _Obj((_F("code", "str"), _F("name", "str"), _F("province", "str")))),
        _F(
            "student",
            _Obj(
                (
                    _F("id", "str"),
                    _F("code", "str"),
                    _F("identity", "identity", True),
                    _F("shredded", "bool"),
                )
            ),
        ),
        _F("level", "str"),
        _F(
            "years",
            _Years(
                {TT22: ("secondary_year", _SECONDARY_YEAR), TT27: ("primary_year", _PRIMARY_YEAR)}
            ),
        ),
        _F(
            "history",
            _List(
                "entry",
                _Obj(
                    (
                        _F("version", "int"),
                        _F("event", "str"),
                        _F("school_year", "str", True),
                        _F("school_code", "str", True),
                        _F("grade", "int", True),
                        _F("class_name", "str", True),
                        _F("to_school_code", "str", True),
                        _F("reason", "str", True),
                        _F("at", "str"),
                    )
                ),
            ),
        ),
        _F(
            "signers",
            _List(
                "signer",
                _Obj(
                    (
                        _F("role", "str"),
                        _F("name", "str"),
                        _F("title", "str"),
                        _F("staff_code", "str", True),
                    )
                ),
            ),
        ),
    )
)


def _q(tag: str) -> str:
    return f"{{{XML_NAMESPACE}}}{tag}"


def validate(data: Mapping[str, Any]) -> None:
    """Check that ``data`` has the shape and values of the format (what renderers rely on).

    Raises :class:`TranscriptInvalid` naming the first problem: a missing or unknown
    key, a wrong type, a bad issue date or level, text the fonts cannot draw.
    """
    _check(_TRANSCRIPT, data, "transcript")
    if data["format"] != FORMAT:
        raise TranscriptInvalid(f"format {data['format']!r} is not {FORMAT}")
    if data["level"] not in {level for level, _ in _LEVELS}:
        raise TranscriptInvalid(f"unknown level {data['level']!r}")
    issued = data["issue"]["issued_on"]
    try:
        ok = date.fromisoformat(issued).isoformat() == issued
    except ValueError:
        ok = False
    if not ok:
        raise TranscriptInvalid(f"issued_on {issued!r} is not a date YYYY-MM-DD")
    roles = [s["role"] for s in data["signers"]]
    if len(set(roles)) != len(roles) or not set(roles) <= set(ROLES):
        raise TranscriptInvalid(f"signer roles {roles} must be distinct, of {list(ROLES)}")
    if not data["years"]:
        raise TranscriptInvalid("transcript.years: empty")
    _check_text(data, "transcript")


def _check(kind: Any, v: Any, path: str) -> None:
    """Type-check ``v`` against the format description (the checks :func:`to_xml` makes)."""
    if kind == "str":
        ok = isinstance(v, str)
    elif kind == "int":
        ok = isinstance(v, int) and not isinstance(v, bool)
    elif kind == "bool":
        ok = isinstance(v, bool)
    elif kind == "identity":
        ok = isinstance(v, Mapping) and all(isinstance(x, str) for x in v.values())
    elif kind == "json":
        _plain(v, path)
        ok = isinstance(v, Mapping)
    elif isinstance(kind, _Obj):
        if not isinstance(v, Mapping):
            raise TranscriptInvalid(f"{path}: not a mapping")
        extra = sorted(set(v) - {f.key for f in kind.fields})
        if extra:
            raise TranscriptInvalid(f"{path}: unknown keys {extra}")
        for f in kind.fields:
            if f.key not in v or (v[f.key] is None and not f.optional):
                raise TranscriptInvalid(f"{path}.{f.key}: missing")
            if v[f.key] is not None:
                _check(f.kind, v[f.key], f"{path}.{f.key}")
        return
    elif isinstance(kind, (_List, _Years)):
        if not isinstance(v, list):
            raise TranscriptInvalid(f"{path}: not a list")
        for i, item in enumerate(v):
            if isinstance(kind, _List):
                _check(kind.of, item, f"{path}[{i}]")
                continue
            regulation = item.get("regulation") if isinstance(item, Mapping) else None
            if not isinstance(regulation, str) or regulation not in kind.variants:
                raise TranscriptInvalid(f"{path}[{i}]: unknown regulation {regulation!r}")
            _check(kind.variants[regulation][1], item, f"{path}[{i}]")
        return
    else:  # pragma: no cover - the spec above is fixed
        raise AssertionError(kind)
    if not ok:
        raise TranscriptInvalid(f"{path}: not a {kind if isinstance(kind, str) else 'value'}")


def to_xml(data: Mapping[str, Any]) -> bytes:
    """``data`` as ``transcript.xml``: UTF-8, namespace ``urn:socai:transcript:1``.

    Deterministic (two-space indentation, no timestamps of its own) and valid against
    ``docs/schemas/transcript.xsd``. Raises :class:`TranscriptInvalid` when ``data``
    does not have the shape of the format.
    """
    # Tags are written unqualified under a default namespace declared on the root.
    root = ET.Element("transcript", xmlns=XML_NAMESPACE)
    _put_obj(root, _TRANSCRIPT, data, "transcript")
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode")
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body.encode("utf-8") + b"\n"


def _put_obj(parent: ET.Element, spec: _Obj, value: Any, path: str) -> None:
    if not isinstance(value, Mapping):
        raise TranscriptInvalid(f"{path}: not a mapping")
    known = {f.key for f in spec.fields}
    extra = sorted(set(value) - known)
    if extra:
        raise TranscriptInvalid(f"{path}: unknown keys {extra}")
    for f in spec.fields:
        where = f"{path}.{f.key}"
        if f.key not in value:
            raise TranscriptInvalid(f"{where}: missing")
        v = value[f.key]
        if v is None:
            if not f.optional:
                raise TranscriptInvalid(f"{where}: missing")
            continue
        _put(ET.SubElement(parent, f.key), f.kind, v, where)


def _put(el: ET.Element, kind: Any, v: Any, path: str) -> None:
    if kind == "str":
        if not isinstance(v, str):
            raise TranscriptInvalid(f"{path}: not a string")
        el.text = v
    elif kind == "int":
        if isinstance(v, bool) or not isinstance(v, int):
            raise TranscriptInvalid(f"{path}: not an integer")
        el.text = str(v)
    elif kind == "bool":
        if not isinstance(v, bool):
            raise TranscriptInvalid(f"{path}: not a boolean")
        el.text = "true" if v else "false"
    elif kind == "identity":
        if not isinstance(v, Mapping):
            raise TranscriptInvalid(f"{path}: not a mapping")
        for key in sorted(v):
            if not isinstance(v[key], str):
                raise TranscriptInvalid(f"{path}.{key}: not a string")
            field = ET.SubElement(el, "field", key=key)
            field.text = v[key]
    elif kind == "json":
        _put_json(el, v, path)
    elif isinstance(kind, _Obj):
        _put_obj(el, kind, v, path)
    elif isinstance(kind, _List):
        if not isinstance(v, list):
            raise TranscriptInvalid(f"{path}: not a list")
        for i, item in enumerate(v):
            _put(ET.SubElement(el, kind.item), kind.of, item, f"{path}[{i}]")
    elif isinstance(kind, _Years):
        if not isinstance(v, list):
            raise TranscriptInvalid(f"{path}: not a list")
        for i, item in enumerate(v):
            regulation = item.get("regulation") if isinstance(item, Mapping) else None
            if not isinstance(regulation, str) or regulation not in kind.variants:
                raise TranscriptInvalid(f"{path}[{i}]: unknown regulation {regulation!r}")
            tag, spec = kind.variants[regulation]
            _put_obj(ET.SubElement(el, tag), spec, item, f"{path}[{i}]")
    else:  # pragma: no cover - the spec above is fixed
        raise AssertionError(kind)


def _put_json(parent: ET.Element, v: Any, path: str, key: str | None = None) -> None:
    attrs = {} if key is None else {"key": key}
    if v is None:
        ET.SubElement(parent, "null", attrs)
    elif isinstance(v, bool):
        ET.SubElement(parent, "boolean", attrs).text = "true" if v else "false"
    elif isinstance(v, int):
        ET.SubElement(parent, "number", attrs).text = str(v)
    elif isinstance(v, str):
        ET.SubElement(parent, "string", attrs).text = v
    elif isinstance(v, Mapping):
        el = ET.SubElement(parent, "map", attrs)
        for k in sorted(v):
            if not isinstance(k, str):
                raise TranscriptInvalid(f"{path}: key {k!r} is not a string")
            _put_json(el, v[k], f"{path}.{k}", k)
    elif isinstance(v, list):
        el = ET.SubElement(parent, "array", attrs)
        for i, item in enumerate(v):
            _put_json(el, item, f"{path}[{i}]")
    else:
        raise TranscriptInvalid(f"{path}: {type(v).__name__} is not allowed (no floats)")


def from_xml(xml: bytes) -> dict[str, Any]:
    """Read ``transcript.xml`` back into the transcript dict (the inverse of :func:`to_xml`).

    Parsed with defusedxml (no DTD, no entities, no network). Raises
    :class:`TranscriptInvalid` for anything that is not a transcript of this format.
    """
    if not isinstance(xml, bytes):
        raise TranscriptInvalid("transcript XML must be bytes")
    try:
        root = _safe_fromstring(xml, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ET.ParseError, DefusedXmlException, ValueError) as e:
        raise TranscriptInvalid(f"transcript XML is not well-formed or not allowed: {e}") from e
    if root.tag != _q("transcript"):
        raise TranscriptInvalid(f"root element is {root.tag}, not {{{XML_NAMESPACE}}}transcript")
    out = _get_obj(root, _TRANSCRIPT, "transcript")
    if out.get("format") != FORMAT:
        raise TranscriptInvalid(f"format {out.get('format')!r} is not {FORMAT}")
    return out


def _local(el: ET.Element, path: str) -> str:
    prefix = f"{{{XML_NAMESPACE}}}"
    if not isinstance(el.tag, str) or not el.tag.startswith(prefix):
        raise TranscriptInvalid(f"{path}: element {el.tag!r} is not in the transcript namespace")
    return el.tag[len(prefix) :]


def _no_text(el: ET.Element, path: str) -> None:
    if el.text and el.text.strip():
        raise TranscriptInvalid(f"{path}: unexpected text in a structured element")
    for child in el:
        if child.tail and child.tail.strip():
            raise TranscriptInvalid(f"{path}: unexpected text in a structured element")


def _get_obj(el: ET.Element, spec: _Obj, path: str) -> dict[str, Any]:
    _no_text(el, path)
    if el.attrib:
        raise TranscriptInvalid(f"{path}: unexpected attributes {sorted(el.attrib)}")
    children = list(el)
    out: dict[str, Any] = {}
    i = 0
    for f in spec.fields:
        where = f"{path}.{f.key}"
        if i < len(children) and _local(children[i], where) == f.key:
            out[f.key] = _get(children[i], f.kind, where)
            i += 1
        elif f.optional:
            out[f.key] = None
        else:
            raise TranscriptInvalid(f"{where}: missing")
    if i < len(children):
        raise TranscriptInvalid(f"{path}: unexpected element {_local(children[i], path)!r}")
    return out


def _leaf(el: ET.Element, path: str) -> str:
    if len(el) or el.attrib:
        raise TranscriptInvalid(f"{path}: expected text only")
    return el.text or ""


def _get(el: ET.Element, kind: Any, path: str) -> Any:
    if kind == "str":
        return _leaf(el, path)
    if kind == "int":
        text = _leaf(el, path)
        if not re.fullmatch(r"-?(0|[1-9][0-9]*)", text):
            raise TranscriptInvalid(f"{path}: {text!r} is not an integer")
        return int(text)
    if kind == "bool":
        text = _leaf(el, path)
        if text not in ("true", "false"):
            raise TranscriptInvalid(f"{path}: {text!r} is not true or false")
        return text == "true"
    if kind == "identity":
        _no_text(el, path)
        out: dict[str, str] = {}
        for child in el:
            if _local(child, path) != "field" or set(child.attrib) != {"key"} or len(child):
                raise TranscriptInvalid(f"{path}: expected <field key=…> elements")
            key = child.attrib["key"]
            if key in out:
                raise TranscriptInvalid(f"{path}: field {key!r} twice")
            out[key] = child.text or ""
        return out
    if kind == "json":
        _no_text(el, path)
        if len(el) != 1 or el.attrib:
            raise TranscriptInvalid(f"{path}: expected one JSON value element")
        return _get_json(el[0], path, in_map=False)
    if isinstance(kind, _Obj):
        return _get_obj(el, kind, path)
    if isinstance(kind, _List):
        _no_text(el, path)
        items = []
        for i, child in enumerate(el):
            where = f"{path}[{i}]"
            if _local(child, where) != kind.item:
                raise TranscriptInvalid(f"{where}: expected <{kind.item}>")
            items.append(_get(child, kind.of, where))
        return items
    if isinstance(kind, _Years):
        _no_text(el, path)
        years = []
        tags = {tag: (regulation, spec) for regulation, (tag, spec) in kind.variants.items()}
        for i, child in enumerate(el):
            where = f"{path}[{i}]"
            tag = _local(child, where)
            if tag not in tags:
                raise TranscriptInvalid(f"{where}: unexpected element {tag!r}")
            regulation, spec = tags[tag]
            year = _get_obj(child, spec, where)
            if year["regulation"] != regulation:
                raise TranscriptInvalid(f"{where}: <{tag}> with regulation {year['regulation']!r}")
            years.append(year)
        return years
    raise AssertionError(kind)  # pragma: no cover - the spec above is fixed


def _get_json(el: ET.Element, path: str, *, in_map: bool) -> Any:
    tag = _local(el, path)
    allowed = {"key"} if in_map else set()
    if set(el.attrib) != allowed:
        raise TranscriptInvalid(f"{path}: <{tag}> {'needs' if in_map else 'takes no'} a key")
    if tag == "null":
        if len(el) or el.text:
            raise TranscriptInvalid(f"{path}: <null> must be empty")
        return None
    if tag == "boolean":
        text = _leaf_json(el, path)
        if text not in ("true", "false"):
            raise TranscriptInvalid(f"{path}: {text!r} is not a boolean")
        return text == "true"
    if tag == "number":
        text = _leaf_json(el, path)
        if not re.fullmatch(r"-?(0|[1-9][0-9]*)", text):
            raise TranscriptInvalid(f"{path}: {text!r} is not an integer")
        return int(text)
    if tag == "string":
        return _leaf_json(el, path)
    if tag == "map":
        _no_text(el, path)
        out: dict[str, Any] = {}
        for child in el:
            key = child.attrib.get("key")
            if key is None or key in out:
                raise TranscriptInvalid(f"{path}: a map member without a key, or a key twice")
            out[key] = _get_json(child, f"{path}.{key}", in_map=True)
        return out
    if tag == "array":
        _no_text(el, path)
        return [_get_json(child, f"{path}[{i}]", in_map=False) for i, child in enumerate(el)]
    raise TranscriptInvalid(f"{path}: unexpected element {tag!r}")


def _leaf_json(el: ET.Element, path: str) -> str:
    if len(el):
        raise TranscriptInvalid(f"{path}: expected text only")
    return el.text or ""
