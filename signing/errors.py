"""Errors raised by :mod:`signing`.

One root, :class:`SigningError`; everything that fails a check is a
:class:`VerificationError`, with one leaf per way to fail.
"""

from __future__ import annotations


class SigningError(Exception):
    """Root of every error raised by the ``signing`` package."""


class KeyUnusable(SigningError):
    """A key cannot be loaded, decrypted or used (wrong passphrase, bad file)."""


class KeyMismatch(SigningError):
    """A private key does not belong to the certificate it is presented with."""


class UnsupportedAlgorithm(SigningError):
    """A key type or signature algorithm that the ledger does not accept."""


class CertificateError(SigningError):
    """A certificate cannot be parsed or issued."""


class MalformedRequest(SigningError):
    """A request to a trust service (OCSP, CSR) that cannot be answered: not DER, or unsupported.

    For OCSP the answer to send back is :func:`signing.ca.ocsp_malformed_response`.
    """


class VerificationError(SigningError):
    """A check failed. Every verifier in ``signing`` raises this or a subclass."""


class MalformedEnvelope(VerificationError):
    """Stored event bytes do not parse as a version-1 envelope."""


class HashMismatch(VerificationError):
    """A recomputed hash differs from the stored one."""


class BadSignature(VerificationError):
    """A signature does not verify under the named certificate's key."""


class MalformedProof(VerificationError):
    """A Merkle proof or its parameters are malformed (wrong length, out of range)."""


class RootMismatch(VerificationError):
    """A Merkle proof is well formed but does not lead to the expected root."""


class CertificateNotValid(VerificationError):
    """A certificate is expired, not yet valid, or not issued by a trusted authority."""
