"""An RFC 3161 time-stamp authority whose key lives in a PKCS#11 token (SoftHSM2).

The TSA certificate is issued by the demo Sở CA for an EC P-256 key generated inside the
token; tokens are checked by :func:`signing.tsa.verify_token` and by ``openssl ts -verify``.
Skips without SoftHSM2 (unless SOCAI_REQUIRE_SOFTHSM=1); the openssl part skips without
``openssl`` (unless SOCAI_REQUIRE_OPENSSL=1).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from signing import tsa
from signing.errors import HashMismatch
from signing.keys import load_private_key
from signing.pkcs11 import Pkcs11Signer, Pkcs11Token
from signing.pki import DemoPKI, create_demo_pki
from tests.integration.softhsm import (
    SoftHSMToken,
    softhsm_fixture,  # noqa: F401
)

PASSPHRASE = b"test passphrase, not a secret"
REQUIRE_OPENSSL_ENV = "SOCAI_REQUIRE_OPENSSL"
DATA = "Bảng điểm tổng kết lớp 9A, năm học 2025-2026".encode()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoPKI:
    # Real time: openssl checks the certificates against its own clock.
    return create_demo_pki(
        tmp_path_factory.mktemp("tsa-pkcs11-pki"),
        school_name="Trường THCS Dấu Thời Gian",
        school_code="79000888",
        province="Cần Thơ",
        staff=[],
        passphrase=PASSPHRASE,
        now=dt.datetime.now(dt.UTC),
    )


@pytest.fixture
def authority(softhsm: SoftHSMToken, demo: DemoPKI) -> Iterator[tsa.TimeStampAuthority]:
    label = f"tsa-{uuid.uuid4().hex[:10]}"
    now = dt.datetime.now(dt.UTC)
    with Pkcs11Token(*softhsm) as token:
        public_key = token.generate_key(label, "ec-p256")
        cert = tsa.issue_tsa_certificate(
            public_key,
            name="Dịch vụ dấu thời gian trên token (demo)",
            issuer_cert=demo.so,
            issuer_key=load_private_key(demo.ca_key_path("so"), PASSPHRASE),
            not_before=now - dt.timedelta(days=1),
            not_after=now + dt.timedelta(days=365),
        )
        yield tsa.TimeStampAuthority(Pkcs11Signer(token, label, cert), chain=[demo.so])


def test_token_key_tsa_verifies(authority: tsa.TimeStampAuthority, demo: DemoPKI) -> None:
    token = authority.timestamp(DATA)
    gen_time = tsa.verify_token(
        token, DATA, trust_roots=demo.trust_roots(), intermediates=demo.intermediates()
    )
    assert abs(gen_time - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)
    info = tsa.token_info(token)
    assert info.policy == tsa.PLACEHOLDER_POLICY
    with pytest.raises(HashMismatch):
        tsa.verify_token(
            token, DATA + b".", trust_roots=demo.trust_roots(), intermediates=demo.intermediates()
        )

    # Through a request and response, as a client over HTTP would see it.
    request, nonce = tsa.request_for(DATA)
    ok, response = authority.respond_or_reject(request)
    assert ok
    answered = tsa.token_from_response(response, request)
    assert tsa.token_info(answered).nonce == nonce
    # The token embeds the TSA certificate and the Sở CA: the root alone is enough.
    tsa.verify_token(answered, DATA, trust_roots=demo.trust_roots())


def _openssl() -> str:
    path = shutil.which("openssl")
    if path is None:
        if os.environ.get(REQUIRE_OPENSSL_ENV) == "1":
            pytest.fail(f"openssl is required ({REQUIRE_OPENSSL_ENV}=1) but is not on PATH")
        pytest.skip(f"openssl not on PATH (set {REQUIRE_OPENSSL_ENV}=1 to make this a failure)")
    return path


def test_openssl_verifies_token_key_tsa(
    authority: tsa.TimeStampAuthority, demo: DemoPKI, tmp_path: Path
) -> None:
    openssl = _openssl()

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [openssl, *args], capture_output=True, text=True, cwd=tmp_path, timeout=60
        )

    (tmp_path / "data.bin").write_bytes(DATA)
    (tmp_path / "root.pem").write_bytes(demo.root.public_bytes(Encoding.PEM))
    (tmp_path / "so.pem").write_bytes(demo.so.public_bytes(Encoding.PEM))
    made = run("ts", "-query", "-data", "data.bin", "-sha256", "-cert", "-out", "req.tsq")
    assert made.returncode == 0, made.stderr
    ok, response = authority.respond_or_reject((tmp_path / "req.tsq").read_bytes())
    assert ok
    (tmp_path / "resp.tsr").write_bytes(response)

    for source in (("-data", "data.bin"), ("-queryfile", "req.tsq")):
        checked = run(
            "ts", "-verify", *source, "-in", "resp.tsr", "-CAfile", "root.pem",
            "-untrusted", "so.pem",
        )  # fmt: skip
        assert "Verification: OK" in checked.stdout, checked.stdout + checked.stderr

    (tmp_path / "other.bin").write_bytes(DATA + b".")
    checked = run(
        "ts", "-verify", "-data", "other.bin", "-in", "resp.tsr", "-CAfile", "root.pem",
        "-untrusted", "so.pem",
    )  # fmt: skip
    assert "Verification: FAILED" in checked.stdout
