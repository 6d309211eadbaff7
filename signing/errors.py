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


# --------------------------------------------------------------------------- signed notes,
# checkpoints, cosignatures and the witness (signing/note.py, checkpoint.py, witness.py)


class MalformedNoteKey(SigningError):
    """A note key string (vkey or skey) does not parse, names an unsupported signature type,
    or carries a key ID that does not match its name and public key (c2sp.org/signed-note)."""


class MalformedNote(VerificationError):
    """Bytes that break the c2sp.org/signed-note syntax: not UTF-8, a control character,
    no final newline, no blank line before the signatures, a bad signature line, bad or
    non-canonical base64, a signature shorter than 5 bytes, or too many signatures."""


class UnverifiedNote(VerificationError):
    """A well-formed note that no known key has signed (signatures from unknown keys only).

    ``unverified`` holds the signatures that were ignored, as
    :class:`signing.note.Signature` objects."""

    def __init__(self, message: str, unverified: tuple[object, ...] = ()) -> None:
        super().__init__(message)
        self.unverified = unverified


class InvalidNoteSignature(BadSignature):
    """A signature line names a known key (name and key ID) but does not verify under it.

    The whole note is rejected (c2sp.org/signed-note "Signatures")."""

    def __init__(self, message: str, name: str = "", key_id: int = 0) -> None:
        super().__init__(message)
        self.name = name
        self.key_id = key_id


class AmbiguousKey(VerificationError):
    """Two different known keys share the name and key ID that a signature line names."""


class MalformedCheckpoint(VerificationError):
    """A note text that is not a c2sp.org/tlog-checkpoint body (origin, size, root hash)."""


class OriginMismatch(VerificationError):
    """A checkpoint comes from another log than the one expected (its origin line differs)."""


class NotEnoughCosignatures(VerificationError):
    """A checkpoint carries valid cosignatures from fewer known witnesses than required."""


class InconsistentCheckpoint(VerificationError):
    """A checkpoint is not consistent with an earlier one: the consistency proof does not
    verify, a proof is sent where none is allowed, or a size-0 tree has a non-empty root."""


class SplitView(InconsistentCheckpoint):
    """Two checkpoints of the same log and size with different root hashes (a forked log)."""


class UnknownLog(VerificationError):
    """A witness does not know the log named by a checkpoint's origin line (HTTP 404)."""


class OldSizeConflict(VerificationError):
    """The old size of an add-checkpoint request is not the witness's latest size for the log
    (HTTP 409). ``latest_size`` is the size of the latest checkpoint the witness cosigned."""

    def __init__(self, message: str, latest_size: int) -> None:
        super().__init__(message)
        self.latest_size = latest_size


class MalformedWitnessRequest(MalformedRequest):
    """An add-checkpoint request body that breaks c2sp.org/tlog-witness syntax (HTTP 400)."""


class WitnessStorageError(SigningError):
    """The witness cannot read or write its state (SQLite error, damaged row)."""
