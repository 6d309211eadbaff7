"""Hostile clients against a served site: oversized and malformed bodies, hostile PDFs, bad
tokens, CSRF, log-in throttling and lock-out, and what the access log keeps.

Every answer here must be a 4xx (or, for a PDF, a verdict), never a 5xx and never a dropped
connection. The site is this module's own (default limits: 1 MiB for JSON bodies, 20 MB for
transcript uploads; default rate limits), served with its log in a file the tests read;
clients that must not share a rate-limit bucket with the others leave from their own
loopback address (127.0.0.2, 127.0.0.3).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import select
import socket
import sqlite3
import time
import zlib
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import httpx
import pytest

from api import middleware
from api.accounts import SESSION_CACHE_SECONDS, open_accounts
from tests.integration import openapi_cases as oc
from tests.integration.served import (
    Server,
    client_from,
    own_site,
    reset_rss_peak,
    rss_peak,
)
from tests.integration.web import PASSPHRASE, PASSWORD, Site

MiB = 1024 * 1024
JSON_LIMIT = middleware.DEFAULT_REQUEST_LIMIT
VERIFY_LIMIT = middleware.DEFAULT_VERIFY_LIMIT + middleware.MULTIPART_FRAMING


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Site, Server]]:
    with own_site(tmp_path_factory.mktemp("hostile"), generous=False) as served:
        yield served


@pytest.fixture(scope="module")
def document(hostile: tuple[Site, Server]) -> dict[str, Any]:
    site, _ = hostile
    return dict(httpx.get(f"{site.base}/openapi.json", timeout=30).json())


def _port(site: Site) -> int:
    return int(site.base.rsplit(":", 1)[1])


_CONTEXTS: dict[str, oc.Context] = {}


def _path_of(document: dict[str, Any], op: oc.Operation, site: Site) -> str:
    """The operation's path with real ids where known, ``x`` elsewhere."""
    ctx = _CONTEXTS.setdefault(site.base, oc.Context(site))
    url = op.path
    for param in op.parameters("path"):
        name = param["name"]
        value = oc.EXAMPLES[name].value(ctx) if name in oc.EXAMPLES else "x"
        url = url.replace("{" + name + "}", value)
    return url


def _json_operations(document: dict[str, Any]) -> list[oc.Operation]:
    return [op for op in oc.operations(document) if "application/json" in op.media_types()]


# -- raw HTTP --------------------------------------------------------------------------------


def _head(method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        "Host: 127.0.0.1",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def declared_only(port: int, path: str, length: int, content_type: str, wait: float) -> bytes:
    """Send only the headers of a POST declaring ``length`` bytes; the answer within ``wait``
    seconds (``b""`` if the server waits for the body)."""
    answer = b""
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(
            _head("POST", path, {"Content-Type": content_type, "Content-Length": str(length)})
        )
        s.settimeout(wait)
        try:
            while data := s.recv(65536):  # a refusal closes the connection
                answer += data
        except TimeoutError:
            pass
    return answer


def chunked_upload(
    port: int, path: str, total: int, content_type: str, chunk: int = MiB
) -> tuple[bytes, int, float]:
    """Stream ``total`` bytes chunked until the server answers; (answer, bytes sent, seconds)."""
    frame = f"{chunk:x}\r\n".encode() + b"0" * chunk + b"\r\n"
    sent, answer, started = 0, b"", time.monotonic()
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(
            _head("POST", path, {"Content-Type": content_type, "Transfer-Encoding": "chunked"})
        )
        s.setblocking(False)
        pending = b""
        while b"\r\n\r\n" not in answer and time.monotonic() - started < 60:
            readable, writable, _ = select.select([s], [s] if sent < total else [], [], 5)
            if readable:
                try:
                    data = s.recv(65536)
                except ConnectionResetError:
                    break
                if not data:
                    break
                answer += data
            elif writable:
                pending = pending or frame
                try:
                    n = s.send(pending)
                except (BrokenPipeError, ConnectionResetError):
                    s.setblocking(True)
                    s.settimeout(5)
                    try:
                        answer += s.recv(65536)
                    except OSError:
                        pass
                    break
                pending, sent = pending[n:], sent + n
            elif sent >= total:
                break
    return answer, sent, time.monotonic() - started


# -- body limits -----------------------------------------------------------------------------


def test_declared_length_over_the_limit_is_refused_before_the_body(
    hostile: tuple[Site, Server], document: dict[str, Any]
) -> None:
    site, _ = hostile
    port = _port(site)
    ops = _json_operations(document)
    assert ops
    for op in ops:
        path = _path_of(document, op, site)
        answer = declared_only(port, path, JSON_LIMIT + 1, "application/json", wait=10)
        assert answer and _status(answer) == 413, (op.label, answer[:200])
        assert b"connection: close" in answer.lower()
    # The upload routes have the larger limit: a body under it is waited for ...
    under = declared_only(port, "/api/v1/verify", 2 * MiB, "application/pdf", wait=1.5)
    assert under == b""
    # ... and one over it refused at once.
    over = declared_only(port, "/api/v1/verify", VERIFY_LIMIT + 1, "application/pdf", wait=10)
    assert _status(over) == 413
    body = json.loads(over.split(b"\r\n\r\n", 1)[1])
    assert body["error"] == "PayloadTooLarge" and body["limit"] == VERIFY_LIMIT


def test_a_chunked_200_mb_upload_is_cut_off_early_without_the_memory_growing(
    hostile: tuple[Site, Server],
) -> None:
    site, server = hostile
    pid = server.proc.pid
    reset_rss_peak(pid)
    before = rss_peak(pid)
    answer, sent, seconds = chunked_upload(
        _port(site), "/api/v1/verify", 200 * 1000 * 1000, "application/pdf"
    )
    grown = rss_peak(pid) - before
    assert answer and _status(answer) == 413, answer[:200]
    # The server stopped reading just past the limit (plus what the sockets buffer).
    assert sent < VERIFY_LIMIT + 48 * MiB, sent
    assert seconds < 20, seconds
    assert grown < 100 * MiB, f"the server's peak memory grew by {grown / MiB:.0f} MiB"
    # JSON routes stop at their own, smaller limit.
    answer, sent, _ = chunked_upload(
        _port(site), "/api/v1/auth/login", 200 * 1000 * 1000, "application/json"
    )
    assert _status(answer) == 413 and sent < JSON_LIMIT + 48 * MiB
    assert httpx.get(f"{site.base}/api/v1/health", timeout=10).status_code == 200


# -- malformed JSON --------------------------------------------------------------------------

DEEP = "[" * 100_000 + "]" * 100_000
MALFORMED: list[tuple[str, bytes]] = [
    ("empty", b""),
    ("truncated", b'{"entries": [{"record": '),
    ("not json", b"username=gv001&password=x"),
    ("null", b"null"),
    ("array", b"[]"),
    ("string", b'"x"'),
    ("NaN", b'{"value": NaN, "term": NaN, "subject": NaN}'),
    ("infinity", b'{"value": Infinity, "term": -Infinity, "step": 1e999}'),
    ("huge integer", b'{"term": ' + b"9" * 5000 + b', "sessions": ' + b"9" * 4000 + b"}"),
    ("huge float", b'{"term": 1e308, "sessions": -1e308, "value": 1e-400}'),
    ("deep nesting", DEEP.encode()),
    ("deep object", ('{"a":' * 50_000 + "1" + "}" * 50_000).encode()),
    ("invalid utf-8", b'{"subject": "\xff\xfe\xc3\x28", "text": "\xed\xa0\x80"}'),
    ("lone surrogate escape", b'{"subject": "\\ud800", "text": "\\udfff"}'),
    ("NUL bytes", b'{"subject": "To\\u0000\\u0000n", "text": "\x00"}'),
    ("BOM", b'\xef\xbb\xbf{"term": 1}'),
    ("wrong types", b'{"subject": 1, "term": "one", "kind": [], "value": {}, "entries": 5}'),
    ("many keys", json.dumps({f"k{i}": i for i in range(2_000)}).encode()),
    ("long string", json.dumps({"subject": "ữ" * 200_000, "text": "x" * 300_000}).encode()),
    ("duplicate keys", b'{"term": 1, "term": 2, "term": "x"}'),
    ("trailing garbage", b'{"term": 1} {"term": 2}'),
]


@pytest.mark.parametrize("name,body", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_json_gets_4xx_on_every_json_route(
    hostile: tuple[Site, Server], document: dict[str, Any], name: str, body: bytes
) -> None:
    site, _ = hostile
    token = _token(site, "gv001")
    bad = []
    with httpx.Client(base_url=site.base, timeout=60) as client:
        for op in _json_operations(document):
            path = _path_of(document, op, site)
            for auth in ({}, {"Authorization": f"Bearer {token}"}):
                r = client.request(
                    op.method,
                    path,
                    content=body,
                    headers={"Content-Type": "application/json", **auth},
                )
                if not 400 <= r.status_code < 500:
                    bad.append(f"{op.label} ({'token' if auth else 'anonymous'}): {r.status_code}")
    assert not bad, f"{name}: " + "; ".join(bad)


WRONG_TYPES: list[tuple[str, bytes]] = [
    ("text/plain", b'{"term": 1}'),
    ("application/x-www-form-urlencoded", b"term=1&subject=To%C3%A1n"),
    (
        "multipart/form-data; boundary=zz",
        b'--zz\r\nContent-Disposition: form-data; name="term"\r\n\r\n1\r\n--zz--\r\n',
    ),
    ("multipart/form-data", b"--nothing--"),
    ("application/xml", b"<term>1</term>"),
    ("application/json; charset=utf-16", '{"term": 1}'.encode("utf-16")),
    ("application/pdf", b"%PDF-1.7\n%%EOF"),
    ("", b'{"term": 1}'),
    ("application/json, text/plain", b"{}"),
    ("\x7f/\x01", b"{}"),
]


def test_wrong_content_types_get_4xx(
    hostile: tuple[Site, Server], document: dict[str, Any]
) -> None:
    site, _ = hostile
    token = _token(site, "gv001")
    bad = []
    with httpx.Client(base_url=site.base, timeout=60) as client:
        for op in _json_operations(document):
            path = _path_of(document, op, site)
            for content_type, body in WRONG_TYPES:
                headers = {"Authorization": f"Bearer {token}"}
                if content_type:
                    headers["Content-Type"] = content_type
                r = client.request(op.method, path, content=body, headers=headers)
                if not 400 <= r.status_code < 500:
                    bad.append(f"{op.label} [{content_type!r}]: {r.status_code} {r.text[:100]}")
    assert not bad, "\n".join(bad)


# -- hostile PDFs ----------------------------------------------------------------------------


def _pdf(objects: list[bytes], trailer: bytes = b"<< /Root 1 0 R /Size 9 >>") -> bytes:
    out = b"%PDF-1.7\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    return out + b"trailer\n" + trailer + f"\nstartxref\n{xref}\n%%EOF\n".encode()


def _hostile_pdfs(site: Site) -> list[tuple[str, bytes]]:
    genuine = oc.issued_pdf(site)
    flipped = bytearray(genuine)
    for i in range(len(flipped) // 3, len(flipped), 997):
        flipped[i] ^= 0xFF
    bomb = zlib.compress(b"\0" * (64 * MiB), 9)
    catalog = b"<< /Type /Catalog /Pages 2 0 R >>"
    pages = b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 10 10] /Contents 4 0 R >>"
    return [
        ("empty", b""),
        ("header only", b"%PDF-1.7\n"),
        ("not a pdf", b"\x89PNG\r\n\x1a\n" + os.urandom(4096)),
        ("zip", b"PK\x03\x04" + os.urandom(4096)),
        ("truncated", genuine[: len(genuine) // 2]),
        ("bytes flipped", bytes(flipped)),
        ("trailing garbage", genuine + os.urandom(65536)),
        ("two files", genuine + genuine),
        (
            "flate bomb",
            _pdf(
                [
                    catalog,
                    pages,
                    page,
                    f"<< /Length {len(bomb)} /Filter /FlateDecode >>\nstream\n".encode()
                    + bomb
                    + b"\nendstream",
                ]
            ),
        ),
        (
            "lying length",
            _pdf([catalog, pages, page, b"<< /Length 999999999999 >>\nstream\nxx\nendstream"]),
        ),
        ("nested arrays", _pdf([b"[" * 50_000 + b"]" * 50_000, pages])),
        ("nested dictionaries", _pdf([b"<< /A " * 20_000 + b"1" + b" >>" * 20_000, pages])),
        ("reference loop", _pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"2 0 R", b"3 0 R"])),
        (
            "xref loop",
            _pdf([catalog, pages, page], trailer=b"<< /Root 1 0 R /Size 4 /Prev 9 >>")
            + b"xref\n0 1\n0000000000 65535 f \ntrailer\n<< /Prev 9 >>\n",
        ),
        (
            "encrypted",
            _pdf(
                [catalog, pages, page],
                b"<< /Root 1 0 R /Encrypt << /Filter /Standard /V 5 /R 6 >> >>",
            ),
        ),
        ("huge object number", _pdf([catalog], b"<< /Root 99999999999999999999 0 R /Size 1 >>")),
    ]


def test_hostile_pdfs_get_a_verdict_or_4xx(hostile: tuple[Site, Server]) -> None:
    site, _ = hostile
    bad = []
    with httpx.Client(base_url=site.base, timeout=120) as client:
        for name, pdf in _hostile_pdfs(site):
            raw = client.post(
                "/api/v1/verify", content=pdf, headers={"Content-Type": "application/pdf"}
            )
            form = client.post(
                "/api/v1/verify", files={"file": ("hoc-ba.pdf", pdf, "application/pdf")}
            )
            for how, r in (("raw", raw), ("multipart", form)):
                if r.status_code == 200:
                    # A file followed by its own copy parses as the file plus an update that
                    # changes nothing; whatever its verdict, it is a verdict.
                    verdicts = {"TOTAL-FAILED", "INDETERMINATE"}
                    if name == "two files":
                        verdicts.add("TOTAL-PASSED")
                    if r.json().get("status") not in verdicts:
                        bad.append(f"{name} ({how}): verdict {r.json().get('status')}")
                elif not 400 <= r.status_code < 500:
                    bad.append(f"{name} ({how}): {r.status_code} {r.text[:200]}")
    assert not bad, "\n".join(bad)
    assert httpx.get(f"{site.base}/api/v1/health", timeout=10).status_code == 200


_FILE = b'Content-Disposition: form-data; name="file"'
MULTIPART: list[tuple[str, str, bytes]] = [
    ("no boundary", "multipart/form-data", b"--x\r\n\r\n--x--"),
    (
        "wrong boundary",
        "multipart/form-data; boundary=a",
        b"--b\r\n" + _FILE + b"\r\n\r\n%PDF\r\n--b--\r\n",
    ),
    ("no end", "multipart/form-data; boundary=a", b"--a\r\n" + _FILE + b"\r\n\r\n%PDF"),
    (
        "two files",
        "multipart/form-data; boundary=a",
        b"--a\r\n" + _FILE + b"\r\n\r\n%PDF-1\r\n--a\r\n" + _FILE + b"\r\n\r\n%PDF-2\r\n--a--\r\n",
    ),
    (
        "path in file name",
        "multipart/form-data; boundary=a",
        b"--a\r\n" + _FILE + b'; filename="../../../etc/passwd"\r\n\r\n%PDF\r\n--a--\r\n',
    ),
    (
        "base64 transfer encoding",
        "multipart/form-data; boundary=a",
        b"--a\r\n"
        + _FILE
        + b"\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!not base64!!!\r\n--a--\r\n",
    ),
    (
        "long header",
        "multipart/form-data; boundary=a",
        b"--a\r\n" + _FILE + b'; x="' + b"y" * 100_000 + b'"\r\n\r\n%PDF\r\n--a--\r\n',
    ),
    (
        "nested multipart",
        "multipart/form-data; boundary=a",
        b"--a\r\nContent-Type: multipart/mixed; boundary=b\r\n"
        + _FILE
        + b"\r\n\r\n--b\r\n\r\n%PDF\r\n--b--\r\n--a--\r\n",
    ),
]


@pytest.mark.parametrize("name,content_type,body", MULTIPART, ids=[m[0] for m in MULTIPART])
def test_malformed_multipart_uploads_get_a_verdict_or_4xx(
    hostile: tuple[Site, Server], name: str, content_type: str, body: bytes
) -> None:
    site, _ = hostile
    r = httpx.post(
        f"{site.base}/api/v1/verify",
        content=body,
        headers={"Content-Type": content_type},
        timeout=60,
    )
    assert r.status_code == 200 or 400 <= r.status_code < 500, (r.status_code, r.text[:200])
    if r.status_code == 200:
        assert r.json()["status"] != "TOTAL-PASSED"


# -- tokens ----------------------------------------------------------------------------------

_TOKENS: dict[str, str] = {}
_ADDRESSES = iter(f"127.0.{a}.{b}" for a in range(10, 250) for b in range(2, 250))


def _login(site: Site, username: str, password: str = PASSWORD) -> dict[str, Any]:
    """Log in from a loopback address of its own: the tests' many log-ins never meet the
    per-address limit that :func:`test_logins_from_one_address_are_throttled_with_retry_after`
    checks."""
    with client_from(next(_ADDRESSES), site.base) as client:
        r = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return dict(r.json())


def _token(site: Site, username: str) -> str:
    if username not in _TOKENS:
        _TOKENS[username] = _login(site, username)["token"]
    return _TOKENS[username]


def _sessions_db(site: Site) -> sqlite3.Connection:
    return sqlite3.connect(site.data / "accounts.sqlite", timeout=30, isolation_level=None)


def _add_account(site: Site, username: str) -> UUID:
    os.environ.setdefault("SOCAI_KEY_PASSPHRASE", PASSPHRASE)
    store = open_accounts(site.settings())
    try:
        account = store.add(
            username, PASSWORD, kind="inspector", display_name="Tài khoản thử", schools=[site.home]
        )
        return account.id
    finally:
        store.close()


def test_bad_expired_and_forged_tokens_get_401(
    hostile: tuple[Site, Server], document: dict[str, Any]
) -> None:
    site, _ = hostile
    good = _login(site, "gv003")["token"]
    _, sid, secret = good.split(".")
    logged_out = _login(site, "gv003")["token"]
    assert (
        httpx.post(
            f"{site.base}/api/v1/auth/logout",
            headers={"Authorization": f"Bearer {logged_out}"},
            timeout=30,
        ).status_code
        == 200
    )
    expired = _login(site, "gv003")["token"]
    idle = _login(site, "gv003")["token"]
    _add_account(site, "tam.nghi")
    disabled = _login(site, "tam.nghi")["token"]
    with _sessions_db(site) as db:
        db.execute("UPDATE socai_sessions SET expires = 1 WHERE id = ?", (expired.split(".")[1],))
        db.execute(
            "UPDATE socai_sessions SET last_seen = ? WHERE id = ?",
            (time.time() - 3 * 3600, idle.split(".")[1]),
        )
        db.execute("UPDATE socai_accounts SET disabled = 1 WHERE username = 'tam.nghi'")
    time.sleep(SESSION_CACHE_SECONDS + 0.5)  # past the worker's session cache

    forged_secret = ("A" if secret[0] != "A" else "B") + secret[1:]
    variants: dict[str, dict[str, str]] = {
        "no token": {},
        "empty bearer": {"Authorization": "Bearer"},
        "garbage": {"Authorization": "Bearer garbage"},
        "wrong scheme": {"Authorization": f"Basic {good}"},
        "wrong prefix": {"Authorization": f"Bearer s2.{sid}.{secret}"},
        "forged secret": {"Authorization": f"Bearer s1.{sid}.{forged_secret}"},
        "unknown session": {"Authorization": f"Bearer s1.AAAAAAAAAAAAAAAAAAAAAA.{secret}"},
        "bad base64": {"Authorization": f"Bearer s1.{sid}.!!!!"},
        "too many parts": {"Authorization": f"Bearer {good}.x"},
        "very long": {"Authorization": "Bearer s1." + "A" * 10_000 + ".x"},
        "logged out": {"Authorization": f"Bearer {logged_out}"},
        "expired": {"Authorization": f"Bearer {expired}"},
        "idle": {"Authorization": f"Bearer {idle}"},
        "disabled account": {"Authorization": f"Bearer {disabled}"},
        "garbage cookie": {"Cookie": "socai_session=s1.x.y"},
        "token in query only": {},
    }
    protected = [
        op
        for op in oc.operations(document)
        if op.method == "GET" and "public" not in (op.access or ["public"])
    ]
    assert protected
    bad = []
    with httpx.Client(base_url=site.base, timeout=60) as client:
        for name, headers in variants.items():
            for op in protected:
                params = {"token": good} if name == "token in query only" else {}
                r = client.get(_path_of(document, op, site), headers=headers, params=params)
                if r.status_code != 401:
                    bad.append(f"{name} → {op.label}: {r.status_code}")
                elif "bearer" not in r.headers.get("www-authenticate", "").lower():
                    bad.append(f"{name} → {op.label}: 401 without WWW-Authenticate")
        raw = client.get(
            "/api/v1/auth/me", headers={"Authorization": b"Bearer s1.\xff\xfe.\xc3\x28"}
        )
        assert raw.status_code == 401
        # The genuine token still works: the refusals were about the tokens.
        assert (
            client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {good}"}).status_code
            == 200
        )
    assert not bad, "\n".join(bad)


# -- CSRF ------------------------------------------------------------------------------------


def _cookie_client(site: Site, token: str) -> httpx.Client:
    client = httpx.Client(base_url=site.base, timeout=60)
    client.cookies.set("socai_session", token, domain="127.0.0.1")
    return client


def test_cookie_writes_need_the_sessions_csrf_token(hostile: tuple[Site, Server]) -> None:
    site, _ = hostile
    new_password = "mật-khẩu-mới-của-cb001"
    login = _login(site, "cb001")
    other = _login(site, "gv003")
    body = {"old": PASSWORD, "new": new_password}
    with _cookie_client(site, login["token"]) as client:
        # A read by cookie needs no CSRF token.
        assert client.get("/api/v1/auth/me").status_code == 200
        for headers in ({}, {"X-CSRF-Token": "0" * 64}, {"X-CSRF-Token": other["csrf"]}):
            refused = client.post("/api/v1/auth/password", json=body, headers=headers)
            assert refused.status_code == 403, refused.text
            assert refused.json()["error"] == "CsrfFailed"
            out = client.post("/api/v1/auth/logout", headers=headers)
            assert out.status_code == 403
        # Nothing was written: the session lives and the old password still opens one.
        assert client.get("/api/v1/auth/me").status_code == 200
        assert _login(site, "cb001")["username"] == "cb001"
        done = client.post(
            "/api/v1/auth/password", json=body, headers={"X-CSRF-Token": login["csrf"]}
        )
        assert done.status_code == 200, done.text
    with client_from(next(_ADDRESSES), site.base) as fresh:
        refused_old = fresh.post(
            "/api/v1/auth/login", json={"username": "cb001", "password": PASSWORD}
        )
        assert refused_old.status_code == 401
        # Put the password back for the rest of the module (by bearer token: no CSRF needed).
        again = _login(site, "cb001", new_password)
        back = fresh.post(
            "/api/v1/auth/password",
            json={"old": new_password, "new": PASSWORD},
            headers={"Authorization": f"Bearer {again['token']}"},
        )
        assert back.status_code == 200


# -- throttling ------------------------------------------------------------------------------


def test_logins_from_one_address_are_throttled_with_retry_after(
    hostile: tuple[Site, Server],
) -> None:
    site, _ = hostile
    statuses = []
    with client_from("127.0.0.2", site.base) as client:
        for _ in range(15):
            r = client.post(
                "/api/v1/auth/login", json={"username": "khong.co", "password": "sai-mật-khẩu-1"}
            )
            statuses.append(r.status_code)
            if r.status_code == 429:
                retry = r.headers.get("retry-after", "")
                assert retry.isdigit() and 1 <= int(retry) <= 60, retry
                break
    assert statuses[0] == 401 and statuses[-1] == 429, statuses
    # Another address is not affected.
    assert site.login("gv001")["username"] == "gv001"


def test_an_account_locks_after_repeated_failures(hostile: tuple[Site, Server]) -> None:
    site, _ = hostile
    _add_account(site, "khoa.thu")
    with client_from("127.0.0.3", site.base) as client:
        for attempt in range(5):
            r = client.post(
                "/api/v1/auth/login",
                json={"username": "khoa.thu", "password": f"sai-{attempt}-xxxxx"},
            )
            assert r.status_code == 401, (attempt, r.text)
        locked = client.post(
            "/api/v1/auth/login", json={"username": "khoa.thu", "password": PASSWORD}
        )
        assert locked.status_code == 429, locked.text
        assert 1 <= int(locked.headers["retry-after"]) <= 61
        assert "token" not in locked.json()
        # Other accounts from the same address still log in.
        ok = client.post("/api/v1/auth/login", json={"username": "gv002", "password": PASSWORD})
        assert ok.status_code == 200


# -- the access log --------------------------------------------------------------------------


def test_the_access_log_holds_no_personal_data_or_secrets(
    hostile: tuple[Site, Server], document: dict[str, Any]
) -> None:
    site, server = hostile
    login = _login(site, "gv002")
    token, csrf = login["token"], login["csrf"]
    record = str(site.open_students[0])
    name, national_id = "Nguyễn Thị Minh Khai", "079204001234"
    secrets_sent = [PASSWORD, token, token.split(".")[2], csrf, record, name, national_id]
    ids: dict[str, int] = {}
    with httpx.Client(base_url=site.base, timeout=60) as client:
        auth: dict[str, Any] = {
            "Authorization": f"Bearer {token}",
            "User-Agent": f"trình duyệt của {name}".encode(),
        }
        calls = [
            client.post(
                "/api/v1/auth/login",
                json={"username": "gv002", "password": PASSWORD},
                params={"ten": name},
            ),
            client.get(f"/api/v1/records/{record}", headers=auth, params={"cccd": national_id}),
            client.get(f"/api/v1/transcripts/{record}", params={"q": name}),
            client.post(
                f"/api/v1/records/{record}/remarks",
                json={"subject": "", "text": f"{name} {national_id}"},
                headers=auth,
            ),
            client.get(
                "/api/v1/auth/me",
                headers={"Cookie": f"socai_session={token}", "X-CSRF-Token": csrf},
            ),
            client.get(f"/api/v1/no-such-page/{name}/{national_id}"),
            client.post(
                "/api/v1/auth/login",
                json={"username": "gv002", "password": "sai " + name},
            ),
        ]
        for r in calls:
            assert r.status_code < 500, r.text
            ids[r.headers["x-request-id"]] = r.status_code
    lines = server.wait_for_log(list(ids)[-1])
    text = "\n".join(lines)
    for secret in [*secrets_sent, "gv002", national_id]:
        assert secret not in text, f"the log holds {secret!r}"
    access = [
        found
        for found in (json.loads(line) for line in lines if line.startswith("{"))
        if found.get("logger") == "socai.http"
    ]
    by_id = {found["request_id"]: found for found in access}
    assert set(ids) <= set(by_id), "every request has its access line"
    os.environ.setdefault("SOCAI_KEY_PASSPHRASE", PASSPHRASE)
    store = open_accounts(site.settings())
    try:
        account = store.find("gv002")
    finally:
        store.close()
    assert account is not None
    routes = []
    for request_id, status in ids.items():
        line = by_id[request_id]
        assert set(line) >= {"ts", "method", "route", "status", "ms", "account", "request_id"}
        assert line["status"] == status and isinstance(line["ms"], float)
        routes.append(line["route"])
    assert routes[1] == "/api/v1/records/{record}"
    assert routes[2] == "/api/v1/transcripts/{record}"
    assert routes[5] == "<unmatched>"
    accounts = [by_id[i]["account"] for i in ids]
    assert accounts[1] == account.id.hex and accounts[4] == account.id.hex
    assert accounts[2] is None and accounts[5] is None


# -- in-process: the catch-all and the configured limit ----------------------------------------


def test_an_unexpected_exception_is_a_json_500_logged_without_request_data(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from fastapi import FastAPI

    app = FastAPI()
    middleware.install(app)

    @app.post("/boom/{thing}")
    async def boom(thing: str) -> None:
        raise RuntimeError(f"leaked {thing}")

    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await client.post("/boom/Nguyễn-Văn-A", json={"cccd": "079204001234"})

    with caplog.at_level(logging.INFO, logger="socai"):
        r = asyncio.run(call())
    assert r.status_code == 500
    assert r.json()["error"] == "InternalError"
    assert r.json()["request_id"] == r.headers["x-request-id"]
    assert r.headers["x-content-type-options"] == "nosniff"
    errors = [rec for rec in caplog.records if rec.name == "socai.errors"]
    assert errors and errors[0].exc_info is not None
    from api.obs import JsonFormatter

    logged = "\n".join(JsonFormatter().format(rec) for rec in caplog.records)
    assert "RuntimeError" in logged and "boom" in logged  # the type and the frame
    for secret in ("Nguyễn", "079204001234", "leaked"):
        assert secret not in logged
    assert '"route":"/boom/{thing}"' in logged


def test_the_limits_come_from_socai_json() -> None:
    assert middleware.limit_for("/api/v1/scores", {}) == 1024 * 1024
    assert middleware.limit_for("/api/v1/scores", {"request_limit": 4096}) == 4096
    assert middleware.limit_for("/api/v1/verify", {"verify_upload_limit": 1000}) == 1000 + (
        middleware.MULTIPART_FRAMING
    )
    assert middleware.limit_for("/verify", {}) == VERIFY_LIMIT
    assert middleware.limit_for("/verify/abc", {}) == VERIFY_LIMIT
    assert middleware.limit_for("/verifyx", {}) == JSON_LIMIT
    assert middleware.limit_for("/api/v1/auth/login", {"request_limit": "big"}) == JSON_LIMIT


def _page_forms(site: Site) -> list[tuple[str, list[str]]]:
    """Every page form (POST page route) that needs a session: (path, declared roles)."""
    from api.app import create_app
    from api.web import PageRoute

    ctx = _CONTEXTS.setdefault(site.base, oc.Context(site))
    forms = []
    for route in middleware.concrete_routes(create_app(site.settings()).routes):
        if not isinstance(route, PageRoute) or "POST" not in (route.methods or ()):
            continue
        declared = list((route.openapi_extra or {}).get("x-socai-access", []))
        if "public" in declared:
            continue
        path = route.path
        for name in re.findall(r"{([^}:]+)(?::[^}]*)?}", path):
            value = oc.EXAMPLES[name].value(ctx) if name in oc.EXAMPLES else "x"
            path = re.sub("{" + name + "(?::[^}]*)?}", value, path)
        forms.append((path, declared))
    return forms


def test_page_forms_refuse_a_missing_or_wrong_csrf_field(hostile: tuple[Site, Server]) -> None:
    site, _ = hostile
    forms = _page_forms(site)
    assert forms, "no page forms found"
    login = _login(site, "ht001")
    bad = []
    with _cookie_client(site, login["token"]) as client:
        for path, _declared in forms:
            for fields in ({}, {"csrf": "0" * 64}):
                r = client.post(path, data={**fields, "term": "1", "value": "9"})
                if r.status_code != 403:
                    bad.append(f"{path} {sorted(fields)}: {r.status_code}")
        # The session is intact (a refused form ends nothing).
        assert client.get("/api/v1/auth/me").status_code == 200
    assert not bad, "\n".join(bad)
