"""Errors raised by :mod:`ledger`: one root, one leaf per way to fail."""

from __future__ import annotations


class LedgerError(Exception):
    """Root of every error raised by the ``ledger`` package."""


class StorageError(LedgerError):
    """The store cannot be opened safely (durability settings, unreachable server)."""


class ConcurrencyConflict(LedgerError):
    """Another writer appended the same record version first; reload and retry."""


class RecordNotFound(LedgerError):
    """No record with this id exists."""


class UnknownSigner(LedgerError):
    """The signing certificate is not registered in the ledger."""


class SignerNotValid(LedgerError):
    """The signing certificate is expired, not yet valid or untrusted at the event's time."""


class SignerMismatch(LedgerError):
    """The event names an actor who does not own the signing certificate."""


class NotAuthorized(LedgerError):
    """The signer holds no authority for this command."""


class InvalidInput(LedgerError):
    """A command argument is out of range or malformed (score, code, term...)."""


class InvalidScore(InvalidInput):
    """A score outside 0.0–10.0 or with more than one decimal (TT 22/2021 Điều 6, 7)."""


class AlreadyExists(LedgerError):
    """The record or certificate is already registered."""


class IntegrityViolation(LedgerError):
    """A stored event fails a check on read: hash, signature, chain or certificate.

    ``record``, ``version`` and ``check`` name what failed, as ``socai audit`` does.
    """

    def __init__(self, record: str, version: int, check: str, detail: str) -> None:
        super().__init__(f"record {record} version {version}: {check}: {detail}")
        self.record = record
        self.version = version
        self.check = check
        self.detail = detail


class TermClosed(LedgerError):
    """The term is closed: a change needs a correction countersigned by the principal."""


class Incomplete(InvalidInput):
    """Required assessments are missing (TT 22/2021 Điều 6, 7); the message names them."""


class VaultError(LedgerError):
    """The identity vault cannot seal or open personal data (wrong key, tampered ciphertext)."""


class PersonShredded(VaultError):
    """The person's identity key was destroyed (``socai shred``); their identity is gone."""
