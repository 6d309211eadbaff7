"""Calls built from the served OpenAPI document: every operation, with real ids filled in.

Used by the authorization matrix and the hostile-client tests, so that an endpoint added by
anyone is exercised the day it appears in ``/openapi.json``.

Path and query parameters are filled by *name* from :data:`EXAMPLES` (or, for one operation,
from :data:`PATH_OVERRIDES`): each entry gives a value of the **home school** (79000701) of a
site of :mod:`tests.integration.web`. A parameter whose name is in neither table fails the
test with a message saying to add it: that is how a new kind of object cannot slip through
unexamined. An entry marked ``scoped`` names an object of the home school: a call carrying it
is "school-scoped", and the partner school's accounts must get 404 for it.

Request bodies come, in this order, from :data:`RAW_BODIES` and :data:`BODIES` (per
operation, given the calling account, so a body can fit the role that should succeed), the
operation's own OpenAPI example, or a minimal instance of its JSON schema (:func:`minimal`).
Bodies should be *valid*: a body refused for its shape is a 422 before any access check, and
the matrix would learn nothing from it.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import httpx

from api.demo import PARTNER_CODE
from ledger.domain import staff_id, student_id
from tests.integration import web

METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
#: Operations after which the caller's session is gone (their caller logs in again).
ENDS_SESSION = {("POST", "/api/v1/auth/logout"), ("POST", "/api/v1/auth/password")}
#: Operations that change what later calls see (a staff file leaves the school, a session
#: ends): called after every other operation.
LAST = {
    ("POST", "/api/v1/staff/{staff}/appointments/end"),
    ("POST", "/api/v1/staff/{staff}/transfer"),
    *ENDS_SESSION,
}

#: The staff file the staff operations act on: a teacher of the home school that is none of
#: the role accounts (so a write to it changes no caller's rights).
STAFF_CODE = "GV004"
#: A 2025-2026 student of 6A1 (transcripts issued; GV001 its GVCN, GV002 and GV003 teach it).
ISSUED_STUDENT = f"HS{web.HOME_CODE}0001"


@dataclass
class Context:
    """What example values are made from: the site, and values found once and kept."""

    site: web.Site
    found: dict[str, str] = field(default_factory=dict)

    def once(self, key: str, make: Callable[[], str]) -> str:
        if key not in self.found:
            self.found[key] = make()
        return self.found[key]

    def client(self, username: str) -> httpx.Client:
        return self.site.client(username)


@dataclass(frozen=True)
class Example:
    """How to fill a parameter; ``scoped`` when the value is an object of the home school."""

    value: Callable[[Context], str]
    scoped: bool = False
    #: Making the value writes to the site (only for sites of one's own).
    writes: bool = False


def open_record(ctx: Context) -> str:
    """A record of the open class (6A9, 2026-2027), the class every home role can reach."""
    return str(ctx.site.open_students[0])


def issued_record(ctx: Context) -> str:
    return str(student_id(ISSUED_STUDENT))


def _transcripts(ctx: Context) -> list[dict[str, Any]]:
    r = httpx.get(f"{ctx.site.base}/api/v1/transcripts/{issued_record(ctx)}", timeout=30)
    r.raise_for_status()
    return list(r.json()["transcripts"])


def issued_transcript(ctx: Context) -> str:
    """A transcript id issued by the demo."""
    return ctx.once("transcript", lambda: str(_transcripts(ctx)[0]["transcript"]))


def issued_number(ctx: Context) -> str:
    """The issue number of :func:`issued_transcript`."""
    return ctx.once("number", lambda: str(_transcripts(ctx)[0]["number"]))


def issuance_job(ctx: Context) -> str:
    """An issuance job of the home school, started by its principal for one student."""

    def make() -> str:
        with ctx.client("ht001") as c:
            r = c.post(
                f"/api/v1/schools/{ctx.site.home}/issuance",
                json={"students": [issued_record(ctx)]},
            )
            assert r.status_code == 202, r.text
            return str(r.json()["job"])

    return ctx.once("job", make)


def own_score_version(ctx: Context) -> str:
    """The version of a score GV003 recorded in the open class (for corrections)."""

    def make() -> str:
        with ctx.client("gv003") as c:
            r = c.post(f"/api/v1/records/{open_record(ctx)}/scores", json=_score(1, "6"))
            assert r.status_code == 200, r.text
            return str(r.json()["version"])

    return ctx.once("score_version", make)


#: Parameter name -> example value. Add the names of new endpoints here.
EXAMPLES: dict[str, Example] = {
    # Objects of the home school.
    "record": Example(open_record, scoped=True),
    "student": Example(open_record, scoped=True),
    "school": Example(lambda c: str(c.site.home), scoped=True),
    "staff": Example(lambda c: str(staff_id(web.HOME_CODE, STAFF_CODE)), scoped=True),
    "class": Example(lambda c: web.OPEN_CLASS, scoped=True),
    "class_name": Example(lambda c: web.OPEN_CLASS, scoped=True),
    "job": Example(issuance_job, scoped=True, writes=True),
    "proposal": Example(lambda c: "1"),
    "number": Example(issued_number),
    "transcript": Example(issued_transcript),
    "transcript_id": Example(issued_transcript),
    # Values that name no object.
    "year": Example(lambda c: web.OPEN_YEAR),
    "school_year": Example(lambda c: web.OPEN_YEAR),
    "term": Example(lambda c: "1"),
    "subject": Example(lambda c: "Tin học"),
    # The embedded PKI and the log.
    "name": Example(lambda c: "school"),
    "encoded": Example(lambda c: base64.b64encode(b"\x30\x03\x02\x01\x00").decode()),
    "old": Example(lambda c: "1"),
    "new": Example(lambda c: "2"),
}

#: Parameter values for one operation, where the general example does not fit it.
PATH_OVERRIDES: dict[tuple[str, str], dict[str, Callable[[Context], str]]] = {
    # Only the 2025-2026 classes have issued transcripts.
    ("GET", "/api/v1/records/{record}/transcripts/{number}.pdf"): {"record": issued_record},
}


def _score(term: int, value: str, subject: str = "Ngoại ngữ 1") -> dict[str, Any]:
    # GV003 teaches Ngoại ngữ 1 (and every subject but Toán and Ngữ văn) in the open class.
    return {"subject": subject, "term": term, "kind": "tx", "value": value}


Body = Callable[[Context, "str | None"], Any]

#: Request bodies per operation ``(METHOD, path template)``, given the calling user name.
BODIES: dict[tuple[str, str], Body] = {
    # A log-in that succeeds (a wrong password is a 401 the matrix would read as a refusal).
    ("POST", "/api/v1/auth/login"): lambda c, u: {"username": "gv003", "password": web.PASSWORD},
    # The same password again: accepted, and every session of the account ends.
    ("POST", "/api/v1/auth/password"): lambda c, u: {"old": web.PASSWORD, "new": web.PASSWORD},
    # Records.
    ("POST", "/api/v1/records/{record}/scores"): lambda c, u: _score(1, "8"),
    ("POST", "/api/v1/scores"): lambda c, u: {
        "entries": [{"record": open_record(c), **_score(1, "7,5")}]
    },
    ("POST", "/api/v1/comments"): lambda c, u: {
        "entries": [
            {
                "record": open_record(c),
                "subject": "Giáo dục thể chất",
                "term": 1,
                "kind": "ck",
                "value": "Đạt",
            }
        ]
    },
    ("POST", "/api/v1/records/{record}/corrections"): lambda c, u: {
        "corrects": int(own_score_version(c)),
        "value": "6,5",
        "reason": "nhập nhầm cột",
    },
    ("POST", "/api/v1/records/{record}/conduct"): lambda c, u: {"term": 1, "level": "Tốt"},
    ("POST", "/api/v1/records/{record}/absences"): lambda c, u: {"term": 1, "sessions": 2},
    ("POST", "/api/v1/records/{record}/remarks"): lambda c, u: {
        "subject": "Ngoại ngữ 1",
        "text": "Chăm chỉ, tiến bộ",
    },
    ("POST", "/api/v1/records/{record}/year-result"): lambda c, u: {"stage": "year"},
    ("POST", "/api/v1/schools/{school}/years"): lambda c, u: {
        "school_year": "2027-2028",
        "level": "THCS",
    },
    ("POST", "/api/v1/schools/{school}/years/{year}/classes"): lambda c, u: {
        "class": "6A8",
        "grade": 6,
    },
    ("POST", "/api/v1/schools/{school}/years/{year}/classes/{class}/plan"): lambda c, u: {
        "subjects": {"Toán": {"periods_per_year": 140, "assessed": "score"}}
    },
    ("POST", "/api/v1/records"): lambda c, u: {
        "school": str(c.site.home),
        "student_code": f"HS{web.HOME_CODE}9900",
        "school_year": web.OPEN_YEAR,
        "grade": 6,
        "class": web.OPEN_CLASS,
    },
    # Staff files (of STAFF_CODE).
    ("POST", "/api/v1/schools/{school}/staff"): lambda c, u: {
        "staff_code": "GV099",
        "title": "Giáo viên",
    },
    ("POST", "/api/v1/staff/{staff}/assignments"): lambda c, u: {
        "school_year": web.OPEN_YEAR,
        "class": "6A8",
        "subject": "Tin học",
    },
    ("POST", "/api/v1/staff/{staff}/homeroom"): lambda c, u: {
        "school_year": web.OPEN_YEAR,
        "class": "6A8",
    },
    ("POST", "/api/v1/staff/{staff}/appointments"): lambda c, u: {
        "position": "Cán bộ tổ chức",
        "decision": "QĐ 101/QĐ-THCS",
    },
    ("POST", "/api/v1/staff/{staff}/appointments/end"): lambda c, u: {
        "position": "Cán bộ tổ chức",
        "decision": "QĐ 102/QĐ-THCS",
    },
    ("POST", "/api/v1/staff/{staff}/transfer"): lambda c, u: {
        "to_school_code": PARTNER_CODE,
        "decision": "QĐ 103/QĐ-SGDĐT",
    },
    ("POST", "/api/v1/staff/{staff}/identity"): lambda c, u: {
        "identity": {"full_name": "Võ Thị Thu Hà"}
    },
    ("POST", "/api/v1/staff/{staff}/titles"): lambda c, u: {
        "title": "Giáo viên trung học cơ sở hạng II",
        "rank": "II",
        "code": "V.07.04.31",
        "decision": "QĐ 104/QĐ-THCS",
    },
    ("POST", "/api/v1/staff/{staff}/salary-steps"): lambda c, u: {
        "step": 4,
        "coefficient": "3,33",
        "effective": "2026-09-01",
        "decision": "QĐ 105/QĐ-THCS",
    },
    ("POST", "/api/v1/staff/{staff}/trainings"): lambda c, u: {
        "course": "Bồi dưỡng chương trình GDPT 2018",
        "institution": "Sở GD&ĐT TP. Hồ Chí Minh",
        "qualification": "Chứng chỉ",
        "completed_on": "2026-08-15",
    },
    ("POST", "/api/v1/staff/{staff}/awards"): lambda c, u: {
        "award": "Giáo viên dạy giỏi cấp trường",
        "decision": "QĐ 106/QĐ-THCS",
        "school_year": "2025-2026",
    },
    ("POST", "/api/v1/staff/{staff}/disciplines"): lambda c, u: {
        "form": "Khiển trách",
        "decision": "QĐ 107/QĐ-THCS",
        "school_year": "2025-2026",
    },
    ("POST", "/api/v1/staff/{staff}/evaluations"): lambda c, u: {
        "school_year": "2025-2026",
        "general": "8,5",
        "performance": "9",
    },
    # Issuance and pre-signed writes.
    ("POST", "/api/v1/schools/{school}/issuance"): lambda c, u: {"students": [issued_record(c)]},
    ("POST", "/api/v1/prepare"): lambda c, u: {
        "command": "record_score",
        "arguments": {"record": open_record(c), **_score(2, "9")},
    },
    ("POST", "/api/v1/submit"): lambda c, u: {
        "token": "AAAAAAAAAAAAAAAAAAAAAA",
        "signatures": [base64.b64encode(b"\x00" * 64).decode()],
    },
}

#: Non-JSON bodies per operation: ``(content type, bytes)``.
RAW_BODIES: dict[tuple[str, str], Callable[[Context], tuple[str, bytes]]] = {
    # A malformed PDF: a verdict (TOTAL-FAILED) as fast as the verifier can give one.
    ("POST", "/api/v1/verify"): lambda c: ("application/pdf", b"%PDF-1.7\n%%EOF\n"),
}


class MissingExample(AssertionError):
    """A parameter name with no entry in :data:`EXAMPLES`."""


@dataclass
class Operation:
    """One operation of the OpenAPI document."""

    method: str
    path: str
    spec: dict[str, Any]

    @property
    def key(self) -> tuple[str, str]:
        return (self.method, self.path)

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def access(self) -> list[str] | None:
        found = self.spec.get("x-socai-access")
        return list(found) if isinstance(found, list) else None

    def parameters(self, where: str) -> list[dict[str, Any]]:
        return [p for p in self.spec.get("parameters", []) if p.get("in") == where]

    def media_types(self) -> dict[str, Any]:
        body = self.spec.get("requestBody") or {}
        content = body.get("content") or {}
        return dict(content)


def operations(document: dict[str, Any]) -> list[Operation]:
    """Every operation of the document: reads first, then writes, then :data:`LAST` (the
    session-ending ones at the very end)."""
    out = []
    for path, item in document.get("paths", {}).items():
        for method, spec in item.items():
            if method in METHODS:
                out.append(Operation(method.upper(), path, spec))

    def rank(op: Operation) -> int:
        if op.key in ENDS_SESSION:
            return 3
        if op.key in LAST:
            return 2
        return 0 if op.method in ("GET", "HEAD", "OPTIONS") else 1

    return sorted(out, key=rank)


def resolve(document: dict[str, Any], schema: Any) -> Any:
    """Follow a local ``$ref``."""
    while isinstance(schema, dict) and "$ref" in schema:
        ref = schema["$ref"]
        assert ref.startswith("#/"), ref
        node: Any = document
        for part in ref[2:].split("/"):
            node = node[part]
        schema = node
    return schema


def minimal(document: dict[str, Any], schema: Any, ctx: Context, name: str = "") -> Any:
    """A small instance of a JSON schema: its example or default, else the least it allows.

    Properties named like :data:`EXAMPLES` entries get their example values (a ``record``
    field gets the home school's record), so bodies point at real objects.
    """
    schema = resolve(document, schema)
    if not isinstance(schema, dict):
        return None
    for key in ("example", "default"):
        if key in schema:
            return schema[key]
    if schema.get("examples"):
        return schema["examples"][0]
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for combo in ("anyOf", "oneOf", "allOf"):
        if combo in schema:
            options = [resolve(document, s) for s in schema[combo]]
            options = [s for s in options if s.get("type") != "null"] or options
            return minimal(document, options[0], ctx, name)
    kind = schema.get("type")
    if name in EXAMPLES and kind in (None, "string"):
        return EXAMPLES[name].value(ctx)
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {k: minimal(document, props[k], ctx, k) for k in schema.get("required", [])}
    if kind == "array":
        count = int(schema.get("minItems", 0))
        return [minimal(document, schema.get("items", {}), ctx) for _ in range(count)]
    if kind == "integer":
        return int(schema.get("minimum", 1))
    if kind == "number":
        return schema.get("minimum", 1)
    if kind == "boolean":
        return False
    if kind == "string":
        if schema.get("format") == "uuid":
            return str(UUID(int=1))
        return "x" * max(1, int(schema.get("minLength", 1)))
    return None


@dataclass
class Call:
    """A concrete request for an operation."""

    method: str
    url: str
    params: dict[str, str]
    body: Any = None
    content: bytes | None = None
    content_type: str | None = None
    #: The call names an object of the home school (path, query or body).
    scoped: bool = False

    def send(self, client: httpx.Client, headers: dict[str, str] | None = None) -> httpx.Response:
        extra = dict(headers or {})
        if self.content_type is not None:
            extra["Content-Type"] = self.content_type
        if self.body is not None:
            return client.request(
                self.method, self.url, params=self.params, json=self.body, headers=extra
            )
        return client.request(
            self.method, self.url, params=self.params, content=self.content, headers=extra
        )


def build_call(
    document: dict[str, Any], op: Operation, ctx: Context, username: str | None = None
) -> Call:
    """The request of ``op`` by ``username``, every path and required query parameter filled."""
    scoped_values: set[str] = set()
    overrides = PATH_OVERRIDES.get(op.key, {})

    def value(param: dict[str, Any]) -> str:
        name = param["name"]
        if name in overrides:
            got = overrides[name](ctx)
            if name in EXAMPLES and EXAMPLES[name].scoped:
                scoped_values.add(got)
            return got
        if name not in EXAMPLES:
            raise MissingExample(
                f"{op.label}: no example value for the parameter {name!r}; add it to "
                "EXAMPLES (or PATH_OVERRIDES) in tests/integration/openapi_cases.py"
            )
        example = EXAMPLES[name]
        got = example.value(ctx)
        if example.scoped:
            scoped_values.add(got)
        return got

    url = op.path
    for param in op.parameters("path"):
        url = url.replace("{" + param["name"] + "}", value(param))
    params = {p["name"]: value(p) for p in op.parameters("query") if p.get("required")}
    call = Call(op.method, url, params)
    media = op.media_types()
    if op.key in RAW_BODIES:
        call.content_type, call.content = RAW_BODIES[op.key](ctx)
    elif op.key in BODIES:
        call.body = BODIES[op.key](ctx, username)
    elif "application/json" in media:
        entry = media["application/json"]
        if "example" in entry:
            call.body = entry["example"]
        elif entry.get("examples"):
            first = next(iter(entry["examples"].values()))
            call.body = first.get("value")
        else:
            call.body = minimal(document, entry.get("schema", {}), ctx)
    elif media:
        call.content_type = next(iter(media))
        call.content = b""
    if call.body is not None:
        # Ids of the home school's objects in the body make the call school-scoped too.
        text = json.dumps(call.body, ensure_ascii=False)
        ids = {open_record(ctx), str(ctx.site.home), str(staff_id(web.HOME_CODE, STAFF_CODE))}
        scoped_values |= {v for v in ids if v in text}
    call.scoped = bool(scoped_values)
    return call


def issued_pdf(site: web.Site) -> bytes:
    """An issued transcript of the demo."""
    return sorted((site.data / "out").glob("*.pdf"))[0].read_bytes()
