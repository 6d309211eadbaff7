"""PKCS#10 certificate requests signed by any signing function, and issuing from them.

cryptography's ``CertificateSigningRequestBuilder`` signs only with a key held in this process,
so a key in a PKCS#11 token cannot use it. :func:`build_csr` assembles the request with
asn1crypto instead (RFC 2986 §4): ``CertificationRequestInfo`` is encoded, its DER is handed to
the signing function, and the signed request is loaded back into cryptography, which checks the
signature before it is returned.

:func:`issue_from_csr` is the CA side: it accepts a request only if its signature verifies
(proof that the requester holds the private key, RFC 2986 §3) and issues with the embedded
PKI's own functions in :mod:`signing.pki`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

from asn1crypto import algos as asn1_algos
from asn1crypto import csr as asn1_csr
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm as CryptographyUnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes

from signing import algorithms as sig_algorithms
from signing.algorithms import Algorithm
from signing.errors import CertificateError, KeyMismatch, UnsupportedAlgorithm
from signing.pki import issue_organisation_certificate, issue_person_certificate

if TYPE_CHECKING:
    from signing.pkcs11 import Pkcs11Token

__all__ = [
    "build_csr",
    "csr_for_token",
    "issue_from_csr",
    "load_csr",
]

_PEM_MARKERS = (b"-----BEGIN CERTIFICATE REQUEST-----", b"-----BEGIN NEW CERTIFICATE REQUEST-----")


def _signature_algorithm(algorithm: Algorithm) -> asn1_algos.SignedDigestAlgorithm:
    """The AlgorithmIdentifier of a CSR signature under ``algorithm``."""
    if algorithm is Algorithm.ECDSA_P256_SHA256:
        # RFC 5758 §3.2: ecdsa-with-SHA256 with the parameters field absent.
        return asn1_algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"})
    if algorithm is Algorithm.ED25519:
        # RFC 8410 §3: id-Ed25519 with the parameters field absent.
        return asn1_algos.SignedDigestAlgorithm({"algorithm": "ed25519"})
    if algorithm is Algorithm.RSA_PKCS1V15_SHA256:
        # RFC 4055 §5: sha256WithRSAEncryption with NULL parameters.
        return asn1_algos.SignedDigestAlgorithm({"algorithm": "sha256_rsa", "parameters": None})
    if algorithm is Algorithm.RSA_PSS_SHA256:
        # RFC 4055 §3.1: RSASSA-PSS-params; the ledger's fixed SHA-256, MGF1-SHA-256, salt 32.
        sha256 = {"algorithm": "sha256", "parameters": None}
        params = asn1_algos.RSASSAPSSParams(
            {
                "hash_algorithm": sha256,
                "mask_gen_algorithm": {"algorithm": "mgf1", "parameters": sha256},
                "salt_length": sig_algorithms.PSS_SALT_LENGTH,
                "trailer_field": "trailer_field_bc",
            }
        )
        return asn1_algos.SignedDigestAlgorithm({"algorithm": "rsassa_pss", "parameters": params})
    raise CertificateError(f"no CSR signature algorithm for {algorithm!r}")


def _spki_der(public_key: PublicKeyTypes) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def build_csr(
    subject: x509.Name,
    public_key: PublicKeyTypes,
    algorithm: Algorithm,
    sign: Callable[[bytes], bytes],
) -> x509.CertificateSigningRequest:
    """Build a PKCS#10 request for ``public_key`` whose signature comes from ``sign``.

    ``sign`` receives the DER of ``CertificationRequestInfo`` and returns the signature in the
    form :mod:`signing.algorithms` stores it (DER for ECDSA). The request has no attributes
    (no extension request): the CA decides the extensions. Raises :class:`KeyMismatch` when
    the returned signature does not verify under ``public_key``, :class:`CertificateError` if
    the request cannot be built, and :class:`UnsupportedAlgorithm` for a key the ledger does
    not accept or that does not fit ``algorithm``.
    """
    checked = sig_algorithms.check_public_key(public_key)
    algorithm = Algorithm(algorithm)
    if algorithm is not sig_algorithms.default_algorithm_for(checked) and not (
        isinstance(checked, rsa.RSAPublicKey) and algorithm is Algorithm.RSA_PKCS1V15_SHA256
    ):
        raise UnsupportedAlgorithm(f"a {type(checked).__name__} cannot sign with {algorithm.label}")
    try:
        info = asn1_csr.CertificationRequestInfo(
            {
                "version": "v1",
                "subject": asn1_x509.Name.load(subject.public_bytes()),
                "subject_pk_info": asn1_keys.PublicKeyInfo.load(_spki_der(checked)),
                # RFC 2986 §4.1: attributes is [0] IMPLICIT SET OF, present even when empty.
                "attributes": [],
            }
        )
        info_der = info.dump()
    except (ValueError, TypeError) as e:
        raise CertificateError(f"cannot encode the certification request: {e}") from None
    signature = sign(info_der)
    request = asn1_csr.CertificationRequest(
        {
            "certification_request_info": info,
            "signature_algorithm": _signature_algorithm(algorithm),
            "signature": signature,
        }
    )
    csr = load_csr(request.dump())
    if not csr.is_signature_valid:
        raise KeyMismatch(
            f"the CSR signature for {subject.rfc4514_string()} does not verify: the signing "
            "key does not belong to the public key"
        )
    return csr


def csr_for_token(
    token: Pkcs11Token,
    label: str,
    subject: x509.Name,
    algorithm: Algorithm | None = None,
) -> x509.CertificateSigningRequest:
    """A CSR for token key ``label``, signed inside the token.

    ``algorithm`` defaults to ECDSA for EC keys and to RSA PKCS#1 v1.5 for RSA keys: the CSR
    signature is only a proof of possession, and sha256WithRSAEncryption is the form every CA
    accepts (PSS works too, ``Algorithm.RSA_PSS_SHA256``).
    """
    public_key = token.public_key(label)
    if algorithm is None:
        algorithm = (
            Algorithm.RSA_PKCS1V15_SHA256
            if isinstance(public_key, rsa.RSAPublicKey)
            else sig_algorithms.default_algorithm_for(public_key)
        )
    chosen = Algorithm(algorithm)
    return build_csr(subject, public_key, chosen, lambda data: token.sign(label, chosen, data))


def load_csr(data: bytes) -> x509.CertificateSigningRequest:
    """Parse a PKCS#10 request, PEM or DER; raise :class:`CertificateError` if it does not.

    Parsing does not check the signature; :func:`issue_from_csr` does.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise CertificateError("a CSR must be given as bytes")
    raw = bytes(data)
    try:
        if any(marker in raw for marker in _PEM_MARKERS):
            return x509.load_pem_x509_csr(raw)
        return x509.load_der_x509_csr(raw)
    except (ValueError, TypeError) as e:
        raise CertificateError(f"malformed or unsigned CSR: {e}") from None


def _csr_signature_valid(csr: x509.CertificateSigningRequest) -> bool:
    try:
        return csr.is_signature_valid
    except (ValueError, TypeError, CryptographyUnsupportedAlgorithm):
        # cryptography raises for signature algorithms or keys it cannot check.
        return False


def _require(kind: str, **fields: str | None) -> dict[str, str]:
    missing = [name for name, value in fields.items() if not value]
    if missing:
        raise CertificateError(f"a {kind} certificate needs {', '.join(missing)}")
    return {name: value for name, value in fields.items() if value}


def issue_from_csr(
    csr: x509.CertificateSigningRequest | bytes,
    *,
    kind: Literal["person", "organisation"],
    issuer_cert: x509.Certificate,
    issuer_key: PrivateKeyTypes,
    not_before: dt.datetime,
    not_after: dt.datetime,
    full_name: str | None = None,
    title: str | None = None,
    staff_code: str | None = None,
    organisation: str | None = None,
    school_name: str | None = None,
    school_code: str | None = None,
    province: str | None = None,
) -> x509.Certificate:
    """Issue a certificate for the key in ``csr`` (object, PEM or DER), signed by the issuer.

    ``kind="person"`` needs ``full_name``, ``title``, ``staff_code`` and ``organisation`` (the
    school name) and calls :func:`signing.pki.issue_person_certificate`;
    ``kind="organisation"`` needs ``school_name`` and ``school_code`` and calls
    :func:`signing.pki.issue_organisation_certificate`. ``province`` is optional for both.

    The CSR's signature is verified first: a request that does not parse or whose signature
    does not verify raises ``CertificateError("malformed or unsigned CSR")``. Keys the ledger
    does not accept raise :class:`UnsupportedAlgorithm`.
    """
    if not isinstance(csr, x509.CertificateSigningRequest):
        csr = load_csr(csr)
    if not _csr_signature_valid(csr):
        raise CertificateError("malformed or unsigned CSR")
    try:
        public_key = csr.public_key()
    except (ValueError, CryptographyUnsupportedAlgorithm) as e:
        raise CertificateError(f"malformed or unsigned CSR: public key: {e}") from None
    checked = sig_algorithms.check_public_key(public_key)  # P-256, RSA >= 2048 or Ed25519
    # The subject is built from the fields the CA vouches for, never copied from the request:
    # the requester controls every byte of the CSR's subject, and the CA decides who the key
    # belongs to (name, title, staff code, school) from its own records. The same goes for
    # extensions: the issuing functions set key usage and EKU; requested ones are ignored.
    if kind == "person":
        person = _require(
            "person",
            full_name=full_name,
            title=title,
            staff_code=staff_code,
            organisation=organisation,
        )
        return issue_person_certificate(
            checked,
            full_name=person["full_name"],
            title=person["title"],
            staff_code=person["staff_code"],
            organisation=person["organisation"],
            province=province,
            issuer_cert=issuer_cert,
            issuer_key=issuer_key,
            not_before=not_before,
            not_after=not_after,
        )
    if kind == "organisation":
        seal = _require("organisation", school_name=school_name, school_code=school_code)
        return issue_organisation_certificate(
            checked,
            school_name=seal["school_name"],
            school_code=seal["school_code"],
            province=province,
            issuer_cert=issuer_cert,
            issuer_key=issuer_key,
            not_before=not_before,
            not_after=not_after,
        )
    raise CertificateError(f"kind must be 'person' or 'organisation', not {kind!r}")
