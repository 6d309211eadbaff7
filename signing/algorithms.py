"""Signature algorithms accepted by the ledger, and raw sign/verify over bytes.

The numeric values of :class:`Algorithm` are a stored format: they are written into signed
event envelopes (DESIGN.md §4) and must never be renumbered or reused.

Parameters, fixed so that every verifier agrees byte for byte:

- ``ECDSA_P256_SHA256``: ECDSA over NIST P-256 with SHA-256; the signature is the DER encoding
  of ``Ecdsa-Sig-Value`` (RFC 3279 §2.2.3), as cryptography and OpenSSL produce it.
- ``ED25519``: pure Ed25519 (RFC 8032 §5.1), 64-byte signature, no pre-hashing.
- ``RSA_PSS_SHA256``: RSASSA-PSS (RFC 8017 §8.1) with SHA-256, MGF1-SHA-256 and a salt of exactly
  32 bytes (the digest length); verification accepts that salt length only.
- ``RSA_PKCS1V15_SHA256``: RSASSA-PKCS1-v1_5 (RFC 8017 §8.2) with SHA-256.

RSA keys must have at least 2048 bits; EC keys must be on P-256.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import TypeAlias

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes

from signing.errors import BadSignature, UnsupportedAlgorithm

__all__ = [
    "MIN_RSA_BITS",
    "PSS_SALT_LENGTH",
    "Algorithm",
    "PrivateKey",
    "PublicKey",
    "check_private_key",
    "check_public_key",
    "default_algorithm_for",
    "sign",
    "verify",
]

PrivateKey: TypeAlias = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey
"""A private key type the ledger can sign with."""

PublicKey: TypeAlias = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | rsa.RSAPublicKey
"""A public key type the ledger can verify with."""

MIN_RSA_BITS = 2048
"""Smallest RSA modulus accepted, for signing and for verifying."""

PSS_SALT_LENGTH = 32
"""RSA-PSS salt length in bytes: the SHA-256 digest length, fixed (not "auto", not "max")."""


class Algorithm(enum.IntEnum):
    """Signature algorithm identifiers as stored in event envelopes. Never renumber."""

    ECDSA_P256_SHA256 = 1
    ED25519 = 2
    RSA_PSS_SHA256 = 3
    RSA_PKCS1V15_SHA256 = 4

    @property
    def label(self) -> str:
        """Stable lower-case name, e.g. ``"ecdsa-p256-sha256"``."""
        return _LABELS[self]

    @classmethod
    def from_label(cls, label: str) -> Algorithm:
        """Return the algorithm named ``label``; raise :class:`UnsupportedAlgorithm` if unknown."""
        for algorithm, name in _LABELS.items():
            if name == label:
                return algorithm
        raise UnsupportedAlgorithm(f"unknown signature algorithm {label!r}")


_LABELS: dict[Algorithm, str] = {
    Algorithm.ECDSA_P256_SHA256: "ecdsa-p256-sha256",
    Algorithm.ED25519: "ed25519",
    Algorithm.RSA_PSS_SHA256: "rsa-pss-sha256",
    Algorithm.RSA_PKCS1V15_SHA256: "rsa-pkcs1v15-sha256",
}


def _pss() -> padding.PSS:
    return padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=PSS_SALT_LENGTH)


def _key_problem(key: PrivateKeyTypes | PublicKeyTypes) -> str | None:
    """Say why ``key`` is not acceptable, or return None when it is."""
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, ec.SECP256R1):
            return f"EC curve {key.curve.name} is not accepted (only P-256)"
        return None
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            return f"RSA key of {key.key_size} bits is below the {MIN_RSA_BITS}-bit minimum"
        return None
    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return None
    return f"key type {type(key).__name__} is not accepted"


def check_private_key(key: PrivateKeyTypes) -> PrivateKey:
    """Return ``key`` narrowed to :data:`PrivateKey`; raise :class:`UnsupportedAlgorithm` if not."""
    problem = _key_problem(key)
    if problem is not None:
        raise UnsupportedAlgorithm(problem)
    assert isinstance(
        key, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey
    )
    return key


def check_public_key(key: PublicKeyTypes) -> PublicKey:
    """Return ``key`` narrowed to :data:`PublicKey`; raise :class:`UnsupportedAlgorithm` if not."""
    problem = _key_problem(key)
    if problem is not None:
        raise UnsupportedAlgorithm(problem)
    assert isinstance(key, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | rsa.RSAPublicKey)
    return key


def _fits(key: PrivateKeyTypes | PublicKeyTypes, algorithm: Algorithm) -> bool:
    if algorithm is Algorithm.ECDSA_P256_SHA256:
        return isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey)
    if algorithm is Algorithm.ED25519:
        return isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey)
    return isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey)


def default_algorithm_for(key: PrivateKeyTypes | PublicKeyTypes) -> Algorithm:
    """Pick the algorithm for a key: P-256 → ECDSA, Ed25519 → Ed25519, RSA → RSA-PSS."""
    problem = _key_problem(key)
    if problem is not None:
        raise UnsupportedAlgorithm(problem)
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        return Algorithm.ECDSA_P256_SHA256
    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return Algorithm.ED25519
    return Algorithm.RSA_PSS_SHA256


def sign(private_key: PrivateKeyTypes, algorithm: Algorithm, message: bytes) -> bytes:
    """Sign ``message`` with ``private_key`` under ``algorithm``.

    Raises :class:`UnsupportedAlgorithm` when the key is not accepted or does not fit the
    algorithm (for example an Ed25519 key with ``RSA_PSS_SHA256``).
    """
    key = check_private_key(private_key)
    algorithm = Algorithm(algorithm)
    if not _fits(key, algorithm):
        raise UnsupportedAlgorithm(f"a {type(key).__name__} cannot sign with {algorithm.label}")
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(message, ec.ECDSA(hashes.SHA256()))
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(message)
    if algorithm is Algorithm.RSA_PSS_SHA256:
        return key.sign(message, _pss(), hashes.SHA256())
    return key.sign(message, padding.PKCS1v15(), hashes.SHA256())


def signing_function(
    private_key: PrivateKeyTypes, algorithm: Algorithm
) -> Callable[[bytes], bytes]:
    """Check ``private_key`` and ``algorithm`` once; return a fast ``sign(message)``.

    For signers that sign many times: the per-call checks of :func:`sign` are
    done here, and the returned function only signs.
    """
    key = check_private_key(private_key)
    algorithm = Algorithm(algorithm)
    if not _fits(key, algorithm):
        raise UnsupportedAlgorithm(f"a {type(key).__name__} cannot sign with {algorithm.label}")
    if isinstance(key, ec.EllipticCurvePrivateKey):
        ecdsa = ec.ECDSA(hashes.SHA256())
        return lambda message: key.sign(message, ecdsa)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign
    sha256 = hashes.SHA256()
    pad = _pss() if algorithm is Algorithm.RSA_PSS_SHA256 else padding.PKCS1v15()
    return lambda message: key.sign(message, pad, sha256)


def verify(
    public_key: PublicKeyTypes, algorithm: Algorithm, signature: bytes, message: bytes
) -> None:
    """Check ``signature`` over ``message``; return None or raise :class:`BadSignature`.

    Every failure is a :class:`BadSignature`: an unknown algorithm number, a key that is not
    accepted or does not fit the algorithm, malformed signature bytes, or a wrong signature.
    """
    try:
        algorithm = Algorithm(algorithm)
    except ValueError:
        raise BadSignature(f"unknown signature algorithm number {algorithm!r}") from None
    problem = _key_problem(public_key)
    if problem is not None:
        raise BadSignature(problem)
    if not _fits(public_key, algorithm):
        raise BadSignature(f"a {type(public_key).__name__} cannot verify {algorithm.label}")
    if not isinstance(signature, bytes | bytearray | memoryview) or not isinstance(
        message, bytes | bytearray | memoryview
    ):
        raise BadSignature("signature and message must be bytes")
    try:
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(bytes(signature), bytes(message), ec.ECDSA(hashes.SHA256()))
        elif isinstance(public_key, ed25519.Ed25519PublicKey):
            public_key.verify(bytes(signature), bytes(message))
        elif isinstance(public_key, rsa.RSAPublicKey):
            pad: padding.AsymmetricPadding = (
                _pss() if algorithm is Algorithm.RSA_PSS_SHA256 else padding.PKCS1v15()
            )
            public_key.verify(bytes(signature), bytes(message), pad, hashes.SHA256())
        else:  # pragma: no cover - excluded by _key_problem above
            raise BadSignature(f"key type {type(public_key).__name__} is not accepted")
    # cryptography reports malformed encodings (bad DER, wrong length) as ValueError on some
    # backends and InvalidSignature on others; both mean "does not verify" here.
    except (InvalidSignature, ValueError, TypeError):
        raise BadSignature(f"{algorithm.label} signature does not verify") from None
