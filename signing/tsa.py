"""RFC 3161 time-stamping: the embedded time-stamp authority (TSA) and the client side.

Server side
    :func:`issue_tsa_certificate` issues a TSA certificate (RFC 3161 §2.3: extended key usage
    ``id-kp-timeStamping`` only, critical). :class:`TimeStampAuthority` answers DER
    ``TimeStampReq`` with DER ``TimeStampResp``; its key is any :class:`signing.keys.Signer`,
    so it can live in a PKCS#11 token.

Client side
    :func:`request_for` builds a request, :func:`token_from_response` checks a response
    against its request and returns the token, :func:`verify_token` checks a token over some
    data and returns its ``genTime``. :func:`http_timestamper` wraps pyHanko's HTTP client for
    outside TSAs (PAdES document timestamps go through pyHanko).

The token (RFC 3161 §2.4.2) is a CMS ``SignedData`` (RFC 5652) with eContentType
``id-ct-TSTInfo``, one ``SignerInfo`` identified by issuer and serial number, and the signed
attributes content-type, message-digest and ESS signing-certificate-v2 (RFC 5035, RFC 5816)
naming the TSA certificate by its SHA-256 hash. No signing-time attribute: ``genTime`` is the
time the token attests. CMS signature algorithms, by :class:`signing.algorithms.Algorithm`:

- ``ECDSA_P256_SHA256``: ecdsa-with-SHA256 (RFC 5753/5754), digest SHA-256;
- ``ED25519``: id-Ed25519 (RFC 8419; digest SHA-512 as §3.1 requires with signed attributes);
- ``RSA_PSS_SHA256``: id-RSASSA-PSS with SHA-256, MGF1-SHA-256, salt 32 (RFC 4056);
- ``RSA_PKCS1V15_SHA256``: sha256WithRSAEncryption (RFC 5754 §3.2).

For a TSA whose tokens outside parties check, prefer ECDSA P-256 or RSA PKCS#1 v1.5:
``openssl ts -verify`` runs through OpenSSL's PKCS#7 code, which knows no RSASSA-PSS
(openssl/openssl#7904; ``openssl cms -verify`` accepts our PSS tokens), and OpenSSL's CMS does
not verify Ed25519 with signed attributes (openssl/openssl#11915). Our own verifier and
pyHanko's accept all four.

``TSTInfo`` choices:

- ``genTime`` is UTC truncated to whole seconds, with ``accuracy`` one second: the instant
  of issuance lies in ``[genTime, genTime + 1 s)``, inside the declared accuracy (assuming the
  host clock is NTP-disciplined to well under a second).
- ``serialNumber`` is a random positive integer of at most 160 bits from :mod:`secrets`, the
  largest RFC 3161 §2.4.2 makes clients accept. Random rather than a counter: several worker
  processes (or hosts) can share one TSA key without any shared, durably stored counter, and
  a collision among 2**160 values is negligible (after 10**12 tokens, about 2**-81).
- ``ordering`` is false (the DER default, so it is omitted), ``tsa`` is the directoryName of
  the TSA certificate subject, ``nonce`` echoes the request's.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import secrets
import urllib.parse
from collections.abc import Callable, Collection, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Final, Literal, TypeAlias

from asn1crypto import algos, cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko_certvalidator.sig_validate import (
    DefaultSignatureValidator,
    SignatureValidationContext,
)

from signing import algorithms as sig_algorithms
from signing.algorithms import Algorithm
from signing.errors import (
    BadSignature,
    CertificateError,
    CertificateNotValid,
    HashMismatch,
    KeyMismatch,
    SigningError,
    VerificationError,
)
from signing.keys import (
    Signer,
    SoftwareSigner,
    generate_private_key,
    load_certificate,
    load_private_key,
    save_private_key,
)
from signing.pki import async_verify_certificate_path, verify_certificate_path

if TYPE_CHECKING:
    from pyhanko.sign.timestamps import HTTPTimeStamper, TimeStamper

__all__ = [
    "ACCURACY_SECONDS",
    "PLACEHOLDER_POLICY",
    "FailInfo",
    "TimeStampAuthority",
    "TokenInfo",
    "TsaUnavailable",
    "async_verify_token",
    "http_timestamper",
    "issue_tsa_certificate",
    "request_for",
    "token_from_response",
    "token_info",
    "tsa_certificate_problem",
    "verify_token",
]

PLACEHOLDER_POLICY: Final = "1.3.6.1.4.1.32473.3161.1"
"""Default TSA policy OID: a placeholder under IANA enterprise number 32473, which RFC 5612
reserves for documentation and examples. A production TSA MUST replace it with an OID under
an arc its operator has registered, naming its published time-stamping policy."""

ACCURACY_SECONDS: Final = 1
"""Accuracy declared in every ``TSTInfo``; ``genTime`` is truncated to whole seconds."""

FailInfo: TypeAlias = Literal[
    "bad_alg",
    "bad_request",
    "bad_data_format",
    "unaccepted_policy",
    "unaccepted_extensions",
    "system_failure",
]
"""``PKIFailureInfo`` bits (RFC 3161 §2.4.2), as asn1crypto names them."""

_MAX_NONCE_BYTES = 64

# Message-imprint and CMS digest algorithms accepted, by asn1crypto name: digest length.
_DIGESTS: Final[dict[str, int]] = {"sha256": 32, "sha384": 48, "sha512": 64}

# CMS signature mechanisms accepted by the verifier (asn1crypto's signature_algo names).
_VERIFY_MECHANISMS: Final = frozenset({"rsassa_pkcs1v15", "rsassa_pss", "ecdsa", "ed25519"})
_MIN_RSA_BITS: Final = sig_algorithms.MIN_RSA_BITS


class TsaUnavailable(SigningError):
    """The TSA cannot issue a token now (signer failure, bad clock, certificate not valid).

    A server fault, not a defect of the request: an HTTP front end answers 500 or 503, possibly
    with :meth:`TimeStampAuthority.system_failure_response` as the body.
    """


# --- the TSA certificate ---------------------------------------------------------------------


def _utc(moment: dt.datetime, what: str) -> dt.datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise CertificateError(f"{what} must be timezone-aware")
    return moment.astimezone(dt.UTC)


def _spki(key: PublicKeyTypes) -> bytes:
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def issue_tsa_certificate(
    public_key: PublicKeyTypes,
    *,
    name: str,
    issuer_cert: x509.Certificate,
    issuer_key: PrivateKeyTypes,
    not_before: dt.datetime,
    not_after: dt.datetime,
    organisation: str | None = None,
) -> x509.Certificate:
    """Issue a TSA certificate, subject C=VN[, O=``organisation``], CN=``name``.

    Extensions: ExtendedKeyUsage ``id-kp-timeStamping`` only, critical (RFC 3161 §2.3);
    KeyUsage digitalSignature + nonRepudiation, critical; BasicConstraints CA=false, critical;
    subject and authority key identifiers. Raises :class:`CertificateError` for a naive or
    empty validity period, a bad name or an issuer that is not a CA, :class:`KeyMismatch` when
    ``issuer_key`` does not belong to ``issuer_cert``, and
    :class:`signing.errors.UnsupportedAlgorithm` for keys the ledger does not accept.
    """
    checked_public = sig_algorithms.check_public_key(public_key)
    signing_key = sig_algorithms.check_private_key(issuer_key)
    start = _utc(not_before, "not_before")
    end = _utc(not_after, "not_after")
    if end <= start:
        raise CertificateError("not_after must be later than not_before")
    try:
        constraints = issuer_cert.extensions.get_extension_for_class(x509.BasicConstraints)
        issuer_is_ca = constraints.value.ca
    except x509.ExtensionNotFound:
        issuer_is_ca = False
    if not issuer_is_ca:
        raise CertificateError(
            f"issuer {issuer_cert.subject.rfc4514_string()} is not a CA certificate"
        )
    if _spki(signing_key.public_key()) != _spki(issuer_cert.public_key()):
        raise KeyMismatch("issuer key does not belong to the issuer certificate")
    try:
        issuer_ski = issuer_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    except x509.ExtensionNotFound:
        issuer_ski = x509.SubjectKeyIdentifier.from_public_key(
            sig_algorithms.check_public_key(issuer_cert.public_key())
        )
    attributes = [x509.NameAttribute(NameOID.COUNTRY_NAME, "VN")]
    if organisation:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation))
    try:
        attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, name))
        subject = x509.Name(attributes)
    except ValueError as e:
        raise CertificateError(f"invalid TSA certificate name: {e}") from None
    key_usage = x509.KeyUsage(
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
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_cert.subject)
        .public_key(checked_public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(key_usage, critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(checked_public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(issuer_ski),
            critical=False,
        )
    )
    algorithm = None if isinstance(signing_key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    try:
        return builder.sign(signing_key, algorithm)
    except ValueError as e:
        raise CertificateError(f"cannot issue TSA certificate for {name!r}: {e}") from None


def tsa_certificate_problem(cert: x509.Certificate) -> str | None:
    """Say why ``cert`` cannot be a TSA certificate, or return None when it can.

    RFC 3161 §2.3: exactly one ExtendedKeyUsage extension, critical, whose only purpose is
    ``id-kp-timeStamping``. A KeyUsage extension, when present, must allow digitalSignature
    or nonRepudiation.
    """
    subject = cert.subject.rfc4514_string()
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except x509.ExtensionNotFound:
        return f"TSA certificate {subject} has no extended key usage (timeStamping required)"
    except ValueError as e:  # duplicate or unparsable extensions
        return f"TSA certificate extensions cannot be parsed: {e}"
    if not eku.critical:
        return f"TSA certificate {subject}: extended key usage is not critical"
    if list(eku.value) != [ExtendedKeyUsageOID.TIME_STAMPING]:
        purposes = ", ".join(p.dotted_string for p in eku.value)
        return (
            f"TSA certificate {subject}: extended key usage must be timeStamping only, "
            f"not [{purposes}]"
        )
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return None
    if not (usage.digital_signature or usage.content_commitment):
        return f"TSA certificate {subject}: key usage allows no signatures"
    return None


# --- DER helpers -----------------------------------------------------------------------------


def _der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _tlv(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + _der_length(len(content)) + content


def _der_integer(value: int) -> bytes:
    # Minimal two's complement: one sign bit more than the magnitude needs.
    size = ((value if value >= 0 else ~value).bit_length() + 8) // 8
    return _tlv(0x02, value.to_bytes(size, "big", signed=True))


def _der_set_of(items: Iterable[bytes]) -> bytes:
    # DER orders SET OF components by their encodings (X.690 §11.6).
    return _tlv(0x31, b"".join(sorted(items)))


def _der(value: Any) -> bytes:
    # Not dump(force=True): parts taken from a certificate keep their exact original bytes.
    return bytes(value.dump())


def _to_asn1_cert(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def cms_algorithms(algorithm: Algorithm) -> tuple[str, algos.SignedDigestAlgorithm]:
    """CMS digestAlgorithm name and signatureAlgorithm identifier for ``algorithm``."""
    if algorithm is Algorithm.ECDSA_P256_SHA256:
        return "sha256", algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"})
    if algorithm is Algorithm.ED25519:
        return "sha512", algos.SignedDigestAlgorithm({"algorithm": "ed25519"})
    if algorithm is Algorithm.RSA_PSS_SHA256:
        params = algos.RSASSAPSSParams(
            {
                "hash_algorithm": {"algorithm": "sha256"},
                "mask_gen_algorithm": {"algorithm": "mgf1", "parameters": {"algorithm": "sha256"}},
                "salt_length": sig_algorithms.PSS_SALT_LENGTH,
                "trailer_field": "trailer_field_bc",
            }
        )
        return "sha256", algos.SignedDigestAlgorithm(
            {"algorithm": "rsassa_pss", "parameters": params}
        )
    if algorithm is Algorithm.RSA_PKCS1V15_SHA256:
        return "sha256", algos.SignedDigestAlgorithm({"algorithm": "sha256_rsa"})
    raise CertificateError(f"no CMS mapping for signature algorithm {algorithm!r}")


# --- the TSA ---------------------------------------------------------------------------------


class _Rejected(Exception):
    def __init__(self, fail_info: FailInfo, text: str) -> None:
        super().__init__(text)
        self.fail_info = fail_info
        self.text = text


@dataclasses.dataclass(frozen=True)
class _Request:
    imprint: bytes  # DER MessageImprint, re-encoded canonically
    nonce: int | None
    cert_req: bool


def _has_null(algorithm_identifier: algos.DigestAlgorithm) -> bool:
    return isinstance(algorithm_identifier["parameters"], core.Null)


_DIGEST_OIDS: Final[dict[str, bytes]] = {
    name: _der(algos.DigestAlgorithmId(name)) for name in _DIGESTS
}


def _imprint_der(algorithm: str, digest: bytes, *, null_parameters: bool) -> bytes:
    parameters = b"\x05\x00" if null_parameters else b""
    identifier = _tlv(0x30, _DIGEST_OIDS[algorithm] + parameters)
    return _tlv(0x30, identifier + _tlv(0x04, digest))


class _TimeStampResp(core.Sequence):  # type: ignore[misc]
    """``TimeStampResp`` with the token OPTIONAL, as RFC 3161 §2.4.2 has it.

    asn1crypto 1.5's ``tsp.TimeStampResp`` declares the token required, so it can neither
    read nor write a rejection."""

    _fields: ClassVar[list[Any]] = [
        ("status", tsp.PKIStatusInfo),
        ("time_stamp_token", cms.ContentInfo, {"optional": True}),
    ]


def _system_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _rejection(fail_info: FailInfo, text: str) -> bytes:
    status = tsp.PKIStatusInfo(
        {
            "status": "rejection",
            "status_string": [text],
            "fail_info": tsp.PKIFailureInfo({fail_info}),
        }
    )
    # asn1crypto marks timeStampToken as required, but a rejection has none (RFC 3161 §2.4.2).
    return _tlv(0x30, _der(status))


class TimeStampAuthority:
    """An RFC 3161 TSA signing with any :class:`signing.keys.Signer`.

    ``chain`` holds the CA certificates above the TSA certificate, nearest first (the root may
    be left out); with the TSA certificate, they are embedded in tokens whose request set
    ``certReq``. ``policy`` is the TSA policy OID (:data:`PLACEHOLDER_POLICY` by default, which
    production must replace). ``clock`` returns the current time, timezone-aware.

    Thread-safe: it keeps no mutable state (serial numbers are random).
    """

    def __init__(
        self,
        signer: Signer,
        chain: Sequence[x509.Certificate] = (),
        policy: str = PLACEHOLDER_POLICY,
        clock: Callable[[], dt.datetime] = _system_clock,
    ) -> None:
        """Check the signer's certificate and precompute the parts common to every token.

        Raises :class:`CertificateError` when the certificate is not a TSA certificate
        (:func:`tsa_certificate_problem`), the policy is not a dotted OID, or the signer's
        algorithm has no CMS mapping.
        """
        cert = signer.certificate
        problem = tsa_certificate_problem(cert)
        if problem is not None:
            raise CertificateError(problem)
        try:
            self._policy = x509.ObjectIdentifier(policy).dotted_string
        except ValueError:
            raise CertificateError(f"TSA policy {policy!r} is not a dotted OID") from None
        self._signer = signer
        self._clock = clock
        self._not_before = cert.not_valid_before_utc
        self._not_after = cert.not_valid_after_utc
        digest_name, signature_algorithm = cms_algorithms(signer.algorithm)
        self._digest_name = digest_name
        asn1_cert = _to_asn1_cert(cert)
        # Everything constant is encoded once; a token is then a few concatenations (building
        # the whole token with asn1crypto objects re-serialised the embedded certificates on
        # every dump: about 25 ms per token instead of 0.2 ms).
        digest_algorithm = _der(algos.DigestAlgorithm({"algorithm": digest_name}))
        self._policy_der = _der(core.ObjectIdentifier(self._policy))
        self._accuracy_der = _der(tsp.Accuracy({"seconds": ACCURACY_SECONDS}))
        tsa_name = asn1_x509.GeneralName(name="directory_name", value=asn1_cert.subject)
        self._tsa_der = _tlv(0xA0, _der(tsa_name))  # [0] EXPLICIT GeneralName
        sid = cms.SignerIdentifier(
            name="issuer_and_serial_number",
            value=cms.IssuerAndSerialNumber(
                {"issuer": asn1_cert.issuer, "serial_number": asn1_cert.serial_number}
            ),
        )
        # SignerInfo version 1, sid, digestAlgorithm: what precedes the signed attributes.
        self._signer_info_head = _der_integer(1) + _der(sid) + digest_algorithm
        self._signature_algorithm_der = _der(signature_algorithm)
        ess = tsp.SigningCertificateV2(
            {
                "certs": [
                    {
                        # hashAlgorithm is omitted: SHA-256 is its DEFAULT (RFC 5035 §5.4.1.1)
                        "cert_hash": hashlib.sha256(asn1_cert.dump()).digest(),
                        "issuer_serial": {
                            "issuer": [
                                asn1_x509.GeneralName(name="directory_name", value=asn1_cert.issuer)
                            ],
                            "serial_number": asn1_cert.serial_number,
                        },
                    }
                ]
            }
        )
        self._ess_attribute = _der(
            cms.CMSAttribute({"type": "signing_certificate_v2", "values": [ess]})
        )
        self._content_type_attribute = _der(
            cms.CMSAttribute({"type": "content_type", "values": ["tst_info"]})
        )
        self._message_digest_type = _der(cms.CMSAttributeType("message_digest"))
        certificates = [asn1_cert.dump(), *(_to_asn1_cert(c).dump() for c in chain)]
        # certificates [0] IMPLICIT CertificateSet
        self._certificates_der = _tlv(0xA0, b"".join(sorted(certificates)))
        # SignedData fields before and after the certificates.
        self._signed_data_head = (
            _der_integer(3)  # eContentType is not id-data (RFC 5652 §5.1)
            + _der_set_of([digest_algorithm])
        )
        self._tst_info_type = _der(cms.ContentType("tst_info"))
        self._signed_data_type = _der(cms.ContentType("signed_data"))
        self._granted_status = _der(tsp.PKIStatusInfo({"status": "granted"}))

    @property
    def certificate(self) -> x509.Certificate:
        """The TSA certificate."""
        return self._signer.certificate

    @property
    def policy(self) -> str:
        """The TSA policy OID, dotted."""
        return self._policy

    # Requests --------------------------------------------------------------------------------

    def _parse(self, request_der: bytes) -> _Request:
        try:
            request = tsp.TimeStampReq.load(bytes(request_der), strict=True)
            request.native  # noqa: B018 - asn1crypto parses lazily; force every field now
        except Exception as e:  # asn1crypto raises ValueError, TypeError and others
            raise _Rejected("bad_data_format", f"request is not a DER TimeStampReq: {e}") from e
        version = request["version"].native
        if version != "v1":
            raise _Rejected("bad_request", f"unsupported request version {version!r}")
        imprint = request["message_imprint"]
        hash_algorithm = imprint["hash_algorithm"]
        algorithm = hash_algorithm["algorithm"].native
        if algorithm not in _DIGESTS:
            raise _Rejected("bad_alg", f"unsupported hash algorithm {algorithm}")
        if hash_algorithm["parameters"].native is not None:
            raise _Rejected("bad_alg", f"{algorithm} takes no parameters (absent or NULL)")
        digest = imprint["hashed_message"].native
        if len(digest) != _DIGESTS[algorithm]:
            raise _Rejected(
                "bad_data_format",
                f"{algorithm} digest must be {_DIGESTS[algorithm]} bytes, not {len(digest)}",
            )
        req_policy = request["req_policy"]
        if req_policy.native is not None and req_policy.dotted != self._policy:
            raise _Rejected("unaccepted_policy", f"policy {req_policy.dotted} is not offered")
        nonce = request["nonce"].native
        if nonce is not None and len(request["nonce"].contents) > _MAX_NONCE_BYTES:
            raise _Rejected("bad_data_format", f"nonce longer than {_MAX_NONCE_BYTES} bytes")
        if request["extensions"].native is not None:
            raise _Rejected("unaccepted_extensions", "no request extensions are supported")
        # The token repeats the imprint (RFC 3161 §2.4.2), parameters absent or NULL as sent.
        imprint_der = _imprint_der(algorithm, digest, null_parameters=_has_null(hash_algorithm))
        return _Request(imprint=imprint_der, nonce=nonce, cert_req=bool(request["cert_req"].native))

    # Tokens ----------------------------------------------------------------------------------

    def _now(self) -> dt.datetime:
        try:
            now = self._clock()
        except Exception as e:
            raise TsaUnavailable(f"TSA clock failed: {e}") from e
        if now.tzinfo is None or now.utcoffset() is None:
            raise TsaUnavailable("TSA clock returned a naive datetime")
        now = now.astimezone(dt.UTC).replace(microsecond=0)
        if not self._not_before <= now <= self._not_after:
            raise TsaUnavailable(
                f"TSA certificate is not valid at {now.isoformat()} "
                f"({self._not_before.isoformat()} to {self._not_after.isoformat()})"
            )
        return now

    def _token(self, request: _Request) -> bytes:
        """DER ContentInfo (SignedData over a TSTInfo) answering ``request``."""
        gen_time = self._now()
        # At most 160 bits, never zero: see the module docstring.
        serial = secrets.randbelow(2**160 - 1) + 1
        tst_info = _tlv(
            0x30,
            _der_integer(1)
            + self._policy_der
            + request.imprint
            + _der_integer(serial)
            + _tlv(0x18, gen_time.strftime("%Y%m%d%H%M%SZ").encode("ascii"))
            + self._accuracy_der
            # ordering FALSE is the DEFAULT, so DER omits it
            + (b"" if request.nonce is None else _der_integer(request.nonce))
            + self._tsa_der,
        )
        message_digest = _tlv(
            0x30,
            self._message_digest_type
            + _der_set_of([_tlv(0x04, hashlib.new(self._digest_name, tst_info).digest())]),
        )
        attributes = b"".join(
            sorted([self._content_type_attribute, message_digest, self._ess_attribute])
        )
        try:
            signature = self._signer.sign(_tlv(0x31, attributes))
        except Exception as e:
            raise TsaUnavailable(f"TSA signer failed: {e}") from e
        signer_info = _tlv(
            0x30,
            self._signer_info_head
            + _tlv(0xA0, attributes)  # signedAttrs [0] IMPLICIT
            + self._signature_algorithm_der
            + _tlv(0x04, signature),
        )
        encap = _tlv(0x30, self._tst_info_type + _tlv(0xA0, _tlv(0x04, tst_info)))
        signed_data = _tlv(
            0x30,
            self._signed_data_head
            + encap
            + (self._certificates_der if request.cert_req else b"")
            + _tlv(0x31, signer_info),
        )
        return _tlv(0x30, self._signed_data_type + _tlv(0xA0, signed_data))

    # Public ----------------------------------------------------------------------------------

    def respond_or_reject(self, request_der: bytes) -> tuple[bool, bytes]:
        """Answer a DER ``TimeStampReq``; return ``(granted, DER TimeStampResp)``.

        ``granted`` is False for a rejection caused by the request (an HTTP front end answers
        400 with the bytes as body). Rejections carry a statusString and one failInfo bit:
        ``bad_data_format`` (not DER, wrong digest length, oversized nonce), ``bad_request``
        (version other than 1), ``bad_alg`` (imprint hash not SHA-256/384/512),
        ``unaccepted_policy`` (reqPolicy other than :attr:`policy`), ``unaccepted_extensions``
        (any request extension). Raises :class:`TsaUnavailable` on a server fault.
        """
        try:
            request = self._parse(request_der)
        except _Rejected as e:
            return False, _rejection(e.fail_info, e.text)
        return True, _tlv(0x30, self._granted_status + self._token(request))

    def respond(self, request_der: bytes) -> bytes:
        """Answer a DER ``TimeStampReq`` with a DER ``TimeStampResp`` (granted or rejection)."""
        return self.respond_or_reject(request_der)[1]

    def system_failure_response(self, text: str = "time-stamping is unavailable") -> bytes:
        """A DER rejection with failInfo ``system_failure``, for a front end to send on 5xx."""
        return _rejection("system_failure", text)

    def timestamp(self, data: bytes, *, cert_req: bool = True) -> bytes:
        """Time-stamp SHA-256(``data``) in process; return the token (DER ``ContentInfo``)."""
        imprint = _imprint_der("sha256", hashlib.sha256(data).digest(), null_parameters=True)
        return self._token(_Request(imprint=imprint, nonce=None, cert_req=cert_req))

    def pyhanko_timestamper(self) -> TimeStamper:
        """A pyHanko ``TimeStamper`` answered by this TSA in process (for PAdES timestamps)."""
        from pyhanko.sign.timestamps import TimeStamper

        tsa = self

        class EmbeddedTimeStamper(TimeStamper):
            async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
                return _TimeStampResp.load(tsa.respond(req.dump()))

        return EmbeddedTimeStamper()  # type: ignore[no-untyped-call]  # pyHanko: untyped __init__

    def __repr__(self) -> str:
        return f"TimeStampAuthority(signer={self._signer!r}, policy={self._policy})"


# --- client side -----------------------------------------------------------------------------


def request_for(
    data: bytes, *, nonce: bool = True, cert_req: bool = True
) -> tuple[bytes, int | None]:
    """A DER ``TimeStampReq`` for SHA-256(``data``), and its nonce (random 64-bit) or None."""
    fields: dict[str, Any] = {
        "version": "v1",
        "message_imprint": {
            "hash_algorithm": {"algorithm": "sha256"},
            "hashed_message": hashlib.sha256(data).digest(),
        },
        "cert_req": cert_req,
    }
    value = secrets.randbelow(2**64 - 1) + 1 if nonce else None
    if value is not None:
        fields["nonce"] = value
    return bytes(tsp.TimeStampReq(fields).dump()), value


def token_from_response(response_der: bytes, request_der: bytes) -> bytes:
    """Check a DER ``TimeStampResp`` against the request it answers; return the token.

    Checks that the status is granted, that the token's message imprint equals the request's
    (:class:`HashMismatch` otherwise) and that the nonce is echoed. It does not verify the
    token's signature or certificate: call :func:`verify_token` for that. Raises only
    :class:`VerificationError` and its subclasses.
    """
    try:
        request = tsp.TimeStampReq.load(bytes(request_der), strict=True)
        response = _TimeStampResp.load(bytes(response_der), strict=True)
        status = response["status"]
        if status["status"].native not in ("granted", "granted_with_mods"):
            texts = "; ".join(status["status_string"].native or [])
            bits = ", ".join(sorted(status["fail_info"].native or []))
            raise VerificationError(
                f"TSA refused the request ({status['status'].native}; failInfo {bits or '-'}"
                f"; {texts or 'no reason given'})"
            )
        token = response["time_stamp_token"]
        tst_info = _tst_info(token)
        if tst_info["message_imprint"].dump() != request["message_imprint"].dump():
            raise HashMismatch("timestamp token imprint differs from the request's")
        if tst_info["nonce"].native != request["nonce"].native:
            raise VerificationError("timestamp token does not echo the request nonce")
        return bytes(token.dump())
    except VerificationError:
        raise
    except Exception as e:
        raise VerificationError(f"timestamp response cannot be read: {e}") from None


@dataclasses.dataclass(frozen=True)
class TokenInfo:
    """What a token says, unverified: read by :func:`token_info`."""

    gen_time: dt.datetime
    serial_number: int
    policy: str
    hash_algorithm: str
    hashed_message: bytes
    nonce: int | None
    tsa_name: str | None
    certificates: int


def _tst_info(token: cms.ContentInfo) -> tsp.TSTInfo:
    if token["content_type"].native != "signed_data":
        raise BadSignature("timestamp token is not CMS SignedData")
    encap = token["content"]["encap_content_info"]
    if encap["content_type"].native != "tst_info":
        raise BadSignature("timestamp token does not encapsulate a TSTInfo")
    content = encap["content"]
    if not isinstance(content, core.ParsableOctetString):
        raise BadSignature("timestamp token has no TSTInfo content")
    tst_info = tsp.TSTInfo.load(bytes(content), strict=True)
    tst_info.native  # noqa: B018 - force lazy parsing here
    if tst_info["version"].native != "v1":
        raise BadSignature(f"unsupported TSTInfo version {tst_info['version'].native!r}")
    return tst_info


def _load_token(token_der: bytes) -> cms.ContentInfo:
    if not isinstance(token_der, bytes | bytearray | memoryview):
        raise BadSignature("timestamp token must be bytes")
    # Parsed lazily: a defect found later is still turned into BadSignature by the callers.
    return cms.ContentInfo.load(bytes(token_der), strict=True)


def token_info(token_der: bytes) -> TokenInfo:
    """Read a token's ``TSTInfo`` WITHOUT verifying anything; raise :class:`BadSignature`."""
    try:
        token = _load_token(token_der)
        tst_info = _tst_info(token)
        tsa = tst_info["tsa"]
        certificates = token["content"]["certificates"]
        return TokenInfo(
            gen_time=tst_info["gen_time"].native,
            serial_number=tst_info["serial_number"].native,
            policy=tst_info["policy"].dotted,
            hash_algorithm=tst_info["message_imprint"]["hash_algorithm"]["algorithm"].native,
            hashed_message=tst_info["message_imprint"]["hashed_message"].native,
            nonce=tst_info["nonce"].native,
            tsa_name=(
                tsa.chosen.human_friendly
                if tsa.native is not None and tsa.name == "directory_name"
                else None
            ),
            certificates=0 if isinstance(certificates, core.Void) else len(certificates),
        )
    except VerificationError:
        raise
    except Exception as e:
        raise BadSignature(f"timestamp token cannot be read: {e}") from None


@dataclasses.dataclass(frozen=True)
class _Checked:
    gen_time: dt.datetime
    certificate: x509.Certificate
    pool: list[x509.Certificate]


def _unique_attribute(attrs: cms.CMSAttributes, name: str) -> Any:
    found = [a for a in attrs if a["type"].native == name]
    if len(found) != 1 or len(found[0]["values"]) != 1:
        raise BadSignature(f"timestamp token needs exactly one {name} signed attribute")
    return found[0]["values"][0]


def _ess_matches(cert: asn1_x509.Certificate, attrs: cms.CMSAttributes) -> None:
    names = {a["type"].native for a in attrs}
    if "signing_certificate_v2" in names:
        cert_id = _unique_attribute(attrs, "signing_certificate_v2")["certs"][0]
        algorithm = cert_id["hash_algorithm"]["algorithm"].native
        if algorithm not in _DIGESTS:
            raise BadSignature(f"ESS certificate hash {algorithm} is not accepted")
    elif "signing_certificate" in names:
        # ESS v1 (SHA-1, RFC 2634) is still what some outside TSAs send; the certificate is
        # validated on its own below, so the weak hash only binds, it does not authorise.
        cert_id = _unique_attribute(attrs, "signing_certificate")["certs"][0]
        algorithm = "sha1"
    else:
        raise BadSignature("timestamp token has no ESS signing-certificate attribute")
    if hashlib.new(algorithm, cert.dump()).digest() != cert_id["cert_hash"].native:
        raise BadSignature("ESS signing-certificate does not match the TSA certificate")
    issuer_serial = cert_id["issuer_serial"]
    if issuer_serial.native is not None:
        names_ = [g.chosen for g in issuer_serial["issuer"] if g.name == "directory_name"]
        if issuer_serial["serial_number"].native != cert.serial_number or not any(
            n == cert.issuer for n in names_
        ):
            raise BadSignature("ESS issuerSerial does not match the TSA certificate")


def _find_signer(
    sid: cms.SignerIdentifier, candidates: Iterable[asn1_x509.Certificate]
) -> asn1_x509.Certificate:
    for cert in candidates:
        if sid.name == "issuer_and_serial_number":
            # Byte-exact issuer match (as pyHanko does), not RFC 5280 caseIgnoreMatch: the sid
            # is unsigned, so it should not be malleable either.
            if (
                cert.serial_number == sid.chosen["serial_number"].native
                and cert.issuer.dump() == sid.chosen["issuer"].dump()
            ):
                return cert
        elif sid.name == "subject_key_identifier":
            if cert.key_identifier == sid.chosen.native:
                return cert
    raise CertificateNotValid(
        "TSA certificate not found in the token or among the given intermediates"
    )


def _check_signature(
    signer_info: cms.SignerInfo, cert: asn1_x509.Certificate, digest_name: str
) -> None:
    signature_algorithm = signer_info["signature_algorithm"]
    try:
        mechanism = signature_algorithm.signature_algo
    except ValueError:
        mechanism = signature_algorithm["algorithm"].native
    if mechanism not in _VERIFY_MECHANISMS:
        raise BadSignature(f"signature algorithm {mechanism} is not accepted")
    if mechanism == "rsassa_pss":
        hash_name = signature_algorithm["parameters"]["hash_algorithm"]["algorithm"].native
    elif mechanism == "ed25519":
        hash_name = digest_name
    else:
        try:
            hash_name = signature_algorithm.hash_algo
        except ValueError:  # plain rsaEncryption: the digest algorithm says
            hash_name = digest_name
    if hash_name not in _DIGESTS:
        raise BadSignature(f"signature hash {hash_name} is not accepted")
    public_key = cert.public_key
    if public_key.algorithm in ("rsa", "rsassa_pss") and public_key.bit_size < _MIN_RSA_BITS:
        raise BadSignature(f"TSA RSA key of {public_key.bit_size} bits is too small")
    raw = signer_info["signed_attrs"].contents
    signed_bytes = b"\x31" + _der_length(len(raw)) + raw  # [0] IMPLICIT back to SET OF
    try:
        DefaultSignatureValidator().validate_signature(
            signer_info["signature"].native,
            signed_bytes,
            public_key,
            signature_algorithm,
            SignatureValidationContext(contextual_md_algorithm=digest_name),
        )
    except InvalidSignature:
        raise BadSignature("timestamp token signature does not verify") from None


def _check_token(
    token_der: bytes,
    data: bytes,
    intermediates: Iterable[x509.Certificate],
    accepted_policies: Collection[str] | None,
) -> _Checked:
    token = _load_token(token_der)
    tst_info = _tst_info(token)
    signed_data = token["content"]
    if signed_data["version"].native != "v3":
        raise BadSignature("timestamp token SignedData must be version 3")
    signer_infos = signed_data["signer_infos"]
    if len(signer_infos) != 1:
        raise BadSignature("timestamp token must have exactly one signer")
    signer_info = signer_infos[0]
    expected_version = "v1" if signer_info["sid"].name == "issuer_and_serial_number" else "v3"
    if signer_info["version"].native != expected_version:
        raise BadSignature("SignerInfo version does not match its signer identifier")
    digest_name = signer_info["digest_algorithm"]["algorithm"].native
    if digest_name not in _DIGESTS:
        raise BadSignature(f"CMS digest algorithm {digest_name} is not accepted")
    # The digest algorithms sit outside the signature: pin them down exactly (RFC 5754 §2:
    # parameters absent or NULL).
    digest_algorithms = [signer_info["digest_algorithm"], *signed_data["digest_algorithms"]]
    if [d["algorithm"].native for d in digest_algorithms] != [digest_name] * 2 or any(
        d["parameters"].native is not None for d in digest_algorithms
    ):
        raise BadSignature("SignedData digestAlgorithms does not match the signer's")
    attrs = signer_info["signed_attrs"]
    if attrs.native is None:
        raise BadSignature("timestamp token has no signed attributes")
    if _unique_attribute(attrs, "content_type").native != "tst_info":
        raise BadSignature("content-type attribute is not id-ct-TSTInfo")
    content = bytes(signed_data["encap_content_info"]["content"])
    if (
        _unique_attribute(attrs, "message_digest").native
        != hashlib.new(digest_name, content).digest()
    ):
        raise BadSignature("message-digest attribute does not match the TSTInfo")

    certificates = signed_data["certificates"]
    embedded = (
        []
        if isinstance(certificates, core.Void)
        else [c.chosen for c in certificates if c.name == "certificate"]
    )
    given = [_to_asn1_cert(c) for c in intermediates]
    signer_cert = _find_signer(signer_info["sid"], [*embedded, *given])
    _ess_matches(signer_cert, attrs)
    _check_signature(signer_info, signer_cert, digest_name)

    # Only now, with the TSTInfo authenticated, compare it with the data.
    imprint = tst_info["message_imprint"]
    imprint_name = imprint["hash_algorithm"]["algorithm"].native
    if imprint_name not in _DIGESTS:
        raise HashMismatch(f"message imprint hash {imprint_name} is not accepted")
    if hashlib.new(imprint_name, bytes(data)).digest() != imprint["hashed_message"].native:
        raise HashMismatch("timestamp token is not over this data (message imprint differs)")
    policy = tst_info["policy"].dotted
    if accepted_policies is not None and policy not in accepted_policies:
        raise CertificateNotValid(f"TSA policy {policy} is not accepted")

    try:
        cert = x509.load_der_x509_certificate(signer_cert.dump())
    except ValueError as e:
        raise CertificateNotValid(f"TSA certificate cannot be parsed: {e}") from None
    tsa = tst_info["tsa"]
    if (
        tsa.native is not None
        and tsa.name == "directory_name"
        and tsa.chosen != signer_cert.subject
    ):
        raise CertificateNotValid("TSTInfo tsa name differs from the TSA certificate subject")
    problem = tsa_certificate_problem(cert)
    if problem is not None:
        raise CertificateNotValid(problem)
    gen_time: dt.datetime = tst_info["gen_time"].native.astimezone(dt.UTC)
    if not cert.not_valid_before_utc <= gen_time <= cert.not_valid_after_utc:
        raise CertificateNotValid(
            f"genTime {gen_time.isoformat()} lies outside the TSA certificate's validity"
        )
    pool = [x509.load_der_x509_certificate(c.dump()) for c in embedded if c is not signer_cert]
    return _Checked(gen_time, cert, [*pool, *intermediates])


def verify_token(
    token_der: bytes,
    data: bytes,
    *,
    trust_roots: Iterable[x509.Certificate],
    intermediates: Iterable[x509.Certificate] = (),
    moment: dt.datetime | None = None,
    accepted_policies: Collection[str] | None = None,
) -> dt.datetime:
    """Verify an RFC 3161 token over ``data``; return its ``genTime`` (UTC).

    Checks, in order: the token parses (``SignedData`` v3 over a v1 ``TSTInfo``, one signer);
    the content-type and message-digest signed attributes; the TSA certificate (from the token,
    or from ``intermediates`` when the token carries none) matches the ESS signing-certificate
    (v2, or v1 as some outside TSAs still send); the CMS signature (ECDSA, Ed25519, RSA-PSS or
    PKCS#1 v1.5 with SHA-256/384/512; pyhanko-certvalidator's verifier); the message imprint
    equals the hash of ``data``; the policy when ``accepted_policies`` is given; the TSA
    certificate has the critical timeStamping-only EKU and was valid at ``genTime``; and it
    chains to ``trust_roots`` at ``moment`` (default: ``genTime``), offline and without
    revocation data (:func:`signing.pki.verify_certificate_path`, which also wants KeyUsage
    digitalSignature or nonRepudiation).

    Raises :class:`BadSignature` (malformed token, attribute or signature failure),
    :class:`HashMismatch` (not over ``data``) or :class:`CertificateNotValid`; never anything
    but :class:`VerificationError`.
    """
    roots = list(trust_roots)
    extra = list(intermediates)
    try:
        checked = _check_token(token_der, data, extra, accepted_policies)
        at = checked.gen_time if moment is None else moment
        verify_certificate_path(checked.certificate, checked.pool, roots, at)
    except VerificationError:
        raise
    except Exception as e:
        raise BadSignature(f"timestamp token cannot be verified: {e}") from None
    return checked.gen_time


async def async_verify_token(
    token_der: bytes,
    data: bytes,
    *,
    trust_roots: Iterable[x509.Certificate],
    intermediates: Iterable[x509.Certificate] = (),
    moment: dt.datetime | None = None,
    accepted_policies: Collection[str] | None = None,
) -> dt.datetime:
    """:func:`verify_token` for callers inside an event loop."""
    roots = list(trust_roots)
    extra = list(intermediates)
    try:
        checked = _check_token(token_der, data, extra, accepted_policies)
        at = checked.gen_time if moment is None else moment
        await async_verify_certificate_path(checked.certificate, checked.pool, roots, at)
    except VerificationError:
        raise
    except Exception as e:
        raise BadSignature(f"timestamp token cannot be verified: {e}") from None
    return checked.gen_time


def http_timestamper(
    url: str,
    *,
    timeout: float = 10,
    https_only: bool = False,
    auth: tuple[str, str] | None = None,
) -> HTTPTimeStamper:
    """pyHanko's RFC 3161-over-HTTP client (RFC 3161 §3.4) for an outside TSA at ``url``.

    A thin wrapper: it checks the URL scheme (``https`` only with ``https_only``) and returns
    ``pyhanko.sign.timestamps.HTTPTimeStamper`` (aiohttp; requests SHA-256 imprints with a
    nonce and certReq). Its tokens are checked with :func:`verify_token` like ours. Raises
    ValueError for a URL that is not http(s).
    """
    from pyhanko.sign.timestamps import HTTPTimeStamper

    parts = urllib.parse.urlsplit(url)
    allowed = {"https"} if https_only else {"http", "https"}
    if parts.scheme not in allowed or not parts.netloc:
        raise ValueError(f"TSA URL must be an absolute {' or '.join(sorted(allowed))} URL")
    return HTTPTimeStamper(url, https=https_only, timeout=timeout, auth=auth)


# --- the demo deployment's TSA on disk -----------------------------------------------------


def create_demo_tsa(
    directory: Path,
    *,
    issuer_cert: x509.Certificate,
    issuer_key: PrivateKeyTypes,
    passphrase: bytes,
    now: dt.datetime,
    name: str = "Sổ Cái TSA (demo)",
) -> x509.Certificate:
    """Issue a TSA certificate and write ``cert.pem`` and an encrypted ``key.pem`` to ``directory``.

    The key is a software EC P-256 key, encrypted at rest like every other key;
    a deployment with a token builds :class:`TimeStampAuthority` from a
    PKCS#11 signer instead. EC P-256 keeps tokens verifiable by OpenSSL (which
    cannot check RSA-PSS or Ed25519 time-stamp tokens).
    """
    directory.mkdir(mode=0o700, parents=True)
    key = generate_private_key("ec-p256")
    start = _utc(now, "now") - dt.timedelta(days=1)
    cert = issue_tsa_certificate(
        key.public_key(),
        name=name,
        issuer_cert=issuer_cert,
        issuer_key=issuer_key,
        not_before=start,
        not_after=start + dt.timedelta(days=5 * 365),
    )
    save_private_key(directory / "key.pem", key, passphrase)
    (directory / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert


def load_demo_tsa(
    directory: Path, passphrase: bytes, chain: Sequence[x509.Certificate] = ()
) -> TimeStampAuthority:
    """The TSA written by :func:`create_demo_tsa`, ready to answer requests."""
    cert = load_certificate(directory / "cert.pem")
    signer = SoftwareSigner(load_private_key(directory / "key.pem", passphrase), cert)
    return TimeStampAuthority(signer, list(chain))
