"""Pre-signed writes over HTTP: the client holds its key, the server never signs for it.

``POST /api/v1/prepare`` runs a write with every check and returns the messages to sign;
the test signs them with the demo staff key on disk (``pki/staff/<CODE>/key.pem``, the key
the client holds) and ``POST /api/v1/submit`` writes them. Prepared saves live in the
database, so a submit may reach another server process than its prepare: checked with a
second ``socai serve`` on the same data.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from cryptography import x509

from bench.serve import free_port
from signing import algorithms
from signing.keys import certificate_fingerprint, load_private_key
from tests.integration.api_client import (
    API,
    HOME,
    client,
    clients,
    head,
    ok,
    refused,
    setup_class,
    token,
    version,
    wait_readable,
    web,  # noqa: F401 - the engine fixture
)
from tests.integration.served import serve
from tests.integration.web import HOME_CODE, OPEN_YEAR, PASSPHRASE, Site

PLAN = {"Toán": (35, "score")}


@pytest.fixture(scope="module")
def klass(web: Site) -> dict[str, Any]:  # noqa: F811
    ids = setup_class(
        web,
        "H1P",
        PLAN,
        {"Toán": "GV001"},
        None,
        [(f"HS{HOME_CODE}H1P{i}", None) for i in range(3)],
    )
    wait_readable(web, "gv001", "H1P")
    return {"site": web, "students": ids}


def key_of(site: Site, code: str) -> Any:
    return load_private_key(site.data / "pki" / "staff" / code / "key.pem", PASSPHRASE.encode())


def cert_of(site: Site, code: str) -> x509.Certificate:
    path: Path = site.data / "pki" / "staff" / code / "cert.pem"
    return x509.load_pem_x509_certificate(path.read_bytes())


def sign(site: Site, code: str, prepared: dict[str, Any]) -> list[str]:
    """What the client does with the key it holds: sign each message, in order."""
    key = key_of(site, code)
    alg = algorithms.Algorithm.from_label(prepared["algorithm"])
    return [
        base64.b64encode(algorithms.sign(key, alg, base64.b64decode(m))).decode()
        for m in prepared["messages"]
    ]


def score(record: UUID, term: int, kind: str, value: str) -> dict[str, Any]:
    return {"record": str(record), "subject": "Toán", "term": term, "kind": kind, "value": value}


def test_prepare_sign_submit(klass: dict[str, Any]) -> None:
    site: Site = klass["site"]
    s0 = klass["students"][0]
    before, n = version(site, s0), head(site)
    with client(site, "gv001") as gv:
        prepared = ok(
            gv.post(
                "/prepare",
                json={"command": "record_score", "arguments": score(s0, 1, "tx", "8.5")},
            )
        )
        assert prepared["signer"] == certificate_fingerprint(cert_of(site, "GV001")).hex()
        assert prepared["algorithm"] == "ecdsa-p256-sha256"
        assert len(prepared["messages"]) == 1 and prepared["events"] == 1
        assert prepared["result"] == {"record": str(s0), "version": before + 1}
        assert (version(site, s0), head(site)) == (before, n)  # nothing written yet

        written = ok(
            gv.post(
                "/submit",
                json={"token": prepared["token"], "signatures": sign(site, "GV001", prepared)},
            )
        )
        assert written == {"written": 1, "command": "record_score"}
        assert (version(site, s0), head(site)) == (before + 1, n + 1)
        event = ok(gv.get(f"/records/{s0}/history"))["events"][-1]
        assert (event["event"], event["fields"]["value"]) == ("ScoreRecorded", "8.5")
        assert event["signer"] == prepared["signer"]
        # A token is used once.
        again = {"token": prepared["token"], "signatures": sign(site, "GV001", prepared)}
        refused(gv.post("/submit", json=again), 404, "RecordNotFound")
    assert head(site) == n + 1


def test_a_forged_or_malformed_signature_writes_nothing(klass: dict[str, Any]) -> None:
    site: Site = klass["site"]
    s1 = klass["students"][1]
    body = {"command": "record_score", "arguments": score(s1, 1, "tx", "6.0")}
    n = head(site)
    with client(site, "gv001") as gv:
        prepared = ok(gv.post("/prepare", json=body))
        # Signed by another key (the principal's), as a forger or a confused client would.
        forged = {"token": prepared["token"], "signatures": sign(site, "HT001", prepared)}
        refused(gv.post("/submit", json=forged), 422, "SignerMismatch")
        assert head(site) == n
        # The token was spent by the attempt: the right signatures now find nothing.
        right = {"token": prepared["token"], "signatures": sign(site, "GV001", prepared)}
        refused(gv.post("/submit", json=right), 404)

        prepared = ok(gv.post("/prepare", json=body))
        sigs = sign(site, "GV001", prepared)
        refused(gv.post("/submit", json={"token": prepared["token"], "signatures": sigs * 2}), 422)
        prepared = ok(gv.post("/prepare", json=body))
        refused(
            gv.post("/submit", json={"token": prepared["token"], "signatures": ["@@not base64"]}),
            422,
        )
        refused(gv.post("/submit", json={"token": prepared["token"], "signatures": []}), 422)
        flipped = bytearray(base64.b64decode(sign(site, "GV001", prepared)[0]))
        flipped[-1] ^= 1
        tampered = [base64.b64encode(bytes(flipped)).decode()]
        refused(gv.post("/submit", json={"token": prepared["token"], "signatures": tampered}), 422)
    assert head(site) == n


def test_another_account_cannot_submit_a_token(klass: dict[str, Any]) -> None:
    site: Site = klass["site"]
    s2 = klass["students"][2]
    with clients(site, "gv001", "gv002") as c:
        prepared = ok(
            c["gv001"].post(
                "/prepare", json={"command": "record_score", "arguments": score(s2, 1, "gk", "7.0")}
            )
        )
        sigs = sign(site, "GV001", prepared)
        refused(
            c["gv002"].post("/submit", json={"token": prepared["token"], "signatures": sigs}), 404
        )
        # Refused for gv002, still there for its owner.
        assert (
            ok(c["gv001"].post("/submit", json={"token": prepared["token"], "signatures": sigs}))[
                "written"
            ]
            == 1
        )


def test_prepare_checks_like_a_write(klass: dict[str, Any]) -> None:
    site: Site = klass["site"]
    s0 = klass["students"][0]
    good = {"command": "record_score", "arguments": score(s0, 2, "tx", "7.0")}
    n = head(site)
    with clients(site, None, "gv001", "gv002", "thanhtra", "ht201") as c:
        refused(c[None].post("/prepare", json=good), 401)
        refused(c["thanhtra"].post("/prepare", json=good), 403)  # no key: nothing to sign with
        refused(c["gv002"].post("/prepare", json=good), 403, "NotAuthorized")
        refused(c["ht201"].post("/prepare", json=good), 404)
        gv = c["gv001"]
        refused(gv.post("/prepare", json={**good, "command": "shred"}), 422)
        refused(gv.post("/prepare", json={**good, "arguments": {"record": str(s0)}}), 422)
        bad_value = {**good, "arguments": score(s0, 2, "tx", "12")}
        refused(gv.post("/prepare", json=bad_value), 422, "InvalidScore")
        refused(gv.post("/prepare", json={**good, "algorithm": "ed25519"}), 422)
        refused(gv.post("/prepare", json={**good, "algorithm": "md5"}), 422)
        refused(gv.post("/submit", json={"token": "no-such-token", "signatures": ["AAAA"]}), 404)
    assert head(site) == n


def test_a_column_and_a_principal_command(klass: dict[str, Any]) -> None:
    site: Site = klass["site"]
    ids = klass["students"]
    with clients(site, "gv001", "ht001") as c:
        column = {"entries": [score(r, 2, "gk", "8.0") for r in ids]}
        prepared = ok(
            c["gv001"].post("/prepare", json={"command": "record_scores", "arguments": column})
        )
        assert prepared["events"] == 3 and len(prepared["messages"]) == 1  # one batch signature
        sigs = sign(site, "GV001", prepared)
        assert (
            ok(c["gv001"].post("/submit", json={"token": prepared["token"], "signatures": sigs}))[
                "written"
            ]
            == 3
        )

        opened = {
            "command": "open_class",
            "arguments": {
                "school": str(HOME),
                "school_year": OPEN_YEAR,
                "class": "H1Q",
                "grade": 6,
            },
        }
        prepared = ok(c["ht001"].post("/prepare", json=opened))
        sigs = sign(site, "HT001", prepared)
        ok(c["ht001"].post("/submit", json={"token": prepared["token"], "signatures": sigs}))
        classes = ok(c["ht001"].get(f"/schools/{HOME}/years/{OPEN_YEAR}/classes"))["classes"]
        assert "H1Q" in {k["class"] for k in classes}
    for record in ids:
        assert ("gk", "8.0") in {
            (e["kind"], e["value"]) for e in entries_of(site, record) if e["term"] == 2
        }


def entries_of(site: Site, record: UUID) -> list[dict[str, Any]]:
    with client(site, "ht001") as ht:
        return list(ok(ht.get(f"/records/{record}"))["entries"])


def test_a_record_changed_since_the_prepare_is_a_conflict(klass: dict[str, Any]) -> None:
    site: Site = klass["site"]
    s1 = klass["students"][1]
    with client(site, "gv001") as gv:
        prepared = ok(
            gv.post(
                "/prepare", json={"command": "record_score", "arguments": score(s1, 2, "ck", "9.0")}
            )
        )
        direct = {"subject": "Toán", "term": 2, "kind": "tx", "value": "5.5"}
        ok(gv.post(f"/records/{s1}/scores", json=direct))
        n = head(site)
        sigs = sign(site, "GV001", prepared)
        body = refused(
            gv.post("/submit", json={"token": prepared["token"], "signatures": sigs}), 409
        )
        assert "prepare it again" in body["detail"]
    assert head(site) == n


@pytest.fixture(scope="module")
def second_server(klass: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Another ``socai serve`` process on the same data (and database)."""
    site: Site = klass["site"]
    log = tmp_path_factory.mktemp("second") / "serve.log"
    with serve(
        site.data, free_port(), log, database_url=site.database_url, args=("--workers", "1")
    ) as s:
        yield s.base


def test_a_submit_on_another_process(klass: dict[str, Any], second_server: str) -> None:
    site: Site = klass["site"]
    s2 = klass["students"][2]
    before = version(site, s2)
    with client(site, "gv001") as gv:
        prepared = ok(
            gv.post(
                "/prepare", json={"command": "record_score", "arguments": score(s2, 2, "tx", "6.5")}
            )
        )
    headers = {"Authorization": f"Bearer {token(site, 'gv001')}"}
    with httpx.Client(base_url=second_server + API, headers=headers, timeout=60) as other:
        sigs = sign(site, "GV001", prepared)
        written = ok(other.post("/submit", json={"token": prepared["token"], "signatures": sigs}))
    assert written["written"] == 1
    assert version(site, s2) == before + 1
