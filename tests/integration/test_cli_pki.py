"""``socai pki issue|requests|import|trust`` and ``socai staff register`` on the SQLite store.

The CSR test signs the request inside a SoftHSM2 token (skips without SoftHSM2 unless
SOCAI_REQUIRE_SOFTHSM=1); the others use software keys.
"""

from __future__ import annotations

import json
import sqlite3
import stat
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, pkcs12
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID

from api.cli import EX_CANTCREAT, EX_DATAERR, EX_NOINPUT, EX_USAGE, main, open_ledger
from api.trust import fingerprint_text, load_trust
from ledger.application import Settings
from ledger.domain import student_id
from signing.csr import csr_for_token
from signing.keys import SoftwareSigner, load_certificate, load_private_key
from signing.pkcs11 import Pkcs11Signer, Pkcs11Token
from signing.pki import DemoPKI, StaffSpec, create_demo_pki, verify_certificate_path
from tests.conftest import prepare_class
from tests.integration.softhsm import (
    SoftHSMToken,
    softhsm_fixture,  # noqa: F401
)

PASSPHRASE = "cụm mật khẩu thử nghiệm, không bí mật"
P12_PASSWORD = "mật khẩu p12 thử"


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOCAI_DATABASE_URL", raising=False)
    monkeypatch.setenv("SOCAI_KEY_PASSPHRASE", PASSPHRASE)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    directory = tmp_path / "data"
    assert run(capsys, "--data", str(directory), "init")[0] == 0
    return directory


def cli(capsys: pytest.CaptureFixture[str], data: Path, *args: str) -> tuple[int, str, str]:
    return run(capsys, "--data", str(data), *args)


def demo_pki(data: Path) -> DemoPKI:
    return DemoPKI.load(data / "pki", PASSPHRASE.encode())


def issued_rows(data: Path) -> int:
    with sqlite3.connect(f"file:{data / 'pki' / 'ca' / 'school.sqlite'}?mode=ro", uri=True) as db:
        (count,) = db.execute("SELECT count(*) FROM issued").fetchone()
    return int(count)


def requester_name() -> x509.Name:
    # What the requester writes; the CA ignores it and uses its own records.
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Tên do người yêu cầu tự ghi")])


def software_csr(key: ec.EllipticCurvePrivateKey | None = None) -> x509.CertificateSigningRequest:
    key = key or ec.generate_private_key(ec.SECP256R1())
    return (
        x509.CertificateSigningRequestBuilder()
        .subject_name(requester_name())
        .sign(key, hashes.SHA256())
    )


def pem_file(path: Path, *certs: x509.Certificate) -> Path:
    path.write_bytes(b"".join(c.public_bytes(Encoding.PEM) for c in certs))
    return path


# -- issuing from a CSR -----------------------------------------------------------------------


def test_issue_from_token_csr_then_register_and_sign(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], softhsm: SoftHSMToken
) -> None:
    label = f"cli-gv900-{uuid.uuid4().hex[:8]}"
    with Pkcs11Token(*softhsm) as token:
        token_key = token.generate_key(label, "ec-p256")
        csr = csr_for_token(token, label, requester_name())
        csr_path = tmp_path / "gv900.csr"
        csr_path.write_bytes(csr.public_bytes(Encoding.PEM))
        rows = issued_rows(data)

        code, out, err = cli(
            capsys, data, "pki", "issue", "GV900", "--csr", str(csr_path),
            "--name", "Đỗ Minh Token", "--title", "Giáo viên",
        )  # fmt: skip
        assert code == 0, err
        cert_path = data / "pki" / "staff" / "GV900" / "cert.pem"
        cert = load_certificate(cert_path)
        assert str(cert_path) in out and fingerprint_text(cert) in out
        assert not (cert_path.parent / "key.pem").exists()  # the key stays in the token
        assert issued_rows(data) == rows + 1

        # The subject is the CA's, the key the token's; the certificate chains to the demo root.
        pki = demo_pki(data)
        assert cert.subject.get_attributes_for_oid(NameOID.USER_ID)[0].value == "GV900"
        assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Đỗ Minh Token"
        assert cert.subject.get_attributes_for_oid(NameOID.TITLE)[0].value == "Giáo viên"
        spki = serialization.PublicFormat.SubjectPublicKeyInfo
        assert cert.public_key().public_bytes(Encoding.DER, spki) == token_key.public_bytes(
            Encoding.DER, spki
        )
        now = datetime.now(UTC)
        verify_certificate_path(cert, pki.intermediates(), pki.trust_roots(), now)
        assert cert.not_valid_before_utc < now - timedelta(hours=23)
        assert cert.not_valid_after_utc > now + timedelta(days=3 * 365 - 2)
        points = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
        assert [n.value for p in points for n in p.full_name or []] == [pki.crl_url("school")]
        access = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
        ocsp = [a.access_location.value for a in access]
        assert access[0].access_method == AuthorityInformationAccessOID.OCSP
        assert ocsp == [pki.ocsp_url("school")] and pki.ocsp_url("school") is not None
        with pki.authority("school") as authority:
            assert authority.issued(cert.serial_number) == cert

        # A second certificate for the same staff code is refused.
        code, _, err = cli(capsys, data, "pki", "issue", "GV900", "--csr", str(csr_path))
        assert code == EX_CANTCREAT and "already has a certificate" in err
        assert issued_rows(data) == rows + 1

        # Registered by the principal, then a score signed inside the token lands in the ledger.
        code, out, err = cli(capsys, data, "staff", "register", "GV900")
        assert code == 0, err
        assert "HT001" in out
        code, _, err = cli(capsys, data, "staff", "register", "GV900")
        assert code == EX_CANTCREAT, err  # already registered
        ledger, pki_opened = open_ledger(Settings(data))
        assert pki_opened is not None
        try:
            principal = pki_opened.signer_for("HT001")
            prepare_class(ledger, principal, [ledger.actor(Pkcs11Signer(token, label, cert)).owner])
            ledger.enrol_student(principal, "HS79000701TOKEN", "2025-2026", 6, "6A1")
            signer = Pkcs11Signer(token, label, cert)
            ledger.record_score(signer, student_id("HS79000701TOKEN"), "Toán", 1, "tx", "9.5")
        finally:
            ledger.close()

    code, out, err = cli(capsys, data, "audit", "--json")
    assert code == 0, out + err
    assert json.loads(out)["ok"]
    code, out, _ = cli(capsys, data, "history", "HS79000701TOKEN", "--json")
    events = json.loads(out)["events"]
    assert events[-1]["event"] == "ScoreRecorded"
    assert events[-1]["signer_name"].startswith("Đỗ Minh Token")


def test_issue_refuses_bad_requests(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = issued_rows(data)
    good = software_csr().public_bytes(Encoding.DER)
    flipped = bytearray(good)
    flipped[-1] ^= 0x01  # last byte of the ECDSA signature's s
    truncated = software_csr().public_bytes(Encoding.PEM)[:-80] + b"\n"
    cases = {
        "garbage.csr": b"this is not a certificate request\n",
        "truncated.csr": truncated,
        "flipped.der": bytes(flipped),
    }
    for name, content in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        code, out, err = cli(
            capsys, data, "pki", "issue", "GV901", "--csr", str(path), "--name", "Ai Đó"
        )
        assert code == EX_DATAERR, (name, err)
        assert str(path) in err and "nothing was issued" in err, err
        if name == "flipped.der":
            assert "signature does not verify" in err
        else:
            assert "malformed" in err
        assert out == ""
        assert not (data / "pki" / "staff" / "GV901").exists()
        assert issued_rows(data) == rows

    (tmp_path / "good.der").write_bytes(good)
    good_path = str(tmp_path / "good.der")
    # Usage and missing input.
    code, _, err = cli(capsys, data, "pki", "issue", "GV901", "--csr", good_path)
    assert code == EX_USAGE and "--name" in err
    code, _, _ = cli(
        capsys, data, "pki", "issue", "GV901", "--csr", str(tmp_path / "none.csr"), "--name", "A"
    )
    assert code == EX_NOINPUT
    # A staff code with a certificate from `socai init`.
    code, _, err = cli(capsys, data, "pki", "issue", "GV001", "--csr", good_path)
    assert code == EX_CANTCREAT
    code, _, err = cli(capsys, data, "pki", "issue", "../GV9", "--csr", good_path, "--name", "A")
    assert code == EX_DATAERR and "staff code" in err
    assert issued_rows(data) == rows

    # A DER request; without --title the title is Giáo viên.
    code, out, err = cli(
        capsys, data, "pki", "issue", "GV901", "--csr", good_path, "--name", "Võ Thị Mai"
    )
    assert code == 0, err
    assert issued_rows(data) == rows + 1
    cert = load_certificate(data / "pki" / "staff" / "GV901" / "cert.pem")
    assert cert.subject.get_attributes_for_oid(NameOID.TITLE)[0].value == "Giáo viên"
    code, _, err = cli(capsys, data, "staff", "register", "GV999")
    assert code == EX_NOINPUT and "no certificate" in err


def test_issue_from_the_request_queue(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pki = demo_pki(data)
    now = datetime.now(UTC)
    p384 = software_csr(ec.generate_private_key(ec.SECP384R1()))  # a key the ledger refuses
    with pki.authority("school") as authority:
        good_id = authority.submit_request(software_csr().public_bytes(Encoding.DER), now)
        bad_id = authority.submit_request(p384.public_bytes(Encoding.DER), now)

    code, out, _ = cli(capsys, data, "pki", "requests", "--json")
    assert code == 0
    assert {r["request"] for r in json.loads(out)} == {good_id, bad_id}

    rows = issued_rows(data)
    code, _, err = cli(capsys, data, "pki", "issue", "GV902", "--request", bad_id, "--name", "B")
    assert code == EX_DATAERR and "unusable public key" in err
    assert issued_rows(data) == rows and not (data / "pki" / "staff" / "GV902").exists()
    code, _, err = cli(capsys, data, "pki", "issue", "GV902", "--request", "0" * 32, "--name", "B")
    assert code == EX_NOINPUT

    code, out, err = cli(
        capsys, data, "pki", "issue", "GV902", "--request", good_id, "--name", "Bùi Văn Hàng"
    )
    assert code == 0, err
    assert issued_rows(data) == rows + 1
    code, out, _ = cli(capsys, data, "pki", "requests", "--json")
    assert [r["request"] for r in json.loads(out)] == [bad_id]  # the refused one stays queued


# -- trust anchors and PKCS#12 from an outside CA ---------------------------------------------


@pytest.fixture
def foreign(tmp_path: Path) -> DemoPKI:
    return create_demo_pki(
        tmp_path / "foreign-pki",
        school_name="Trường THPT Bên Ngoài",
        school_code="01000123",
        province="Hà Nội",
        staff=[StaffSpec("NG001", "Người Ngoài Trường", "Giáo viên")],
        passphrase=b"foreign passphrase, not a secret",
        now=datetime.now(UTC),
    )


def test_pkcs12_from_a_foreign_ca(
    data: Path,
    tmp_path: Path,
    foreign: DemoPKI,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = load_private_key(foreign.staff_key_path("NG001"), foreign.passphrase)
    cert = foreign.staff["NG001"]
    p12 = tmp_path / "ng001.p12"
    p12.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"NG001",
            key,
            cert,
            [foreign.school, foreign.so, foreign.root],  # roots often come along
            serialization.BestAvailableEncryption(P12_PASSWORD.encode()),
        )
    )
    imported = data / "pki" / "imported" / "NG001"
    monkeypatch.setenv("P12_PASSWORD", P12_PASSWORD)
    monkeypatch.setenv("WRONG_PASSWORD", "sai mật khẩu")

    code, _, err = cli(capsys, data, "pki", "import", "NG001", str(p12), "--password-env", "NOPE")
    assert code == EX_USAGE and "NOPE" in err
    code, out, err = cli(
        capsys, data, "pki", "import", "NG001", str(p12), "--password-env", "WRONG_PASSWORD"
    )
    assert code == EX_DATAERR and "password" in err
    assert "sai mật" not in out + err
    # Untrusted: refused, nothing written.
    code, out, err = cli(
        capsys, data, "pki", "import", "NG001", str(p12), "--password-env", "P12_PASSWORD"
    )
    assert code == EX_DATAERR and "not trusted" in err and "socai pki trust add" in err
    assert P12_PASSWORD not in out + err
    assert not imported.exists() and not (data / "pki" / "staff" / "NG001").exists()

    # The operator adds the outside root after comparing its fingerprint.
    root_pem = pem_file(tmp_path / "foreign-root.pem", foreign.root)
    code, out, err = cli(capsys, data, "pki", "trust", "add", str(root_pem))
    assert code == 0, err
    assert fingerprint_text(foreign.root) in out
    assert foreign.root.subject.rfc4514_string() in out
    anchors = data / "trust" / "anchors.pem"
    assert stat.S_IMODE(anchors.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(anchors.stat().st_mode) == 0o644

    code, out, err = cli(
        capsys, data, "pki", "import", "NG001", str(p12), "--password-env", "P12_PASSWORD"
    )
    assert code == 0, err
    assert P12_PASSWORD not in out + err
    key_file = imported / "key.pem"
    assert key_file.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert load_certificate(imported / "cert.pem") == cert
    reloaded = load_private_key(key_file, PASSPHRASE.encode())
    signer = SoftwareSigner(reloaded, cert)  # the key belongs to the certificate
    code, _, err = cli(
        capsys, data, "pki", "import", "NG001", str(p12), "--password-env", "P12_PASSWORD"
    )
    assert code == EX_CANTCREAT
    # The embedded school CA still opens: imported certificates are not in its staff directory.
    with demo_pki(data).authority("school"):
        pass

    # Registering needs the outside CA's intermediates too (the ledger does not read the .p12).
    code, _, err = cli(capsys, data, "staff", "register", "NG001")
    assert code == EX_DATAERR and "untrusted issuer" in err, err
    # The import kept the outside CA certificates the trust lacks, for the operator to add.
    chain_pem = imported / "chain.pem"
    assert {c.subject for c in x509.load_pem_x509_certificates(chain_pem.read_bytes())} == {
        foreign.so.subject,
        foreign.school.subject,
    }
    code, out, err = cli(capsys, data, "pki", "trust", "add", "--intermediate", str(chain_pem))
    assert code == 0, err
    code, out, err = cli(capsys, data, "staff", "register", "NG001")
    assert code == 0, err
    ledger, pki = open_ledger(Settings(data))
    assert pki is not None
    try:
        prepare_class(ledger, pki.signer_for("HT001"), [ledger.actor(signer).owner])
        ledger.enrol_student(pki.signer_for("HT001"), "HS79000701NGOAI", "2025-2026", 6, "6A1")
        ledger.record_score(signer, student_id("HS79000701NGOAI"), "Toán", 1, "tx", "7.0")
    finally:
        ledger.close()
    code, out, err = cli(capsys, data, "audit")
    assert code == 0, out + err


def test_trust_add_refusals_and_list(
    data: Path, tmp_path: Path, foreign: DemoPKI, capsys: pytest.CaptureFixture[str]
) -> None:
    anchors = data / "trust" / "anchors.pem"
    leaf = pem_file(tmp_path / "leaf.pem", foreign.staff["NG001"])
    intermediate = pem_file(tmp_path / "so.pem", foreign.so)
    root = pem_file(tmp_path / "root.pem", foreign.root)
    root_and_leaf = pem_file(tmp_path / "root-and-leaf.pem", foreign.root, foreign.staff["NG001"])
    key_pem = tmp_path / "key.pem"
    key_pem.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    garbage = tmp_path / "garbage.pem"
    garbage.write_bytes(
        b"-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n"
    )
    refusals = [
        ((str(leaf),), EX_DATAERR, "not a CA certificate"),
        ((str(intermediate),), EX_DATAERR, "not self-signed"),
        (("--intermediate", str(root)), EX_DATAERR, "self-signed"),
        ((str(root_and_leaf),), EX_DATAERR, "not a CA certificate"),  # all or nothing
        ((str(key_pem),), EX_DATAERR, "PRIVATE KEY"),
        ((str(garbage),), EX_DATAERR, "not a valid X.509 certificate"),
        ((str(data / "pki" / "ca" / "root.pem"),), EX_CANTCREAT, "already configured"),
        (("--intermediate", str(data / "pki" / "ca" / "so.pem")), EX_CANTCREAT, "already"),
        ((str(tmp_path / "missing.pem"),), EX_NOINPUT, "does not exist"),
    ]
    for args, expected, message in refusals:
        code, _, err = cli(capsys, data, "pki", "trust", "add", *args)
        assert code == expected and message in err, (args, code, err)
        assert not anchors.exists()
        assert not (data / "trust" / "intermediates.pem").exists()

    # DER is accepted too; adding the same root again is refused.
    der = tmp_path / "root.der"
    der.write_bytes(foreign.root.public_bytes(Encoding.DER))
    assert cli(capsys, data, "pki", "trust", "add", str(der))[0] == 0
    before = anchors.read_bytes()
    code, _, err = cli(capsys, data, "pki", "trust", "add", str(root))
    assert code == EX_CANTCREAT and "already configured as a trust anchor" in err
    assert anchors.read_bytes() == before

    code, out, _ = cli(capsys, data, "pki", "trust", "list")
    assert code == 0
    pki = demo_pki(data)
    for cert in (pki.root, foreign.root, pki.so, pki.school):
        assert fingerprint_text(cert) in out
        assert cert.subject.rfc4514_string() in out
    assert "Trust anchors (2)" in out and "Intermediates (2)" in out

    # `cat other-root.pem >> anchors.pem` (docs/trust.md) works, even without a final newline.
    other = create_demo_pki(
        tmp_path / "other-pki",
        school_name="Trường Khác",
        school_code="01000456",
        province="Huế",
        staff=[],
        passphrase=b"other passphrase, not a secret",
        now=datetime.now(UTC),
    )
    anchors.write_bytes(before.rstrip(b"\n") + other.root.public_bytes(Encoding.PEM))
    trust = load_trust(data, pki)
    assert trust.roots == [pki.root, foreign.root, other.root]
    assert trust.intermediates == [pki.so, pki.school]

    # A damaged trust file stops every command that uses it, naming the file.
    anchors.write_bytes(before + b"-----BEGIN CERTIFICATE-----\nAAAA\n")
    for args in (("pki", "trust", "list"), ("audit",), ("pki", "trust", "add", str(root))):
        code, _, err = cli(capsys, data, *args)
        assert code == EX_DATAERR and str(anchors) in err, (args, err)
