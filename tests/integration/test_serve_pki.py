"""`socai serve` publishes CRLs and answers OCSP at the addresses in the certificates.

Checked with an independent client: OpenSSL's `ocsp -url` and `crl`.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from api.cli import main
from bench.serve import free_port, serving
from ledger.application import Settings

OPENSSL = shutil.which("openssl")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    if OPENSSL is None:
        if os.environ.get("SOCAI_REQUIRE_OPENSSL") == "1":
            pytest.fail("openssl is required (SOCAI_REQUIRE_OPENSSL=1)")
        pytest.skip("openssl not installed")
    data = tmp_path_factory.mktemp("serve") / "data"
    port = free_port()
    env = {"SOCAI_KEY_PASSPHRASE": "kiểm thử máy chủ"}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        assert main(["--data", str(data), "init", "--public-url", f"http://127.0.0.1:{port}"]) == 0
        assert main(["--data", str(data), "demo", "--students", "1"]) == 0
        with serving(data, port, env) as base:
            yield data, base
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _pem(path: Path, *certs: x509.Certificate) -> Path:
    path.write_bytes(b"".join(c.public_bytes(Encoding.PEM) for c in certs))
    return path


def _ocsp(data: Path, tmp: Path, staff: str) -> subprocess.CompletedProcess[str]:
    pki = data / "pki"
    leaf = x509.load_pem_x509_certificate((pki / "staff" / staff / "cert.pem").read_bytes())
    url = leaf.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value[0]
    so = x509.load_pem_x509_certificate((pki / "ca" / "so.pem").read_bytes())
    school = x509.load_pem_x509_certificate((pki / "ca" / "school.pem").read_bytes())
    assert OPENSSL is not None
    return subprocess.run(
        [
            OPENSSL,
            "ocsp",
            "-issuer",
            str(pki / "ca" / "school.pem"),
            "-cert",
            str(pki / "staff" / staff / "cert.pem"),
            "-url",
            url.access_location.value,
            "-CAfile",
            str(pki / "ca" / "root.pem"),
            "-verify_other",
            str(_pem(tmp / "chain.pem", so, school)),
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_openssl_ocsp_good_then_revoked(served: tuple[Path, str], tmp_path: Path) -> None:
    data, _ = served
    done = _ocsp(data, tmp_path, "GV002")
    assert "Response verify OK" in done.stderr + done.stdout, done
    assert ": good" in done.stdout, done.stdout
    assert main(["--data", str(data), "pki", "revoke", "GV002", "--reason", "keyCompromise"]) == 0
    done = _ocsp(data, tmp_path, "GV002")
    assert ": revoked" in done.stdout, done.stdout
    assert "Reason: keyCompromise" in done.stdout, done.stdout


def test_crl_published_at_its_distribution_point(served: tuple[Path, str], tmp_path: Path) -> None:
    data, _ = served
    assert main(["--data", str(data), "pki", "revoke", "GV003", "--reason", "superseded"]) == 0
    leaf = x509.load_pem_x509_certificate((data / "pki/staff/GV003/cert.pem").read_bytes())
    dp = leaf.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    url = dp[0].full_name[0].value
    answer = httpx.get(url, timeout=10)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/pkix-crl"
    (tmp_path / "x.crl").write_bytes(answer.content)
    assert OPENSSL is not None
    text = subprocess.run(
        [
            OPENSSL,
            "crl",
            "-inform",
            "DER",
            "-in",
            str(tmp_path / "x.crl"),
            "-noout",
            "-text",
            "-CAfile",
            str(data / "pki/ca/school.pem"),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    assert "verify OK" in text.stderr + text.stdout
    assert f"{leaf.serial_number:X}" in text.stdout.replace(":", "").upper()


def _rows(data: Path) -> int:
    with sqlite3.connect(data / "pki" / "ca" / "school.sqlite") as db:
        return int(db.execute("SELECT count(*) FROM revocations").fetchone()[0])


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        (b"not an OCSP request", {"content-type": "application/ocsp-request"}, 400),
        (b"\x30\x03\x02\x01\x00", {"content-type": "application/ocsp-request"}, 400),
        (b"x", {"content-type": "text/plain"}, 400),
        (b"x" * (64 * 1024 + 1), {"content-type": "application/ocsp-request"}, 413),
    ],
)
def test_bad_ocsp_requests_get_4xx_and_change_nothing(
    served: tuple[Path, str], body: bytes, headers: dict[str, str], status: int
) -> None:
    data, base = served
    before = _rows(data)
    answer = httpx.post(f"{base}/pki/ocsp/school", content=body, headers=headers, timeout=10)
    assert answer.status_code == status, answer.text
    assert _rows(data) == before


def test_unknown_ca_and_bad_get(served: tuple[Path, str]) -> None:
    _, base = served
    assert httpx.get(f"{base}/pki/crl/nope.crl", timeout=10).status_code == 404
    assert httpx.get(f"{base}/pki/ocsp/school/%%%notbase64", timeout=10).status_code == 400
    roots = httpx.get(f"{base}/pki/roots.pem", timeout=10)
    assert roots.status_code == 200 and b"BEGIN CERTIFICATE" in roots.content


def test_cli_pki_roots(served: tuple[Path, str], capsys: pytest.CaptureFixture[str]) -> None:
    data, _ = served
    assert main(["--data", str(data), "pki", "roots"]) == 0
    root = x509.load_pem_x509_certificate(capsys.readouterr().out.encode())
    assert "Bộ GD&ĐT (demo)" in root.subject.rfc4514_string()
    assert Settings(data).sqlite_path.exists()


def test_openssl_timestamp_over_http(served: tuple[Path, str], tmp_path: Path) -> None:
    data, base = served
    assert OPENSSL is not None
    doc = tmp_path / "doc.txt"
    doc.write_text("Học bạ số — bản thử", "utf-8")
    subprocess.run(
        [
            OPENSSL,
            "ts",
            "-query",
            "-data",
            str(doc),
            "-sha256",
            "-cert",
            "-out",
            str(tmp_path / "req.tsq"),
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    answer = httpx.post(
        f"{base}/tsa",
        content=(tmp_path / "req.tsq").read_bytes(),
        headers={"content-type": "application/timestamp-query"},
        timeout=10,
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/timestamp-reply"
    (tmp_path / "resp.tsr").write_bytes(answer.content)
    pki = data / "pki"
    done = subprocess.run(
        [
            OPENSSL,
            "ts",
            "-verify",
            "-data",
            str(doc),
            "-in",
            str(tmp_path / "resp.tsr"),
            "-CAfile",
            str(pki / "ca" / "root.pem"),
            "-untrusted",
            str(pki / "ca" / "so.pem"),
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert "Verification: OK" in done.stdout, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("body", "ctype", "status"),
    [
        (b"garbage", "application/timestamp-query", 400),
        (b"\x30\x00", "application/timestamp-query", 400),
        (b"x", "application/json", 400),
        (b"x" * (64 * 1024 + 1), "application/timestamp-query", 413),
    ],
)
def test_bad_timestamp_requests_get_4xx(
    served: tuple[Path, str], body: bytes, ctype: str, status: int
) -> None:
    _, base = served
    answer = httpx.post(f"{base}/tsa", content=body, headers={"content-type": ctype}, timeout=10)
    assert answer.status_code == status


def _requests(data: Path) -> int:
    with sqlite3.connect(data / "pki" / "ca" / "school.sqlite") as db:
        return int(db.execute("SELECT count(*) FROM requests").fetchone()[0])


def test_certificate_request_is_queued_never_issued(
    served: tuple[Path, str], tmp_path: Path
) -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    data, base = served
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Vũ Thị Mai")]))
        .sign(key, hashes.SHA256())
        .public_bytes(Encoding.DER)
    )
    issued_before = _issued(data)
    answer = httpx.post(
        f"{base}/pki/csr",
        content=csr,
        headers={"content-type": "application/pkcs10", **_auth(data, base)},
        timeout=10,
    )
    assert answer.status_code == 202, answer.text
    assert answer.json()["status"] == "pending"
    assert _issued(data) == issued_before  # queued for the operator, not issued
    # The same request again is the same queue entry.
    again = httpx.post(
        f"{base}/pki/csr",
        content=csr,
        headers={"content-type": "application/pkcs10", **_auth(data, base)},
        timeout=10,
    )
    assert again.json()["request"] == answer.json()["request"]


@pytest.mark.parametrize("mutate", ["garbage", "flip-signature", "pem-not-der"])
def test_malformed_certificate_requests_get_400(served: tuple[Path, str], mutate: str) -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    data, base = served
    key = ec.generate_private_key(ec.SECP256R1())
    built = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "x")]))
        .sign(key, hashes.SHA256())
    )
    body = {
        "garbage": b"\x30\x82\x01\x00not a csr",
        "flip-signature": built.public_bytes(Encoding.DER)[:-1]
        + bytes([built.public_bytes(Encoding.DER)[-1] ^ 1]),
        "pem-not-der": built.public_bytes(Encoding.PEM),
    }[mutate]
    before = _requests(data)
    answer = httpx.post(
        f"{base}/pki/csr",
        content=body,
        headers={"content-type": "application/pkcs10", **_auth(data, base)},
        timeout=10,
    )
    assert answer.status_code == 400, answer.text
    assert _requests(data) == before


def _auth(data: Path, base: str) -> dict[str, str]:
    """A bearer header of the demo's staff officer (every write needs an account)."""
    password = (data / "secrets" / "demo-password").read_text("utf-8").strip()
    r = httpx.post(
        f"{base}/api/v1/auth/login", json={"username": "cb001", "password": password}, timeout=30
    )
    assert r.status_code == 200, r.text
    return {"authorization": f"Bearer {r.json()['token']}"}


def test_certificate_requests_need_an_account(served: tuple[Path, str]) -> None:
    data, base = served
    before = _requests(data)
    answer = httpx.post(
        f"{base}/pki/csr", content=b"x", headers={"content-type": "application/pkcs10"}, timeout=10
    )
    assert answer.status_code == 401
    assert _requests(data) == before


def _issued(data: Path) -> int:
    with sqlite3.connect(data / "pki" / "ca" / "school.sqlite") as db:
        return int(db.execute("SELECT count(*) FROM issued").fetchone()[0])
