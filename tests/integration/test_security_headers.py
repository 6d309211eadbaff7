"""Security headers on every response of the served site, and pages that fit the CSP.

:mod:`api.middleware` adds the headers to every answer: API, pages, static files, errors
(401, 404, 405, 413) alike. The pages must fit the Content-Security-Policy, so no page may
carry an inline script, an inline style or an event-handler attribute; every page route of
the app (fetched anonymously and as a logged-in principal and teacher) is checked for that.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any
from uuid import UUID

import httpx
import pytest

from api import middleware
from tests.integration import openapi_cases as oc
from tests.integration.web import Site

CSP_DIRECTIVES = {
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "frame-ancestors 'none'",
    "form-action 'self'",
    "base-uri 'none'",
}


def _check_headers(r: httpx.Response, what: str) -> None:
    h = r.headers
    directives = {d.strip() for d in h.get("content-security-policy", "").split(";")}
    assert CSP_DIRECTIVES <= directives, (what, h.get("content-security-policy"))
    assert h.get("x-content-type-options") == "nosniff", what
    assert h.get("x-frame-options") == "DENY", what
    assert h.get("referrer-policy") == "no-referrer", what
    assert h.get("cross-origin-opener-policy") == "same-origin", what
    policy = {p.strip() for p in h.get("permissions-policy", "").split(",")}
    assert "camera=(self)" in policy, what
    assert {"microphone=()", "geolocation=()", "payment=()", "usb=()"} <= policy, what
    assert not any(p.endswith("=*") for p in policy), what
    assert re.fullmatch(r"[0-9a-f]{32}", h.get("x-request-id", "")), what
    assert h.get("x-worker"), what
    assert "strict-transport-security" not in h, f"{what}: HSTS over plain http"
    assert "server" not in h, f"{what}: the server names itself"


def test_every_kind_of_response_carries_the_headers(site: Site) -> None:
    token = site.login("gv003")["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=site.base, timeout=60) as c:
        answers = {
            "health": c.get("/api/v1/health"),
            "openapi": c.get("/openapi.json"),
            "not found": c.get("/api/v1/no-such-thing"),
            "401": c.get("/api/v1/auth/me"),
            "405": c.get("/api/v1/auth/login"),
            "422": c.post("/api/v1/auth/login", json={}),
            "400 verify": c.post("/api/v1/verify", content=b"x", headers={"Content-Type": "x/y"}),
            "413": c.post(
                "/api/v1/auth/login",
                content=b"{" + b" " * (middleware.DEFAULT_REQUEST_LIMIT + 1) + b"}",
                headers={"Content-Type": "application/json"},
            ),
            "authenticated": c.get("/api/v1/auth/me", headers=bearer),
            "crl": c.get("/pki/crl/school.crl"),
            "static": c.get("/static/app.css"),
            "login page": c.get("/login"),
            "page redirect": c.get("/principal"),
        }
    assert answers["405"].status_code == 405 and answers["413"].status_code == 413
    for what, r in answers.items():
        _check_headers(r, what)
    ids = {r.headers["x-request-id"] for r in answers.values()}
    assert len(ids) == len(answers), "a request id per request"


def test_hsts_only_when_the_request_came_over_https(site: Site) -> None:
    # uvicorn takes X-Forwarded-Proto from a proxy on 127.0.0.1 (its default trusted address).
    r = httpx.get(f"{site.base}/api/v1/health", headers={"X-Forwarded-Proto": "https"}, timeout=30)
    hsts = r.headers.get("strict-transport-security", "")
    assert hsts.startswith("max-age=") and int(hsts.split("=")[1].split(";")[0]) >= 31536000
    plain = httpx.get(f"{site.base}/api/v1/health", timeout=30)
    assert "strict-transport-security" not in plain.headers


def test_credentials_and_log_in_answers_are_never_stored(site: Site) -> None:
    login = site.login("gv003")
    bearer = {"Authorization": f"Bearer {login['token']}"}
    cookie = {"Cookie": f"socai_session={login['token']}"}
    with httpx.Client(base_url=site.base, timeout=60) as c:
        stored = {
            "login": c.post(
                "/api/v1/auth/login", json={"username": "gv003", "password": "sai-mat-khau-x"}
            ),
            "me by bearer": c.get("/api/v1/auth/me", headers=bearer),
            "me by cookie": c.get("/api/v1/auth/me", headers=cookie),
            "schools": c.get("/api/v1/schools", headers=bearer),
            "crl with a token": c.get("/pki/crl/school.crl", headers=bearer),
            "home page": c.get("/", headers=cookie),
        }
        for what, r in stored.items():
            assert r.headers.get("cache-control") == "no-store", (what, r.headers)
        # A public answer without credentials keeps the cache policy its route chose.
        public = c.get("/pki/crl/school.crl")
        assert public.headers.get("cache-control") == "max-age=60"


def test_only_the_api_docs_get_a_wider_policy(site: Site) -> None:
    docs = httpx.get(f"{site.base}/docs", timeout=30)
    assert docs.status_code == 200
    assert "cdn.jsdelivr.net" in docs.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in docs.headers["content-security-policy"]
    api = httpx.get(f"{site.base}/api/v1/health", timeout=30)
    assert "unsafe-inline" not in api.headers["content-security-policy"]


class _Inline(HTMLParser):
    """Collects what the CSP would block: inline scripts, styles and event handlers."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {k.lower(): v for k, v in attrs}
        if tag == "script":
            self._in_script = "src" not in names
        if tag == "style":
            self.problems.append("<style> element")
        if "style" in names:
            self.problems.append(f"style attribute on <{tag}>")
        for name in names:
            if name.startswith("on"):
                self.problems.append(f"{name} handler on <{tag}>")
        for name in ("href", "src", "action", "formaction"):
            if (names.get(name) or "").strip().lower().startswith("javascript:"):
                self.problems.append(f"javascript: URL in {name} of <{tag}>")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.problems.append("inline <script>")


def _page_paths(site: Site) -> list[str]:
    """Every GET page route of the app (:class:`api.web.PageRoute`), parameters filled."""
    from api.app import create_app
    from api.web import PageRoute

    ctx = oc.Context(site)
    paths = []
    for route in middleware.concrete_routes(create_app(site.settings()).routes):
        path = getattr(route, "path", "")
        methods = getattr(route, "methods", None) or set()
        if "GET" not in methods or not isinstance(route, PageRoute):
            continue
        names = re.findall(r"{([^}:]+)(?::[^}]*)?}", path)
        if any(n not in oc.EXAMPLES for n in names):
            continue
        for name in names:
            example = oc.EXAMPLES[name]
            # The shared site is not written to: an example that writes gets an unknown id.
            value = str(UUID(int=1)) if example.writes else example.value(ctx)
            path = re.sub("{" + name + "(?::[^}]*)?}", value, path)
        paths.append(path)
    return paths


@pytest.mark.parametrize("username", [None, "ht001", "gv002"])
def test_pages_fit_the_csp(site: Site, username: str | None) -> None:
    paths = _page_paths(site)
    assert "/login" in paths
    headers: dict[str, Any] = {}
    if username is not None:
        headers["Cookie"] = f"socai_session={site.login(username)['token']}"
    problems = []
    with httpx.Client(base_url=site.base, timeout=60, headers=headers) as c:
        for path in paths:
            r = c.get(path)
            assert r.status_code < 500, (path, r.status_code)
            _check_headers(r, path)
            if "html" not in r.headers.get("content-type", ""):
                continue
            parser = _Inline()
            parser.feed(r.text)
            problems += [f"{path}: {p}" for p in parser.problems]
    assert not problems, "\n".join(sorted(set(problems)))
