"""The inspector's pages (read-only): ``/inspect/{school}`` and ``/inspect/records/{record}``.

Who may open them: an inspector account of the school (thanh tra), or the school's principal
or deputy; another school's page is a 404, a teacher's or staff officer's a 403, and without
a session the browser goes to the log-in page. Everything comes from the service functions of
:mod:`api.inspecting` (which check those rights and log every read of a record); this module
only chooses what to ask and lays it out:

* ``/inspect/{school}`` (a school id or its mã trường): a chart of the changes per day, week
  or month (:mod:`api.charts`, inline SVG, with the same numbers in a table), the anomalies
  worth a question (and the audit's integrity problems), the timeline of who changed what
  and when, filtered by date range, actor (mã cán bộ), record (mã học sinh or id) and event
  type, paginated newest first, and the download of the audit report;
* ``/inspect/{school}/report?format=pdf|html|json|csv&lang=vi|en``: the audit report file;
* ``/inspect/records/{record}``: one student record's (or staff file's) whole timeline, each
  event with its signer, the certificate it was signed with, and the authority verdict: what
  the signer's authority rested on and whether the audit of the record re-verified it.

Filters that do not parse (a date that is not a date) are shown back with a message and the
unfiltered page, never an error page.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from cryptography import x509
from cryptography.x509.oid import NameOID
from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, Response
from starlette.background import BackgroundTask

from api import inspecting
from api.access import access
from api.charts import bar_chart, buckets
from api.i18n import t
from api.services import Services
from api.web import language, page_router, render, require_caller
from ledger.audit import audit
from ledger.errors import InvalidInput, RecordNotFound
from ledger.inspection import KINDS, SEVERITY, VIETNAM
from projections.audit_report import BASIS_LABELS, EVENT_LABELS, event_label, kind_label
from signing import envelope
from signing.errors import SigningError

__all__ = ["router"]

router = page_router()

#: Timeline rows per page.
PAGE_ROWS = 50
#: Anomalies listed on the school page (the report has them all).
ANOMALIES_SHOWN = 30
#: The filter's event types: every event name the labels know, once.
EVENT_NAMES = tuple(sorted({key.rpartition(".")[2] for key in EVENT_LABELS}))
_QUERY_MAX = 100


def _q(request: Request, name: str) -> str:
    """A query parameter, trimmed and bounded ("" when absent)."""
    return (request.query_params.get(name) or "").strip()[:_QUERY_MAX]


def _page_number(request: Request, deepest: int) -> int:
    """The ``page`` asked for: 1 when absent or malformed, at most ``deepest``."""
    text = _q(request, "page")
    return min(int(text), deepest) if text.isdigit() and int(text) > 0 else 1


def _when(text: str) -> str:
    """An ISO time as ``DD/MM/YYYY HH:MM`` (Vietnam time)."""
    try:
        return datetime.fromisoformat(text).astimezone(VIETNAM).strftime("%d/%m/%Y %H:%M")
    except ValueError:
        return text


def _event_options(lang: str) -> list[tuple[str, str]]:
    """(event name, label) of the filter, by label; a name several aggregates use (Opened)
    shows each one's label."""
    options = []
    for name in EVENT_NAMES:
        aggregates = [k.partition(".")[0] for k in EVENT_LABELS if k.endswith(f".{name}")]
        labels = [event_label(name, agg, lang) for agg in aggregates]
        if name in EVENT_LABELS:
            labels.append(event_label(name, "", lang))
        options.append((name, " / ".join(dict.fromkeys(labels))))
    return sorted(options, key=lambda o: _collation(o[1]))


def _collation(text: str) -> tuple[str, str]:
    """Sort key of Vietnamese text: letters without their marks first (Đ with D), then as is."""
    bare = unicodedata.normalize("NFD", text.replace("Đ", "D").replace("đ", "d"))
    return "".join(c for c in bare if not unicodedata.combining(c)).casefold(), text


def _basis(basis: str, lang: str) -> str:
    pair = BASIS_LABELS.get(basis, (basis, basis))
    return pair[1] if lang == "en" else pair[0]


def _rows(rows: list[dict[str, Any]], lang: str) -> list[dict[str, Any]]:
    """Timeline rows as the templates show them."""
    out = []
    for r in rows:
        context = " · ".join(
            str(x)
            for x in (
                r.get("school_year"),
                r.get("class_name"),
                r.get("subject"),
                (f"HK{r['term']}" if lang == "vi" else f"T{r['term']}") if r.get("term") else "",
            )
            if x
        )
        out.append(
            {
                **r,
                "when": _when(str(r["time"])),
                "context": context,
                "basis_label": _basis(str(r.get("basis") or ""), lang),
                "linkable": r.get("record_kind") in ("student", "staff"),
            }
        )
    return out


def _filters(request: Request) -> dict[str, Any]:
    """The filter form's values, as sent."""
    return {
        "from": _q(request, "from"),
        "to": _q(request, "to"),
        "actor": _q(request, "actor"),
        "record": _q(request, "record"),
        "event": [e[:64] for e in request.query_params.getlist("event")[:40] if e],
    }


def _page_url(path: str, request: Request, page: int) -> str:
    from urllib.parse import urlencode

    query = [(k, v) for k, v in request.query_params.multi_items() if k != "page"]
    query.append(("page", str(page)))
    return f"{path}?{urlencode(query)}"


def number(n: int, lang: str) -> str:
    """``1.207`` in Vietnamese, ``1,207`` in English."""
    text = f"{n:,}"
    return text.replace(",", ".") if lang == "vi" else text


def _chart(series: list[dict[str, Any]], lang: str, school: str) -> dict[str, Any]:
    by_day = {str(p["bucket"]): int(p["events"]) for p in series}
    unit, bars = buckets(by_day, lang=lang)
    total = sum(b.count for b in bars)
    busiest = max(bars, key=lambda b: b.count, default=None)
    title = t(f"ins.chart.title.{unit}", lang, school=school)
    desc = t(
        f"ins.chart.desc.{unit}",
        lang,
        total=number(total, lang),
        periods=len(bars),
        busiest=busiest.title if busiest else "–",
        most=number(busiest.count if busiest else 0, lang),
    )
    label = t("ins.chart.axis", lang)
    return {
        # Two drawings of the same bars: the wide one for screens with room, the narrow one
        # (bigger text, fewer labels) for phones; the stylesheet shows one of them.
        "svg": bar_chart(
            bars,
            title=title,
            desc=desc,
            chart_id="changes",
            unit_label=label,
            width=960,
            css_class="chart-wide",
        )
        if bars
        else None,
        "svg_narrow": bar_chart(
            bars,
            title=title,
            desc=desc,
            chart_id="changes-narrow",
            unit_label=label,
            width=360,
            height=240,
            font_size=13,
            css_class="chart-narrow",
        )
        if bars
        else None,
        "unit": unit,
        "bars": bars,
        "title": title,
        "desc": desc,
        "total": total,
    }


def _anomalies(found: Mapping[str, Any], lang: str) -> dict[str, Any]:
    shown = []
    for a in list(found.get("anomalies", []))[:ANOMALIES_SHOWN]:
        events = []
        for e in a.get("events", [])[:10]:
            record = str(e.get("record", ""))
            try:
                UUID(record)
                link = f"/inspect/records/{record}"
            except ValueError:
                link = None
            events.append({**e, "link": link, "when": _when(str(e.get("time") or ""))})
        shown.append({**a, "events": events})
    counts = dict(found.get("counts", {}))
    return {
        "shown": shown,
        "total": sum(counts.values()),
        "counts": [
            (kind_label(k, lang), counts[k], SEVERITY.get(k, "question"))
            for k in KINDS
            if k in counts
        ],
        "audit": found.get("audit", {}),
    }


@router.get("/inspect/records/{record}", openapi_extra=access("principal", "inspector"))
async def record_page(request: Request, record: str) -> Response:
    """One record's whole timeline: signer, certificate and authority verdict per event."""
    who = await run_in_threadpool(require_caller, request)
    services: Services = request.app.state.services
    lang = language(request)
    try:
        rid = UUID(record.strip())
    except ValueError:
        raise RecordNotFound("no record with this id") from None
    page = _page_number(request, 10_000)

    def work() -> dict[str, Any]:
        found = inspecting.record_timeline(
            services, who, rid, page=page, limit=PAGE_ROWS * 2, order="asc", lang=lang
        )
        checked = audit(services.ledger(), rid)
        problems: dict[int, list[str]] = {}
        for p in checked.problems:
            if p.record == str(rid):
                problems.setdefault(p.version, []).append(f"{p.check}: {p.detail}")
        certificates = _certificates(services, rid)
        rows = _rows(found["rows"], lang)
        for r in rows:
            r["certificate"] = certificates.get(int(r["version"]))
            r["problems"] = problems.get(int(r["version"]), [])
        label = next((r["record_label"] for r in rows), None)
        return {
            **found,
            "rows": rows,
            "label": label or str(rid),
            "audit": {
                "ok": checked.ok,
                "events": checked.events,
                "problems": [
                    {"version": p.version, "check": p.check, "detail": p.detail}
                    for p in checked.problems
                ],
            },
        }

    data = await run_in_threadpool(work)
    pages = {
        "prev": _page_url(request.url.path, request, page - 1) if page > 1 else None,
        "next": _page_url(request.url.path, request, page + 1) if data["next_page"] else None,
    }
    return render(request, "inspect_record.html", who, data=data, pages=pages)


def _certificates(services: Services, record: UUID) -> dict[int, dict[str, str]]:
    """version -> the certificate its event was signed with (as the ledger registered it)."""
    ledger = services.ledger()
    out: dict[int, dict[str, str]] = {}
    known: dict[bytes, dict[str, str]] = {}
    for stored in ledger.recorder.select_events(record):
        try:
            fp = envelope.decode(bytes(stored.state)).signer
        except SigningError:
            continue
        if fp not in known:
            entry = ledger.registry.get(fp)
            known[fp] = _certificate(fp, entry.certificate if entry else None)
        out[int(stored.originator_version)] = known[fp]
    return out


def _certificate(fp: bytes, cert: x509.Certificate | None) -> dict[str, str]:
    if cert is None:
        return {"fingerprint": fp.hex(), "short": fp.hex()[:16], "subject": "", "issuer": ""}

    def cn(name: x509.Name) -> str:
        found = name.get_attributes_for_oid(NameOID.COMMON_NAME)
        value = found[0].value if found else ""
        return value if isinstance(value, str) else value.decode("utf-8", "replace")

    return {
        "fingerprint": fp.hex(),
        "short": fp.hex()[:16],
        "subject": cn(cert.subject),
        "issuer": cn(cert.issuer),
        "serial": format(cert.serial_number, "x"),
        "valid": f"{cert.not_valid_before_utc:%d/%m/%Y} – {cert.not_valid_after_utc:%d/%m/%Y}",
    }


@router.get("/inspect/{school}/report", openapi_extra=access("principal", "inspector"))
async def report_download(request: Request, school: str) -> Response:
    """The audit report of the school as a file (PDF, HTML, JSON or CSV; vi or en)."""
    who = await run_in_threadpool(require_caller, request)
    services: Services = request.app.state.services
    sid = inspecting.school_of(school)
    fmt = _q(request, "format") or "pdf"
    report_lang = _q(request, "lang") or language(request)
    table = _q(request, "table") or "timeline"
    made = await run_in_threadpool(
        inspecting.audit_report, services, who, sid, fmt=fmt, lang=report_lang, table=table
    )
    return FileResponse(
        made.path,
        media_type=made.media_type,
        filename=made.filename,
        background=BackgroundTask(made.cleanup),
        headers={"Cache-Control": "no-store"},
    )


@router.get("/inspect/{school}", openapi_extra=access("principal", "inspector"))
async def school_page(request: Request, school: str) -> Response:
    """The school's timeline with filters, the chart of changes, anomalies and the report."""
    who = await run_in_threadpool(require_caller, request)
    services: Services = request.app.state.services
    lang = language(request)
    sid = inspecting.school_of(school)
    # Newest first, a page is found among the last page × rows events (the service's window).
    page = _page_number(request, inspecting.MAX_WINDOW // PAGE_ROWS)
    sent = _filters(request)
    error = None
    try:
        flt = inspecting.parse_filter(
            start=sent["from"] or None,
            end=sent["to"] or None,
            actor=sent["actor"] or None,
            record=sent["record"] or None,
            event=",".join(sent["event"]) or None,
        )
    except InvalidInput:
        error = t("ins.filter.invalid", lang)
        flt = inspecting.TimelineFilter()

    def work() -> dict[str, Any]:
        found = inspecting.timeline(
            services, who, sid, flt, page=page, limit=PAGE_ROWS, order="desc", lang=lang
        )
        series = inspecting.changes(services, who, sid, flt, bucket="day")["series"]
        anomalies = inspecting.anomalies(services, who, sid, lang=lang)
        return {**found, "series": series, "anomalies": anomalies}

    data = await run_in_threadpool(work)
    ref = data["school"]
    pages = {
        "prev": _page_url(request.url.path, request, page - 1) if page > 1 else None,
        "next": _page_url(request.url.path, request, page + 1) if data["next_page"] else None,
    }
    filtered = any(sent[k] for k in ("from", "to", "actor", "record", "event")) and not error
    return render(
        request,
        "inspect_school.html",
        who,
        school=ref,
        rows=_rows(data["rows"], lang),
        total=data["total"],
        total_text=number(data["total"], lang),
        page=data["page"],
        page_count=data["pages"],
        pages=pages,
        chart=_chart(data["series"], lang, ref["name"]),
        anomalies=_anomalies(data["anomalies"], lang),
        filters=sent,
        filtered=filtered,
        error=error,
        events=_event_options(lang),
        report_base=f"/inspect/{ref['id']}/report",
    )
