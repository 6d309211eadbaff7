"""A student's record (học bạ) as a page: ``/records/{record}``.

For those who may read the record (its school's leaders and inspectors, teachers of a class
it was in; :func:`api.records.record` decides and logs the read): membership per school
year, every score with its corrections (the original kept and shown struck through, the
reason and who corrected it), pending and approved proposals, conduct, absences, the year
results, the issued transcripts (with their download) and the signed history: every event,
who signed it and when (:func:`api.records.history`, also logged).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import Request
from fastapi.responses import Response

from api import i18n, jobs, records
from api.access import access
from api.services import Services
from api.web import language, page_router, render, require_caller
from ledger.domain import SCORE_KINDS
from ledger.errors import RecordNotFound

router = page_router()

#: Events of the history shown unless ``?history=all``.
HISTORY_SHOWN = 25
#: History fields too long to show whole (ciphertexts, certificates) are cut to this.
FIELD_CHARS = 80


def _fmt(value: Any) -> str:
    text = "" if value is None else str(value)
    return text[:-2] if text.endswith(".0") else text


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= FIELD_CHARS else text[: FIELD_CHARS - 1] + "…"


def _years(found: dict[str, Any], names: dict[str, str]) -> list[dict[str, Any]]:
    """Per school year: subjects × terms × kinds of entries, conduct, absences, result."""
    out: dict[str, dict[str, Any]] = {}
    for y in found["years"]:
        out[y["school_year"]] = {**y, "subjects": {}, "conduct": {}, "absences": {}, "result": None}
    for e in found["entries"]:
        year = out.setdefault(
            e["school_year"],
            {"school_year": e["school_year"], "grade": "", "class": e["class_name"], "school": ""},
        )
        year.setdefault("subjects", {})
        subject = year["subjects"].setdefault(
            e["subject"], {t: {k: [] for k in SCORE_KINDS} for t in (1, 2)}
        )
        e = {
            **e,
            "teacher_name": names.get(str(e["teacher"]), ""),
            "corrected_name": names.get(str(e["corrected_by"]), ""),
            "approved_name": names.get(str(e["approved_by"]), ""),
        }
        subject[int(e["term"])].setdefault(e["kind"], []).append(e)
    for c in found["conduct"]:
        out.get(c["school_year"], {}).setdefault("conduct", {})[c["term"]] = c["level"]
    for a in found["absences"]:
        out.get(a["school_year"], {}).setdefault("absences", {})[a["term"]] = a["sessions"]
    for year_text, result in (found.get("results") or {}).items():
        if year_text in out:
            out[year_text]["result"] = result
    return [out[y] for y in sorted(out, reverse=True)]


@router.get(
    "/records/{record}", openapi_extra=access("teacher", "homeroom", "principal", "inspector")
)
def record_page(request: Request, record: str) -> Response:
    """The record, its corrections and its signed history."""
    who = require_caller(request)
    try:
        rid = UUID(record)
    except ValueError:
        raise RecordNotFound("no student record with this id") from None
    services: Services = request.app.state.services
    lang = language(request)
    found = records.record(services, who, rid)
    events = records.history(services, who, rid)["events"]
    names = {
        str(ev["signer_owner"]): str(ev["signer_name"] or "")
        for ev in events
        if ev.get("signer_owner")
    }
    entry_names = {e["version"]: e for e in found["entries"]}
    history = [
        {
            "version": ev["version"],
            "event": ev["event"],
            "label": i18n.t(f"ev.{ev['event']}", lang)
            if f"ev.{ev['event']}" in i18n.MESSAGES
            else ev["event"],
            "timestamp": str(ev["timestamp"])[:19].replace("T", " "),
            "signer": ev["signer_name"] or ev["signer"][:16],
            "algorithm": ev["algorithm"],
            "hash": ev["hash"],
            "fields": [(k, _short(v)) for k, v in sorted(ev["fields"].items()) if k != "by"],
        }
        for ev in reversed(events)
    ]
    proposals = [
        {**p, "entry": entry_names.get(p["corrects"]), "by_name": names.get(str(p["by"]), "")}
        for p in found["proposals"]
    ]
    whole = request.query_params.get("history") == "all"
    shown = history if whole else history[:HISTORY_SHOWN]
    issued = jobs.transcripts_of(services, who, rid)["transcripts"]
    name = (found.get("identity") or {}).get("ho_va_ten", "")
    return render(
        request,
        "record.html",
        who,
        found=found,
        name=name,
        years=_years(found, names),
        proposals=proposals,
        transcripts=issued,
        history=shown,
        history_total=len(history),
        kinds=SCORE_KINDS,
        fmt=_fmt,
    )
