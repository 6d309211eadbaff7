"""Keys in a PKCS#11 token (SoftHSM2): generation, CSR, issuing, signing, PKCS#12, the ledger.

Needs SoftHSM2 (skips without it unless SOCAI_REQUIRE_SOFTHSM=1). Key labels are unique per
test because the token is shared by the whole session.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pkcs11
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from ledger.audit import audit
from signing.algorithms import Algorithm, verify
from signing.csr import build_csr, csr_for_token, issue_from_csr, load_csr
from signing.errors import (
    BadSignature,
    CertificateError,
    KeyMismatch,
    KeyUnusable,
    UnsupportedAlgorithm,
)
from signing.keys import (
    Signer,
    SoftwareSigner,
    import_pkcs12,
    load_private_key,
    save_private_key,
)
from signing.pkcs11 import Pkcs11Signer, Pkcs11Token, TokenKeyType
from signing.pki import DemoPKI, StaffSpec, create_demo_pki, verify_certificate_path
from tests.conftest import PASSPHRASE, School, allow_teacher
from tests.integration.softhsm import (
    SoftHSMToken,
    find_module,
    measure_rates,
    softhsm_fixture,  # noqa: F401  (the session fixture `softhsm`)
    unavailable,
)

MESSAGE = "Điểm kiểm tra giữa kỳ: Toán 8.5".encode()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def token(softhsm: SoftHSMToken) -> Iterator[Pkcs11Token]:
    with Pkcs11Token(*softhsm) as t:
        yield t


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoPKI:
    return create_demo_pki(
        tmp_path_factory.mktemp("pkcs11-pki"),
        school_name="Trường THPT Thử Token",
        school_code="01000777",
        province="Hà Nội",
        staff=[
            StaffSpec("GV100", "Đỗ Minh Châu", "Giáo viên", "ec-p256"),
            StaffSpec("GV101", "Vũ Thị Lan", "Giáo viên", "rsa-2048"),
        ],
        passphrase=PASSPHRASE,
        now=datetime.now(UTC),
    )


@pytest.fixture(scope="module")
def school_ca_key(demo: DemoPKI) -> PrivateKeyTypes:
    return load_private_key(demo.ca_key_path("school"), PASSPHRASE)


def validity() -> tuple[datetime, datetime]:
    now = datetime.now(UTC)
    return now - timedelta(days=1), now + timedelta(days=365)


def subject(name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.COMMON_NAME, name),
        ]
    )


def token_certificate(
    token: Pkcs11Token,
    label: str,
    ca_cert: x509.Certificate,
    ca_key: PrivateKeyTypes,
    *,
    staff_code: str,
    organisation: str,
    csr_algorithm: Algorithm | None = None,
) -> x509.Certificate:
    """CSR signed in the token, issued by the school CA: the path a real enrolment takes."""
    csr = csr_for_token(token, label, subject("Người yêu cầu"), csr_algorithm)
    start, end = validity()
    return issue_from_csr(
        csr,
        kind="person",
        full_name="Hoàng Văn Token",
        title="Giáo viên",
        staff_code=staff_code,
        organisation=organisation,
        province="Hà Nội",
        issuer_cert=ca_cert,
        issuer_key=ca_key,
        not_before=start,
        not_after=end,
    )


@dataclass
class RawSession:
    """A python-pkcs11 session of our own, to inspect the token without signing.pkcs11."""

    session: pkcs11.Session

    def private_key(self, label: str) -> pkcs11.PrivateKey:
        key = self.session.get_key(object_class=pkcs11.ObjectClass.PRIVATE_KEY, label=label)
        assert isinstance(key, pkcs11.PrivateKey)
        return key


@pytest.fixture
def raw(softhsm: SoftHSMToken, token: Pkcs11Token) -> Iterator[RawSession]:
    # No PIN: PKCS#11 login is per process, so this session shares the login of ``token``
    # (logging in again would fail with CKR_USER_ALREADY_LOGGED_IN).
    lib = pkcs11.lib(softhsm.module)
    with lib.get_token(token_label=softhsm.label).open() as session:
        yield RawSession(session)


# --- generation ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key_type", "secret"),
    [("ec-p256", pkcs11.Attribute.VALUE), ("rsa-2048", pkcs11.Attribute.PRIVATE_EXPONENT)],
    ids=["ec-p256", "rsa-2048"],
)
def test_generated_key_stays_in_the_token(
    token: Pkcs11Token, raw: RawSession, key_type: TokenKeyType, secret: pkcs11.Attribute
) -> None:
    label = unique(f"gen-{key_type}")
    public = token.generate_key(label, key_type)
    if key_type == "ec-p256":
        assert isinstance(public, ec.EllipticCurvePublicKey)
        assert isinstance(public.curve, ec.SECP256R1)
    else:
        assert isinstance(public, rsa.RSAPublicKey)
        assert public.key_size == 2048
    assert label in token.key_labels()
    assert token.public_key_der(label) == public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )

    key = raw.private_key(label)
    A = pkcs11.Attribute
    assert key[A.EXTRACTABLE] is False
    assert key[A.SENSITIVE] is True
    assert key[A.NEVER_EXTRACTABLE] is True
    assert key[A.ALWAYS_SENSITIVE] is True
    assert key[A.TOKEN] is True
    assert key[A.SIGN] is True
    assert key[A.DECRYPT] is False
    with pytest.raises(pkcs11.exceptions.PKCS11Error):
        key[secret]
    # Not even as a wrapped blob.
    with pytest.raises(pkcs11.exceptions.PKCS11Error):
        key[A.EXTRACTABLE] = True


def test_generate_refuses_existing_label_and_unknown_types(token: Pkcs11Token) -> None:
    label = unique("dup")
    first = token.generate_key(label)
    with pytest.raises(KeyUnusable, match="already holds a key labelled"):
        token.generate_key(label, "rsa-2048")
    assert token.public_key(label).public_numbers() == first.public_numbers()  # type: ignore[union-attr]
    assert token.key_labels().count(label) == 1
    with pytest.raises(UnsupportedAlgorithm):
        token.generate_key(unique("ed"), "ed25519")  # type: ignore[arg-type]
    with pytest.raises(KeyUnusable):
        token.generate_key("")
    with pytest.raises(KeyUnusable, match="no private key labelled"):
        token.public_key(unique("missing"))


def test_open_errors_are_clear_and_never_show_the_pin(softhsm: SoftHSMToken) -> None:
    wrong = "9999-wrong-pin-value"
    with pytest.raises(KeyUnusable, match="wrong PIN") as e:
        Pkcs11Token(softhsm.module, softhsm.label, wrong)
    assert wrong not in str(e.value)
    with pytest.raises(KeyUnusable, match="no token labelled 'nope'") as e:
        Pkcs11Token(softhsm.module, "nope", softhsm.pin)
    assert softhsm.label in str(e.value)  # the message lists what is there
    assert softhsm.pin not in str(e.value)
    with pytest.raises(KeyUnusable, match="does not exist"):
        Pkcs11Token("/nonexistent/libpkcs11.so", softhsm.label, softhsm.pin)
    with pytest.raises(KeyUnusable, match="cannot load PKCS#11 module"):
        Pkcs11Token(sys.executable, softhsm.label, softhsm.pin)
    with Pkcs11Token(*softhsm) as t:
        assert softhsm.pin not in repr(t)
        # Login is per process: a second object for the same token is refused, not stacked.
        with pytest.raises(KeyUnusable, match="already open in this process"):
            Pkcs11Token(*softhsm)
        assert t.key_labels() is not None
    assert t.closed
    with pytest.raises(KeyUnusable, match="closed"):
        t.key_labels()


# --- CSR, issuing, signing -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key_type", "algorithm"),
    [
        ("ec-p256", Algorithm.ECDSA_P256_SHA256),
        ("rsa-2048", Algorithm.RSA_PSS_SHA256),
        ("rsa-2048", Algorithm.RSA_PKCS1V15_SHA256),
    ],
    ids=["ecdsa", "rsa-pss", "rsa-pkcs1v15"],
)
def test_token_key_csr_certificate_and_signatures(
    token: Pkcs11Token,
    demo: DemoPKI,
    school_ca_key: PrivateKeyTypes,
    key_type: TokenKeyType,
    algorithm: Algorithm,
) -> None:
    label = unique(f"sig-{key_type}")
    public = token.generate_key(label, key_type)
    csr = csr_for_token(token, label, subject("Hoàng Văn Token"))
    assert csr.is_signature_valid
    assert csr.public_key() == public

    cert = token_certificate(
        token, label, demo.school, school_ca_key, staff_code="GV900", organisation=demo.school_name
    )
    assert cert.public_key() == public
    verify_certificate_path(cert, demo.intermediates(), demo.trust_roots(), datetime.now(UTC))

    signer = Pkcs11Signer(token, label, cert, algorithm)
    assert isinstance(signer, Signer)
    assert signer.algorithm is algorithm
    for message in (MESSAGE, b"", bytes(range(256)) * 40):
        signature = signer.sign(message)
        verify(cert.public_key(), algorithm, signature, message)
        with pytest.raises(BadSignature):
            verify(cert.public_key(), algorithm, signature, message + b"x")
    if algorithm is Algorithm.ECDSA_P256_SHA256:
        r, s = decode_dss_signature(signature)  # DER, not the token's raw r||s
        assert r > 0 and s > 0
    else:
        assert len(signature) == 256
    # Both RSA paddings from one key, and the token-level call without a signer.
    verify(public, algorithm, token.sign(label, algorithm, MESSAGE), MESSAGE)


def test_pss_csr_and_fallback_mechanisms(
    token: Pkcs11Token,
    demo: DemoPKI,
    school_ca_key: PrivateKeyTypes,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    label = unique("rsa-raw")
    token.generate_key(label, "rsa-2048")
    cert = token_certificate(
        token,
        label,
        demo.school,
        school_ca_key,
        staff_code="GV901",
        organisation=demo.school_name,
        csr_algorithm=Algorithm.RSA_PSS_SHA256,
    )
    # Tokens without the combined SHA-256 mechanisms: the digest is made here and the token
    # signs it with CKM_RSA_PKCS_PSS or CKM_RSA_PKCS (DigestInfo).
    M = pkcs11.Mechanism
    monkeypatch.setattr(token, "_mechanisms", {M.RSA_PKCS, M.RSA_PKCS_PSS, M.ECDSA})
    for algorithm in (Algorithm.RSA_PSS_SHA256, Algorithm.RSA_PKCS1V15_SHA256):
        signer = Pkcs11Signer(token, label, cert, algorithm)
        verify(cert.public_key(), algorithm, signer.sign(MESSAGE), MESSAGE)
    monkeypatch.setattr(token, "_mechanisms", {M.ECDSA})
    with pytest.raises(UnsupportedAlgorithm, match="no mechanism"):
        Pkcs11Signer(token, label, cert, Algorithm.RSA_PSS_SHA256)


def test_signer_refuses_foreign_certificate_and_wrong_algorithm(
    token: Pkcs11Token, demo: DemoPKI, school_ca_key: PrivateKeyTypes
) -> None:
    label = unique("mismatch")
    token.generate_key(label)
    with pytest.raises(KeyMismatch):
        Pkcs11Signer(token, label, demo.staff["GV100"])  # someone else's EC certificate
    with pytest.raises(KeyMismatch):
        Pkcs11Signer(token, label, demo.staff["GV101"])  # an RSA certificate
    cert = token_certificate(
        token, label, demo.school, school_ca_key, staff_code="GV902", organisation=demo.school_name
    )
    with pytest.raises(UnsupportedAlgorithm):
        Pkcs11Signer(token, label, cert, Algorithm.RSA_PSS_SHA256)
    with pytest.raises(KeyUnusable, match="no private key"):
        Pkcs11Signer(token, unique("absent"), cert)


def test_signing_is_serialised_across_threads(
    token: Pkcs11Token, demo: DemoPKI, school_ca_key: PrivateKeyTypes
) -> None:
    label = unique("threads")
    token.generate_key(label)
    cert = token_certificate(
        token, label, demo.school, school_ca_key, staff_code="GV903", organisation=demo.school_name
    )
    signer = token.signer(label, cert)
    failures: list[BaseException] = []

    def work(i: int) -> None:
        try:
            for j in range(25):
                message = f"{i}/{j}".encode()
                verify(cert.public_key(), signer.algorithm, signer.sign(message), message)
        except BaseException as e:
            failures.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []


def test_closed_token_signer_fails_cleanly(
    softhsm: SoftHSMToken, demo: DemoPKI, school_ca_key: PrivateKeyTypes
) -> None:
    with Pkcs11Token(*softhsm) as t:
        label = unique("closing")
        t.generate_key(label)
        cert = token_certificate(
            t, label, demo.school, school_ca_key, staff_code="GV904", organisation=demo.school_name
        )
        signer = t.signer(label, cert)
        signer.sign(MESSAGE)
    with pytest.raises(KeyUnusable, match="closed"):
        signer.sign(MESSAGE)


# --- CSR checks on the CA side -------------------------------------------------------------------


def test_issue_refuses_malformed_or_badly_signed_csr(
    token: Pkcs11Token, demo: DemoPKI, school_ca_key: PrivateKeyTypes
) -> None:
    start, end = validity()
    issue = {
        "kind": "person",
        "full_name": "Hoàng Văn Token",
        "title": "Giáo viên",
        "staff_code": "GV905",
        "organisation": demo.school_name,
        "issuer_cert": demo.school,
        "issuer_key": school_ca_key,
        "not_before": start,
        "not_after": end,
    }
    for garbage in (
        b"",
        b"not a csr",
        b"\x30\x03\x02\x01\x00",
        b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n",
    ):
        with pytest.raises(CertificateError, match="malformed or unsigned CSR"):
            load_csr(garbage)
        with pytest.raises(CertificateError, match="malformed or unsigned CSR"):
            issue_from_csr(garbage, **issue)  # type: ignore[arg-type]

    for key_type in ("ec-p256", "rsa-2048"):
        label = unique(f"csr-{key_type}")
        token.generate_key(label, key_type)  # type: ignore[arg-type]
        der = csr_for_token(token, label, subject("X")).public_bytes(serialization.Encoding.DER)
        # The signature BIT STRING ends the DER: flipping its last byte keeps the encoding
        # well formed (for ECDSA it changes s) but breaks the signature.
        broken = der[:-1] + bytes([der[-1] ^ 0x01])
        assert load_csr(broken).is_signature_valid is False
        with pytest.raises(CertificateError, match="malformed or unsigned CSR"):
            issue_from_csr(broken, **issue)  # type: ignore[arg-type]
        # PEM and DER of the intact request both work.
        pem = load_csr(der).public_bytes(serialization.Encoding.PEM)
        assert issue_from_csr(pem, **issue).public_key() == token.public_key(label)  # type: ignore[arg-type]


def test_issued_subject_comes_from_the_ca_not_the_csr(
    token: Pkcs11Token, demo: DemoPKI, school_ca_key: PrivateKeyTypes
) -> None:
    label = unique("subject")
    token.generate_key(label)
    csr = csr_for_token(token, label, subject("Hiệu trưởng giả mạo"))
    start, end = validity()
    cert = issue_from_csr(
        csr,
        kind="person",
        full_name="Hoàng Văn Token",
        title="Giáo viên",
        staff_code="GV906",
        organisation=demo.school_name,
        issuer_cert=demo.school,
        issuer_key=school_ca_key,
        not_before=start,
        not_after=end,
    )
    names = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    assert names == ["Hoàng Văn Token"]
    seal = issue_from_csr(
        csr,
        kind="organisation",
        school_name=demo.school_name,
        school_code=demo.school_code,
        issuer_cert=demo.school,
        issuer_key=school_ca_key,
        not_before=start,
        not_after=end,
    )
    assert seal.subject.get_attributes_for_oid(NameOID.ORGANIZATION_IDENTIFIER)[0].value == (
        demo.school_code
    )
    with pytest.raises(CertificateError, match="needs title, staff_code"):
        issue_from_csr(
            csr,
            kind="person",
            full_name="X",
            organisation=demo.school_name,
            issuer_cert=demo.school,
            issuer_key=school_ca_key,
            not_before=start,
            not_after=end,
        )


def test_build_csr_detects_a_signer_with_the_wrong_key(demo: DemoPKI) -> None:
    other = load_private_key(demo.staff_key_path("GV100"), PASSPHRASE)
    mine = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(KeyMismatch):
        build_csr(
            subject("X"),
            mine.public_key(),
            Algorithm.ECDSA_P256_SHA256,
            SoftwareSigner(other, demo.staff["GV100"]).sign,
        )
    ok = build_csr(
        subject("X"), mine.public_key(), Algorithm.ECDSA_P256_SHA256, lambda m: _ecdsa(mine, m)
    )
    assert ok.is_signature_valid


def _ecdsa(key: ec.EllipticCurvePrivateKey, message: bytes) -> bytes:
    from cryptography.hazmat.primitives import hashes

    return key.sign(message, ec.ECDSA(hashes.SHA256()))


# --- PKCS#12 -------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["GV100", "GV101"])
def test_pkcs12_round_trip(demo: DemoPKI, tmp_path: Path, code: str) -> None:
    key = load_private_key(demo.staff_key_path(code), PASSPHRASE)
    cert = demo.staff[code]
    password = "mật khẩu p12".encode()
    data = pkcs12.serialize_key_and_certificates(
        b"staff",
        key,
        cert,
        [demo.school, demo.so],
        serialization.BestAvailableEncryption(password),
    )
    imported, imported_cert, chain = import_pkcs12(data, password)
    assert imported_cert == cert
    assert chain == [demo.school, demo.so]
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    assert imported.public_key().public_bytes(serialization.Encoding.DER, spki) == (
        key.public_key().public_bytes(serialization.Encoding.DER, spki)
    )
    signer = SoftwareSigner(imported, imported_cert)
    verify(cert.public_key(), signer.algorithm, signer.sign(MESSAGE), MESSAGE)
    # Kept as an encrypted key file, it loads again.
    save_private_key(tmp_path / "key.pem", imported, PASSPHRASE)
    SoftwareSigner(load_private_key(tmp_path / "key.pem", PASSPHRASE), cert)

    with pytest.raises(KeyUnusable, match="wrong password"):
        import_pkcs12(data, b"wrong")
    with pytest.raises(KeyUnusable):
        import_pkcs12(data, None)
    with pytest.raises(KeyUnusable):
        import_pkcs12(b"garbage", password)
    with pytest.raises(KeyUnusable):
        import_pkcs12(data[:-20], password)


def test_pkcs12_without_key_or_without_its_certificate(demo: DemoPKI) -> None:
    key = load_private_key(demo.staff_key_path("GV100"), PASSPHRASE)
    enc = serialization.BestAvailableEncryption(b"pw")
    only_certs = pkcs12.serialize_key_and_certificates(b"x", None, demo.staff["GV100"], None, enc)
    with pytest.raises(KeyUnusable, match="no private key"):
        import_pkcs12(only_certs, b"pw")
    only_key = pkcs12.serialize_key_and_certificates(b"x", key, None, None, enc)
    with pytest.raises(KeyUnusable, match="no certificate"):
        import_pkcs12(only_key, b"pw")
    # A key with only someone else's certificate among the extra ones: OpenSSL pairs a
    # certificate with the key only when they match, so this has no certificate for the key.
    foreign = pkcs12.serialize_key_and_certificates(b"x", key, None, [demo.staff["GV101"]], enc)
    with pytest.raises(KeyUnusable, match="no certificate"):
        import_pkcs12(foreign, b"pw")


# --- the ledger, end to end ----------------------------------------------------------------------


def test_ledger_accepts_events_signed_in_the_token(school: School, token: Pkcs11Token) -> None:
    label = unique("ledger")
    token.generate_key(label)
    ca_key = load_private_key(school.pki.ca_key_path("school"), PASSPHRASE)
    cert = token_certificate(
        token,
        label,
        school.pki.school,
        ca_key,
        staff_code="GV900",
        organisation=school.pki.school_name,
    )
    staff = school.ledger.open_staff_file(school.principal, "GV900", "Giáo viên")
    school.ledger.register_certificate(school.principal, staff, cert)
    allow_teacher(school, staff)
    signer = Pkcs11Signer(token, label, cert)
    student = school.ledger.enrol_student(school.principal, "HS9001", "2025-2026", 6, "6A1")
    v = school.ledger.record_score(signer, student, "Toán", 1, "tx", "8.5")
    assert v == 2
    school.ledger.record_scores(signer, [(student, "Toán", 1, "gk", "7.5")])
    report = audit(school.ledger)
    assert report.ok, report


# --- rates and module behaviour ------------------------------------------------------------------


def test_print_signing_rates(
    token: Pkcs11Token, demo: DemoPKI, school_ca_key: PrivateKeyTypes
) -> None:
    signers: dict[str, Signer] = {}
    for key_type, algorithm, code in (
        ("ec-p256", Algorithm.ECDSA_P256_SHA256, "GV100"),
        ("rsa-2048", Algorithm.RSA_PSS_SHA256, "GV101"),
        ("rsa-2048", Algorithm.RSA_PKCS1V15_SHA256, "GV101"),
    ):
        label = unique(f"rate-{key_type}")
        token.generate_key(label, key_type)  # type: ignore[arg-type]
        cert = token_certificate(
            token, label, demo.school, school_ca_key, staff_code="GV907", organisation="x"
        )
        software = SoftwareSigner(
            load_private_key(demo.staff_key_path(code), PASSPHRASE), demo.staff[code], algorithm
        )
        signers[f"pkcs11 {algorithm.label}"] = Pkcs11Signer(token, label, cert, algorithm)
        signers[f"software {algorithm.label}"] = software
    rates = measure_rates(signers, n=300)
    print()
    for name, rate in rates.items():
        print(f"  {name:32s} {rate:10.0f} signatures/s")
    assert all(rate > 0 for rate in rates.values())


def test_softhsm_reads_its_configuration_only_at_initialisation(tmp_path: Path) -> None:
    """Pins the assumption tests/integration/softhsm.py is built on, in a fresh process."""
    if shutil.which("softhsm2-util") is None or find_module() is None:
        unavailable("softhsm2-util or libsofthsm2.so is missing")
    script = textwrap.dedent(
        """
        import os, sys
        from pathlib import Path
        sys.path.insert(0, os.getcwd())
        from tests.integration.softhsm import create_token
        import json, pkcs11

        base = Path(sys.argv[1])
        first = create_token(base / "a", label="first")
        lib = pkcs11.lib(first.module)
        before = sorted(t.label for t in lib.get_tokens())
        # A second token in another directory: env changed after C_Initialize.
        os.environ["SOFTHSM2_CONF"] = str(base / "b" / "softhsm2.conf")
        (base / "b" / "tokens").mkdir(parents=True)
        (base / "b" / "softhsm2.conf").write_text(
            f"directories.tokendir = {base / 'b' / 'tokens'}\\nobjectstore.backend = file\\n"
        )
        import subprocess
        subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", "second",
                        "--pin", "1234", "--so-pin", "5678"], check=True, capture_output=True)
        stale = sorted(t.label for t in lib.get_tokens())
        lib.reinitialize()
        fresh = sorted(t.label for t in lib.get_tokens())
        print(json.dumps([before, stale, fresh]))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert result.returncode == 0, result.stderr
    before, stale, fresh = json.loads(result.stdout.strip().splitlines()[-1])
    assert "first" in before and "second" not in before
    assert "second" not in stale  # the new directory is not seen without re-initialising
    assert "second" in fresh and "first" not in fresh
