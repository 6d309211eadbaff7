"""An independent implementation checks the embedded TSA, and vice versa: ``openssl ts``.

``openssl ts -query`` makes the requests, :meth:`signing.tsa.TimeStampAuthority.respond`
answers them in process, and ``openssl ts -verify`` checks the responses against the demo root
with the Sở and school CA certificates as untrusted intermediates. The other way round,
``openssl ts -reply`` acts as the TSA and :func:`signing.tsa.verify_token` checks its tokens.
Without ``openssl`` the tests skip, unless ``SOCAI_REQUIRE_OPENSSL=1``.

OpenSSL limits (3.0 and later): ``ts -verify`` goes through the PKCS#7 code, which knows no
RSASSA-PSS (openssl/openssl#7904), so PSS tokens are checked with ``openssl cms -verify``
instead; and OpenSSL's CMS cannot verify Ed25519 with signed attributes (openssl#11915,
#32248), so Ed25519 tokens are not checked by OpenSSL at all.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from signing import keys, pki, tsa
from signing.algorithms import Algorithm, PrivateKey
from signing.errors import HashMismatch

PASSPHRASE = b"test passphrase, not a secret"
REQUIRE_ENV = "SOCAI_REQUIRE_OPENSSL"
DATA = "Sổ điểm lớp 9A, học kỳ I, năm học 2025-2026".encode()


@pytest.fixture(scope="module")
def openssl() -> str:
    path = shutil.which("openssl")
    if path is None:
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"openssl is required ({REQUIRE_ENV}=1) but is not on PATH")
        pytest.skip(f"openssl not on PATH (set {REQUIRE_ENV}=1 to make this a failure)")
    return path


@dataclass
class Setup:
    openssl: str
    demo: pki.DemoPKI
    school_key: PrivateKey
    now: dt.datetime
    files: Path

    def run(self, *args: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [self.openssl, *map(str, args)], capture_output=True, text=True, cwd=self.files
        )
        if check and result.returncode != 0:
            raise AssertionError(f"openssl {args[:2]} failed:\n{result.stdout}\n{result.stderr}")
        return result

    def authority(
        self,
        key_type: keys.KeyType = "ec-p256",
        algorithm: Algorithm | None = None,
        *,
        embed_chain: bool = False,
    ) -> tsa.TimeStampAuthority:
        key = keys.generate_private_key(key_type)
        cert = self.tsa_certificate(key)
        chain = self.demo.intermediates()[::-1] if embed_chain else []
        return tsa.TimeStampAuthority(keys.SoftwareSigner(key, cert, algorithm), chain)

    def tsa_certificate(self, key: PrivateKey) -> x509.Certificate:
        return tsa.issue_tsa_certificate(
            key.public_key(),
            name="Dịch vụ dấu thời gian (demo)",
            issuer_cert=self.demo.school,
            issuer_key=self.school_key,
            not_before=self.now - dt.timedelta(days=1),
            not_after=self.now + dt.timedelta(days=30),
        )

    def query(self, name: str, *options: str) -> bytes:
        self.run("ts", "-query", "-data", "data.bin", "-out", f"{name}.tsq", *options)
        return (self.files / f"{name}.tsq").read_bytes()

    def verify(self, response: str, *extra: str) -> subprocess.CompletedProcess[str]:
        return self.run(
            "ts",
            "-verify",
            "-data",
            "data.bin",
            "-in",
            response,
            "-CAfile",
            "root.pem",
            "-untrusted",
            "chain.pem",
            *extra,
            check=False,
        )

    def text(self, response: str) -> str:
        return self.run("ts", "-reply", "-in", response, "-text").stdout


@pytest.fixture(scope="module")
def setup(openssl: str, tmp_path_factory: pytest.TempPathFactory) -> Setup:
    # Real time: openssl checks the certificates against its own clock.
    now = dt.datetime.now(dt.UTC)
    demo = pki.create_demo_pki(
        tmp_path_factory.mktemp("pki"),
        school_name="Trường THCS Kiểm Thử",
        school_code="79000999",
        province="Hà Nội",
        staff=[],
        passphrase=PASSPHRASE,
        now=now,
    )
    files = tmp_path_factory.mktemp("openssl-ts")
    (files / "data.bin").write_bytes(DATA)
    (files / "root.pem").write_bytes(demo.root.public_bytes(serialization.Encoding.PEM))
    (files / "chain.pem").write_bytes(
        b"".join(c.public_bytes(serialization.Encoding.PEM) for c in demo.intermediates())
    )
    school_key = keys.load_private_key(demo.ca_key_path("school"), PASSPHRASE)
    return Setup(openssl, demo, school_key, now, files)


def test_openssl_verifies_our_token(setup: Setup) -> None:
    authority = setup.authority()
    ok, response = authority.respond_or_reject(setup.query("req", "-sha256", "-cert"))
    assert ok
    (setup.files / "resp.tsr").write_bytes(response)
    result = setup.verify("resp.tsr")
    assert "Verification: OK" in result.stdout, result.stderr
    # Checked against the request too: imprint and nonce.
    result = setup.run(
        "ts", "-verify", "-queryfile", "req.tsq", "-in", "resp.tsr", "-CAfile", "root.pem",
        "-untrusted", "chain.pem", check=False,
    )  # fmt: skip
    assert "Verification: OK" in result.stdout, result.stderr

    text = setup.text("resp.tsr")
    assert "Status: Granted." in text
    assert f"Policy OID: {tsa.PLACEHOLDER_POLICY}" in text
    info = tsa.token_info(tsa.token_from_response(response, (setup.files / "req.tsq").read_bytes()))
    serial = re.search(r"Serial number: 0x([0-9A-F]+)", text)
    assert serial is not None and int(serial.group(1), 16) == info.serial_number
    assert "Accuracy: 0x01 seconds" in text
    assert "Ordering: no" in text
    assert "Nonce: 0x" in text
    assert "TSA: DirName:" in text

    # Other data does not verify.
    (setup.files / "other.bin").write_bytes(DATA + b".")
    result = setup.run(
        "ts", "-verify", "-data", "other.bin", "-in", "resp.tsr", "-CAfile", "root.pem",
        "-untrusted", "chain.pem", check=False,
    )  # fmt: skip
    assert "Verification: FAILED" in result.stdout


def test_openssl_without_cert_req(setup: Setup) -> None:
    authority = setup.authority()
    response = authority.respond(setup.query("nocert", "-sha512", "-no_nonce"))
    (setup.files / "nocert.tsr").write_bytes(response)
    assert "Nonce: unspecified" in setup.text("nocert.tsr")
    # The token carries no certificate: openssl needs the TSA certificate from outside.
    (setup.files / "chain-and-tsa.pem").write_bytes(
        (setup.files / "chain.pem").read_bytes()
        + authority.certificate.public_bytes(serialization.Encoding.PEM)
    )
    result = setup.verify("nocert.tsr")
    assert "Verification: FAILED" in result.stdout
    result = setup.run(
        "ts", "-verify", "-data", "data.bin", "-in", "nocert.tsr", "-CAfile", "root.pem",
        "-untrusted", "chain-and-tsa.pem", check=False,
    )  # fmt: skip
    assert "Verification: OK" in result.stdout, result.stderr


def test_openssl_rsa_pkcs1v15(setup: Setup) -> None:
    authority = setup.authority("rsa-2048", Algorithm.RSA_PKCS1V15_SHA256)
    (setup.files / "rsa.tsr").write_bytes(authority.respond(setup.query("rsa", "-cert")))
    result = setup.verify("rsa.tsr")
    assert "Verification: OK" in result.stdout, result.stderr


def test_openssl_cms_verifies_rsa_pss(setup: Setup) -> None:
    # openssl cms -verify takes no untrusted certificates: the token carries the chain.
    authority = setup.authority("rsa-2048", Algorithm.RSA_PSS_SHA256, embed_chain=True)
    (setup.files / "pss.der").write_bytes(authority.timestamp(DATA))
    result = setup.run(
        "cms", "-verify", "-inform", "DER", "-in", "pss.der", "-CAfile", "root.pem",
        "-purpose", "timestampsign", "-out", "pss.tst", check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Verification successful" in result.stderr


def test_openssl_sees_rejections(setup: Setup) -> None:
    authority = setup.authority()
    cases = {
        "sha1": (("-sha1",), "unrecognized or unsupported algorithm identifier"),
        "policy": (("-tspolicy", "1.2.3.4"), "the requested TSA policy is not supported"),
    }
    for name, (options, failure) in cases.items():
        ok, response = authority.respond_or_reject(setup.query(name, *options))
        assert not ok
        (setup.files / f"{name}.tsr").write_bytes(response)
        text = setup.text(f"{name}.tsr")
        assert "Status: Rejected." in text
        assert failure in text


def test_we_verify_openssl_tokens(setup: Setup) -> None:
    key = keys.generate_private_key("ec-p256")
    cert = setup.tsa_certificate(key)
    files = setup.files
    (files / "tsa-key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (files / "tsa-cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (files / "tsaserial").write_text("01\n")
    (files / "ts.cnf").write_text(
        "[ tsa ]\n"
        "default_tsa = tsa_config\n"
        "[ tsa_config ]\n"
        "serial = ./tsaserial\n"
        "crypto_device = builtin\n"
        "signer_digest = sha256\n"
        "default_policy = 1.3.6.1.4.1.32473.3161.2\n"
        "digests = sha256, sha384, sha512\n"
        "accuracy = secs:1\n"
        "ordering = no\n"
        "tsa_name = yes\n"
        "ess_cert_id_chain = no\n"
        "ess_cert_id_alg = sha256\n"
    )
    request, _ = tsa.request_for(DATA)
    (files / "ours.tsq").write_bytes(request)
    setup.run(
        "ts", "-reply", "-config", "ts.cnf", "-queryfile", "ours.tsq", "-signer",
        "tsa-cert.pem", "-inkey", "tsa-key.pem", "-chain", "chain.pem", "-out", "theirs.tsr",
    )  # fmt: skip
    token = tsa.token_from_response((files / "theirs.tsr").read_bytes(), request)
    gen_time = tsa.verify_token(token, DATA, trust_roots=setup.demo.trust_roots(), intermediates=[])
    assert abs(gen_time - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)
    assert tsa.token_info(token).policy == "1.3.6.1.4.1.32473.3161.2"
    with pytest.raises(HashMismatch):
        tsa.verify_token(token, DATA + b".", trust_roots=setup.demo.trust_roots(), intermediates=[])
