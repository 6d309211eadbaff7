"""Tests for signing.validation (the revocation matrix) and signing.profiles.

Every scenario runs against a throwaway demo PKI created two years before a fixed ``NOW``;
CRLs are built here with cryptography and signed by the CA keys of that PKI. Revocation data
is given for every certificate of the path except the root: the root's CRL covers the Sở CA,
the Sở's covers the school CA, the school's covers the staff certificate.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import http.server
import itertools
import threading
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID

from signing import pki as pki_mod
from signing.errors import CertificateNotValid
from signing.keys import load_private_key
from signing.pki import DemoPKI, StaffSpec, create_demo_pki
from signing.profiles import (
    PRINCIPAL_TITLE,
    TT15_2025,
    TT15_2025_WITH_ED25519,
    AlgorithmPolicy,
    check_principal_certificate,
    check_seal_certificate,
    check_signing_certificate,
)
from signing.validation import (
    INDETERMINATE,
    TOTAL_FAILED,
    TOTAL_PASSED,
    CertificateValidation,
    async_validate_certificate,
    validate_certificate,
)

NOW = dt.datetime(2026, 6, 1, 8, 0, tzinfo=dt.UTC)
BASE = NOW - dt.timedelta(days=730)  # the PKI's creation time: CAs valid from BASE - 1 day
DAY = dt.timedelta(days=1)
PASSPHRASE = b"validation tests, not a secret"

STAFF = [
    StaffSpec("HT001", "Nguyễn Thị Hồng Nhung", PRINCIPAL_TITLE),
    StaffSpec("GV001", "Trần Văn Đức", "Giáo viên"),
    StaffSpec("GV002", "Lê Hoàng Yến", "Giáo viên", key_type="rsa-2048"),
    StaffSpec("GV003", "Phạm Quốc Bảo", "Giáo viên", key_type="ed25519"),
    StaffSpec("PHT01", "Đỗ Minh Tâm", "Phó Hiệu trưởng"),
]

_codes = itertools.count(1)


@dataclass
class World:
    pki: DemoPKI
    keys: Mapping[str, PrivateKeyTypes]

    def crl(
        self,
        ca: str,
        revoked: Iterable[tuple[x509.Certificate, dt.datetime]] = (),
        *,
        this_update: dt.datetime = NOW - dt.timedelta(hours=1),
        next_update: dt.datetime = NOW + 7 * DAY,
    ) -> bytes:
        issuer = {"root": self.pki.root, "so": self.pki.so, "school": self.pki.school}[ca]
        ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(issuer.subject)
            .last_update(this_update)
            .next_update(next_update)
            .add_extension(x509.CRLNumber(next(_codes)), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski),
                critical=False,
            )
        )
        for cert, when in revoked:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder()
                .serial_number(cert.serial_number)
                .revocation_date(when)
                .add_extension(x509.CRLReason(x509.ReasonFlags.key_compromise), critical=False)
                .build()
            )
        key = self.keys[ca]
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)

    def crls(
        self,
        revoked: Iterable[tuple[x509.Certificate, dt.datetime]] = (),
        *,
        skip: str | None = None,
        **times: dt.datetime,
    ) -> list[bytes]:
        """One CRL per CA; ``revoked`` entries go to the CRL of their issuer."""
        entries = list(revoked)
        out = []
        for ca, cert in (("root", self.pki.root), ("so", self.pki.so), ("school", self.pki.school)):
            if ca == skip:
                continue
            mine = [(c, w) for c, w in entries if c.issuer == cert.subject]
            out.append(self.crl(ca, mine, **times))
        return out

    def staff(self, not_before: dt.datetime, not_after: dt.datetime, **kw: str) -> x509.Certificate:
        code = f"T{next(_codes):04d}"
        spec = StaffSpec(code, kw.get("name", "Vũ Thị Lan"), kw.get("title", "Giáo viên"))
        return self.pki.issue_staff(spec, NOW, not_before=not_before, not_after=not_after)

    def validate(self, cert: x509.Certificate, **kw: object) -> CertificateValidation:
        kw.setdefault("roots", self.pki.trust_roots())
        kw.setdefault("intermediates", self.pki.intermediates())
        kw.setdefault("now", NOW)
        return validate_certificate(cert, **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    demo = create_demo_pki(
        tmp_path_factory.mktemp("validation-pki"),
        school_name="Trường THCS Thử Nghiệm",
        school_code="79000777",
        province="Hà Nội",
        staff=STAFF,
        passphrase=PASSPHRASE,
        now=BASE,
    )
    keys = {
        name: load_private_key(demo.ca_key_path(name), PASSPHRASE)
        for name in ("root", "so", "school")
    }
    return World(demo, keys)


def _signing_extensions() -> list[tuple[x509.ExtensionType, bool]]:
    usage = x509.KeyUsage(
        digital_signature=True,
        content_commitment=True,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    return [(x509.BasicConstraints(ca=False, path_length=None), True), (usage, True)]


def build_cert(
    public_key: PublicKeyTypes,
    *,
    issuer: x509.Certificate,
    issuer_key: PrivateKeyTypes,
    subject: x509.Name | None = None,
    not_before: dt.datetime = NOW - 30 * DAY,
    not_after: dt.datetime = NOW + 365 * DAY,
    extensions: Sequence[tuple[x509.ExtensionType, bool]] | None = None,
    algorithm: hashes.HashAlgorithm | None = None,
) -> x509.Certificate:
    """A certificate built with cryptography directly, bypassing signing.pki's key checks."""
    ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (
        x509.CertificateBuilder()
        .subject_name(
            subject
            or x509.Name(
                [
                    x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
                    x509.NameAttribute(NameOID.TITLE, "Giáo viên"),
                    x509.NameAttribute(NameOID.COMMON_NAME, "Hoàng Văn Thử"),
                ]
            )
        )
        .issuer_name(issuer.subject)
        .public_key(public_key)  # type: ignore[arg-type]
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)  # type: ignore[arg-type]
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
    )
    for extension, critical in _signing_extensions() if extensions is None else extensions:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(issuer_key, algorithm or hashes.SHA256())  # type: ignore[arg-type]


def assert_result(result: CertificateValidation, status: str, subindication: str | None) -> None:
    assert (result.status, result.subindication) == (status, subindication), result.detail


# --- the happy path ---------------------------------------------------------------------------


def test_valid_certificate_passes(world: World) -> None:
    cert = world.pki.staff["GV001"]
    hanoi = dt.timezone(dt.timedelta(hours=7))
    moment = (NOW - DAY).astimezone(hanoi)
    result = world.validate(cert, moment=moment, crls=world.crls())
    assert_result(result, TOTAL_PASSED, None)
    assert result.passed
    assert result.chain == [world.pki.root, world.pki.so, world.pki.school, cert]
    assert result.revoked_at is None
    assert result.validated_at == moment
    assert result.validated_at.utcoffset() == dt.timedelta(0)


def test_rsa_staff_certificate_passes(world: World) -> None:
    result = world.validate(world.pki.staff["GV002"], moment=NOW - DAY, crls=world.crls())
    assert_result(result, TOTAL_PASSED, None)


def test_pem_crls_are_accepted(world: World) -> None:
    pem = [
        x509.load_der_x509_crl(der).public_bytes(serialization.Encoding.PEM) for der in world.crls()
    ]
    result = world.validate(world.pki.staff["GV001"], moment=NOW - DAY, crls=pem)
    assert_result(result, TOTAL_PASSED, None)


# --- the revocation matrix --------------------------------------------------------------------


def test_revoked_before_the_moment_fails(world: World) -> None:
    cert = world.pki.staff["GV001"]
    revoked = NOW - 10 * DAY
    result = world.validate(
        cert,
        moment=NOW - 5 * DAY,
        crls=world.crls([(cert, revoked)]),
        proof_of_existence=NOW - 5 * DAY,
    )
    assert_result(result, TOTAL_FAILED, "REVOKED")
    assert result.revoked_at == revoked
    assert result.chain[-1] == cert


@pytest.mark.parametrize("poe_offset", [dt.timedelta(0), dt.timedelta(minutes=5)])
def test_revoked_after_the_moment_with_poe_passes(world: World, poe_offset: dt.timedelta) -> None:
    # What was signed before the revocation stays valid: a time-stamp at (or just after) the
    # signing time, before the revocation, proves it.
    cert = world.pki.staff["GV001"]
    moment = NOW - 20 * DAY
    revoked = NOW - 10 * DAY
    result = world.validate(
        cert,
        moment=moment,
        crls=world.crls([(cert, revoked)]),
        proof_of_existence=moment + poe_offset,
    )
    assert_result(result, TOTAL_PASSED, None)
    assert result.revoked_at == revoked


def test_revoked_after_the_moment_without_poe_is_indeterminate(world: World) -> None:
    cert = world.pki.staff["GV001"]
    revoked = NOW - 10 * DAY
    result = world.validate(cert, moment=NOW - 20 * DAY, crls=world.crls([(cert, revoked)]))
    assert_result(result, INDETERMINATE, "REVOKED_NO_POE")
    assert result.revoked_at == revoked


def test_revoked_after_the_moment_with_poe_after_the_revocation_is_indeterminate(
    world: World,
) -> None:
    cert = world.pki.staff["GV001"]
    revoked = NOW - 10 * DAY
    result = world.validate(
        cert,
        moment=NOW - 20 * DAY,
        crls=world.crls([(cert, revoked)]),
        proof_of_existence=NOW - 5 * DAY,
    )
    assert_result(result, INDETERMINATE, "REVOKED_NO_POE")
    assert result.revoked_at == revoked


def test_revoked_ca_is_indeterminate(world: World) -> None:
    revoked = NOW - 10 * DAY
    crls = world.crls([(world.pki.school, revoked)])
    cert = world.pki.staff["GV001"]
    before = world.validate(cert, moment=NOW - 5 * DAY, crls=crls)
    assert_result(before, INDETERMINATE, "REVOKED_CA_NO_POE")
    assert before.revoked_at == revoked
    after_no_poe = world.validate(cert, moment=NOW - 20 * DAY, crls=crls)
    assert_result(after_no_poe, INDETERMINATE, "REVOKED_CA_NO_POE")
    after_with_poe = world.validate(
        cert, moment=NOW - 20 * DAY, crls=crls, proof_of_existence=NOW - 20 * DAY
    )
    assert_result(after_with_poe, TOTAL_PASSED, None)


def test_no_revocation_information_is_try_later(world: World) -> None:
    result = world.validate(world.pki.staff["GV001"], moment=NOW - DAY)
    assert_result(result, INDETERMINATE, "TRY_LATER")


@pytest.mark.parametrize("skip", ["root", "so", "school"])
def test_missing_crl_for_any_certificate_of_the_path_is_try_later(world: World, skip: str) -> None:
    result = world.validate(world.pki.staff["GV001"], moment=NOW - DAY, crls=world.crls(skip=skip))
    assert_result(result, INDETERMINATE, "TRY_LATER")


def test_stale_crl_is_try_later(world: World) -> None:
    crls = world.crls(this_update=NOW - 30 * DAY, next_update=NOW - 23 * DAY)
    result = world.validate(world.pki.staff["GV001"], moment=NOW - DAY, crls=crls)
    assert_result(result, INDETERMINATE, "TRY_LATER")


def test_revocation_data_from_the_signing_time_needs_a_poe(world: World) -> None:
    # The CRLs say "not revoked" at the signing time but are stale now: without proof that
    # the signature existed back then, it might have been made (and backdated) since.
    moment = NOW - 60 * DAY
    crls = world.crls(this_update=moment - DAY, next_update=moment + 6 * DAY)
    cert = world.pki.staff["GV001"]
    assert_result(world.validate(cert, moment=moment, crls=crls), INDETERMINATE, "TRY_LATER")
    with_poe = world.validate(cert, moment=moment, crls=crls, proof_of_existence=moment)
    assert_result(with_poe, TOTAL_PASSED, None)


def test_malformed_revocation_data_is_ignored_not_raised(world: World) -> None:
    result = world.validate(
        world.pki.staff["GV001"],
        moment=NOW - DAY,
        crls=[b"not a CRL", b"\x30\x03\x02\x01\x01"],
        ocsp_responses=[b"\x00garbage"],
    )
    assert_result(result, INDETERMINATE, "TRY_LATER")
    assert "malformed CRL" in result.detail
    assert "OCSP" in result.detail


def _leaf_with_crl_url(world: World, url: str) -> x509.Certificate:
    distribution = x509.CRLDistributionPoints(
        [
            x509.DistributionPoint(
                full_name=[x509.UniformResourceIdentifier(url)],
                relative_name=None,
                reasons=None,
                crl_issuer=None,
            )
        ]
    )
    key = ec.generate_private_key(ec.SECP256R1())
    return build_cert(
        key.public_key(),
        issuer=world.pki.school,
        issuer_key=world.keys["school"],
        extensions=[*_signing_extensions(), (distribution, False)],
    )


@contextlib.contextmanager
def serving(content: dict[str, bytes]) -> Iterator[str]:
    """Serve ``content["body"]`` over HTTP on a loopback port; yield the URL."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = content.get("body", b"")
            self.send_response(200)
            self.send_header("Content-Type", "application/pkix-crl")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return None

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/school.crl"
    finally:
        server.shutdown()
        server.server_close()


def test_fetching_a_crl_from_its_distribution_point(world: World) -> None:
    # The school's CRL is reachable only through the certificate's distribution point.
    content: dict[str, bytes] = {}
    with serving(content) as url:
        cert = _leaf_with_crl_url(world, url)
        revoked = NOW - 10 * DAY
        content["body"] = world.crl("school", [(cert, revoked)])
        ca_crls = world.crls(skip="school")
        offline = world.validate(cert, moment=NOW - 5 * DAY, crls=ca_crls)
        fetched = world.validate(cert, moment=NOW - 5 * DAY, crls=ca_crls, fetch=True)
    assert_result(offline, INDETERMINATE, "TRY_LATER")
    assert_result(fetched, TOTAL_FAILED, "REVOKED")
    assert fetched.revoked_at == revoked


def test_fetching_from_an_unreachable_server_is_try_later(world: World) -> None:
    # Nothing listens on port 9 (discard) of the loopback address: the download fails fast.
    cert = _leaf_with_crl_url(world, "http://127.0.0.1:9/school.crl")
    result = world.validate(cert, moment=NOW - DAY, crls=world.crls(skip="school"), fetch=True)
    assert_result(result, INDETERMINATE, "TRY_LATER")


def test_fetching_without_any_source_is_try_later(world: World) -> None:
    result = world.validate(world.pki.staff["GV001"], moment=NOW - DAY, fetch=True)
    assert_result(result, INDETERMINATE, "TRY_LATER")


def test_expired_now_with_poe_before_expiry_passes(world: World) -> None:
    cert = world.staff(BASE, NOW - 30 * DAY)
    moment = NOW - 60 * DAY
    result = world.validate(
        cert, moment=moment, crls=world.crls(), proof_of_existence=moment + dt.timedelta(minutes=1)
    )
    assert_result(result, TOTAL_PASSED, None)


def test_expired_now_without_poe_is_out_of_bounds(world: World) -> None:
    cert = world.staff(BASE, NOW - 30 * DAY)
    result = world.validate(cert, moment=NOW - 60 * DAY, crls=world.crls())
    assert_result(result, INDETERMINATE, "OUT_OF_BOUNDS_NO_POE")


def test_expired_now_with_poe_after_expiry_is_out_of_bounds(world: World) -> None:
    cert = world.staff(BASE, NOW - 30 * DAY)
    result = world.validate(
        cert, moment=NOW - 60 * DAY, crls=world.crls(), proof_of_existence=NOW - 10 * DAY
    )
    assert_result(result, INDETERMINATE, "OUT_OF_BOUNDS_NO_POE")


def test_expired_and_revoked_before_expiry_reports_the_revocation(world: World) -> None:
    cert = world.staff(BASE, NOW - 30 * DAY)
    revoked = NOW - 40 * DAY
    result = world.validate(cert, moment=NOW - 60 * DAY, crls=world.crls([(cert, revoked)]))
    assert_result(result, INDETERMINATE, "REVOKED_NO_POE")
    assert result.revoked_at == revoked


def test_expired_at_the_moment_is_indeterminate_expired(world: World) -> None:
    cert = world.staff(BASE, NOW - 30 * DAY)
    result = world.validate(cert, moment=NOW - 10 * DAY, crls=world.crls())
    assert_result(result, INDETERMINATE, "EXPIRED")


def test_not_yet_valid_at_the_moment_is_indeterminate(world: World) -> None:
    cert = world.staff(NOW - 10 * DAY, NOW + 365 * DAY)
    result = world.validate(cert, moment=NOW - 20 * DAY, crls=world.crls())
    assert_result(result, INDETERMINATE, "NOT_YET_VALID")


def test_poe_before_not_before_fails(world: World) -> None:
    cert = world.staff(NOW - 10 * DAY, NOW + 365 * DAY)
    claimed_early = world.validate(
        cert, moment=NOW - 20 * DAY, crls=world.crls(), proof_of_existence=NOW - 15 * DAY
    )
    assert_result(claimed_early, TOTAL_FAILED, "NOT_YET_VALID")
    claimed_late = world.validate(
        cert, moment=NOW - 5 * DAY, crls=world.crls(), proof_of_existence=NOW - 15 * DAY
    )
    assert_result(claimed_late, TOTAL_FAILED, "NOT_YET_VALID")


def test_ca_not_valid_at_the_moment_is_a_chain_failure(world: World) -> None:
    # The staff certificate claims validity from before its issuing CAs existed.
    cert = world.staff(BASE - 60 * DAY, NOW + 365 * DAY)
    result = world.validate(cert, moment=BASE - 10 * DAY, crls=world.crls())
    assert_result(result, INDETERMINATE, "CERTIFICATE_CHAIN_GENERAL_FAILURE")
    assert "not valid until" in result.detail


def _foreign_chain() -> tuple[x509.Certificate, x509.Certificate]:
    """A root and a staff certificate from a CA nobody trusts here."""
    start = NOW - 100 * DAY
    root_key = ec.generate_private_key(ec.SECP256R1())
    root = pki_mod.issue_root(
        "CA lạ (không tin cậy)", root_key, not_before=start, not_after=NOW + 999 * DAY
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = pki_mod.issue_person_certificate(
        key.public_key(),
        full_name="Người Lạ",
        title="Giáo viên",
        staff_code="X1",
        organisation="Trường Khác",
        issuer_cert=root,
        issuer_key=root_key,
        not_before=start,
        not_after=NOW + 365 * DAY,
    )
    return root, cert


def test_certificate_from_an_unknown_ca_has_no_chain(world: World) -> None:
    foreign_root, cert = _foreign_chain()
    result = world.validate(cert, moment=NOW - DAY, crls=world.crls(), intermediates=[foreign_root])
    assert_result(result, INDETERMINATE, "NO_CERTIFICATE_CHAIN_FOUND")
    assert result.chain == []


def test_self_signed_certificate_has_no_chain(world: World) -> None:
    foreign_root, _ = _foreign_chain()
    result = world.validate(foreign_root, moment=NOW - DAY, crls=world.crls())
    assert_result(result, INDETERMINATE, "NO_CERTIFICATE_CHAIN_FOUND")


def test_no_trust_anchors_validates_nothing(world: World) -> None:
    result = world.validate(world.pki.staff["GV001"], moment=NOW - DAY, roots=[], crls=world.crls())
    assert_result(result, INDETERMINATE, "NO_CERTIFICATE_CHAIN_FOUND")


def test_bad_signature_on_the_chain_fails(world: World) -> None:
    # Names and key identifiers point at the school CA, but another key signed it.
    impostor = ec.generate_private_key(ec.SECP256R1())
    key = ec.generate_private_key(ec.SECP256R1())
    forged = build_cert(key.public_key(), issuer=world.pki.school, issuer_key=impostor)
    result = world.validate(forged, moment=NOW - DAY, crls=world.crls())
    assert_result(result, TOTAL_FAILED, "SIG_CRYPTO_FAILURE")


# --- usage and algorithms ---------------------------------------------------------------------


def test_ca_certificate_is_not_a_signers_certificate(world: World) -> None:
    result = world.validate(
        world.pki.school, moment=NOW - DAY, crls=world.crls(), intermediates=[world.pki.so]
    )
    assert_result(result, INDETERMINATE, "CHAIN_CONSTRAINTS_FAILURE")


def test_usage_either_bit_suffices(world: World) -> None:
    cert = world.pki.staff["GV001"]
    crls = world.crls()
    for usage in (
        {"non_repudiation"},
        {"digital_signature"},
        {"digital_signature", "key_agreement"},
    ):
        assert_result(
            world.validate(cert, moment=NOW - DAY, crls=crls, usage=usage), TOTAL_PASSED, None
        )
    wrong = world.validate(cert, moment=NOW - DAY, crls=crls, usage={"key_encipherment"})
    assert_result(wrong, INDETERMINATE, "CHAIN_CONSTRAINTS_FAILURE")
    with pytest.raises(ValueError, match="usage"):
        world.validate(cert, moment=NOW - DAY, crls=crls, usage={"signing"})


def test_weak_subject_key_is_a_crypto_constraints_failure(world: World) -> None:
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    cert = build_cert(weak.public_key(), issuer=world.pki.school, issuer_key=world.keys["school"])
    result = world.validate(cert, moment=NOW - DAY, crls=world.crls())
    assert_result(result, INDETERMINATE, "CRYPTO_CONSTRAINTS_FAILURE")


def test_ed25519_needs_the_policy_that_allows_it(world: World) -> None:
    cert = world.pki.staff["GV003"]
    crls = world.crls()
    default = world.validate(cert, moment=NOW - DAY, crls=crls)
    assert_result(default, INDETERMINATE, "CRYPTO_CONSTRAINTS_FAILURE")
    allowed = world.validate(cert, moment=NOW - DAY, crls=crls, algorithms=TT15_2025_WITH_ED25519)
    assert_result(allowed, TOTAL_PASSED, None)


def test_hash_outside_the_policy_on_the_chain_is_refused(world: World) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = build_cert(
        key.public_key(),
        issuer=world.pki.school,
        issuer_key=world.keys["school"],
        algorithm=hashes.SHA224(),
    )
    result = world.validate(cert, moment=NOW - DAY, crls=world.crls())
    assert_result(result, INDETERMINATE, "CRYPTO_CONSTRAINTS_FAILURE")
    relaxed = AlgorithmPolicy(hashes=TT15_2025.hashes | {"sha224"})
    assert_result(
        world.validate(cert, moment=NOW - DAY, crls=world.crls(), algorithms=relaxed),
        TOTAL_PASSED,
        None,
    )


# --- OCSP -------------------------------------------------------------------------------------


def _ocsp_leaf(world: World) -> x509.Certificate:
    aia = x509.AuthorityInformationAccess(
        [
            x509.AccessDescription(
                AuthorityInformationAccessOID.OCSP,
                x509.UniformResourceIdentifier("http://127.0.0.1:9/ocsp"),
            )
        ]
    )
    key = ec.generate_private_key(ec.SECP256R1())
    return build_cert(
        key.public_key(),
        issuer=world.pki.school,
        issuer_key=world.keys["school"],
        extensions=[*_signing_extensions(), (aia, False)],
    )


def _ocsp_response(
    world: World, cert: x509.Certificate, revoked_at: dt.datetime | None = None
) -> bytes:
    status = ocsp.OCSPCertStatus.GOOD if revoked_at is None else ocsp.OCSPCertStatus.REVOKED
    builder = (
        ocsp.OCSPResponseBuilder()
        .add_response(
            cert=cert,
            issuer=world.pki.school,
            algorithm=hashes.SHA1(),
            cert_status=status,
            this_update=NOW - dt.timedelta(hours=1),
            next_update=NOW + DAY,
            revocation_time=revoked_at,
            revocation_reason=None if revoked_at is None else x509.ReasonFlags.key_compromise,
        )
        .responder_id(ocsp.OCSPResponderEncoding.HASH, world.pki.school)
    )
    key = world.keys["school"]
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def test_ocsp_good_passes_and_revoked_fails(world: World) -> None:
    cert = _ocsp_leaf(world)
    ca_crls = world.crls(skip="school")
    good = world.validate(
        cert, moment=NOW - DAY, crls=ca_crls, ocsp_responses=[_ocsp_response(world, cert)]
    )
    assert_result(good, TOTAL_PASSED, None)
    revoked_at = NOW - 10 * DAY
    bad = world.validate(
        cert,
        moment=NOW - 5 * DAY,
        crls=ca_crls,
        ocsp_responses=[_ocsp_response(world, cert, revoked_at)],
    )
    assert_result(bad, TOTAL_FAILED, "REVOKED")
    assert bad.revoked_at == revoked_at


# --- API behaviour ----------------------------------------------------------------------------


def test_naive_datetimes_are_refused(world: World) -> None:
    with pytest.raises(ValueError, match="timezone"):
        world.validate(world.pki.staff["GV001"], moment=dt.datetime(2026, 5, 1), crls=world.crls())
    with pytest.raises(ValueError, match="timezone"):
        world.validate(
            world.pki.staff["GV001"],
            moment=NOW - DAY,
            proof_of_existence=dt.datetime(2026, 5, 1),
        )


def test_runs_inside_a_running_event_loop(world: World) -> None:
    cert = world.pki.staff["GV001"]
    crls = world.crls()

    async def main() -> tuple[CertificateValidation, CertificateValidation]:
        sync = world.validate(cert, moment=NOW - DAY, crls=crls)
        native = await async_validate_certificate(
            cert,
            moment=NOW - DAY,
            roots=world.pki.trust_roots(),
            intermediates=world.pki.intermediates(),
            crls=crls,
            now=NOW,
        )
        return sync, native

    sync, native = asyncio.run(main())
    assert_result(sync, TOTAL_PASSED, None)
    assert_result(native, TOTAL_PASSED, None)


def test_result_is_frozen_and_hashable(world: World) -> None:
    result = world.validate(world.pki.staff["GV001"], moment=NOW - DAY, crls=world.crls())
    with pytest.raises(AttributeError):
        result.status = TOTAL_FAILED  # type: ignore[misc]
    assert isinstance(hash(result), int)


# --- profiles ---------------------------------------------------------------------------------


def test_demo_staff_and_seal_certificates_pass_the_signing_check(world: World) -> None:
    for code in ("HT001", "GV001", "GV002", "PHT01"):
        check_signing_certificate(world.pki.staff[code])
    check_signing_certificate(world.pki.seal)
    with pytest.raises(CertificateNotValid, match="Ed25519"):
        check_signing_certificate(world.pki.staff["GV003"])
    check_signing_certificate(world.pki.staff["GV003"], policy=TT15_2025_WITH_ED25519)


def test_ca_certificate_fails_the_signing_check(world: World) -> None:
    with pytest.raises(CertificateNotValid, match="CA"):
        check_signing_certificate(world.pki.school)


@pytest.mark.parametrize(
    "key",
    [
        pytest.param(
            lambda: rsa.generate_private_key(public_exponent=65537, key_size=1024), id="rsa-1024"
        ),
        pytest.param(lambda: ec.generate_private_key(ec.SECP192R1()), id="p-192"),
        pytest.param(lambda: ec.generate_private_key(ec.SECP256K1()), id="secp256k1"),
    ],
)
def test_weak_or_unlisted_keys_fail_the_signing_check(world: World, key: object) -> None:
    private = key()  # type: ignore[operator]
    cert = build_cert(
        private.public_key(), issuer=world.pki.school, issuer_key=world.keys["school"]
    )
    with pytest.raises(CertificateNotValid, match=r"RSA key of 1024 bits|EC curve"):
        check_signing_certificate(cert)


def test_accepted_key_sizes_pass_the_signing_check(world: World) -> None:
    for private in (
        ec.generate_private_key(ec.SECP384R1()),
        ec.generate_private_key(ec.SECP521R1()),
    ):
        cert = build_cert(
            private.public_key(), issuer=world.pki.school, issuer_key=world.keys["school"]
        )
        check_signing_certificate(cert)


def test_key_usage_is_required_for_the_signing_check(world: World) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    no_usage = build_cert(
        key.public_key(),
        issuer=world.pki.school,
        issuer_key=world.keys["school"],
        extensions=[(x509.BasicConstraints(ca=False, path_length=None), True)],
    )
    with pytest.raises(CertificateNotValid, match="no KeyUsage"):
        check_signing_certificate(no_usage)
    encipher_only = x509.KeyUsage(
        digital_signature=False,
        content_commitment=False,
        key_encipherment=True,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    wrong_usage = build_cert(
        key.public_key(),
        issuer=world.pki.school,
        issuer_key=world.keys["school"],
        extensions=[(encipher_only, True)],
    )
    with pytest.raises(CertificateNotValid, match="neither digitalSignature nor nonRepudiation"):
        check_signing_certificate(wrong_usage)


def test_signing_check_refuses_hashes_outside_tt15(world: World) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = build_cert(
        key.public_key(),
        issuer=world.pki.school,
        issuer_key=world.keys["school"],
        algorithm=hashes.SHA224(),
    )
    with pytest.raises(CertificateNotValid, match="sha224"):
        check_signing_certificate(cert)


def test_principal_check(world: World) -> None:
    check_principal_certificate(world.pki.staff["HT001"])
    with pytest.raises(CertificateNotValid, match="not 'Hiệu trưởng'"):
        check_principal_certificate(world.pki.staff["GV001"])
    with pytest.raises(CertificateNotValid, match="Phó Hiệu trưởng"):
        check_principal_certificate(world.pki.staff["PHT01"])
    with pytest.raises(CertificateNotValid, match="no title"):
        check_principal_certificate(world.pki.seal)


def test_principal_title_is_compared_nfc_normalised(world: World) -> None:
    decomposed = unicodedata.normalize("NFD", PRINCIPAL_TITLE)
    assert decomposed != PRINCIPAL_TITLE
    cert = world.staff(NOW - DAY, NOW + 365 * DAY, title=decomposed, name="Bùi Thị Hạnh")
    assert cert.subject.get_attributes_for_oid(NameOID.TITLE)[0].value == decomposed
    check_principal_certificate(cert)


def test_seal_check(world: World) -> None:
    check_seal_certificate(world.pki.seal)
    with pytest.raises(CertificateNotValid, match="organisation identifier"):
        check_seal_certificate(world.pki.staff["HT001"])


def test_seal_check_refuses_personal_attributes(world: World) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Trường THCS Thử Nghiệm"),
            x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, "79000777"),
            x509.NameAttribute(NameOID.GIVEN_NAME, "Nhung"),
            x509.NameAttribute(NameOID.SURNAME, "Nguyễn"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Nguyễn Thị Hồng Nhung"),
        ]
    )
    cert = build_cert(
        key.public_key(), issuer=world.pki.school, issuer_key=world.keys["school"], subject=subject
    )
    with pytest.raises(CertificateNotValid, match="givenName, surname"):
        check_seal_certificate(cert)


def test_seal_identifier_attributes_are_configurable(world: World) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Trường THCS Thử Nghiệm"),
            x509.NameAttribute(NameOID.USER_ID, "MST:0101234567"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Trường THCS Thử Nghiệm"),
        ]
    )
    cert = build_cert(
        key.public_key(), issuer=world.pki.school, issuer_key=world.keys["school"], subject=subject
    )
    with pytest.raises(CertificateNotValid, match="organisation identifier"):
        check_seal_certificate(cert)
    check_seal_certificate(cert, identifier_oids=(NameOID.ORGANIZATION_IDENTIFIER, NameOID.USER_ID))
