"""Tests for signing.algorithms, signing.keys and signing.pki."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import os
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509.oid import NameOID

from signing import algorithms, keys, pki
from signing.algorithms import Algorithm
from signing.errors import (
    BadSignature,
    CertificateError,
    CertificateNotValid,
    KeyMismatch,
    KeyUnusable,
    UnsupportedAlgorithm,
    VerificationError,
)

NOW = dt.datetime(2025, 9, 5, 8, 0, tzinfo=dt.UTC)
PASSPHRASE = b"correct horse battery staple"
MESSAGE = "Điểm kiểm tra giữa kỳ: 8,5".encode()

STAFF = [
    pki.StaffSpec("HT001", "Nguyễn Thị Hồng Nhung", "Hiệu trưởng"),
    pki.StaffSpec("GV002", "Trần Văn Đức", "Giáo viên", key_type="ed25519"),
    pki.StaffSpec("GV003", "Lê Hoàng Yến", "Giáo viên", key_type="rsa-2048"),
]


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    # RSA key generation is slow; one key serves every RSA test in the module.
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
def ed_key() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> pki.DemoPKI:
    return pki.create_demo_pki(
        tmp_path_factory.mktemp("pki"),
        school_name="Trường THPT Chu Văn An",
        school_code="01000123",
        province="Hà Nội",
        staff=STAFF,
        passphrase=PASSPHRASE,
        now=NOW,
    )


def _key_for(
    algorithm: Algorithm,
    ec_key: ec.EllipticCurvePrivateKey,
    ed_key: ed25519.Ed25519PrivateKey,
    rsa_key: rsa.RSAPrivateKey,
) -> algorithms.PrivateKey:
    if algorithm is Algorithm.ECDSA_P256_SHA256:
        return ec_key
    if algorithm is Algorithm.ED25519:
        return ed_key
    return rsa_key


# --- algorithms ------------------------------------------------------------------------------


def test_algorithm_numbers_and_labels_are_the_stored_format() -> None:
    # These numbers are written into event envelopes; changing one breaks stored events.
    assert {a.label: int(a) for a in Algorithm} == {
        "ecdsa-p256-sha256": 1,
        "ed25519": 2,
        "rsa-pss-sha256": 3,
        "rsa-pkcs1v15-sha256": 4,
    }
    assert Algorithm.from_label("rsa-pss-sha256") is Algorithm.RSA_PSS_SHA256
    with pytest.raises(UnsupportedAlgorithm):
        Algorithm.from_label("dsa")


@pytest.mark.parametrize("algorithm", list(Algorithm))
def test_sign_verify_round_trip_and_tamper(algorithm, ec_key, ed_key, rsa_key) -> None:
    key = _key_for(algorithm, ec_key, ed_key, rsa_key)
    signature = algorithms.sign(key, algorithm, MESSAGE)
    algorithms.verify(key.public_key(), algorithm, signature, MESSAGE)
    with pytest.raises(BadSignature):
        algorithms.verify(key.public_key(), algorithm, signature, MESSAGE + b"!")
    flipped = signature[:-1] + bytes([signature[-1] ^ 1])
    with pytest.raises(BadSignature):
        algorithms.verify(key.public_key(), algorithm, flipped, MESSAGE)


@pytest.mark.parametrize("algorithm", list(Algorithm))
@pytest.mark.parametrize("garbage", [b"", b"\x30\x00", b"\x00" * 64, b"\xff" * 300])
def test_malformed_signature_bytes_are_bad_signature(
    algorithm, garbage, ec_key, ed_key, rsa_key
) -> None:
    key = _key_for(algorithm, ec_key, ed_key, rsa_key)
    with pytest.raises(BadSignature):
        algorithms.verify(key.public_key(), algorithm, garbage, MESSAGE)


def test_wrong_key_type_is_bad_signature(ec_key, ed_key, rsa_key) -> None:
    ed_signature = algorithms.sign(ed_key, Algorithm.ED25519, MESSAGE)
    with pytest.raises(BadSignature):
        algorithms.verify(ec_key.public_key(), Algorithm.ED25519, ed_signature, MESSAGE)
    with pytest.raises(BadSignature):
        algorithms.verify(rsa_key.public_key(), Algorithm.ECDSA_P256_SHA256, ed_signature, MESSAGE)
    with pytest.raises(BadSignature):
        algorithms.verify(ed_key.public_key(), Algorithm.RSA_PSS_SHA256, ed_signature, MESSAGE)
    with pytest.raises(UnsupportedAlgorithm):
        algorithms.sign(ed_key, Algorithm.ECDSA_P256_SHA256, MESSAGE)


def test_unknown_algorithm_number_is_bad_signature(ec_key) -> None:
    signature = algorithms.sign(ec_key, Algorithm.ECDSA_P256_SHA256, MESSAGE)
    with pytest.raises(BadSignature):
        algorithms.verify(ec_key.public_key(), 99, signature, MESSAGE)  # type: ignore[arg-type]


def test_pss_salt_length_is_exactly_32(rsa_key) -> None:
    # A PSS signature with the maximum salt is valid RSA-PSS but not our fixed parameter set.
    max_salt = rsa_key.sign(
        MESSAGE,
        padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.MAX_LENGTH),
        hashes.SHA256(),
    )
    with pytest.raises(BadSignature):
        algorithms.verify(rsa_key.public_key(), Algorithm.RSA_PSS_SHA256, max_salt, MESSAGE)
    ours = algorithms.sign(rsa_key, Algorithm.RSA_PSS_SHA256, MESSAGE)
    rsa_key.public_key().verify(
        ours,
        MESSAGE,
        padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
        hashes.SHA256(),
    )
    # The two RSA algorithms do not verify each other's signatures.
    with pytest.raises(BadSignature):
        algorithms.verify(rsa_key.public_key(), Algorithm.RSA_PKCS1V15_SHA256, ours, MESSAGE)


def test_weak_or_foreign_keys_are_refused() -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    p384 = ec.generate_private_key(ec.SECP384R1())
    for key, algorithm in ((small, Algorithm.RSA_PSS_SHA256), (p384, Algorithm.ECDSA_P256_SHA256)):
        with pytest.raises(UnsupportedAlgorithm):
            algorithms.sign(key, algorithm, MESSAGE)
        with pytest.raises(UnsupportedAlgorithm):
            algorithms.default_algorithm_for(key)
    # Verification reports the same problem as a failed check, not a different error type.
    p384_sig = p384.sign(MESSAGE, ec.ECDSA(hashes.SHA256()))
    with pytest.raises(BadSignature):
        algorithms.verify(p384.public_key(), Algorithm.ECDSA_P256_SHA256, p384_sig, MESSAGE)


def test_default_algorithm_for(ec_key, ed_key, rsa_key) -> None:
    assert algorithms.default_algorithm_for(ec_key) is Algorithm.ECDSA_P256_SHA256
    assert algorithms.default_algorithm_for(ed_key.public_key()) is Algorithm.ED25519
    assert algorithms.default_algorithm_for(rsa_key) is Algorithm.RSA_PSS_SHA256


# --- key files and passphrases ---------------------------------------------------------------


def test_key_file_is_encrypted_0600_and_round_trips(tmp_path: Path, ec_key) -> None:
    path = tmp_path / "key.pem"
    keys.save_private_key(path, ec_key, PASSPHRASE)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert text.startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----\n")
    # PBES2 with scrypt: the scrypt OID 1.3.6.1.4.1.11591.4.11 is in the DER.
    assert bytes.fromhex("2b06010401da47040b") in _pem_body(text)
    loaded = keys.load_private_key(path, PASSPHRASE)
    assert loaded.private_numbers() == ec_key.private_numbers()  # type: ignore[union-attr]
    assert not list(tmp_path.glob(".*.tmp")), "temporary file left behind"


def _pem_body(text: str) -> bytes:
    body = "".join(line for line in text.splitlines() if not line.startswith("-----"))
    return base64.b64decode(body)


def test_key_file_errors(tmp_path: Path, ed_key) -> None:
    path = tmp_path / "key.pem"
    keys.save_private_key(path, ed_key, PASSPHRASE)
    with pytest.raises(KeyUnusable, match="wrong passphrase"):
        keys.load_private_key(path, b"wrong")
    with pytest.raises(KeyUnusable, match="overwrite"):
        keys.save_private_key(path, ed_key, PASSPHRASE)
    with pytest.raises(KeyUnusable, match="passphrase is empty"):
        keys.save_private_key(tmp_path / "other.pem", ed_key, b"")
    with pytest.raises(KeyUnusable, match="cannot read"):
        keys.load_private_key(tmp_path / "missing.pem", PASSPHRASE)

    plain = tmp_path / "plain.pem"
    plain.write_bytes(
        ed_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(KeyUnusable, match="unencrypted"):
        keys.load_private_key(plain, PASSPHRASE)

    junk = tmp_path / "junk.pem"
    junk.write_text("hello")
    with pytest.raises(KeyUnusable, match="not a PEM private key"):
        keys.load_private_key(junk, PASSPHRASE)

    damaged = tmp_path / "damaged.pem"
    damaged.write_text(
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"
    )
    with pytest.raises(KeyUnusable):
        keys.load_private_key(damaged, PASSPHRASE)


def test_passphrase_from_environment(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(keys.PASSPHRASE_ENV, "từ môi trường")
    assert keys.resolve_passphrase(tmp_path, create=True) == "từ môi trường".encode()
    assert not (tmp_path / "secrets").exists()


def test_passphrase_file_is_created_0600_and_reused(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv(keys.PASSPHRASE_ENV, raising=False)
    with pytest.raises(KeyUnusable, match=keys.PASSPHRASE_ENV):
        keys.resolve_passphrase(tmp_path, create=False)
    first = keys.resolve_passphrase(tmp_path, create=True)
    path = keys.passphrase_file(tmp_path)
    assert path == tmp_path / "secrets" / "key-passphrase"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert len(first) == 43  # 32 random bytes, base64url without padding
    assert keys.resolve_passphrase(tmp_path, create=False) == first
    assert keys.resolve_passphrase(tmp_path, create=True) == first


def test_passphrase_file_readable_by_others_is_refused(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv(keys.PASSPHRASE_ENV, raising=False)
    path = keys.passphrase_file(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text("hunter2-xyz\n")
    os.chmod(path, 0o644)
    with pytest.raises(KeyUnusable, match="chmod 600") as info:
        keys.resolve_passphrase(tmp_path, create=True)
    assert "hunter2" not in str(info.value)
    os.chmod(path, 0o600)
    assert keys.resolve_passphrase(tmp_path, create=False) == b"hunter2-xyz"


# --- signers ---------------------------------------------------------------------------------


def test_software_signer(demo: pki.DemoPKI) -> None:
    signer = demo.signer_for("HT001")
    assert isinstance(signer, keys.Signer)
    assert signer.algorithm is Algorithm.ECDSA_P256_SHA256
    der = signer.certificate.public_bytes(serialization.Encoding.DER)
    assert (
        signer.fingerprint
        == hashlib.sha256(der).digest()
        == keys.certificate_fingerprint(signer.certificate)
    )
    signature = signer.sign(MESSAGE)
    algorithms.verify(signer.certificate.public_key(), signer.algorithm, signature, MESSAGE)
    text = repr(signer) + str(signer)
    assert "HT001" in text and signer.fingerprint.hex() in text
    assert "PRIVATE" not in text and "_key" not in text


def test_software_signer_rejects_a_key_that_is_not_the_certificates(demo, ec_key) -> None:
    with pytest.raises(KeyMismatch):
        keys.SoftwareSigner(ec_key, demo.staff["HT001"])


def test_software_signer_algorithm_choice(demo: pki.DemoPKI) -> None:
    rsa_signer = demo.signer_for("GV003")
    assert rsa_signer.algorithm is Algorithm.RSA_PSS_SHA256
    key = keys.load_private_key(demo.staff_key_path("GV003"), PASSPHRASE)
    pkcs1 = keys.SoftwareSigner(key, demo.staff["GV003"], Algorithm.RSA_PKCS1V15_SHA256)
    algorithms.verify(pkcs1.certificate.public_key(), pkcs1.algorithm, pkcs1.sign(MESSAGE), MESSAGE)
    with pytest.raises(UnsupportedAlgorithm):
        keys.SoftwareSigner(key, demo.staff["GV003"], Algorithm.ED25519)


def test_load_signer(demo: pki.DemoPKI) -> None:
    signer = keys.load_signer(
        demo.staff_key_path("GV002"), demo.staff_cert_path("GV002"), PASSPHRASE
    )
    assert signer.algorithm is Algorithm.ED25519
    algorithms.verify(signer.certificate.public_key(), Algorithm.ED25519, signer.sign(b"x"), b"x")


# --- demo PKI --------------------------------------------------------------------------------


def _cn(cert: x509.Certificate) -> str:
    return str(cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


def test_demo_pki_hierarchy_and_layout(demo: pki.DemoPKI) -> None:
    assert _cn(demo.root) == "Bộ GD&ĐT (demo)"
    assert _cn(demo.so) == "Sở GD&ĐT Hà Nội (demo)"
    assert _cn(demo.school) == "Trường THPT Chu Văn An CA (demo)"
    assert demo.root.issuer == demo.root.subject
    assert demo.so.issuer == demo.root.subject
    assert demo.school.issuer == demo.so.subject
    assert demo.seal.issuer == demo.school.subject
    for cert in demo.staff.values():
        assert cert.issuer == demo.school.subject
    assert demo.trust_roots() == [demo.root]
    assert demo.intermediates() == [demo.so, demo.school]

    d = demo.directory
    expected = {
        "ca/root.pem", "ca/root.key.pem", "ca/so.pem", "ca/so.key.pem",
        "ca/school.pem", "ca/school.key.pem", "seal/cert.pem", "seal/key.pem",
    } | {f"staff/{s.staff_code}/{f}" for s in STAFF for f in ("cert.pem", "key.pem")}  # fmt: skip
    found = {str(p.relative_to(d)) for p in d.rglob("*") if p.is_file()}
    assert found == expected
    for name in expected:
        if name.endswith("key.pem"):
            assert stat.S_IMODE((d / name).stat().st_mode) == 0o600
            assert (d / name).read_text().startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----")

    start = NOW - dt.timedelta(days=1)
    assert demo.root.not_valid_before_utc == start
    assert demo.root.not_valid_after_utc == start.replace(year=2045)
    assert demo.so.not_valid_after_utc == start.replace(year=2035)
    assert demo.staff["HT001"].not_valid_after_utc == start.replace(year=2028)

    basic = demo.school.extensions.get_extension_for_class(x509.BasicConstraints)
    assert basic.critical and basic.value.ca and basic.value.path_length == 0


def test_staff_certificate_content_round_trips(demo: pki.DemoPKI) -> None:
    reloaded = pki.DemoPKI.load(demo.directory, PASSPHRASE)
    cert = reloaded.staff["HT001"]
    assert _cn(cert) == "Nguyễn Thị Hồng Nhung"
    assert cert.subject.get_attributes_for_oid(NameOID.TITLE)[0].value == "Hiệu trưởng"
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == (
        "Trường THPT Chu Văn An"
    )
    assert pki.staff_code_of(cert) == "HT001"
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and usage.value.content_commitment
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert not eku.critical and pki.DOCUMENT_SIGNING_OID in eku.value
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
    cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    assert isinstance(reloaded.staff["GV002"].public_key(), ed25519.Ed25519PublicKey)
    assert isinstance(reloaded.staff["GV003"].public_key(), rsa.RSAPublicKey)

    assert reloaded.school_name == "Trường THPT Chu Văn An"
    assert reloaded.school_code == "01000123"
    assert reloaded.province == "Hà Nội"
    assert pki.school_code_of(reloaded.seal) == "01000123"
    assert reloaded.root == demo.root and set(reloaded.staff) == set(demo.staff)
    assert "correct horse" not in repr(reloaded)


def test_seal_signer(demo: pki.DemoPKI) -> None:
    signer = demo.seal_signer()
    assert _cn(signer.certificate) == "Trường THPT Chu Văn An"
    algorithms.verify(signer.certificate.public_key(), signer.algorithm, signer.sign(b"x"), b"x")


def test_create_demo_pki_refuses_to_overwrite(demo: pki.DemoPKI) -> None:
    with pytest.raises(CertificateError, match="overwrite"):
        pki.create_demo_pki(
            demo.directory,
            school_name="X",
            school_code="1",
            province="Y",
            staff=[],
            passphrase=PASSPHRASE,
            now=NOW,
        )


def test_issue_staff_refuses_bad_or_repeated_codes(demo: pki.DemoPKI) -> None:
    with pytest.raises(CertificateError):
        demo.issue_staff(pki.StaffSpec("../evil", "A", "B"), NOW)
    with pytest.raises(CertificateError, match="already exists"):
        demo.issue_staff(pki.StaffSpec("HT001", "A", "B"), NOW)
    with pytest.raises(KeyUnusable):
        demo.signer_for("NOBODY")


def test_naive_datetimes_are_refused(demo: pki.DemoPKI) -> None:
    with pytest.raises(CertificateError, match="timezone-aware"):
        demo.issue_staff(pki.StaffSpec("GV-NAIVE", "A", "B"), NOW.replace(tzinfo=None))
    with pytest.raises(CertificateNotValid, match="timezone-aware"):
        pki.verify_certificate_path(
            demo.staff["HT001"], demo.intermediates(), demo.trust_roots(), NOW.replace(tzinfo=None)
        )


# --- path validation -------------------------------------------------------------------------


def test_path_valid_now_for_every_staff_member_and_the_seal(demo: pki.DemoPKI) -> None:
    for cert in [*demo.staff.values(), demo.seal]:
        pki.verify_certificate_path(cert, demo.intermediates(), demo.trust_roots(), NOW)


def test_expired_certificate(demo: pki.DemoPKI) -> None:
    cert = demo.issue_staff(
        pki.StaffSpec("GV-EXPIRED", "Phạm Minh Tuấn", "Giáo viên"),
        NOW,
        not_before=NOW - dt.timedelta(days=400),
        not_after=NOW - dt.timedelta(days=30),
    )
    with pytest.raises(CertificateNotValid, match=r"^expired"):
        pki.verify_certificate_path(cert, demo.intermediates(), demo.trust_roots(), NOW)


def test_validation_is_at_a_point_in_time(demo: pki.DemoPKI) -> None:
    cert = demo.issue_staff(
        pki.StaffSpec("GV-SHORT", "Vũ Quốc Khánh", "Giáo viên"),
        NOW,
        not_before=NOW - dt.timedelta(hours=12),
        not_after=NOW + dt.timedelta(hours=1),
    )
    pki.verify_certificate_path(cert, demo.intermediates(), demo.trust_roots(), NOW)
    with pytest.raises(CertificateNotValid, match=r"^expired"):
        pki.verify_certificate_path(
            cert, demo.intermediates(), demo.trust_roots(), NOW + dt.timedelta(days=1)
        )
    # Before its validity period the same certificate is not yet valid.
    with pytest.raises(CertificateNotValid, match=r"^not yet valid"):
        pki.verify_certificate_path(
            cert, demo.intermediates(), demo.trust_roots(), NOW - dt.timedelta(hours=36)
        )


def test_not_yet_valid_certificate(demo: pki.DemoPKI) -> None:
    cert = demo.issue_staff(
        pki.StaffSpec("GV-FUTURE", "Đỗ Thu Hà", "Giáo viên"),
        NOW,
        not_before=NOW + dt.timedelta(days=30),
        not_after=NOW + dt.timedelta(days=400),
    )
    with pytest.raises(CertificateNotValid, match=r"^not yet valid"):
        pki.verify_certificate_path(cert, demo.intermediates(), demo.trust_roots(), NOW)


def test_certificate_from_a_foreign_ca(demo: pki.DemoPKI, tmp_path: Path) -> None:
    foreign = pki.create_demo_pki(
        tmp_path,
        school_name="Trường THCS Giả Mạo",
        school_code="99999999",
        province="Hà Nội",
        staff=[pki.StaffSpec("HT001", "Nguyễn Thị Hồng Nhung", "Hiệu trưởng")],
        passphrase=PASSPHRASE,
        now=NOW,
    )
    cert = foreign.staff["HT001"]
    with pytest.raises(CertificateNotValid, match=r"^untrusted issuer"):
        pki.verify_certificate_path(cert, foreign.intermediates(), demo.trust_roots(), NOW)
    with pytest.raises(CertificateNotValid, match=r"^untrusted issuer"):
        pki.verify_certificate_path(cert, demo.intermediates(), demo.trust_roots(), NOW)
    # The foreign root has the same name as ours; only its key differs.
    assert foreign.root.subject == demo.root.subject


def test_bad_signature_on_the_chain(demo: pki.DemoPKI) -> None:
    der = bytearray(demo.staff["HT001"].public_bytes(serialization.Encoding.DER))
    der[-1] ^= 0x01  # last byte of the ECDSA signature's s value; the DER stays well formed
    forged = x509.load_der_x509_certificate(bytes(der))
    with pytest.raises(CertificateNotValid, match="signature"):
        pki.verify_certificate_path(forged, demo.intermediates(), demo.trust_roots(), NOW)


def test_ca_certificate_is_not_a_signing_certificate(demo: pki.DemoPKI) -> None:
    with pytest.raises(CertificateNotValid, match="not for signing"):
        pki.verify_certificate_path(demo.school, [demo.so], demo.trust_roots(), NOW)


def test_path_validation_inside_a_running_event_loop(demo: pki.DemoPKI) -> None:
    async def main() -> None:
        pki.verify_certificate_path(
            demo.staff["GV002"], demo.intermediates(), demo.trust_roots(), NOW
        )
        await pki.async_verify_certificate_path(
            demo.staff["GV003"], demo.intermediates(), demo.trust_roots(), NOW
        )

    asyncio.run(main())


def test_certificate_not_valid_is_a_verification_error() -> None:
    assert issubclass(CertificateNotValid, VerificationError)
    assert issubclass(BadSignature, VerificationError)
