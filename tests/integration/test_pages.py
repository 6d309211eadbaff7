"""The web pages over HTTP (no browser): status codes, log-in, CSRF, scoping, language, reads.

Against the shared ``site`` (``socai serve`` over the demo data). Each account logs in
through the log-in page from a loopback address of its own
(:func:`tests.integration.served.client_from`), so the per-address log-in limit counts these
tests apart from every other test of the session. The only write is the homeroom teacher's
conduct and absences of one student of the open class for term II.
"""

from __future__ import annotations

import re
import string
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import httpx
import pytest

from api import i18n, web
from api.accounts import open_accounts
from tests.integration.served import client_from
from tests.integration.web import OPEN_CLASS, OPEN_YEAR, PASSWORD, Site

#: A loopback address per account (and one for the rate-limit test): see the module docstring.
ADDRESSES = {
    "gv001": "127.0.0.81",
    "gv002": "127.0.0.82",
    "ht001": "127.0.0.83",
    "thanhtra": "127.0.0.84",
    "anonymous": "127.0.0.85",
    "flood": "127.0.0.86",
    "pg-gv001": "127.0.0.87",
    "pg-ht001": "127.0.0.88",
}
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
FORM_TOKEN = re.compile(r'name="form" value="([^"]+)"')


def book(site: Site, year: str = OPEN_YEAR, cls: str = OPEN_CLASS) -> str:
    return f"/classes/{site.home}/{year}/{cls}"


def form_token(client: httpx.Client) -> str:
    r = client.get("/login")
    assert r.status_code == 200
    found = FORM_TOKEN.search(r.text)
    assert found is not None
    return found.group(1)


@contextmanager
def browser_like(
    site: Site, username: str, address: str | None = None
) -> Iterator[tuple[httpx.Client, str]]:
    """A cookie-keeping client logged in through the log-in page, and its CSRF token."""
    with client_from(address or ADDRESSES[username], site.base) as client:
        r = client.post(
            "/login",
            data={"username": username, "password": PASSWORD, "form": form_token(client)},
        )
        assert r.status_code == 303, r.text
        home = client.get("/")
        found = CSRF.search(home.text)
        assert found is not None
        yield client, found.group(1)


def entries(client: httpx.Client, site: Site) -> list[tuple[str, int]]:
    """(student, version) of every entry of the open class, as the JSON API shows them."""
    r = client.get(f"/api/v1/schools/{site.home}/years/{OPEN_YEAR}/classes/{OPEN_CLASS}/gradebook")
    assert r.status_code == 200, r.text
    return sorted((s["record"], e["version"]) for s in r.json()["students"] for e in s["entries"])


# -- the catalogue and the templates ------------------------------------------------------------


def test_catalogue_has_both_languages_with_the_same_placeholders() -> None:
    def fields(text: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name}

    for key, texts in i18n.MESSAGES.items():
        assert set(texts) == set(i18n.LANGUAGES), key
        assert all(texts[lang].strip() for lang in i18n.LANGUAGES), key
        assert fields(texts["vi"]) == fields(texts["en"]), key


def test_every_template_compiles() -> None:
    env = web.environment()
    names = env.list_templates()
    assert {"base.html", "login.html", "gradebook.html", "principal.html", "record.html"} <= set(
        names
    )
    for name in names:
        env.get_template(name)


# -- anonymous ----------------------------------------------------------------------------------


def test_home_is_vietnamese_by_default_and_english_on_request(site: Site) -> None:
    with client_from(ADDRESSES["anonymous"], site.base) as client:
        r = client.get("/")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        assert '<html lang="vi">' in r.text and "Cán bộ, giáo viên: đăng nhập" in r.text
        assert r.headers["cache-control"] == "no-store"
        assert '<meta name="viewport"' in r.text
        r = client.get("/?lang=en")
        assert '<html lang="en">' in r.text and "Staff: log in" in r.text
        assert client.cookies.get(web.LANG_COOKIE) == "en"
        assert '<html lang="en">' in client.get("/login").text  # remembered
        assert '<html lang="vi">' in client.get("/?lang=vi").text
        assert '<html lang="vi">' in client.get("/?lang=xx").text  # unknown: the default


def test_pages_send_anonymous_callers_to_the_log_in_page(site: Site) -> None:
    paths = [
        book(site),
        "/principal",
        f"/records/{site.open_students[0]}",
        f"/issuance/{uuid.uuid4()}",
    ]
    with client_from(ADDRESSES["anonymous"], site.base) as client:
        for path in paths:
            r = client.get(path)
            assert r.status_code == 303, path
            assert r.headers["location"] == f"/login?next={quote(path, safe='')}"
        # A form posted without a session comes back to its page after the log-in.
        r = client.post(f"{book(site)}/scores", data={"csrf": "x", "value": "8"})
        assert r.status_code == 303
        assert r.headers["location"] == f"/login?next={quote(book(site), safe='')}"


def test_static_assets_are_served(site: Site) -> None:
    with client_from(ADDRESSES["anonymous"], site.base) as client:
        css = client.get("/static/app.css")
        assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
        js = client.get("/static/app.js")
        assert js.status_code == 200 and "javascript" in js.headers["content-type"]
        assert client.get("/static/missing.css").status_code == 404


# -- log-in and log-out -------------------------------------------------------------------------


def test_log_in_form_refusals_and_the_session_cookie(site: Site) -> None:
    with client_from(ADDRESSES["gv001"], site.base) as client:
        r = client.post("/login", data={"username": "gv001", "password": PASSWORD})
        assert r.status_code == 403 and "Biểu mẫu đã hết hạn" in r.text
        r = client.post(
            "/login",
            data={"username": "gv001", "password": "sai", "form": form_token(client)},
        )
        assert r.status_code == 401
        assert "Sai tên đăng nhập, mật khẩu hoặc mã xác thực." in r.text
        assert 'value="gv001"' in r.text  # the user name is kept, the password never
        assert "socai_session" not in client.cookies
        r = client.post(
            "/login",
            data={
                "username": "gv001",
                "password": PASSWORD,
                "form": form_token(client),
                "next": "https://example.org/",
            },
        )
        assert r.status_code == 303 and r.headers["location"] == "/"  # only local targets
        cookie = next(
            v for k, v in r.headers.multi_items() if k == "set-cookie" and "socai_session" in v
        )
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
        r = client.get("/login?next=/principal")
        assert r.status_code == 303 and r.headers["location"] == "/principal"


def test_log_in_rate_limit_answers_politely(site: Site) -> None:
    with client_from(ADDRESSES["flood"], site.base) as client:
        token = form_token(client)
        statuses = []
        for _ in range(30):
            r = client.post(
                "/login", data={"username": "khong-co-ai", "password": "x", "form": token}
            )
            statuses.append(r.status_code)
            if r.status_code == 429:
                break
            token = form_token(client)
        assert statuses[-1] == 429, statuses
        assert set(statuses[:-1]) == {401}
        assert int(r.headers["retry-after"]) >= 1
        assert "Quá nhiều lần đăng nhập từ máy này" in r.text


def test_log_out_needs_the_form_token_and_ends_the_session(site: Site) -> None:
    with browser_like(site, "thanhtra") as (client, csrf):
        assert client.post("/logout", data={"csrf": "sai"}).status_code == 403
        assert client.get("/").text.count('action="/logout"') == 1  # still logged in
        token = client.cookies["socai_session"]
        r = client.post("/logout", data={"csrf": csrf})
        assert r.status_code == 303 and r.headers["location"] == "/login"
        assert "Bạn đã đăng xuất." in client.get("/login").text
        me = httpx.get(f"{site.base}/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 401


# -- the grade book's forms ---------------------------------------------------------------------


def test_forms_without_the_csrf_token_are_refused_and_write_nothing(site: Site) -> None:
    record = site.open_students[1]
    with browser_like(site, "gv001") as (client, csrf):
        before = entries(client, site)
        data = {"student": str(record), "subject": "Toán", "term": "2", "kind": "tx"}
        for sent in ({}, {"csrf": "sai"}):
            r = client.post(f"{book(site)}/scores", data={**data, "value": "8", **sent})
            assert r.status_code == 403, r.text
            assert "Biểu mẫu đã hết hạn hoặc không hợp lệ" in r.text
        r = client.post(f"{book(site)}/scores", data={**data, "value": "11", "csrf": csrf})
        assert r.status_code == 422
        assert "Điểm phải từ 0 đến 10." in r.text and 'value="11"' in r.text
        r = client.post(f"{book(site)}/scores", data={**data, "value": " ", "csrf": csrf})
        assert r.status_code == 422 and "Vui lòng điền đủ các ô bắt buộc." in r.text
        r = client.post(f"{book(site)}/column", data={"csrf": csrf, "subject": "Toán"})
        assert r.status_code == 422
        r = client.post(
            f"{book(site)}/corrections",
            data={"csrf": csrf, "entry": f"{record}:1", "value": "5", "reason": "thử"},
        )
        assert r.status_code in (403, 422)  # version 1 is the enrolment, not an entry
        assert entries(client, site) == before


def test_homeroom_teacher_records_conduct_and_absences(site: Site) -> None:
    record = site.open_students[0]
    with browser_like(site, "gv002") as (client, csrf):
        page = client.get(book(site))
        assert page.status_code == 200 and 'id="homeroom"' in page.text
        assert 'id="entry"' not in page.text  # no subject of theirs: nothing to enter
        r = client.post(
            f"{book(site)}/homeroom",
            data={"csrf": csrf, "student": str(record), "term": "2", "absences": "abc"},
        )
        assert r.status_code == 422 and "Số buổi nghỉ phải là số nguyên" in r.text
        r = client.post(
            f"{book(site)}/homeroom",
            data={
                "csrf": csrf,
                "student": str(record),
                "term": "2",
                "conduct": "Tốt",
                "absences": "2",
            },
        )
        assert r.status_code == 303, r.text
        assert "Đã ghi." in client.get(r.headers["location"]).text
        found = client.get(f"/api/v1/records/{record}").json()
        assert {"school_year": OPEN_YEAR, "term": 2, "level": "Tốt"} in found["conduct"]
        assert {"school_year": OPEN_YEAR, "term": 2, "sessions": 2} in found["absences"]


# -- scoping ------------------------------------------------------------------------------------


def test_another_schools_class_is_not_found_and_a_colleagues_is_forbidden(site: Site) -> None:
    with browser_like(site, "gv001") as (client, _):
        assert client.get(book(site)).status_code == 200
        r = client.get(f"/classes/{site.partner}/2025-2026/6A1")
        assert r.status_code == 404 and "Không tìm thấy." in r.text
        r = client.get(book(site, "2025-2026", "6A2"))
        assert r.status_code == 403 and "không có quyền" in r.text
        assert client.get(book(site, "2031-2032")).status_code == 404
        assert client.get("/principal").status_code == 403
        assert client.get(f"/records/{uuid.uuid4()}").status_code == 404
        assert client.get("/records/not-an-id").status_code == 404
        r = client.get(f"/classes/not-a-school/{OPEN_YEAR}/{OPEN_CLASS}")
        assert r.status_code == 404 and "Không tìm thấy." in r.text


def test_inspector_reads_but_has_no_principal_page(site: Site) -> None:
    with browser_like(site, "thanhtra") as (client, _):
        home = client.get("/")
        assert f'href="/inspect/{site.home}"' in home.text
        page = client.get(book(site, "2025-2026", "6A1"))
        assert page.status_code == 200 and 'id="entry"' not in page.text
        assert client.get("/principal").status_code == 403


# -- the principal ------------------------------------------------------------------------------


def test_principal_pages_and_logged_reads(site: Site) -> None:
    record = site.open_students[2]
    with browser_like(site, "ht001") as (client, csrf):
        r = client.get("/principal?year=2025-2026")
        assert r.status_code == 200
        for cls in ("6A1", "6A2", "6A3"):
            assert f'data-class="{cls}"' in r.text
        assert "Principal" in client.get("/principal?lang=en").text
        client.get("/?lang=vi")
        r = client.post("/principal/close", data={"csrf": csrf, "year": OPEN_YEAR, "term": "1"})
        assert r.status_code == 422  # no class chosen
        r = client.post(
            "/principal/close",
            data={"csrf": csrf, "year": OPEN_YEAR, "class": OPEN_CLASS, "term": "2"},
        )
        assert r.status_code == 200 and 'id="confirm"' in r.text  # asks first
        assert r.text.count('name="confirm" value="yes"') == 1
        assert client.get(f"/issuance/{uuid.uuid4()}").status_code == 404
        assert client.get("/issuance/not-a-job").status_code == 404

        page = client.get(f"/records/{record}")
        assert page.status_code == 200 and 'id="history"' in page.text
        me = client.get("/api/v1/auth/me").json()

    store = open_accounts(site.settings())
    try:
        account = store.find(me["username"])
        assert account is not None
        actions = {r["action"] for r in store.reads(object=record, account=account.id)}
    finally:
        store.close()
    assert {"record", "history"} <= actions


# -- PostgreSQL ------------------------------------------------------------------------------------


@pytest.mark.postgres
def test_grade_book_and_principal_pages_on_postgresql(pg_site: Site) -> None:
    site = pg_site
    record = site.open_students[5]
    with browser_like(site, "gv001", ADDRESSES["pg-gv001"]) as (client, csrf):
        before = entries(client, site)
        data = {"csrf": csrf, "student": str(record), "subject": "Ngữ văn", "term": "2"}
        r = client.post(f"{book(site)}/scores", data={**data, "kind": "tx", "value": "10,5"})
        assert r.status_code == 422 and "Điểm phải từ 0 đến 10." in r.text
        assert entries(client, site) == before
        r = client.post(f"{book(site)}/scores", data={**data, "kind": "tx", "value": "9"})
        assert r.status_code == 303, r.text
        after = entries(client, site)
        assert len(after) == len(before) + 1
        page = client.get(r.headers["location"])
        assert "Đã ghi 1 điểm." in page.text
        assert 'data-cell="Ngữ văn|2|tx"><span>9</span>' in page.text
    with browser_like(site, "ht001", ADDRESSES["pg-ht001"]) as (client, _):
        assert client.get("/principal").status_code == 200
        page = client.get(f"/records/{record}")
        assert page.status_code == 200 and "ScoreRecorded" in page.text
