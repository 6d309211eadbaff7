"""Certificate profiles: what a signing, a principal's and a school-seal certificate look like.

Each check returns None or raises :class:`signing.errors.CertificateNotValid` whose message
names the certificate and the first rule it breaks. The checks look at the certificate alone;
whether it chains to a trusted root, was valid and unrevoked at signing time is
:func:`signing.validation.validate_certificate`'s job.

Algorithm rules (:class:`AlgorithmPolicy`), with their footing in DOMAIN.md §5.2:

- TT 15/2025/TT-BKHCN [P]: RSA keys of at least 2048 bits; ECDSA keys of at least 256 bits
  (implemented as the NIST curves P-256, P-384 and P-521); hashes SHA-256, SHA-384, SHA-512,
  SHA-512/224, SHA-512/256 and SHA3-224 and up. This is :data:`TT15_2025`, the default.
- TT 15/2025 names RSASSA-PSS for *signing*. Deployed Vietnamese CA tokens mostly sign
  RSA PKCS#1 v1.5 (DOMAIN.md §5.2 [D]: "a validator must accept PKCS#1 v1.5 and PSS"), so
  PKCS#1 v1.5 is accepted when *verifying* (a certificate's own signature, a CRL, an OCSP
  response, an event); the ledger's own signers should use PSS where the token allows. An
  RSA key in a certificate cannot say which padding it will be used with, so the key check
  below accepts RSA keys of the minimum size, full stop.
- Ed25519 is not in the TT 15/2025 excerpt (not confirmed either way, so [U]); DESIGN.md §4
  lets the ledger sign events with it and the demo PKI can issue Ed25519 keys. It is off in
  :data:`TT15_2025` and on in :data:`TT15_2025_WITH_ED25519`; callers pick the policy.

Profile rules:

- signing certificate: a KeyUsage extension with digitalSignature or nonRepudiation; not a CA
  (BasicConstraints cA false or absent, no keyCertSign); the subject key and the hash of the
  certificate's own signature acceptable under the policy.
- principal (Hiệu trưởng): a signing certificate whose subject has a title attribute
  (2.5.4.12) equal to "Hiệu trưởng", compared after Unicode NFC normalisation, whitespace
  collapsing and case folding. Only the principal: "Phó Hiệu trưởng" (deputy) does not pass;
  a deputy acting for the principal is an authorisation recorded in the ledger, not a
  certificate property. The title in the certificate is required by NĐ 130/2018 (kept by
  NĐ 23/2025) for competent persons (DOMAIN.md §3.3, [S]).
- organisation seal: a signing certificate whose subject has organizationName (2.5.4.10) and
  organizationIdentifier (2.5.4.97) and none of the personal attributes givenName, surname,
  title, pseudonym, initials or generationQualifier (DOMAIN.md §3.3 and §9 item 10, [S]).
  Which attribute real VGCA or public-CA organisation certificates use for the organisation's
  code is [U] (many Vietnamese certificates put "MST:<tax code>" in UID), so the identifier
  attributes are a parameter.

The embedded demo PKI (:mod:`signing.pki`) issues person certificates with title, CN and UID
and seal certificates with O, organizationIdentifier and CN, both with KeyUsage
digitalSignature + nonRepudiation; they pass these checks (Ed25519 keys only under
:data:`TT15_2025_WITH_ED25519`).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm as CryptographyUnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.oid import NameOID, SignatureAlgorithmOID

from signing.errors import CertificateNotValid

__all__ = [
    "PERSONAL_NAME_OIDS",
    "PRINCIPAL_TITLE",
    "TT15_2025",
    "TT15_2025_HASHES",
    "TT15_2025_WITH_ED25519",
    "AlgorithmPolicy",
    "check_principal_certificate",
    "check_seal_certificate",
    "check_signing_certificate",
    "normalise_hash_name",
]

PRINCIPAL_TITLE = "Hiệu trưởng"
"""The title (chức danh) a principal's certificate carries."""

TT15_2025_HASHES: frozenset[str] = frozenset(
    {
        "sha256",
        "sha384",
        "sha512",
        "sha512-224",
        "sha512-256",
        "sha3-224",
        "sha3-256",
        "sha3-384",
        "sha3-512",
    }
)
"""Hash functions of TT 15/2025 (DOMAIN.md §5.2 [P]), in :func:`normalise_hash_name` form."""

_PERSONAL_NAMES: dict[x509.ObjectIdentifier, str] = {
    NameOID.GIVEN_NAME: "givenName",
    NameOID.SURNAME: "surname",
    NameOID.TITLE: "title",
    NameOID.PSEUDONYM: "pseudonym",
    NameOID.INITIALS: "initials",
    NameOID.GENERATION_QUALIFIER: "generationQualifier",
}

PERSONAL_NAME_OIDS: tuple[x509.ObjectIdentifier, ...] = tuple(_PERSONAL_NAMES)
"""Subject attributes that name a natural person; an organisation seal carries none."""


def normalise_hash_name(name: str) -> str:
    """One spelling for hash names from cryptography and asn1crypto.

    ``"SHA512_224"``, ``"sha512-224"`` → ``"sha512-224"``; ``"sha3_256"`` → ``"sha3-256"``.
    """
    return name.strip().lower().replace("_", "-").replace("/", "-")


@dataclass(frozen=True)
class AlgorithmPolicy:
    """Acceptable public keys and hash functions (see the module docstring for the rules)."""

    min_rsa_bits: int = 2048
    """Smallest RSA modulus, in bits."""

    ec_curves: frozenset[str] = frozenset({"secp256r1", "secp384r1", "secp521r1"})
    """Named curves for ECDSA keys (cryptography/asn1crypto names)."""

    allow_ed25519: bool = False
    """Accept Ed25519 keys and Ed25519 signatures on certificates."""

    hashes: frozenset[str] = TT15_2025_HASHES
    """Hash functions accepted in signatures, in :func:`normalise_hash_name` form."""

    def hash_allowed(self, name: str) -> bool:
        """Whether the hash function ``name`` (any common spelling) is acceptable."""
        return normalise_hash_name(name) in self.hashes

    def key_problem(self, key: object) -> str | None:
        """Say why ``key`` (a cryptography public key) is not acceptable, or return None."""
        if isinstance(key, rsa.RSAPublicKey):
            if key.key_size < self.min_rsa_bits:
                return (
                    f"RSA key of {key.key_size} bits is below the {self.min_rsa_bits}-bit minimum"
                )
            return None
        if isinstance(key, ec.EllipticCurvePublicKey):
            if key.curve.name not in self.ec_curves:
                allowed = ", ".join(sorted(self.ec_curves)) or "none"
                return f"EC curve {key.curve.name} is not accepted (accepted: {allowed})"
            return None
        if isinstance(key, ed25519.Ed25519PublicKey):
            return None if self.allow_ed25519 else "Ed25519 keys are not accepted by this policy"
        return f"key type {type(key).__name__} is not accepted"

    def check_public_key(self, key: object) -> None:
        """Raise :class:`CertificateNotValid` when ``key`` is not acceptable."""
        problem = self.key_problem(key)
        if problem is not None:
            raise CertificateNotValid(problem)

    def signature_problem(self, cert: x509.Certificate) -> str | None:
        """Say why the algorithm of ``cert``'s own signature is not acceptable, or None."""
        try:
            hash_algorithm = cert.signature_hash_algorithm
        except CryptographyUnsupportedAlgorithm:
            return f"signature algorithm {cert.signature_algorithm_oid.dotted_string} is unknown"
        if hash_algorithm is None:
            if cert.signature_algorithm_oid == SignatureAlgorithmOID.ED25519:
                if self.allow_ed25519:
                    return None
                return "the certificate is signed with Ed25519, not accepted by this policy"
            return (
                f"signature algorithm {cert.signature_algorithm_oid.dotted_string} is not accepted"
            )
        if not self.hash_allowed(hash_algorithm.name):
            return f"the certificate is signed with hash {hash_algorithm.name}, not accepted"
        return None


TT15_2025 = AlgorithmPolicy()
"""TT 15/2025/TT-BKHCN as excerpted in DOMAIN.md §5.2 [P]; no Ed25519."""

TT15_2025_WITH_ED25519 = AlgorithmPolicy(allow_ed25519=True)
"""TT 15/2025 plus Ed25519 (DESIGN.md §4 ledger algorithms; Ed25519 itself is [U])."""


# --- helpers ----------------------------------------------------------------------------------


def _describe(cert: x509.Certificate) -> str:
    try:
        return f"certificate {cert.subject.rfc4514_string()!r}"
    except ValueError:  # pragma: no cover - malformed names fail in cryptography's parser first
        return f"certificate with serial {cert.serial_number:x}"


def _fail(cert: x509.Certificate, reason: str) -> CertificateNotValid:
    return CertificateNotValid(f"{_describe(cert)}: {reason}")


def _text(value: str | bytes) -> str:
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def _fold(value: str) -> str:
    """NFC, single spaces, case-folded: the form titles are compared in."""
    return " ".join(unicodedata.normalize("NFC", value).split()).casefold()


def _subject_values(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> list[str]:
    try:
        return [_text(a.value) for a in cert.subject.get_attributes_for_oid(oid)]
    except ValueError as e:  # pragma: no cover - cryptography parses names eagerly
        raise _fail(cert, f"subject cannot be parsed: {e}") from None


def _public_key(cert: x509.Certificate) -> CertificatePublicKeyTypes:
    try:
        return cert.public_key()
    except (ValueError, CryptographyUnsupportedAlgorithm) as e:
        raise _fail(cert, f"public key cannot be read: {e}") from None


# --- the checks -------------------------------------------------------------------------------


def check_signing_certificate(
    cert: x509.Certificate, *, policy: AlgorithmPolicy = TT15_2025
) -> None:
    """Check that ``cert`` is an end-entity certificate for signatures, under ``policy``.

    Raises :class:`CertificateNotValid` when the KeyUsage extension is missing or has neither
    digitalSignature nor nonRepudiation, when the certificate is a CA (BasicConstraints cA or
    keyCertSign), when the subject key or the hash of the certificate's signature is not
    accepted by ``policy``, or when the extensions cannot be parsed.
    """
    try:
        extensions = cert.extensions
    except ValueError as e:
        raise _fail(cert, f"extensions cannot be parsed: {e}") from None
    try:
        basic = extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        basic = None
    if basic is not None and basic.ca:
        raise _fail(cert, "is a CA certificate, not a signer's certificate")
    try:
        usage = extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        raise _fail(cert, "has no KeyUsage extension") from None
    if usage.key_cert_sign:
        raise _fail(cert, "KeyUsage has keyCertSign: a CA key, not a signer's key")
    if not (usage.digital_signature or usage.content_commitment):
        raise _fail(cert, "KeyUsage has neither digitalSignature nor nonRepudiation")
    problem = policy.key_problem(_public_key(cert))
    if problem is not None:
        raise _fail(cert, problem)
    problem = policy.signature_problem(cert)
    if problem is not None:
        raise _fail(cert, problem)


def check_principal_certificate(
    cert: x509.Certificate, *, policy: AlgorithmPolicy = TT15_2025
) -> None:
    """Check that ``cert`` is a signing certificate of a principal (title "Hiệu trưởng").

    The title attribute (2.5.4.12) must equal :data:`PRINCIPAL_TITLE` after NFC
    normalisation, whitespace collapsing and case folding; "Phó Hiệu trưởng" does not match.
    Runs :func:`check_signing_certificate` first.
    """
    check_signing_certificate(cert, policy=policy)
    titles = _subject_values(cert, NameOID.TITLE)
    if not titles:
        raise _fail(
            cert, f"subject has no title attribute; a principal's must be {PRINCIPAL_TITLE!r}"
        )
    wanted = _fold(PRINCIPAL_TITLE)
    if not any(_fold(title) == wanted for title in titles):
        shown = ", ".join(repr(unicodedata.normalize("NFC", t)) for t in titles)
        raise _fail(cert, f"title {shown} is not {PRINCIPAL_TITLE!r}")


def check_seal_certificate(
    cert: x509.Certificate,
    *,
    policy: AlgorithmPolicy = TT15_2025,
    identifier_oids: Collection[x509.ObjectIdentifier] = (NameOID.ORGANIZATION_IDENTIFIER,),
) -> None:
    """Check that ``cert`` is an organisation (school seal) signing certificate.

    The subject must have a non-empty organizationName, a non-empty value for at least one of
    ``identifier_oids`` (default: organizationIdentifier, 2.5.4.97) and none of
    :data:`PERSONAL_NAME_OIDS`. Runs :func:`check_signing_certificate` first.
    """
    check_signing_certificate(cert, policy=policy)
    if not any(v.strip() for v in _subject_values(cert, NameOID.ORGANIZATION_NAME)):
        raise _fail(cert, "subject has no organizationName: not an organisation certificate")
    oids = list(identifier_oids)
    if not any(v.strip() for oid in oids for v in _subject_values(cert, oid)):
        names = ", ".join(oid.dotted_string for oid in oids) or "(none configured)"
        raise _fail(cert, f"subject has no organisation identifier ({names})")
    personal = [oid for oid in PERSONAL_NAME_OIDS if _subject_values(cert, oid)]
    if personal:
        names = ", ".join(_PERSONAL_NAMES[oid] for oid in personal)
        raise _fail(cert, f"subject names a person ({names}): not an organisation certificate")
