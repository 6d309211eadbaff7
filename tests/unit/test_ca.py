"""Tests for signing.ca (issued/revoked records, CRL, OCSP) and the revocation parts of pki."""

from __future__ import annotations

import datetime as dt
import sqlite3
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from asn1crypto import ocsp as asn1_ocsp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID

from signing import pki
from signing.algorithms import PrivateKey
from signing.ca import (
    CertificateAuthority,
    MalformedRequest,
    ocsp_malformed_response,
)
from signing.errors import CertificateError, KeyMismatch, SigningError

NOW = dt.datetime(2025, 9, 5, 8, 0, tzinfo=dt.UTC)
START = NOW - dt.timedelta(days=1)
END = NOW + dt.timedelta(days=365)
PASSPHRASE = b"test passphrase, not a secret"
REASON = x509.ReasonFlags.key_compromise


def _root(key: PrivateKey) -> x509.Certificate:
    return pki.issue_root("Root (test)", key, not_before=START, not_after=END)


def _leaf(
    issuer: x509.Certificate, issuer_key: PrivateKey, name: str = "Nguyễn Văn An"
) -> x509.Certificate:
    return pki.issue_person_certificate(
        ec.generate_private_key(ec.SECP256R1()).public_key(),
        full_name=name,
        title="Giáo viên",
        staff_code="GV001",
        organisation="Trường THCS Kiểm Thử",
        issuer_cert=issuer,
        issuer_key=issuer_key,
        not_before=START,
        not_after=END,
    )


class Hierarchy:
    """A root, an issuing CA under it, and two leaves the CA issued (and recorded)."""

    def __init__(self, tmp_path: Path, ca_key: PrivateKey | None = None) -> None:
        self.root_key = ec.generate_private_key(ec.SECP256R1())
        self.root = _root(self.root_key)
        self.ca_key = ca_key or ec.generate_private_key(ec.SECP256R1())
        self.ca_cert = pki.issue_ca(
            "School CA (test)",
            self.ca_key.public_key(),
            self.root,
            self.root_key,
            not_before=START,
            not_after=END,
        )
        self.database = tmp_path / "school.sqlite"
        self.ca = CertificateAuthority(self.ca_cert, self.ca_key, self.database)
        self.good = _leaf(self.ca_cert, self.ca_key, "Good")
        self.bad = _leaf(self.ca_cert, self.ca_key, "Bad")
        self.ca.record_issued(self.good)
        self.ca.record_issued(self.bad)

    def ask(
        self,
        cert: x509.Certificate,
        *,
        issuer: x509.Certificate | None = None,
        algorithm: hashes.HashAlgorithm | None = None,
        nonce: bytes | None = None,
        now: dt.datetime = NOW,
    ) -> ocsp.OCSPResponse:
        der = _request(cert, issuer or self.ca_cert, algorithm=algorithm, nonce=nonce)
        return ocsp.load_der_ocsp_response(self.ca.ocsp_respond(der, now))


def _request(
    cert: x509.Certificate,
    issuer: x509.Certificate,
    *,
    algorithm: hashes.HashAlgorithm | None = None,
    nonce: bytes | None = None,
) -> bytes:
    builder = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, algorithm or hashes.SHA1())
    if nonce is not None:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    return builder.build().public_bytes(serialization.Encoding.DER)


@pytest.fixture
def h(tmp_path: Path) -> Iterator[Hierarchy]:
    hierarchy = Hierarchy(tmp_path)
    yield hierarchy
    hierarchy.ca.close()


def _public(cert: x509.Certificate) -> ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey:
    key = cert.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey)
    return key


def _check_signed_by_ca(response: ocsp.OCSPResponse, h: Hierarchy) -> None:
    assert response.response_status is ocsp.OCSPResponseStatus.SUCCESSFUL
    public = h.ca_cert.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    public.verify(response.signature, response.tbs_response_bytes, ec.ECDSA(hashes.SHA256()))
    # The responder is the issuer, identified by key hash; no certificates are needed.
    ski = h.ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert response.responder_key_hash == ski.digest
    assert response.certificates == []


# --- OCSP --------------------------------------------------------------------------------------


def test_issued_certificate_is_good(h: Hierarchy) -> None:
    response = h.ask(h.good)
    _check_signed_by_ca(response, h)
    assert response.certificate_status is ocsp.OCSPCertStatus.GOOD
    assert response.serial_number == h.good.serial_number
    assert response.this_update_utc == NOW
    assert response.next_update_utc == NOW + dt.timedelta(hours=1)
    assert response.revocation_time_utc is None
    with pytest.raises(x509.ExtensionNotFound):
        response.extensions.get_extension_for_class(x509.OCSPNonce)


def test_revoked_certificate_is_revoked_with_time_and_reason(h: Hierarchy) -> None:
    at = NOW - dt.timedelta(hours=2, microseconds=123456)
    h.ca.revoke(h.bad.serial_number, REASON, at)
    assert h.ca.revocation(h.bad.serial_number) == (at.replace(microsecond=0), REASON)
    assert h.ca.revocation(h.good.serial_number) is None
    response = h.ask(h.bad)
    _check_signed_by_ca(response, h)
    assert response.certificate_status is ocsp.OCSPCertStatus.REVOKED
    assert response.revocation_time_utc == at.replace(microsecond=0)
    assert response.revocation_reason is REASON
    assert h.ask(h.good).certificate_status is ocsp.OCSPCertStatus.GOOD


def test_unspecified_reason_is_revoked_without_a_reason(h: Hierarchy) -> None:
    h.ca.revoke(h.bad.serial_number, x509.ReasonFlags.unspecified, NOW)
    response = h.ask(h.bad)
    assert response.certificate_status is ocsp.OCSPCertStatus.REVOKED
    assert response.revocation_reason is None  # RFC 5280 §5.3.1: absent rather than unspecified
    assert h.ca.revocation(h.bad.serial_number) == (NOW, x509.ReasonFlags.unspecified)


def test_revocation_takes_effect_at_its_time(h: Hierarchy) -> None:
    h.ca.revoke(h.bad.serial_number, REASON, NOW + dt.timedelta(hours=1))
    assert h.ask(h.bad).certificate_status is ocsp.OCSPCertStatus.GOOD
    later = h.ask(h.bad, now=NOW + dt.timedelta(hours=1))
    assert later.certificate_status is ocsp.OCSPCertStatus.REVOKED


def test_serial_never_recorded_is_unknown(h: Hierarchy) -> None:
    unrecorded = _leaf(h.ca_cert, h.ca_key, "Unrecorded")
    response = h.ask(unrecorded)
    _check_signed_by_ca(response, h)
    assert response.certificate_status is ocsp.OCSPCertStatus.UNKNOWN
    assert response.serial_number == unrecorded.serial_number
    assert h.ca.issued(unrecorded.serial_number) is None


def test_foreign_issuer_hashes_are_unknown(h: Hierarchy) -> None:
    ours = h.ask(h.good)
    # Same serial as an issued certificate, but the CertID's key hash is the root's...
    response = h.ask(h.good, issuer=h.root)
    assert response.issuer_key_hash != ours.issuer_key_hash
    assert response.certificate_status is ocsp.OCSPCertStatus.UNKNOWN
    # ...or an impostor CA's with the very same name (name hash equal, key hash not)...
    impostor_key = ec.generate_private_key(ec.SECP256R1())
    impostor = pki.issue_ca(
        "School CA (test)",
        impostor_key.public_key(),
        h.root,
        h.root_key,
        not_before=START,
        not_after=END,
    )
    response = h.ask(h.good, issuer=impostor)
    assert response.issuer_name_hash == ours.issuer_name_hash
    assert response.certificate_status is ocsp.OCSPCertStatus.UNKNOWN
    # ...or our key hash with another issuer name hash.
    der = (
        ocsp.OCSPRequestBuilder()
        .add_certificate_by_hash(
            bytes(20), ours.issuer_key_hash, h.good.serial_number, hashes.SHA1()
        )
        .build()
        .public_bytes(serialization.Encoding.DER)
    )
    response = ocsp.load_der_ocsp_response(h.ca.ocsp_respond(der, NOW))
    assert response.issuer_name_hash == bytes(20)
    assert response.certificate_status is ocsp.OCSPCertStatus.UNKNOWN


@pytest.mark.parametrize(
    "algorithm", [hashes.SHA1(), hashes.SHA256(), hashes.SHA384(), hashes.SHA512()]
)
def test_cert_id_hash_algorithms(h: Hierarchy, algorithm: hashes.HashAlgorithm) -> None:
    response = h.ask(h.good, algorithm=algorithm)
    assert response.certificate_status is ocsp.OCSPCertStatus.GOOD
    assert response.hash_algorithm.name == algorithm.name
    # The CertID is echoed exactly as asked.
    request = ocsp.load_der_ocsp_request(_request(h.good, h.ca_cert, algorithm=algorithm))
    assert response.issuer_key_hash == request.issuer_key_hash
    assert response.issuer_name_hash == request.issuer_name_hash


def test_nonce_is_echoed(h: Hierarchy) -> None:
    for nonce in (b"\x01", bytes(range(16)), bytes(range(32)), b"n" * 128):
        response = h.ask(h.good, nonce=nonce)
        assert response.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce == nonce


def test_oversized_nonce_is_malformed(h: Hierarchy) -> None:
    with pytest.raises(MalformedRequest, match="nonce"):
        h.ca.ocsp_respond(_request(h.good, h.ca_cert, nonce=b"n" * 129), NOW)


@pytest.mark.parametrize(
    "garbage",
    [b"", b"\x00", b"not an OCSP request", b"\x30\x03\x02\x01\x00", b"\x30\x80" + b"\x00" * 50],
)
def test_garbage_request_is_malformed(h: Hierarchy, garbage: bytes) -> None:
    with pytest.raises(MalformedRequest) as raised:
        h.ca.ocsp_respond(garbage, NOW)
    assert isinstance(raised.value, SigningError)


def test_truncated_request_is_malformed(h: Hierarchy) -> None:
    der = _request(h.good, h.ca_cert)
    for cut in (1, len(der) // 2, len(der) - 1):
        with pytest.raises(MalformedRequest):
            h.ca.ocsp_respond(der[:cut], NOW)


def test_request_with_two_cert_ids_is_malformed(h: Hierarchy) -> None:
    single = asn1_ocsp.OCSPRequest.load(_request(h.good, h.ca_cert))
    other = asn1_ocsp.OCSPRequest.load(_request(h.bad, h.ca_cert))
    double = asn1_ocsp.OCSPRequest(
        {
            "tbs_request": {
                "request_list": [
                    single["tbs_request"]["request_list"][0],
                    other["tbs_request"]["request_list"][0],
                ]
            }
        }
    )
    with pytest.raises(MalformedRequest):
        h.ca.ocsp_respond(double.dump(), NOW)


def test_malformed_response_is_unsigned_malformed_request() -> None:
    response = ocsp.load_der_ocsp_response(ocsp_malformed_response())
    assert response.response_status is ocsp.OCSPResponseStatus.MALFORMED_REQUEST


def test_naive_now_is_refused(h: Hierarchy) -> None:
    with pytest.raises(CertificateError, match="timezone-aware"):
        h.ca.ocsp_respond(_request(h.good, h.ca_cert), NOW.replace(tzinfo=None))
    with pytest.raises(CertificateError, match="timezone-aware"):
        h.ca.crl(NOW.replace(tzinfo=None))
    with pytest.raises(CertificateError, match="timezone-aware"):
        h.ca.revoke(h.bad.serial_number, REASON, NOW.replace(tzinfo=None))


# --- revocation records ------------------------------------------------------------------------


def test_double_revocation(h: Hierarchy) -> None:
    h.ca.revoke(h.bad.serial_number, REASON, NOW)
    # The same revocation again (a retried request) is accepted quietly...
    h.ca.revoke(h.bad.serial_number, REASON, NOW + dt.timedelta(microseconds=5))
    # ...but a different reason or time is refused, and the first one stands.
    with pytest.raises(CertificateError, match="already revoked"):
        h.ca.revoke(h.bad.serial_number, x509.ReasonFlags.superseded, NOW)
    with pytest.raises(CertificateError, match="already revoked"):
        h.ca.revoke(h.bad.serial_number, REASON, NOW + dt.timedelta(seconds=1))
    assert h.ca.revocation(h.bad.serial_number) == (NOW, REASON)


def test_revoking_an_unknown_serial_is_refused(h: Hierarchy) -> None:
    with pytest.raises(CertificateError, match="not issued"):
        h.ca.revoke(h.good.serial_number + 1, REASON, NOW)
    with pytest.raises(CertificateError):
        h.ca.revoke(-1, REASON, NOW)
    with pytest.raises(CertificateError, match="removeFromCRL"):
        h.ca.revoke(h.good.serial_number, x509.ReasonFlags.remove_from_crl, NOW)
    assert h.ca.revocation(h.good.serial_number) is None


def test_record_issued(h: Hierarchy) -> None:
    assert h.ca.issued(h.good.serial_number) == h.good
    h.ca.record_issued(h.good)  # idempotent
    foreign = _leaf(h.root, h.root_key)
    with pytest.raises(CertificateError, match="not issued by"):
        h.ca.record_issued(foreign)
    assert h.ca.issued(foreign.serial_number) is None
    rows = sqlite3.connect(h.database).execute("SELECT * FROM issued ORDER BY subject").fetchall()
    assert [(r[0], r[1]) for r in rows] == [
        (format(h.bad.serial_number, "x"), h.bad.subject.rfc4514_string()),
        (format(h.good.serial_number, "x"), h.good.subject.rfc4514_string()),
    ]
    assert rows[0][2] == START.isoformat() and rows[0][3] == END.isoformat()
    assert bytes(rows[0][4]) == h.bad.public_bytes(serialization.Encoding.DER)


def test_records_survive_reopening(h: Hierarchy) -> None:
    h.ca.revoke(h.bad.serial_number, REASON, NOW)
    h.ca.close()
    with CertificateAuthority(h.ca_cert, h.ca_key, h.database) as again:
        assert again.issued(h.good.serial_number) == h.good
        assert again.revocation(h.bad.serial_number) == (NOW, REASON)
    h.ca = CertificateAuthority(h.ca_cert, h.ca_key, h.database)


def test_database_file_is_private_and_in_wal_mode(h: Hierarchy) -> None:
    h.ca.revoke(h.bad.serial_number, REASON, NOW)
    assert stat.S_IMODE(h.database.stat().st_mode) == 0o600
    for suffix in ("-wal", "-shm"):
        side = h.database.with_name(h.database.name + suffix)
        if side.exists():
            assert stat.S_IMODE(side.stat().st_mode) == 0o600
    db = sqlite3.connect(h.database)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == 1
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"issued", "revocations", "crls", "requests"}
    assert db.execute("SELECT * FROM revocations").fetchall() == [
        (format(h.bad.serial_number, "x"), NOW.isoformat(), "keyCompromise")
    ]
    assert h.ca._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_constructor_checks(h: Hierarchy, tmp_path: Path) -> None:
    with pytest.raises(KeyMismatch):
        CertificateAuthority(h.ca_cert, h.root_key, tmp_path / "x.sqlite")
    with pytest.raises(CertificateError, match="not a CA"):
        CertificateAuthority(h.good, h.ca_key, tmp_path / "y.sqlite")
    with pytest.raises(CertificateError, match="positive"):
        CertificateAuthority(
            h.ca_cert, h.ca_key, tmp_path / "z.sqlite", crl_validity=dt.timedelta(0)
        )
    with pytest.raises(CertificateError, match="cannot open"):
        CertificateAuthority(h.ca_cert, h.ca_key, tmp_path / "missing" / "dir" / "db.sqlite")


def test_repr_names_the_ca_not_the_key(h: Hierarchy) -> None:
    text = repr(h.ca) + str(h.ca)
    assert "School CA (test)" in text
    assert isinstance(h.ca_key, ec.EllipticCurvePrivateKey)
    assert str(h.ca_key.private_numbers().private_value) not in text
    assert format(h.ca_key.private_numbers().private_value, "x") not in text.lower()


# --- CRL ---------------------------------------------------------------------------------------


def test_crl_lists_revocations_with_reasons_and_verifies(h: Hierarchy) -> None:
    third = _leaf(h.ca_cert, h.ca_key, "Third")
    h.ca.record_issued(third)
    h.ca.revoke(h.bad.serial_number, REASON, NOW - dt.timedelta(days=1))
    h.ca.revoke(third.serial_number, x509.ReasonFlags.unspecified, NOW - dt.timedelta(hours=1))
    crl = x509.load_der_x509_crl(h.ca.crl(NOW))
    assert crl.is_signature_valid(_public(h.ca_cert))
    assert not crl.is_signature_valid(_public(h.root))
    assert crl.issuer == h.ca_cert.subject
    assert crl.last_update_utc == NOW
    assert crl.next_update_utc == NOW + dt.timedelta(days=1)
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 1
    aki = crl.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = h.ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest

    assert len(crl) == 2
    bad = crl.get_revoked_certificate_by_serial_number(h.bad.serial_number)
    assert bad is not None
    assert bad.revocation_date_utc == NOW - dt.timedelta(days=1)
    assert bad.extensions.get_extension_for_class(x509.CRLReason).value.reason is REASON
    unspecified = crl.get_revoked_certificate_by_serial_number(third.serial_number)
    assert unspecified is not None
    with pytest.raises(x509.ExtensionNotFound):  # RFC 5280 §5.3.1
        unspecified.extensions.get_extension_for_class(x509.CRLReason)
    assert crl.get_revoked_certificate_by_serial_number(h.good.serial_number) is None


def test_crl_number_increases_and_is_persisted(h: Hierarchy) -> None:
    numbers = []
    for i in range(3):
        der = h.ca.crl(NOW + dt.timedelta(minutes=i))
        crl = x509.load_der_x509_crl(der)
        numbers.append(crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number)
    h.ca.close()
    h.ca = CertificateAuthority(h.ca_cert, h.ca_key, h.database, crl_validity=dt.timedelta(days=7))
    crl = x509.load_der_x509_crl(h.ca.crl(NOW))
    numbers.append(crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number)
    assert numbers == [1, 2, 3, 4]
    assert crl.next_update_utc == NOW + dt.timedelta(days=7)
    assert len(crl) == 0


def test_crl_leaves_out_future_revocations(h: Hierarchy) -> None:
    h.ca.revoke(h.bad.serial_number, REASON, NOW + dt.timedelta(hours=1))
    assert len(x509.load_der_x509_crl(h.ca.crl(NOW))) == 0
    assert len(x509.load_der_x509_crl(h.ca.crl(NOW + dt.timedelta(hours=1)))) == 1


def test_concurrent_use_from_threads(h: Hierarchy) -> None:
    errors: list[BaseException] = []
    numbers: list[int] = []
    request = _request(h.good, h.ca_cert)

    def work() -> None:
        try:
            for _ in range(10):
                crl = x509.load_der_x509_crl(h.ca.crl(NOW))
                numbers.append(
                    crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
                )
                response = ocsp.load_der_ocsp_response(h.ca.ocsp_respond(request, NOW))
                assert response.certificate_status is ocsp.OCSPCertStatus.GOOD
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(numbers) == list(range(1, 41))


def test_ed25519_ca_signs_crl_and_ocsp(tmp_path: Path) -> None:
    h = Hierarchy(tmp_path, ca_key=ed25519.Ed25519PrivateKey.generate())
    try:
        h.ca.revoke(h.bad.serial_number, REASON, NOW)
        crl = x509.load_der_x509_crl(h.ca.crl(NOW))
        assert crl.is_signature_valid(_public(h.ca_cert)) and len(crl) == 1
        response = h.ask(h.bad)
        assert response.certificate_status is ocsp.OCSPCertStatus.REVOKED
        public = h.ca_cert.public_key()
        assert isinstance(public, ed25519.Ed25519PublicKey)
        public.verify(response.signature, response.tbs_response_bytes)
    finally:
        h.ca.close()


# --- the demo PKI's revocation services --------------------------------------------------------

BASE = "http://127.0.0.1:8000"


def _urls(cert: x509.Certificate) -> tuple[list[str], list[str]]:
    crl = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints)
    aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess)
    assert not crl.critical and not aia.critical
    crl_urls = [str(n.value) for p in crl.value for n in p.full_name or []]
    ocsp_urls = [
        str(d.access_location.value)
        for d in aia.value
        if d.access_method == AuthorityInformationAccessOID.OCSP
    ]
    return crl_urls, ocsp_urls


def _demo(directory: Path, base_url: str | None) -> pki.DemoPKI:
    return pki.create_demo_pki(
        directory,
        school_name="Trường THCS Kiểm Thử",
        school_code="79000999",
        province="Hà Nội",
        staff=[pki.StaffSpec("HT001", "Trần Thị Hương", "Hiệu trưởng")],
        passphrase=PASSPHRASE,
        now=NOW,
        base_url=base_url,
    )


def test_demo_pki_with_base_url(tmp_path: Path) -> None:
    demo = _demo(tmp_path, BASE + "/")
    assert demo.base_url == BASE
    assert _urls(demo.so) == ([f"{BASE}/pki/crl/root.crl"], [f"{BASE}/pki/ocsp/root"])
    assert _urls(demo.school) == ([f"{BASE}/pki/crl/so.crl"], [f"{BASE}/pki/ocsp/so"])
    school = ([f"{BASE}/pki/crl/school.crl"], [f"{BASE}/pki/ocsp/school"])
    assert _urls(demo.seal) == school
    assert _urls(demo.staff["HT001"]) == school
    assert demo.crl_url("school") == school[0][0] and demo.ocsp_url("school") == school[1][0]
    with pytest.raises(x509.ExtensionNotFound):
        demo.root.extensions.get_extension_for_class(x509.CRLDistributionPoints)

    for name in pki.CA_NAMES:
        assert stat.S_IMODE(demo.ca_database_path(name).stat().st_mode) == 0o600
    new = demo.issue_staff(pki.StaffSpec("GV009", "Lê Văn Mới", "Giáo viên"), NOW)
    assert _urls(new) == school
    with demo.authority("root") as root_ca:
        assert root_ca.issued(demo.so.serial_number) == demo.so
    with demo.authority("so") as so_ca:
        assert so_ca.issued(demo.school.serial_number) == demo.school
    with demo.authority("school") as school_ca:
        for cert in (demo.seal, demo.staff["HT001"], new):
            assert school_ca.issued(cert.serial_number) == cert
        school_ca.revoke(new.serial_number, REASON, NOW)
        response = ocsp.load_der_ocsp_response(
            school_ca.ocsp_respond(_request(new, demo.school), NOW)
        )
        assert response.certificate_status is ocsp.OCSPCertStatus.REVOKED

    reloaded = pki.DemoPKI.load(tmp_path, PASSPHRASE)
    assert reloaded.base_url == BASE
    with reloaded.authority("school") as school_ca:
        assert school_ca.revocation(new.serial_number) == (NOW, REASON)
    # The chain still validates (revocation is soft-fail there: no CRL or OCSP data is given).
    pki.verify_certificate_path(new, demo.intermediates(), demo.trust_roots(), NOW)


def test_demo_pki_without_base_url_creates_databases_on_demand(tmp_path: Path) -> None:
    demo = _demo(tmp_path, None)
    assert demo.base_url is None and demo.crl_url("school") is None
    for cert in (demo.so, demo.school, demo.seal, demo.staff["HT001"]):
        with pytest.raises(x509.ExtensionNotFound):
            cert.extensions.get_extension_for_class(x509.CRLDistributionPoints)
        with pytest.raises(x509.ExtensionNotFound):
            cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess)
    assert not list(tmp_path.rglob("*.sqlite"))
    with demo.authority("school") as school_ca:  # created now, and filled from disk
        assert school_ca.issued(demo.staff["HT001"].serial_number) == demo.staff["HT001"]
        assert school_ca.issued(demo.seal.serial_number) == demo.seal
    # From now on issue_staff records in it directly.
    new = demo.issue_staff(pki.StaffSpec("GV010", "Hoàng Thu", "Giáo viên"), NOW)
    db = sqlite3.connect(demo.ca_database_path("school"))
    serials = {r[0] for r in db.execute("SELECT serial FROM issued")}
    assert format(new.serial_number, "x") in serials and len(serials) == 3
    with pytest.raises(CertificateError, match="unknown CA"):
        demo.authority("seal")


def test_issuing_functions_take_optional_revocation_urls() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    root = _root(key)
    ca = pki.issue_ca(
        "CA",
        key.public_key(),
        root,
        key,
        not_before=START,
        not_after=END,
        crl_url="http://x.example/ca.crl",
        ocsp_url="http://x.example/ocsp",
        ca_issuers_url="http://x.example/root.crt",
    )
    aia = ca.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    assert [(d.access_method, d.access_location.value) for d in aia] == [
        (AuthorityInformationAccessOID.OCSP, "http://x.example/ocsp"),
        (AuthorityInformationAccessOID.CA_ISSUERS, "http://x.example/root.crt"),
    ]
    seal = pki.issue_organisation_certificate(
        key.public_key(),
        school_name="S",
        school_code="1",
        issuer_cert=root,
        issuer_key=key,
        not_before=START,
        not_after=END,
        crl_url="https://x.example/a.crl",
    )
    assert _crl_only(seal) == ["https://x.example/a.crl"]
    for bad in ("ftp://x.example/a.crl", "http://bad host/", "http://xn--é.example/"):
        with pytest.raises(CertificateError, match="URL"):
            _leaf_with_crl(root, key, bad)
    with pytest.raises(CertificateError, match="base_url"):
        pki.create_demo_pki(
            Path("/nonexistent-never-created"),
            school_name="S",
            school_code="1",
            province="P",
            staff=[],
            passphrase=PASSPHRASE,
            now=NOW,
            base_url="file:///tmp",
        )


def _crl_only(cert: x509.Certificate) -> list[str]:
    points = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    with pytest.raises(x509.ExtensionNotFound):
        cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess)
    return [str(n.value) for p in points for n in p.full_name or []]


def _leaf_with_crl(root: x509.Certificate, key: PrivateKey, url: str) -> x509.Certificate:
    return pki.issue_person_certificate(
        key.public_key(),
        full_name="A",
        title="B",
        staff_code="C",
        organisation="D",
        issuer_cert=root,
        issuer_key=key,
        not_before=START,
        not_after=END,
        crl_url=url,
    )


def test_pyhanko_certvalidator_accepts_our_crls_and_ocsp_responses(tmp_path: Path) -> None:
    """The validator the ledger uses, in hard-fail mode, with our revocation data only."""
    import asyncio

    from asn1crypto import crl as asn1_crl
    from asn1crypto import x509 as asn1_x509
    from pyhanko_certvalidator import CertificateValidator, ValidationContext
    from pyhanko_certvalidator.errors import RevokedError

    demo = _demo(tmp_path, BASE)
    revoked = demo.issue_staff(pki.StaffSpec("GV011", "Đã Thu Hồi", "Giáo viên"), NOW)
    good = demo.staff["HT001"]

    def a(cert: x509.Certificate) -> asn1_x509.Certificate:
        return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))

    responses, crls = [], []
    for name, issuer, subjects in (
        ("root", demo.root, [demo.so]),
        ("so", demo.so, [demo.school]),
        ("school", demo.school, [good, revoked]),
    ):
        with demo.authority(name) as authority:
            if name == "school":
                authority.revoke(revoked.serial_number, REASON, NOW - dt.timedelta(hours=1))
            for cert in subjects:
                der = authority.ocsp_respond(_request(cert, issuer), NOW)
                responses.append(asn1_ocsp.OCSPResponse.load(der))
            crls.append(asn1_crl.CertificateList.load(authority.crl(NOW)))

    def validate(cert: x509.Certificate, **data: object) -> None:
        context = ValidationContext(
            trust_roots=[a(demo.root)],
            moment=NOW,
            allow_fetching=False,
            revocation_mode="hard-fail",
            **data,  # type: ignore[arg-type]
        )
        validator = CertificateValidator(
            a(cert), intermediate_certs=[a(demo.so), a(demo.school)], validation_context=context
        )
        asyncio.run(validator.async_validate_path())

    for data in ({"ocsps": responses}, {"crls": crls}):
        validate(good, **data)
        with pytest.raises(RevokedError):
            validate(revoked, **data)
