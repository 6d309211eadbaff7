"""The public verification pages: ``/verify`` (upload a học bạ số) and ``/verify/{transcript_id}``.

``GET /verify`` shows the upload form (and, where the browser has the ``BarcodeDetector``
API, a button that scans the QR code of a paper transcript with the camera:
``static/verify.js``; without it the page is the plain form). ``POST /verify`` verifies the
uploaded PDF exactly as ``POST /api/v1/verify`` does (:func:`projections.verify.verify_file`
in its sandboxed child, the same upload limit, the same ``verify`` rate limit per client
address) and answers a verdict page: a green, amber or red banner, what the transcript says
(only what the uploaded file itself shows), and every check of the report in a
``<details>``. A file that is not a PDF, or a hostile one, gets a red verdict; a request
that is not a form upload gets a 400 page; nothing here answers 500.

Freshness (DESIGN.md §5, "online"): when this server issued the transcript (its QR address
is this server's), the ledger is asked directly, with the checks ``verify_online`` makes over
HTTP: ``online.status`` (is this file's SHA-256 a current issue of its record, or was it
superseded?) and ``online.checkpoint`` (does this server's latest witnessed checkpoint
extend the one in the proof?). A transcript issued elsewhere is not looked up (the server
never fetches an address taken from an uploaded file); the page says so.

``GET /verify/{transcript_id}`` is where the QR code points. It shows whether that issue is
current or superseded, the school, school year, issue number and date and the SHA-256 of the
issued PDF, and offers the upload form for the full check. It shows nothing personal: the
transcript id is a uuid5 of the record and issue number, and record ids derive from student
codes, so ids can be guessed; a guesser must learn nothing about a person (no name, no
student code, no record id). The upload page may show the student's name and date of birth,
because the uploaded file itself carries them.

CSRF: the upload form changes nothing and its answer goes only to the browser that sent it,
so it needs no token and is never refused for want of one; the session (if any) is used only
to show who is logged in, and only when the form carries that session's CSRF token.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import hashlib
import io
import json
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from api.access import Caller, CsrfFailed, access, form_caller
from api.errors import BadRequest
from api.http import read_body
from api.i18n import t
from api.routes.auth import client_address
from api.routes.verify import FRAMING, upload_limit, verify_trust
from api.services import Services
from api.web import language, page_caller, page_router, render
from ledger.domain import School, StudentRecord
from ledger.errors import LedgerError, RecordNotFound
from ledger.inspection import VIETNAM
from ledger.log import LogError
from projections.issued_index import IssuedRow, find_issue
from projections.verify import Limits, verify_file
from signing import merkle
from signing.checkpoint import CosignatureVerifier, require_witnesses
from signing.errors import SigningError
from signing.note import NoteVerifier
from signing.report import INDETERMINATE, TOTAL_FAILED, TOTAL_PASSED, Check, Report, Status

__all__ = ["router"]

router = page_router()

#: The longest text taken from an uploaded file's data into the page.
_TEXT_MAX = 200
#: Check groups, in the order the verdict page lists them: name prefix -> message key.
GROUPS = (
    ("pdf.", "vf.group.pdf"),
    ("signature.", "vf.group.signatures"),
    ("timestamp.", "vf.group.signatures"),
    ("attachments", "vf.group.data"),
    ("data.", "vf.group.data"),
    ("ledger.", "vf.group.ledger"),
    ("online.", "vf.group.online"),
    ("", "vf.group.other"),
)
#: Check names with a label of their own in the catalogue (``vf.check.<name>``).
LABELLED = frozenset(
    {
        "pdf.structure",
        "pdf.trailing",
        "pdf.signatures",
        "pdf.lock",
        "pdf.modification",
        "pdf.forms",
        "pdf.active_content",
        "signature.GVCN",
        "signature.HieuTruong",
        "signature.DauTruong",
        "signature.roles",
        "attachments",
        "data.xml",
        "data.page",
        "data.derivation",
        "ledger.events",
        "ledger.chain",
        "ledger.signatures",
        "ledger.witnesses",
        "ledger.inclusion",
        "ledger.data",
        "ledger.authority",
        "online.status",
        "online.checkpoint",
        "verification",
    }
)
#: ETSI EN 319 102-1 sub-indications explained in the catalogue (``vf.sub.<name>``).
SUBINDICATIONS = frozenset(
    {
        "FORMAT_FAILURE",
        "HASH_FAILURE",
        "SIG_CRYPTO_FAILURE",
        "REVOKED",
        "EXPIRED",
        "NOT_YET_VALID",
        "SIG_CONSTRAINTS_FAILURE",
        "CHAIN_CONSTRAINTS_FAILURE",
        "CRYPTO_CONSTRAINTS_FAILURE",
        "NO_SIGNING_CERTIFICATE_FOUND",
        "NO_CERTIFICATE_CHAIN_FOUND",
        "REVOKED_NO_POE",
        "REVOKED_CA_NO_POE",
        "OUT_OF_BOUNDS_NO_POE",
        "OUT_OF_BOUNDS_NOT_REVOKED",
        "CERTIFICATE_CHAIN_GENERAL_FAILURE",
        "POLICY_PROCESSING_ERROR",
        "SIGNED_DATA_NOT_FOUND",
        "TIMESTAMP_ORDER_FAILURE",
        "TRY_LATER",
        "GENERIC",
    }
)
VERDICTS = {TOTAL_PASSED: "passed", TOTAL_FAILED: "failed", INDETERMINATE: "indeterminate"}


# -- reading the upload ---------------------------------------------------------------------------


def form_parts(body: bytes, content_type: str) -> dict[str, bytes]:
    """The fields of a ``multipart/form-data`` body by name (the first of each name)."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1", "replace")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise BadRequest("malformed multipart body")
    parts: dict[str, bytes] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str) or name in parts:
            continue
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            parts[name] = payload
    return parts


def _text(value: Any) -> str | None:
    """A short display text from untrusted data (None for anything but a string or number)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    text = " ".join(str(value).split())
    return text[:_TEXT_MAX] or None


def vn_date(value: Any) -> str | None:
    """``YYYY-MM-DD`` (or an ISO time) as the Vietnamese ``DD/MM/YYYY``; other text as given."""
    text = _text(value)
    if text is None:
        return None
    try:
        return date.fromisoformat(text[:10]).strftime("%d/%m/%Y")
    except ValueError:
        return text


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def transcript_claims(data: Mapping[str, Any]) -> dict[str, Any]:
    """What the page shows of ``transcript.json``: who, which school, which years, signed by whom.

    Only the student's name and date of birth are taken from the identity (enough to match
    the applicant); parents, address, personal number and the rest are left out even though
    the file carries them.
    """
    student = _dict(data.get("student"))
    identity = _dict(student.get("identity"))
    school = _dict(data.get("school"))
    issue = _dict(data.get("issue"))
    years = []
    for year in data.get("years") or []:
        if not isinstance(year, dict):
            continue
        at = _dict(year.get("school"))
        learning = _dict(year.get("learning"))
        conduct = _dict(year.get("conduct"))
        years.append(
            {
                "school_year": _text(year.get("school_year")),
                "grade": _text(year.get("grade")),
                "class_name": _text(year.get("class_name")),
                "school": _text(at.get("name")) or _text(at.get("code")),
                "learning": _text(learning.get("year")),
                "conduct": _text(conduct.get("year")),
                "outcome": _text(year.get("promotion")) or _text(year.get("outcome")),
            }
        )
        if len(years) >= 20:
            break
    signers = []
    for signer in data.get("signers") or []:
        if isinstance(signer, dict):
            signers.append({"name": _text(signer.get("name")), "title": _text(signer.get("title"))})
        if len(signers) >= 5:
            break
    return {
        "name": _text(identity.get("ho_va_ten")),
        "born": vn_date(identity.get("ngay_sinh")),
        "code": _text(student.get("code")),
        "shredded": bool(student.get("shredded")),
        "school": _text(school.get("name")),
        "school_code": _text(school.get("code")),
        "province": _text(school.get("province")),
        "level": _text(data.get("level")),
        "number": _text(issue.get("number")),
        "issued_on": vn_date(issue.get("issued_on")),
        "transcript_id": _text(issue.get("transcript_id")),
        "years": years,
        "signers": signers,
    }


def read_claims(pdf: bytes, report: Report) -> dict[str, Any] | None:
    """The uploaded file's ``transcript.json`` as :func:`transcript_claims` shows it.

    Read only when the sandboxed verification already read the attachments (its check
    ``attachments`` passed): the same bytes parse the same way here, within the bounds the
    child proved (each attachment under the attachment limit). Anything unexpected: None.
    """
    found = report.check("attachments")
    if found is None or found.status != TOTAL_PASSED:
        return None
    try:
        from pyhanko.pdf_utils.reader import PdfFileReader

        reader = PdfFileReader(io.BytesIO(pdf), strict=True)
        names = reader.root["/Names"]["/EmbeddedFiles"]["/Names"]
        for i in range(0, len(names), 2):
            if str(names[i]) == "transcript.json":
                stream = names[i + 1].get_object()["/EF"]["/F"].get_object()
                data = json.loads(stream.data)
                return transcript_claims(data) if isinstance(data, dict) else None
    except Exception:  # a summary is a courtesy: the verdict stands without it
        return None
    return None


# -- freshness against this server's ledger -------------------------------------------------------


def _base(url: Any) -> str | None:
    if not isinstance(url, str):
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def our_bases(services: Services, request: Request) -> set[str]:
    """The addresses this server issues under (``issue.public_url``, the PKI's, this request's)."""
    conf = services.config().get("issue", {})
    candidates = [
        conf.get("public_url") if isinstance(conf, dict) else None,
        getattr(services.pki, "base_url", None),
        str(request.base_url),
    ]
    return {b for b in (_base(c) for c in candidates) if b is not None}


def _check(name: str, status: Status, detail: str, detail_vi: str, sub: str | None = None) -> Check:
    return Check(name, status, detail, detail_vi, sub)


def online_status(services: Services, report: Report) -> Check:
    """``online.status`` from the ledger: the file's SHA-256 among its record's issues."""
    record, sha = report.document.get("record"), report.document.get("sha256")
    try:
        rid = UUID(str(record))
        student = services.ledger().load(rid, StudentRecord)
    except (ValueError, RecordNotFound):
        return _check(
            "online.status",
            TOTAL_FAILED,
            "the issuer does not know this record",
            "nơi cấp không có hồ sơ này",
            "GENERIC",
        )
    issues = list(student.transcripts)
    mine = next((i for i in issues if i.sha256 == sha), None)
    if mine is None:
        return _check(
            "online.status",
            TOTAL_FAILED,
            "the issuer never issued this file (unknown SHA-256)",
            "nơi cấp chưa từng cấp tệp này",
            "GENERIC",
        )
    if mine.superseded_at is not None:
        newer = max(i.number for i in issues)
        return Check(
            "online.status",
            TOTAL_FAILED,
            f"issue {mine.number} was superseded (the current issue is {newer}, after a "
            "correction)",
            f"bản cấp lần {mine.number} đã bị thay thế bởi bản cấp lần {newer}",
            "REVOKED",
            {"number": mine.number, "current": newer},
        )
    return Check(
        "online.status",
        TOTAL_PASSED,
        f"issue {mine.number} is the current issue",
        f"bản cấp lần {mine.number} là bản hiện hành",
        None,
        {"number": mine.number},
    )


def online_checkpoint(services: Services, report: Report) -> Check:
    """``online.checkpoint``: this server's latest witnessed checkpoint extends the proof's."""
    size = report.document.get("checkpoint_size")
    root_b64 = report.document.get("checkpoint_root")
    trust = verify_trust(services.settings.data_dir)
    if not isinstance(size, int) or not isinstance(root_b64, str) or not trust.log_vkeys:
        return _check(
            "online.checkpoint",
            INDETERMINATE,
            "no trusted checkpoint to compare with",
            "không có điểm kiểm tra tin cậy để so sánh",
            "TRY_LATER",
        )
    latest_note = services.checkpointer().latest()
    witnesses = [CosignatureVerifier.from_vkey(k) for k in trust.witness_vkeys]
    latest = None
    for vkey in trust.log_vkeys:
        if latest_note is None:
            break
        try:
            latest = require_witnesses(
                latest_note.note,
                NoteVerifier.from_vkey(vkey),
                witnesses,
                min(trust.witness_quorum, len(witnesses)),
            )
            break
        except (SigningError, ValueError):
            continue
    if latest is None:
        return _check(
            "online.checkpoint",
            TOTAL_FAILED,
            "the issuer's latest checkpoint is not signed and witnessed by trusted keys",
            "điểm kiểm tra mới nhất không có chữ ký tin cậy",
            "GENERIC",
        )
    if latest.size < size:
        return _check(
            "online.checkpoint",
            TOTAL_FAILED,
            f"the issuer's log shrank from {size} to {latest.size} events",
            "sổ cái của nơi cấp bị rút ngắn",
            "GENERIC",
        )
    if latest.size > size:
        try:
            proof = services.ledger().transparency_log.consistency_proof(size, latest.size)
            merkle.verify_consistency(
                size, latest.size, proof, base64.b64decode(root_b64), latest.root
            )
        except (SigningError, LogError, ValueError) as e:
            return _check(
                "online.checkpoint",
                TOTAL_FAILED,
                f"the issuer's log is not consistent with the proof's checkpoint: {e}"[:300],
                "sổ cái của nơi cấp không nhất quán với bằng chứng trong học bạ",
                "GENERIC",
            )
    return _check(
        "online.checkpoint",
        TOTAL_PASSED,
        f"the issuer's witnessed log of {latest.size} events extends the proof's ({size})",
        "sổ cái của nơi cấp nhất quán với bằng chứng trong học bạ",
    )


def with_freshness(services: Services, report: Report, ours: set[str]) -> tuple[Report, str]:
    """The report with the online checks when this server issued the file, and which case.

    Cases: ``checked`` (the checks were added), ``elsewhere`` (another server's address),
    ``unknown`` (the file names no record or address: nothing to ask).
    """
    doc = report.document
    if not doc.get("record") or not doc.get("sha256"):
        return report, "unknown"
    if _base(doc.get("verify_url")) not in ours:
        return report, "elsewhere"
    extra: tuple[Check, ...]
    try:
        extra = (online_status(services, report), online_checkpoint(services, report))
    except LedgerError:
        extra = (
            _check(
                "online.status",
                INDETERMINATE,
                "the ledger could not be read; try again later",
                "chưa đọc được sổ cái; vui lòng thử lại sau",
                "TRY_LATER",
            ),
        )
    return Report(report.checks + extra, report.document), "checked"


# -- presenting a report ---------------------------------------------------------------------


def check_label(name: str, lang: str) -> str:
    """A reader's name for a check (``signature.GVCN`` → "Chữ ký của giáo viên chủ nhiệm")."""
    if name in LABELLED:
        return t(f"vf.check.{name}", lang)
    head, _, field = name.partition(".")
    if name.startswith("pdf.byterange."):
        return t("vf.check.pdf.byterange", lang, field=name.rsplit(".", 1)[1])
    if head == "timestamp" and field:
        return t("vf.check.timestamp", lang, field=field)
    if head == "signature" and field:
        return t("vf.check.signature", lang, field=field)
    return name


def present(report: Report, lang: str) -> dict[str, Any]:
    """The template's view of a report: verdict, explanation, grouped checks."""
    status = report.status
    verdict = VERDICTS[status]
    groups: dict[str, list[dict[str, Any]]] = {}
    for c in report.checks:
        key = next(k for prefix, k in GROUPS if c.name.startswith(prefix))
        groups.setdefault(key, []).append(
            {
                "name": c.name,
                "label": check_label(c.name, lang),
                "status": c.status,
                "verdict": VERDICTS[c.status],
                "detail": (c.detail_vi or c.detail) if lang == "vi" else c.detail,
                "detail_en": c.detail,
                "subindication": c.subindication,
                "facts": {str(k): str(v)[:300] for k, v in (c.facts or {}).items()},
            }
        )
    order = list(dict.fromkeys(k for _, k in GROUPS))
    sub = report.subindication
    first = next((c for c in report.checks if c.status == status), None)
    reason = None
    if status != TOTAL_PASSED and first is not None:
        reason = {
            "label": check_label(first.name, lang),
            "detail": (first.detail_vi or first.detail) if lang == "vi" else first.detail,
        }
    return {
        "status": status,
        "verdict": verdict,
        "subindication": sub,
        "sub_text": t(f"vf.sub.{sub}", lang) if sub in SUBINDICATIONS else None,
        "reason": reason,
        "groups": [(key, groups[key]) for key in order if key in groups],
        "failed": sum(1 for c in report.checks if c.status == TOTAL_FAILED),
        "unknown": sum(1 for c in report.checks if c.status == INDETERMINATE),
        "passed": sum(1 for c in report.checks if c.status == TOTAL_PASSED),
        "text": report.as_text("vi" if lang == "vi" else "en"),
    }


# -- pages --------------------------------------------------------------------------------------


def _form_page(
    request: Request, who: Caller | None, *, error: str | None = None, status: int = 200
) -> Response:
    return render(request, "verify.html", who, status=status, error=error)


@router.get("/verify", openapi_extra=access("public"))
def verify_form(request: Request) -> Response:
    """The upload form (and the camera's QR scan where the browser has it)."""
    return _form_page(request, page_caller(request))


def _uploader(request: Request, csrf: bytes | None) -> Caller | None:
    """Who is logged in, when the form carries the session's token (only for the header)."""
    if csrf is None:
        return None
    try:
        return form_caller(request, csrf.decode("utf-8", "replace"))
    except (CsrfFailed, LedgerError):
        return None


@router.post("/verify", openapi_extra=access("public"))
async def verify_upload(request: Request) -> Response:
    """Verify the uploaded PDF (field ``file``): the verdict page."""
    services: Services = request.app.state.services
    lang = language(request)
    services.limiter().hit("verify", client_address(request))
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() != "multipart/form-data":
        return _form_page(request, None, error=t("vf.err.form", lang), status=400)
    limit = upload_limit(services)
    body = await read_body(request, limit + FRAMING)
    try:
        parts = form_parts(body, content_type)
    except BadRequest:
        return _form_page(request, None, error=t("vf.err.form", lang), status=400)
    who = await run_in_threadpool(_uploader, request, parts.get("csrf"))
    data = parts.get("file")
    if not data:
        return _form_page(request, who, error=t("vf.err.no_file", lang), status=422)
    report = await run_in_threadpool(
        verify_file, data, verify_trust(services.settings.data_dir), limits=Limits(max_bytes=limit)
    )
    report, freshness = await run_in_threadpool(
        with_freshness, services, report, our_bases(services, request)
    )
    claims = await run_in_threadpool(read_claims, data, report)
    return render(
        request,
        "verify_result.html",
        who,
        report=present(report, lang),
        claims=claims,
        freshness=freshness,
        issuer=_base(report.document.get("verify_url")),
        online=report.check("online.status"),
        sha256=hashlib.sha256(data).hexdigest(),
        size=f"{len(data):,}".replace(",", "." if lang == "vi" else ","),
    )


def landing(services: Services, row: IssuedRow) -> dict[str, Any]:
    """What the QR landing page shows of an issue: nothing personal."""
    student = services.ledger().load(row.record, StudentRecord)
    issues = list(student.transcripts)
    mine = next((i for i in issues if i.number == row.number), None)
    if mine is None:  # the index only holds stored events: a ledger replaced under it
        raise RecordNotFound("no such transcript")
    school_name = school_code = None
    try:
        school = services.ledger().load(student.school_in(mine.school_year), School)
        school_name, school_code = str(school.name), str(school.code)
    except RecordNotFound:
        pass
    issued_on = None
    if row.issued_at:
        try:
            issued_on = datetime.fromisoformat(row.issued_at).astimezone(VIETNAM)
        except ValueError:
            issued_on = None
    return {
        "transcript_id": row.transcript,
        "number": mine.number,
        "school_year": mine.school_year,
        "school_name": school_name,
        "school_code": school_code,
        "issued_on": issued_on.strftime("%d/%m/%Y") if issued_on else None,
        "sha256": mine.sha256,
        "superseded": mine.superseded_at is not None,
        "current": max(i.number for i in issues),
    }


@router.get("/verify/{transcript_id}", openapi_extra=access("public"))
async def verify_landing(request: Request, transcript_id: str) -> Response:
    """Where a transcript's QR code points: is this issue current? Then the upload form."""
    services: Services = request.app.state.services
    services.limiter().hit("verify", client_address(request))
    try:
        tid = str(UUID(transcript_id))
    except ValueError:
        tid = ""

    def work() -> dict[str, Any]:
        row = find_issue(services.views().runner, tid) if tid else None
        if row is None:
            raise RecordNotFound("no transcript with this id")
        return landing(services, row)

    who = await run_in_threadpool(page_caller, request)
    try:
        issue = await run_in_threadpool(work)
    except RecordNotFound:
        return render(request, "verify_landing.html", who, issue=None, error=None, status=404)
    return render(request, "verify_landing.html", who, issue=issue, error=None)
