"""An independent client checks the CA's OCSP responses and CRLs: the ``openssl`` command line.

No HTTP: requests are made by ``openssl ocsp -reqout``, answered in-process by
:meth:`signing.ca.CertificateAuthority.ocsp_respond`, and the responses verified by
``openssl ocsp -respin`` against the demo root, with the Sở and school CA certificates as
untrusted intermediates. Without ``openssl`` the tests skip, unless ``SOCAI_REQUIRE_OPENSSL=1``.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from signing import pki
from signing.ca import CertificateAuthority, ocsp_malformed_response
from signing.keys import load_private_key

PASSPHRASE = b"test passphrase, not a secret"
REQUIRE_ENV = "SOCAI_REQUIRE_OPENSSL"


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
    demo: pki.DemoPKI
    school: CertificateAuthority
    now: dt.datetime
    files: Path
    revoked_at: dt.datetime

    def pem(self, name: str) -> str:
        return str(self.files / f"{name}.pem")


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    # Real time: openssl checks thisUpdate/nextUpdate against its own clock.
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    demo = pki.create_demo_pki(
        tmp_path_factory.mktemp("pki"),
        school_name="Trường THCS Kiểm Thử",
        school_code="79000999",
        province="Hà Nội",
        staff=[
            pki.StaffSpec("GV001", "Nguyễn Văn An", "Giáo viên"),
            pki.StaffSpec("GV002", "Lê Thị Bích Ngọc", "Giáo viên", key_type="ed25519"),
        ],
        passphrase=PASSPHRASE,
        now=now,
        base_url="http://127.0.0.1:8000",
    )
    school = demo.authority("school")
    revoked_at = now - dt.timedelta(minutes=10)
    school.revoke(demo.staff["GV002"].serial_number, x509.ReasonFlags.key_compromise, revoked_at)
    # Issued by the school CA's key but never recorded: the CA does not know it.
    unrecorded = pki.issue_person_certificate(
        demo.staff["GV001"].public_key(),
        full_name="Không Ghi Sổ",
        title="Giáo viên",
        staff_code="GV999",
        organisation=demo.school_name,
        issuer_cert=demo.school,
        issuer_key=load_private_key(demo.ca_key_path("school"), PASSPHRASE),
        not_before=now - dt.timedelta(days=1),
        not_after=now + dt.timedelta(days=30),
    )
    files = tmp_path_factory.mktemp("openssl")
    pem = serialization.Encoding.PEM
    for name, cert in {
        "root": demo.root,
        "ca": demo.school,
        "good": demo.staff["GV001"],
        "revoked": demo.staff["GV002"],
        "unrecorded": unrecorded,
    }.items():
        (files / f"{name}.pem").write_bytes(cert.public_bytes(pem))
    (files / "chain.pem").write_bytes(demo.so.public_bytes(pem) + demo.school.public_bytes(pem))
    yield Setup(demo, school, now, files, revoked_at)
    school.close()


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)


def _ask(openssl: str, s: Setup, leaf: str, *, nonce: bool = False) -> tuple[Path, Path]:
    """openssl builds the request, the CA answers it; return the request and response paths."""
    req = s.files / f"{leaf}.req.der"
    resp = s.files / f"{leaf}.resp.der"
    made = _run(
        openssl,
        "ocsp",
        "-issuer",
        s.pem("ca"),
        "-cert",
        s.pem(leaf),
        "-reqout",
        str(req),
        "-nonce" if nonce else "-no_nonce",
    )
    assert made.returncode == 0, made.stderr
    resp.write_bytes(s.school.ocsp_respond(req.read_bytes(), s.now))
    return req, resp


def _verify(openssl: str, s: Setup, leaf: str, resp: Path) -> subprocess.CompletedProcess[str]:
    return _run(
        openssl,
        "ocsp",
        "-respin",
        str(resp),
        "-issuer",
        s.pem("ca"),
        "-cert",
        s.pem(leaf),
        "-CAfile",
        s.pem("root"),
        "-verify_other",
        str(s.files / "chain.pem"),
        "-no_nonce",
        "-resp_text",
    )


def test_good_certificate(openssl: str, setup: Setup) -> None:
    _, resp = _ask(openssl, setup, "good")
    result = _verify(openssl, setup, "good", resp)
    assert result.returncode == 0, result.stderr
    assert "Response verify OK" in result.stderr
    assert f"{setup.pem('good')}: good" in result.stdout
    assert "Cert Status: good" in result.stdout


def test_revoked_certificate(openssl: str, setup: Setup) -> None:
    _, resp = _ask(openssl, setup, "revoked")
    result = _verify(openssl, setup, "revoked", resp)
    assert result.returncode == 0, result.stderr
    assert "Response verify OK" in result.stderr
    assert f"{setup.pem('revoked')}: revoked" in result.stdout
    assert "Reason: keyCompromise" in result.stdout
    when = setup.revoked_at.strftime("%b %e %H:%M:%S %Y GMT")
    assert f"Revocation Time: {when}" in result.stdout


def test_certificate_the_ca_never_recorded_is_unknown(openssl: str, setup: Setup) -> None:
    _, resp = _ask(openssl, setup, "unrecorded")
    result = _verify(openssl, setup, "unrecorded", resp)
    assert "Response verify OK" in result.stderr
    assert f"{setup.pem('unrecorded')}: unknown" in result.stdout


def test_nonce_round_trip(openssl: str, setup: Setup) -> None:
    req, resp = _ask(openssl, setup, "good", nonce=True)
    result = _run(
        openssl,
        "ocsp",
        "-reqin",
        str(req),
        "-respin",
        str(resp),
        "-CAfile",
        setup.pem("root"),
        "-verify_other",
        str(setup.files / "chain.pem"),
        "-resp_text",
    )
    assert result.returncode == 0, result.stderr
    assert "Response verify OK" in result.stderr
    assert "nonce" not in result.stderr.lower()  # neither "no nonce" nor "Nonce Verify error"
    assert "OCSP Nonce" in result.stdout


def test_response_from_another_ca_fails_verification(
    openssl: str, setup: Setup, tmp_path: Path
) -> None:
    # A CA with the same names but other keys answers our request: openssl must refuse it.
    impostor = pki.create_demo_pki(
        tmp_path,
        school_name=setup.demo.school_name,
        school_code=setup.demo.school_code,
        province=setup.demo.province,
        staff=[],
        passphrase=PASSPHRASE,
        now=setup.now,
    )
    req, _ = _ask(openssl, setup, "good")
    forged = tmp_path / "forged.der"
    with impostor.authority("school") as other:
        forged.write_bytes(other.ocsp_respond(req.read_bytes(), setup.now))
    result = _verify(openssl, setup, "good", forged)
    assert "Response verify OK" not in result.stderr
    assert "Response Verify Failure" in result.stderr


def test_malformed_response_parses(openssl: str, setup: Setup) -> None:
    bad = setup.files / "malformed.der"
    bad.write_bytes(ocsp_malformed_response())
    result = _run(openssl, "ocsp", "-respin", str(bad), "-resp_text", "-noverify")
    assert "malformedrequest" in (result.stdout + result.stderr).lower()


def test_crl_parses_lists_the_revoked_serial_and_verifies(openssl: str, setup: Setup) -> None:
    crl = setup.files / "school.crl"
    crl.write_bytes(setup.school.crl(setup.now))
    text = _run(openssl, "crl", "-in", str(crl), "-inform", "DER", "-noout", "-text")
    assert text.returncode == 0, text.stderr
    serial = format(setup.demo.staff["GV002"].serial_number, "X")
    assert f"Serial Number: {serial.zfill(len(serial) + len(serial) % 2)}" in text.stdout
    assert format(setup.demo.staff["GV001"].serial_number, "X") not in text.stdout
    assert "Key Compromise" in text.stdout
    assert "X509v3 CRL Number" in text.stdout
    # openssl checks the CRL signature against the issuer found in -CAfile.
    verified = _run(
        openssl, "crl", "-in", str(crl), "-inform", "DER", "-noout", "-CAfile", setup.pem("ca")
    )
    assert verified.returncode == 0 and "verify OK" in verified.stderr + verified.stdout


def test_crl_checked_by_openssl_verify(openssl: str, setup: Setup) -> None:
    # openssl verify -crl_check: the revoked leaf fails with "certificate revoked".
    crl_pem = setup.files / "school.crl.pem"
    crl = x509.load_der_x509_crl(setup.school.crl(setup.now))
    crl_pem.write_bytes(crl.public_bytes(serialization.Encoding.PEM))
    args = [
        openssl,
        "verify",
        "-CAfile",
        setup.pem("root"),
        "-untrusted",
        str(setup.files / "chain.pem"),
        "-CRLfile",
        str(crl_pem),
        "-crl_check",
    ]
    good = _run(*args, setup.pem("good"))
    assert good.returncode == 0, good.stdout + good.stderr
    revoked = _run(*args, setup.pem("revoked"))
    assert revoked.returncode != 0
    assert "certificate revoked" in revoked.stdout + revoked.stderr


def test_ocsp_throughput_is_reported(setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    """Measure (not assert) in-process OCSP responses per second."""
    requests = [
        ocsp.OCSPRequestBuilder()
        .add_certificate(cert, setup.demo.school, hashes.SHA1())
        .add_extension(x509.OCSPNonce(os.urandom(16)), critical=False)
        .build()
        .public_bytes(serialization.Encoding.DER)
        for cert in (setup.demo.staff["GV001"], setup.demo.staff["GV002"], setup.demo.seal)
    ]
    n = 1000
    start = time.perf_counter()
    for i in range(n):
        setup.school.ocsp_respond(requests[i % len(requests)], setup.now)
    elapsed = time.perf_counter() - start
    with capsys.disabled():
        print(f"\nOCSP: {n} responses in {elapsed:.3f} s = {n / elapsed:,.0f} responses/s")
