"""The embedded demo PKI: X.509 issuing and certificate path validation at a point in time.

Hierarchy made by :func:`create_demo_pki` (every CA key is ECDSA P-256, every certificate is
signed with ECDSA-SHA256)::

    Bộ GD&ĐT (demo)                       root CA, 20 years, self-signed
    └── Sở GD&ĐT <province> (demo)        CA, path length 1, 10 years
        └── <school name> CA (demo)       CA, path length 0, 10 years
            ├── <school name>             organisation seal, 3 years
            └── <full name>, one per staff member, 3 years

All validity periods start one day before ``now`` so that small clock skew does not make a
fresh certificate "not yet valid". Layout on disk::

    DIR/ca/root.pem    DIR/ca/root.key.pem
    DIR/ca/so.pem      DIR/ca/so.key.pem
    DIR/ca/school.pem  DIR/ca/school.key.pem
    DIR/seal/cert.pem  DIR/seal/key.pem
    DIR/staff/<staff code>/cert.pem  DIR/staff/<staff code>/key.pem

Key files are encrypted PKCS#8 written by :func:`signing.keys.save_private_key` (mode 0600).
The root key is kept on disk only because this is a demo PKI.

Revocation services: with ``create_demo_pki(..., base_url=URL)`` every certificate issued by
CA X (``root``, ``so`` or ``school``) carries a CRL distribution point ``URL/pki/crl/X.crl`` and
an OCSP responder ``URL/pki/ocsp/X`` (Authority Information Access), and each CA records what it
issues in its own database ``DIR/ca/X.sqlite`` (:class:`signing.ca.CertificateAuthority`).
:meth:`DemoPKI.authority` opens that CA, creating its database on first use (for a PKI made
without ``base_url``) and recording the certificates on disk that the CA issued.

Certificate subjects (all strings UTF-8 except C, which X.520 makes PrintableString):

- person: C=VN, ST=<province>, O=<school name>, title=<title>, CN=<full name>, UID=<staff code>
- organisation seal: C=VN, ST=<province>, O=<school name>, CN=<school name>,
  organizationIdentifier=<school code> (the Bộ GD&ĐT school code, verbatim)

End-entity certificates carry KeyUsage digitalSignature + nonRepudiation (critical) and
ExtendedKeyUsage emailProtection + documentSigning (1.3.6.1.5.5.7.3.36, RFC 9336).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import functools
import os
import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import (
    ExpiredError,
    InvalidCertificateError,
    NotYetValidError,
    PathBuildingError,
    PathValidationError,
    RevokedError,
    ValidationError,
)

from signing import algorithms as sig_algorithms
from signing.ca import CertificateAuthority
from signing.errors import CertificateError, CertificateNotValid, KeyMismatch, KeyUnusable
from signing.keys import (
    KeyType,
    SoftwareSigner,
    generate_private_key,
    load_certificate,
    load_private_key,
    save_private_key,
)

__all__ = [
    "CA_NAMES",
    "DEMO_ROOT_NAME",
    "DOCUMENT_SIGNING_OID",
    "DemoPKI",
    "StaffSpec",
    "async_verify_certificate_path",
    "create_demo_pki",
    "issue_ca",
    "issue_organisation_certificate",
    "issue_person_certificate",
    "issue_root",
    "school_code_of",
    "staff_code_of",
    "verify_certificate_path",
]

DEMO_ROOT_NAME = "Bộ GD&ĐT (demo)"
"""Common name of the demo root CA."""

DOCUMENT_SIGNING_OID = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")
"""id-kp-documentSigning (RFC 9336 §3.1)."""

CA_NAMES = ("root", "so", "school")
"""The demo PKI's certificate authorities, root side first."""

_ROOT_YEARS = 20
_CA_YEARS = 10
_LEAF_YEARS = 3
_BACKDATE = dt.timedelta(days=1)

# Staff codes become directory names, so they are restricted to a safe, portable alphabet.
_STAFF_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")

_T = TypeVar("_T")


@dataclass(frozen=True)
class StaffSpec:
    """A staff member to certify: code (mã cán bộ), full name, title, and key type."""

    staff_code: str
    full_name: str
    title: str
    key_type: KeyType = "ec-p256"


# --- issuing ---------------------------------------------------------------------------------


def _utc(moment: dt.datetime, what: str) -> dt.datetime:
    # Naive datetimes are refused: datetime.now() without a zone is local time, a classic
    # source of certificates that are valid hours too early or too late.
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise CertificateError(f"{what} must be timezone-aware")
    return moment.astimezone(dt.UTC)


def _add_years(moment: dt.datetime, years: int) -> dt.datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February in a year without one
        return moment.replace(year=moment.year + years, day=28)


def _name(*pairs: tuple[x509.ObjectIdentifier, str | None]) -> x509.Name:
    try:
        return x509.Name([x509.NameAttribute(oid, value) for oid, value in pairs if value])
    except ValueError as e:  # e.g. a common name longer than 64 characters (RFC 5280 ub-name)
        raise CertificateError(f"invalid certificate name: {e}") from None


def _ski(cert: x509.Certificate) -> x509.SubjectKeyIdentifier:
    try:
        return cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    except x509.ExtensionNotFound:
        return x509.SubjectKeyIdentifier.from_public_key(cert.public_key())


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False


def _spki(key: PublicKeyTypes) -> bytes:
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _issue(
    *,
    subject: x509.Name,
    public_key: PublicKeyTypes,
    issuer_cert: x509.Certificate | None,
    issuer_key: PrivateKeyTypes,
    not_before: dt.datetime,
    not_after: dt.datetime,
    extensions: Sequence[tuple[x509.ExtensionType, bool]],
) -> x509.Certificate:
    """Build and sign one certificate; ``issuer_cert=None`` makes it self-signed."""
    checked_public = sig_algorithms.check_public_key(public_key)
    signing_key = sig_algorithms.check_private_key(issuer_key)
    start = _utc(not_before, "not_before")
    end = _utc(not_after, "not_after")
    if end <= start:
        raise CertificateError("not_after must be later than not_before")
    ski = x509.SubjectKeyIdentifier.from_public_key(checked_public)
    if issuer_cert is None:
        if _spki(signing_key.public_key()) != _spki(checked_public):
            raise KeyMismatch("a self-signed certificate must be signed by its own key")
        issuer_name = subject
        aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)
    else:
        if not _is_ca(issuer_cert):
            raise CertificateError(
                f"issuer {issuer_cert.subject.rfc4514_string()} is not a CA certificate"
            )
        if _spki(signing_key.public_key()) != _spki(issuer_cert.public_key()):
            raise KeyMismatch("issuer key does not belong to the issuer certificate")
        issuer_name = issuer_cert.subject
        aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(_ski(issuer_cert))
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(checked_public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(ski, critical=False)
        .add_extension(aki, critical=False)
    )
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    # Ed25519 signs the TBS bytes directly (RFC 8410 §6); the others use SHA-256.
    algorithm = None if isinstance(signing_key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    try:
        return builder.sign(signing_key, algorithm)
    except ValueError as e:
        raise CertificateError(
            f"cannot issue certificate for {subject.rfc4514_string()}: {e}"
        ) from None


def _ca_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=False,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )


def _signing_extensions() -> list[tuple[x509.ExtensionType, bool]]:
    key_usage = x509.KeyUsage(
        digital_signature=True,
        content_commitment=True,  # nonRepudiation: the signer stands behind the content
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    return [
        (x509.BasicConstraints(ca=False, path_length=None), True),
        (key_usage, True),
        (
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION, DOCUMENT_SIGNING_OID]),
            False,
        ),
    ]


def _uri(url: str, what: str) -> x509.UniformResourceIdentifier:
    # IA5String: ASCII only; http(s) because relying parties fetch these without a directory.
    if (
        not url.isascii()
        or not url.startswith(("http://", "https://"))
        or any(c.isspace() for c in url)
    ):
        raise CertificateError(f"{what} must be an ASCII http:// or https:// URL: {url!r}")
    return x509.UniformResourceIdentifier(url)


def _revocation_extensions(
    crl_url: str | None, ocsp_url: str | None, ca_issuers_url: str | None
) -> list[tuple[x509.ExtensionType, bool]]:
    """CRL Distribution Points and Authority Information Access, for the URLs given."""
    extensions: list[tuple[x509.ExtensionType, bool]] = []
    if crl_url is not None:
        point = x509.DistributionPoint(
            full_name=[_uri(crl_url, "crl_url")], relative_name=None, reasons=None, crl_issuer=None
        )
        extensions.append((x509.CRLDistributionPoints([point]), False))
    access = []
    if ocsp_url is not None:
        access.append(
            x509.AccessDescription(AuthorityInformationAccessOID.OCSP, _uri(ocsp_url, "ocsp_url"))
        )
    if ca_issuers_url is not None:
        access.append(
            x509.AccessDescription(
                AuthorityInformationAccessOID.CA_ISSUERS, _uri(ca_issuers_url, "ca_issuers_url")
            )
        )
    if access:
        extensions.append((x509.AuthorityInformationAccess(access), False))
    return extensions


def issue_root(
    name: str, key: PrivateKeyTypes, *, not_before: dt.datetime, not_after: dt.datetime
) -> x509.Certificate:
    """Issue a self-signed root CA certificate with subject C=VN, CN=``name``."""
    subject = _name((NameOID.COUNTRY_NAME, "VN"), (NameOID.COMMON_NAME, name))
    checked = sig_algorithms.check_private_key(key)
    return _issue(
        subject=subject,
        public_key=checked.public_key(),
        issuer_cert=None,
        issuer_key=checked,
        not_before=not_before,
        not_after=not_after,
        extensions=[
            (x509.BasicConstraints(ca=True, path_length=None), True),
            (_ca_key_usage(), True),
        ],
    )


def issue_ca(
    subject_name: x509.Name | str,
    key_public: PublicKeyTypes,
    issuer_cert: x509.Certificate,
    issuer_key: PrivateKeyTypes,
    *,
    not_before: dt.datetime,
    not_after: dt.datetime,
    path_length: int | None = 0,
    crl_url: str | None = None,
    ocsp_url: str | None = None,
    ca_issuers_url: str | None = None,
) -> x509.Certificate:
    """Issue an intermediate CA certificate; a ``str`` subject becomes C=VN, CN=<str>.

    ``crl_url``, ``ocsp_url`` and ``ca_issuers_url`` (the issuer's services) add CRL
    Distribution Points and Authority Information Access extensions when given.
    """
    subject = (
        _name((NameOID.COUNTRY_NAME, "VN"), (NameOID.COMMON_NAME, subject_name))
        if isinstance(subject_name, str)
        else subject_name
    )
    return _issue(
        subject=subject,
        public_key=key_public,
        issuer_cert=issuer_cert,
        issuer_key=issuer_key,
        not_before=not_before,
        not_after=not_after,
        extensions=[
            (x509.BasicConstraints(ca=True, path_length=path_length), True),
            (_ca_key_usage(), True),
            *_revocation_extensions(crl_url, ocsp_url, ca_issuers_url),
        ],
    )


def issue_person_certificate(
    public_key: PublicKeyTypes,
    *,
    full_name: str,
    title: str,
    staff_code: str,
    organisation: str,
    issuer_cert: x509.Certificate,
    issuer_key: PrivateKeyTypes,
    not_before: dt.datetime,
    not_after: dt.datetime,
    province: str | None = None,
    crl_url: str | None = None,
    ocsp_url: str | None = None,
    ca_issuers_url: str | None = None,
) -> x509.Certificate:
    """Issue a staff member's signing certificate (CN = full name, title, UID = staff code).

    ``crl_url``, ``ocsp_url`` and ``ca_issuers_url`` as for :func:`issue_ca`.
    """
    subject = _name(
        (NameOID.COUNTRY_NAME, "VN"),
        (NameOID.STATE_OR_PROVINCE_NAME, province),
        (NameOID.ORGANIZATION_NAME, organisation),
        (NameOID.TITLE, title),
        (NameOID.COMMON_NAME, full_name),
        (NameOID.USER_ID, staff_code),
    )
    return _issue(
        subject=subject,
        public_key=public_key,
        issuer_cert=issuer_cert,
        issuer_key=issuer_key,
        not_before=not_before,
        not_after=not_after,
        extensions=[
            *_signing_extensions(),
            *_revocation_extensions(crl_url, ocsp_url, ca_issuers_url),
        ],
    )


def issue_organisation_certificate(
    public_key: PublicKeyTypes,
    *,
    school_name: str,
    school_code: str,
    issuer_cert: x509.Certificate,
    issuer_key: PrivateKeyTypes,
    not_before: dt.datetime,
    not_after: dt.datetime,
    province: str | None = None,
    crl_url: str | None = None,
    ocsp_url: str | None = None,
    ca_issuers_url: str | None = None,
) -> x509.Certificate:
    """Issue the school's organisation seal certificate (O = CN = school name).

    ``crl_url``, ``ocsp_url`` and ``ca_issuers_url`` as for :func:`issue_ca`.
    """
    subject = _name(
        (NameOID.COUNTRY_NAME, "VN"),
        (NameOID.STATE_OR_PROVINCE_NAME, province),
        (NameOID.ORGANIZATION_NAME, school_name),
        (NameOID.ORGANIZATION_IDENTIFIER, school_code),
        (NameOID.COMMON_NAME, school_name),
    )
    return _issue(
        subject=subject,
        public_key=public_key,
        issuer_cert=issuer_cert,
        issuer_key=issuer_key,
        not_before=not_before,
        not_after=not_after,
        extensions=[
            *_signing_extensions(),
            *_revocation_extensions(crl_url, ocsp_url, ca_issuers_url),
        ],
    )


def _attribute(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> str | None:
    attributes = cert.subject.get_attributes_for_oid(oid)
    if not attributes:
        return None
    value = attributes[0].value
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def staff_code_of(cert: x509.Certificate) -> str | None:
    """The staff code (UID attribute) of a person certificate, or None."""
    return _attribute(cert, NameOID.USER_ID)


def school_code_of(cert: x509.Certificate) -> str | None:
    """The school code (organizationIdentifier) of a seal certificate, or None."""
    return _attribute(cert, NameOID.ORGANIZATION_IDENTIFIER)


# --- the demo PKI on disk --------------------------------------------------------------------


def _write_certificate(path: Path, cert: x509.Certificate) -> None:
    # Exclusive create: issuing never silently replaces a certificate.
    try:
        with path.open("xb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))
            f.flush()
            os.fsync(f.fileno())
    except FileExistsError:
        raise CertificateError(f"refusing to overwrite existing certificate {path}") from None
    except OSError as e:
        raise CertificateError(f"cannot write certificate {path}: {e.strerror}") from None


def _check_ca_name(name: str) -> None:
    if name not in CA_NAMES:
        raise CertificateError(f"unknown CA {name!r}: expected one of {', '.join(CA_NAMES)}")


def _normalise_base_url(base_url: str | None) -> str | None:
    if base_url is None:
        return None
    base = base_url.rstrip("/")
    _uri(base + "/", "base_url")
    return base


def _services(base_url: str | None, ca_name: str) -> dict[str, str | None]:
    """Keyword arguments naming CA ``ca_name``'s CRL and OCSP URLs (none without a base URL)."""
    if base_url is None:
        return {}
    return {
        "crl_url": f"{base_url}/pki/crl/{ca_name}.crl",
        "ocsp_url": f"{base_url}/pki/ocsp/{ca_name}",
    }


def _base_url_of(cert: x509.Certificate, ca_name: str) -> str | None:
    """The base URL :func:`create_demo_pki` put in ``cert``'s CRL distribution point, if any."""
    try:
        points = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    except x509.ExtensionNotFound:
        return None
    suffix = f"/pki/crl/{ca_name}.crl"
    for point in points:
        for name in point.full_name or []:
            if isinstance(name, x509.UniformResourceIdentifier) and name.value.endswith(suffix):
                return name.value[: -len(suffix)]
    return None


def _check_staff_code(code: str) -> None:
    if not _STAFF_CODE.fullmatch(code):
        raise CertificateError(
            f"staff code {code!r} must be 1-64 characters from A-Z a-z 0-9 . _ - "
            "and start with a letter or digit"
        )


@dataclass(eq=False)
class DemoPKI:
    """The demo PKI in ``directory``: its certificates, and signers loaded on demand."""

    directory: Path
    school_name: str
    school_code: str
    province: str
    root: x509.Certificate
    so: x509.Certificate
    school: x509.Certificate
    seal: x509.Certificate
    staff: dict[str, x509.Certificate]
    passphrase: bytes = field(repr=False)
    base_url: str | None = None
    """Prefix of the CRL and OCSP URLs put in issued certificates; None for none."""
    _signers: dict[str, SoftwareSigner] = field(default_factory=dict, init=False, repr=False)

    # Paths -----------------------------------------------------------------------------------

    def ca_cert_path(self, name: str) -> Path:
        """Path of CA certificate ``name`` (``root``, ``so`` or ``school``)."""
        return self.directory / "ca" / f"{name}.pem"

    def ca_key_path(self, name: str) -> Path:
        """Path of the encrypted key of CA ``name`` (``root``, ``so`` or ``school``)."""
        return self.directory / "ca" / f"{name}.key.pem"

    def ca_database_path(self, name: str) -> Path:
        """Path of the SQLite database of CA ``name`` (``root``, ``so`` or ``school``)."""
        _check_ca_name(name)
        return self.directory / "ca" / f"{name}.sqlite"

    def crl_url(self, name: str) -> str | None:
        """The CRL URL of CA ``name`` written into the certificates it issues, or None."""
        _check_ca_name(name)
        return _services(self.base_url, name).get("crl_url")

    def ocsp_url(self, name: str) -> str | None:
        """The OCSP URL of CA ``name`` written into the certificates it issues, or None."""
        _check_ca_name(name)
        return _services(self.base_url, name).get("ocsp_url")

    @property
    def seal_cert_path(self) -> Path:
        """Path of the organisation seal certificate."""
        return self.directory / "seal" / "cert.pem"

    @property
    def seal_key_path(self) -> Path:
        """Path of the organisation seal's encrypted key."""
        return self.directory / "seal" / "key.pem"

    def staff_cert_path(self, staff_code: str) -> Path:
        """Path of a staff member's certificate."""
        _check_staff_code(staff_code)
        return self.directory / "staff" / staff_code / "cert.pem"

    def staff_key_path(self, staff_code: str) -> Path:
        """Path of a staff member's encrypted key."""
        _check_staff_code(staff_code)
        return self.directory / "staff" / staff_code / "key.pem"

    # Loading ---------------------------------------------------------------------------------

    @classmethod
    def load(cls, directory: Path | str, passphrase: bytes) -> DemoPKI:
        """Read a PKI written by :func:`create_demo_pki`. Keys are decrypted only when used."""
        directory = Path(directory)
        ca = directory / "ca"
        seal = load_certificate(directory / "seal" / "cert.pem")
        # The base URL is not stored separately: the seal's CRL distribution point holds it.
        staff: dict[str, x509.Certificate] = {}
        staff_dir = directory / "staff"
        if staff_dir.is_dir():
            for entry in sorted(staff_dir.iterdir()):
                if (entry / "cert.pem").is_file():
                    staff[entry.name] = load_certificate(entry / "cert.pem")
        return cls(
            directory=directory,
            school_name=_attribute(seal, NameOID.ORGANIZATION_NAME) or "",
            school_code=school_code_of(seal) or "",
            province=_attribute(seal, NameOID.STATE_OR_PROVINCE_NAME) or "",
            root=load_certificate(ca / "root.pem"),
            so=load_certificate(ca / "so.pem"),
            school=load_certificate(ca / "school.pem"),
            seal=seal,
            staff=staff,
            passphrase=passphrase,
            base_url=_base_url_of(seal, "school"),
        )

    # Use ---------------------------------------------------------------------------------------

    def trust_roots(self) -> list[x509.Certificate]:
        """The trust anchors: the demo root only."""
        return [self.root]

    def intermediates(self) -> list[x509.Certificate]:
        """The intermediate CAs, root side first: Sở, then school."""
        return [self.so, self.school]

    def signer_for(self, staff_code: str) -> SoftwareSigner:
        """A signer for a staff member; raises :class:`KeyUnusable` for an unknown code."""
        if staff_code not in self.staff:
            raise KeyUnusable(f"no certificate for staff code {staff_code!r} in {self.directory}")
        signer = self._signers.get(staff_code)
        if signer is None:
            key = load_private_key(self.staff_key_path(staff_code), self.passphrase)
            signer = SoftwareSigner(key, self.staff[staff_code])
            self._signers[staff_code] = signer
        return signer

    def seal_signer(self) -> SoftwareSigner:
        """A signer for the school's organisation seal."""
        signer = self._signers.get("\0seal")  # NUL cannot occur in a staff code
        if signer is None:
            signer = SoftwareSigner(
                load_private_key(self.seal_key_path, self.passphrase), self.seal
            )
            self._signers["\0seal"] = signer
        return signer

    def authority(self, name: str) -> CertificateAuthority:
        """Open CA ``name`` (``root``, ``so`` or ``school``) with its key and database.

        The database is created on first use; the certificates on disk that this CA issued
        (root: Sở CA; Sở: school CA; school: seal and staff) are recorded in it, idempotently,
        so a PKI made without ``base_url`` is covered too. The caller closes the returned
        object. Raises :class:`KeyUnusable` when the key cannot be decrypted.
        """
        _check_ca_name(name)
        key = load_private_key(self.ca_key_path(name), self.passphrase)
        authority = CertificateAuthority(
            self._ca_certificate(name), key, self.ca_database_path(name)
        )
        try:
            for cert in self._issued_by(name):
                authority.record_issued(cert)
        except BaseException:
            authority.close()
            raise
        return authority

    def _ca_certificate(self, name: str) -> x509.Certificate:
        return {"root": self.root, "so": self.so, "school": self.school}[name]

    def _issued_by(self, name: str) -> list[x509.Certificate]:
        if name == "root":
            return [self.so]
        if name == "so":
            return [self.school]
        return [self.seal, *self.staff.values()]

    def issue_staff(
        self,
        spec: StaffSpec,
        now: dt.datetime,
        *,
        not_before: dt.datetime | None = None,
        not_after: dt.datetime | None = None,
    ) -> x509.Certificate:
        """Issue and store a certificate for a new staff member, signed by the school CA.

        Validity defaults to ``now - 1 day`` for three years; ``not_before``/``not_after``
        override it (tests use this for expired and not-yet-valid certificates). The
        certificate carries the school CA's CRL and OCSP URLs when the PKI has a base URL, and
        is recorded in the school CA's database when that exists (see :meth:`authority`)
        before its files are written. Raises :class:`CertificateError` if the staff code is
        invalid or already has a directory.
        """
        _check_staff_code(spec.staff_code)
        start = not_before if not_before is not None else _utc(now, "now") - _BACKDATE
        end = not_after if not_after is not None else _add_years(start, _LEAF_YEARS)
        school_key = load_private_key(self.ca_key_path("school"), self.passphrase)
        key = generate_private_key(spec.key_type)
        cert = issue_person_certificate(
            key.public_key(),
            full_name=spec.full_name,
            title=spec.title,
            staff_code=spec.staff_code,
            organisation=self.school_name,
            province=self.province or None,
            issuer_cert=self.school,
            issuer_key=school_key,
            not_before=start,
            not_after=end,
            **_services(self.base_url, "school"),
        )
        staff_dir = self.directory / "staff" / spec.staff_code
        try:
            staff_dir.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            # mkdir without exist_ok claims the code: a second issue for it fails here.
            staff_dir.mkdir(mode=0o700)
        except FileExistsError:
            raise CertificateError(f"staff code {spec.staff_code!r} already exists") from None
        except OSError as e:
            raise CertificateError(f"cannot create {staff_dir}: {e.strerror}") from None
        database = self.ca_database_path("school")
        if database.exists():
            try:
                with CertificateAuthority(self.school, school_key, database) as authority:
                    authority.record_issued(cert)
            except BaseException:
                staff_dir.rmdir()  # still empty: give the staff code back
                raise
        save_private_key(staff_dir / "key.pem", key, self.passphrase)
        _write_certificate(staff_dir / "cert.pem", cert)
        self.staff[spec.staff_code] = cert
        return cert


def create_demo_pki(
    directory: Path | str,
    *,
    school_name: str,
    school_code: str,
    province: str,
    staff: Iterable[StaffSpec],
    passphrase: bytes,
    now: dt.datetime,
    seal_key_type: KeyType = "ec-p256",
    base_url: str | None = None,
) -> DemoPKI:
    """Create the demo hierarchy in ``directory`` (see the module docstring); never overwrites.

    With ``base_url`` (e.g. ``"http://127.0.0.1:8000"``) each certificate issued by CA X
    names X's CRL (``base_url/pki/crl/X.crl``) and OCSP responder (``base_url/pki/ocsp/X``),
    and every CA records what it issues in ``directory/ca/X.sqlite``. Without it, no URLs are
    written and no database is created until :meth:`DemoPKI.authority` is first called.

    Raises :class:`CertificateError` when ``directory`` already holds a PKI, a staff code is
    invalid or repeated, or ``base_url`` is not an http(s) URL.
    """
    directory = Path(directory)
    base_url = _normalise_base_url(base_url)
    start = _utc(now, "now") - _BACKDATE
    specs = list(staff)
    codes = [spec.staff_code for spec in specs]
    for code in codes:
        _check_staff_code(code)
    if len(set(codes)) != len(codes):
        raise CertificateError("staff codes must be unique")
    for sub in ("ca", "seal", "staff"):
        if (directory / sub).exists():
            raise CertificateError(f"refusing to overwrite: {directory / sub} already exists")
    try:
        for sub in ("ca", "seal", "staff"):
            (directory / sub).mkdir(mode=0o700, parents=True)
    except OSError as e:
        raise CertificateError(f"cannot create {directory}: {e.strerror}") from None

    ca_end = _add_years(start, _CA_YEARS)
    root_key = generate_private_key("ec-p256")
    root = issue_root(
        DEMO_ROOT_NAME, root_key, not_before=start, not_after=_add_years(start, _ROOT_YEARS)
    )
    so_key = generate_private_key("ec-p256")
    so = issue_ca(
        f"Sở GD&ĐT {province} (demo)",
        so_key.public_key(),
        root,
        root_key,
        not_before=start,
        not_after=ca_end,
        path_length=1,
        **_services(base_url, "root"),
    )
    school_key = generate_private_key("ec-p256")
    school = issue_ca(
        _name(
            (NameOID.COUNTRY_NAME, "VN"),
            (NameOID.STATE_OR_PROVINCE_NAME, province),
            (NameOID.ORGANIZATION_NAME, school_name),
            (NameOID.COMMON_NAME, f"{school_name} CA (demo)"),
        ),
        school_key.public_key(),
        so,
        so_key,
        not_before=start,
        not_after=ca_end,
        path_length=0,
        **_services(base_url, "so"),
    )
    seal_key = generate_private_key(seal_key_type)
    seal = issue_organisation_certificate(
        seal_key.public_key(),
        school_name=school_name,
        school_code=school_code,
        province=province,
        issuer_cert=school,
        issuer_key=school_key,
        not_before=start,
        not_after=_add_years(start, _LEAF_YEARS),
        **_services(base_url, "school"),
    )
    for name, cert, key in (
        ("root", root, root_key),
        ("so", so, so_key),
        ("school", school, school_key),
    ):
        save_private_key(directory / "ca" / f"{name}.key.pem", key, passphrase)
        _write_certificate(directory / "ca" / f"{name}.pem", cert)
    save_private_key(directory / "seal" / "key.pem", seal_key, passphrase)
    _write_certificate(directory / "seal" / "cert.pem", seal)
    if base_url is not None:
        for name, ca_cert, ca_key, issued in (
            ("root", root, root_key, so),
            ("so", so, so_key, school),
            ("school", school, school_key, seal),
        ):
            with CertificateAuthority(ca_cert, ca_key, directory / "ca" / f"{name}.sqlite") as ca:
                ca.record_issued(issued)

    pki = DemoPKI(
        directory=directory,
        school_name=school_name,
        school_code=school_code,
        province=province,
        root=root,
        so=so,
        school=school,
        seal=seal,
        staff={},
        passphrase=passphrase,
        base_url=base_url,
    )
    for spec in specs:
        pki.issue_staff(spec, now)
    return pki


# --- path validation -------------------------------------------------------------------------


def _to_asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    """The asn1crypto form of ``cert``, made once per certificate (see :func:`_asn1_of`)."""
    return _asn1_of(cert.public_bytes(serialization.Encoding.DER))


@functools.lru_cache(maxsize=4096)
def _asn1_of(der: bytes) -> asn1_x509.Certificate:
    """Parsed once: asn1crypto and the path validator memoise what they compute (hashes,
    key identifiers) on the object, so a trust of many CAs, handed over for every path
    check, costs its parsing once, not at each check."""
    return asn1_x509.Certificate.load(der)


def _check_signing_usage(cert: x509.Certificate) -> None:
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        raise CertificateNotValid(
            f"certificate {cert.subject.rfc4514_string()} has no key usage extension"
        ) from None
    except ValueError as e:
        raise CertificateNotValid(f"certificate extensions cannot be parsed: {e}") from None
    if not (usage.digital_signature or usage.content_commitment):
        raise CertificateNotValid(
            f"certificate {cert.subject.rfc4514_string()} is not for signing "
            "(key usage has neither digitalSignature nor nonRepudiation)"
        )


async def async_verify_certificate_path(
    cert: x509.Certificate,
    intermediates: Iterable[x509.Certificate],
    trust_roots: Iterable[x509.Certificate],
    moment: dt.datetime,
) -> None:
    """Async form of :func:`verify_certificate_path`, for callers already in an event loop."""
    try:
        at = _utc(moment, "moment")
    except CertificateError as e:
        raise CertificateNotValid(str(e)) from None
    roots = [_to_asn1(c) for c in trust_roots]
    if not roots:
        raise CertificateNotValid("no trust roots given")
    # No fetching: validation is offline and reproducible. Soft-fail revocation: without
    # CRLs/OCSP at hand the absence of revocation data is not itself a failure here; the
    # revocation check proper belongs to the callers that hold that data.
    context = ValidationContext(
        trust_roots=roots,
        moment=at,
        allow_fetching=False,
        revocation_mode="soft-fail",
    )
    validator = CertificateValidator(
        _to_asn1(cert),
        intermediate_certs=[_to_asn1(c) for c in intermediates],
        validation_context=context,
    )
    when = at.isoformat()
    try:
        await validator.async_validate_path()
    except ExpiredError as e:
        raise CertificateNotValid(f"expired at {when}: {e}") from None
    except NotYetValidError as e:
        raise CertificateNotValid(f"not yet valid at {when}: {e}") from None
    except RevokedError as e:
        raise CertificateNotValid(f"revoked at {when}: {e}") from None
    except PathBuildingError as e:
        raise CertificateNotValid(f"untrusted issuer: {e}") from None
    except InvalidCertificateError as e:
        # Raised for a self-signed certificate that is not itself a trust root.
        raise CertificateNotValid(f"untrusted issuer: {e}") from None
    except PathValidationError as e:
        reason = "bad signature on the chain" if "signature" in str(e) else "invalid path"
        raise CertificateNotValid(f"{reason}: {e}") from None
    except ValidationError as e:
        raise CertificateNotValid(f"path validation failed: {e}") from None
    except (ValueError, TypeError, KeyError) as e:
        # asn1crypto reports malformed certificates lazily, from inside the validator.
        raise CertificateNotValid(f"malformed certificate in the path: {e}") from None
    _check_signing_usage(cert)


def _run_sync(factory: Callable[[], Awaitable[_T]]) -> _T:
    """Run a coroutine to completion from synchronous code, inside a running loop or not."""

    async def main() -> _T:
        return await factory()

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(main())
    # asyncio.run refuses to nest inside a running loop, so use a worker thread's own loop.
    # This blocks the calling loop for the duration; async callers should await the async form.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(main())).result()


def verify_certificate_path(
    cert: x509.Certificate,
    intermediates: Iterable[x509.Certificate],
    trust_roots: Iterable[x509.Certificate],
    moment: dt.datetime,
) -> None:
    """Check that ``cert`` chains to one of ``trust_roots`` and is a signing certificate.

    Every certificate in the path must be valid at ``moment`` (timezone-aware) and every
    signature on it must verify; the end-entity key usage must include digitalSignature or
    nonRepudiation. Nothing is fetched from the network. Raises :class:`CertificateNotValid`
    whose message starts with the reason: ``expired``, ``not yet valid``, ``untrusted
    issuer``, ``bad signature on the chain``, ``revoked``, or the usage problem.
    """
    intermediate_list = list(intermediates)
    root_list = list(trust_roots)
    _run_sync(lambda: async_verify_certificate_path(cert, intermediate_list, root_list, moment))
