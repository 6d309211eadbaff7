"""Log checkpoints (c2sp.org/tlog-checkpoint@v1.0.0) and Ed25519 cosignatures
(c2sp.org/tlog-cosignature, ``cosignature/v1``, signature type 0x04).

A checkpoint is the text of a signed note (:mod:`signing.note`)::

    example.com/behind-the-sofa            origin
    20852163                               tree size, decimal, no leading zeros
    CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=   root hash, base64 (RFC 9162 §2.1.1)
    [extension lines, optional, non-empty]

signed by the log's note key (type 0x01) and cosigned by witnesses. A cosignature is a note
signature whose 72 bytes are an 8-byte big-endian POSIX timestamp followed by an Ed25519
signature over ``cosignature/v1\\ntime <timestamp>\\n`` and the whole checkpoint text.

:func:`require_witnesses` is what a client runs before trusting a checkpoint: the log's own
signature plus valid cosignatures from at least k of the n witnesses it knows.
:func:`verify_checkpoint_consistency` checks that a newer checkpoint extends an older one and
names a split view (same size, other root) as such.
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from signing import merkle
from signing.errors import (
    InconsistentCheckpoint,
    InvalidNoteSignature,
    MalformedCheckpoint,
    MalformedNoteKey,
    MalformedProof,
    NotEnoughCosignatures,
    OriginMismatch,
    RootMismatch,
    SplitView,
    UnverifiedNote,
)
from signing.note import (
    TYPE_COSIGNATURE_V1,
    Note,
    Signature,
    Verifier,
    b64decode_strict,
    encode_vkey,
    is_valid_key_name,
    key_id,
    open_note,
    parse_vkey,
)

__all__ = [
    "COSIGNATURE_SIZE",
    "EMPTY_ROOT",
    "MAX_TIMESTAMP",
    "MAX_TREE_SIZE",
    "Checkpoint",
    "CosignatureSigner",
    "CosignatureVerifier",
    "cosignature_timestamp",
    "cosigned_message",
    "open_checkpoint",
    "parse_decimal",
    "require_witnesses",
    "verify_checkpoint_consistency",
    "verify_cosignature",
]

MAX_TREE_SIZE = 2**64 - 1
"""Largest tree size: sizes are uint64 (RFC 9162 §2.1; c2sp.org/tlog-witness parses them so)."""

MAX_TIMESTAMP = 2**63 - 1
"""Largest cosignature timestamp (c2sp.org/tlog-cosignature "Format": MUST NOT exceed 2^63-1)."""

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""Root hash of the empty tree, SHA-256 of the empty string (RFC 9162 §2.1.1, RFC 6962 §2.1)."""

COSIGNATURE_SIZE = 8 + 64
"""Bytes of an Ed25519 ``timestamped_signature``: u64 timestamp, 64-byte signature."""

_COSIGNATURE_HEADER = b"cosignature/v1\n"
_DECIMAL = re.compile("0|[1-9][0-9]*")
_CONTROL = re.compile("[\x00-\x1f]")


def parse_decimal(text: str) -> int | None:
    """Parse an ASCII decimal with no sign and no leading zeros that fits a uint64.

    ``None`` otherwise. Python's ``int()`` would also take ``+1``, ``1_000``, spaces and
    non-ASCII digits, none of which c2sp.org/tlog-checkpoint "Note text" (line 2) allows.
    """
    if not isinstance(text, str) or len(text) > 20 or not _DECIMAL.fullmatch(text):
        return None
    value = int(text)
    return value if value <= MAX_TREE_SIZE else None


# --------------------------------------------------------------------------- checkpoint body


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint body: what a log asserts about its tree at one size."""

    origin: str
    """The log's identity, the first line (c2sp.org/tlog-checkpoint "Note text" 1)."""
    size: int
    """The number of leaves, 0 to 2^64-1 (line 2)."""
    root: bytes
    """The 32-byte RFC 9162 root hash of the tree of ``size`` leaves (line 3)."""
    extensions: tuple[str, ...] = ()
    """Optional extension lines, opaque and non-empty (line 4 on). Cosignatures cover them
    but witnesses make no statement about them (c2sp.org/tlog-cosignature)."""

    def __post_init__(self) -> None:
        # c2sp.org/tlog-checkpoint "Note text" 1: the origin MUST be non-empty; it is one line
        # of a note, so it holds no newline and no other control character.
        if not isinstance(self.origin, str) or not self.origin:
            raise MalformedCheckpoint("checkpoint origin must be a non-empty string")
        _check_line(self.origin, "origin")
        if not isinstance(self.size, int) or isinstance(self.size, bool):
            raise MalformedCheckpoint("checkpoint size must be an int")
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise MalformedCheckpoint(f"checkpoint size {self.size} is not a uint64")
        if not isinstance(self.root, bytes) or len(self.root) != merkle.HASH_SIZE:
            raise MalformedCheckpoint("checkpoint root must be 32 bytes")
        if not isinstance(self.extensions, tuple):
            raise MalformedCheckpoint("checkpoint extensions must be a tuple of lines")
        for line in self.extensions:
            # c2sp.org/tlog-checkpoint "Note text" 4: extension lines MUST be non-empty.
            if not isinstance(line, str) or not line:
                raise MalformedCheckpoint("checkpoint extension lines must be non-empty")
            _check_line(line, "extension line")

    def to_body(self) -> str:
        """The note text: origin, size, base64 root and extension lines, each ending in LF."""
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode("ascii")]
        return "".join(line + "\n" for line in (*lines, *self.extensions))

    @classmethod
    def parse_body(cls, text: str) -> Checkpoint:
        """Parse a checkpoint body strictly; raise :class:`MalformedCheckpoint`.

        c2sp.org/tlog-checkpoint "Note text": at least three non-empty lines, each ending
        in a newline; a non-empty origin; a decimal size without sign or leading zeros that
        fits a uint64; a base64 (canonical, RFC 4648 §4) 32-byte root hash; then only
        non-empty extension lines.
        """
        if not isinstance(text, str):
            raise MalformedCheckpoint(f"checkpoint body must be str, got {type(text).__name__}")
        if not text.endswith("\n"):
            raise MalformedCheckpoint("checkpoint body does not end in a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise MalformedCheckpoint("checkpoint body has fewer than three lines")
        origin, size_line, root_line, *extensions = lines
        size = parse_decimal(size_line)
        if size is None:
            raise MalformedCheckpoint(
                "checkpoint size is not a decimal uint64 without sign or leading zeros"
            )
        root = b64decode_strict(root_line)
        if root is None or len(root) != merkle.HASH_SIZE:
            raise MalformedCheckpoint("checkpoint root hash is not base64 of 32 bytes")
        return cls(origin, size, root, tuple(extensions))


def _check_line(line: str, what: str) -> None:
    if _CONTROL.search(line):
        raise MalformedCheckpoint(f"checkpoint {what} contains a newline or control character")
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        raise MalformedCheckpoint(f"checkpoint {what} is not valid Unicode") from None


# --------------------------------------------------------------------------- cosignature/v1


def cosigned_message(body: str, timestamp: int) -> bytes:
    """Return the message an Ed25519 cosignature signs (c2sp.org/tlog-cosignature
    "Ed25519 signed message"): ``cosignature/v1``, ``time <timestamp>`` (decimal, no leading
    zeros), each newline-terminated, then the whole checkpoint text including extension lines
    and its final newline, without signature lines. ``body`` must parse as a checkpoint.
    """
    Checkpoint.parse_body(body)
    if not isinstance(timestamp, int) or not 0 <= timestamp <= MAX_TIMESTAMP:
        raise MalformedCheckpoint(f"cosignature timestamp {timestamp!r} is not in [0, 2^63-1]")
    return _COSIGNATURE_HEADER + b"time %d\n" % timestamp + body.encode("utf-8")


def cosignature_timestamp(signature: bytes | Signature) -> int:
    """Return the timestamp of a 72-byte ``timestamped_signature``; raise if malformed."""
    raw = signature.signature if isinstance(signature, Signature) else signature
    if not isinstance(raw, bytes) or len(raw) != COSIGNATURE_SIZE:
        raise InvalidNoteSignature("an Ed25519 cosignature is 72 bytes")
    # c2sp.org/tlog-cosignature "Format": u64 timestamp, big-endian (RFC 8446 §3.3).
    timestamp = int.from_bytes(raw[:8], "big")
    if timestamp > MAX_TIMESTAMP:
        raise InvalidNoteSignature("cosignature timestamp exceeds 2^63-1")
    return timestamp


class CosignatureVerifier:
    """An Ed25519 cosigner (witness) public key, signature type 0x04."""

    __slots__ = ("_key", "_key_id", "_name", "_raw")

    def __init__(self, name: str, public_key: Ed25519PublicKey | bytes) -> None:
        """Bind ``public_key`` to the cosigner ``name``."""
        if not is_valid_key_name(name):
            raise MalformedNoteKey(f"invalid cosigner name {name!r}")
        if isinstance(public_key, Ed25519PublicKey):
            raw = public_key.public_bytes(
                serialization.Encoding.Raw, serialization.PublicFormat.Raw
            )
        elif isinstance(public_key, bytes) and len(public_key) == 32:
            raw = public_key
        else:
            raise MalformedNoteKey("an Ed25519 public key is 32 bytes")
        try:
            self._key = Ed25519PublicKey.from_public_bytes(raw)
        except ValueError:
            raise MalformedNoteKey("not an Ed25519 public key") from None
        self._name = name
        self._raw = raw
        # c2sp.org/tlog-cosignature "Format": SHA-256(<name> || "\n" || 0x04 || key)[:4].
        self._key_id = key_id(name, bytes([TYPE_COSIGNATURE_V1]) + raw)

    @classmethod
    def from_vkey(cls, vkey: str) -> CosignatureVerifier:
        """Parse a type-0x04 vkey (c2sp.org/tlog-cosignature "Format"); raise otherwise.

        Plain Ed25519 (type 0x01) vkeys are refused: the key ID differs per type, and a key
        should not serve both (c2sp.org/signed-note "Verifier keys").
        """
        parsed = parse_vkey(vkey)
        if parsed.type != TYPE_COSIGNATURE_V1:
            raise MalformedNoteKey(
                f"vkey has signature type 0x{parsed.type:02x}, want 0x04 (cosignature/v1)"
            )
        if len(parsed.key) != 32:
            raise MalformedNoteKey(f"cosignature vkey holds {len(parsed.key)} key bytes, want 32")
        return cls(parsed.name, parsed.key)

    @property
    def name(self) -> str:
        """The cosigner's key name."""
        return self._name

    @property
    def key_id(self) -> int:
        """The key ID (type 0x04)."""
        return self._key_id

    @property
    def public_key(self) -> bytes:
        """The 32-byte Ed25519 public key."""
        return self._raw

    @property
    def vkey(self) -> str:
        """This key as a type-0x04 vkey."""
        return encode_vkey(self._name, bytes([TYPE_COSIGNATURE_V1]) + self._raw)

    def verify(self, message: bytes, signature: bytes) -> None:
        """Verify a cosignature over the checkpoint text ``message``; raise if it fails.

        ``signature`` is the 72-byte ``timestamped_signature`` (without the key ID). A text
        that is not a checkpoint cannot carry a valid cosignature.
        """
        timestamp = cosignature_timestamp(signature)
        try:
            signed = cosigned_message(message.decode("utf-8"), timestamp)
            self._key.verify(signature[8:], signed)
        except (UnicodeDecodeError, MalformedCheckpoint, InvalidSignature):
            raise InvalidNoteSignature(
                f"cosignature by {self._name}+{self._key_id:08x} does not verify",
                self._name,
                self._key_id,
            ) from None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CosignatureVerifier):
            return NotImplemented
        return (self._name, self._raw) == (other._name, other._raw)

    def __hash__(self) -> int:
        return hash((CosignatureVerifier, self._name, self._raw))

    def __repr__(self) -> str:
        return f"CosignatureVerifier({self.vkey!r})"


class CosignatureSigner:
    """An Ed25519 cosigner (witness) private key that writes ``cosignature/v1`` signatures.

    Implements :class:`signing.note.Signer`, so :func:`signing.note.signature_lines` turns a
    checkpoint text into the witness's answer lines. ``clock`` returns POSIX seconds.
    """

    __slots__ = ("_clock", "_key", "_verifier")

    def __init__(
        self,
        name: str,
        private_key: Ed25519PrivateKey,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Bind ``private_key`` to the cosigner ``name``."""
        if not isinstance(private_key, Ed25519PrivateKey):
            raise MalformedNoteKey("a cosigner key is an Ed25519 private key")
        self._key = private_key
        self._verifier = CosignatureVerifier(name, private_key.public_key())
        self._clock = clock

    @property
    def name(self) -> str:
        """The cosigner's key name."""
        return self._verifier.name

    @property
    def key_id(self) -> int:
        """The key ID (type 0x04)."""
        return self._verifier.key_id

    @property
    def verifier(self) -> CosignatureVerifier:
        """The matching verifier."""
        return self._verifier

    @property
    def vkey(self) -> str:
        """The matching type-0x04 vkey."""
        return self._verifier.vkey

    @property
    def private_key(self) -> Ed25519PrivateKey:
        """The Ed25519 private key (for storing it encrypted)."""
        return self._key

    def sign_at(self, body: str, timestamp: int) -> bytes:
        """Return the 72-byte ``timestamped_signature`` over ``body`` at ``timestamp``."""
        message = cosigned_message(body, timestamp)
        return timestamp.to_bytes(8, "big") + self._key.sign(message)

    def sign(self, message: bytes) -> bytes:
        """Cosign the checkpoint text ``message`` now (the note :class:`Signer` seam).

        The timestamp is the clock's whole seconds. c2sp.org/tlog-witness "add-checkpoint":
        the timestamp MUST NOT be zero, so a clock at or before the epoch is refused.
        """
        timestamp = int(self._clock())
        if not 0 < timestamp <= MAX_TIMESTAMP:
            raise MalformedCheckpoint(f"clock gives timestamp {timestamp}, not in [1, 2^63-1]")
        try:
            body = message.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedCheckpoint("checkpoint text is not UTF-8") from None
        return self.sign_at(body, timestamp)

    def __repr__(self) -> str:
        return f"CosignatureSigner({self.vkey!r})"


def verify_cosignature(
    verifier: CosignatureVerifier, checkpoint: Checkpoint | str, signature: Signature
) -> int:
    """Verify one cosignature line's signature over ``checkpoint``; return its timestamp.

    Raises :class:`InvalidNoteSignature` when the line names another key or does not verify.
    """
    body = checkpoint.to_body() if isinstance(checkpoint, Checkpoint) else checkpoint
    if (signature.name, signature.key_id) != (verifier.name, verifier.key_id):
        raise InvalidNoteSignature(
            f"signature is by {signature.name}+{signature.key_id:08x}, "
            f"not {verifier.name}+{verifier.key_id:08x}",
            signature.name,
            signature.key_id,
        )
    if not isinstance(body, str):
        raise MalformedCheckpoint("checkpoint body must be str")
    verifier.verify(body.encode("utf-8"), signature.signature)
    return cosignature_timestamp(signature.signature)


# --------------------------------------------------------------------------- clients


def _has_signature_by(note: Note, verifier: Verifier) -> bool:
    return any((s.name, s.key_id) == (verifier.name, verifier.key_id) for s in note.verified)


def open_checkpoint(
    data: bytes,
    log_verifier: Verifier,
    *,
    origin: str | None = None,
    others: Iterable[Verifier] = (),
) -> tuple[Checkpoint, Note]:
    """Open a checkpoint note that the log signed; return the checkpoint and the note.

    Steps: (1) open the note with the log key and ``others`` (:func:`signing.note.open_note`
    rules); (2) require the log's own signature (:class:`UnverifiedNote` otherwise); (3) only
    then parse the text as a checkpoint (:class:`MalformedCheckpoint`); (4) require the origin
    line to be ``origin``, by default the log key's name, which SHOULD match it
    (c2sp.org/tlog-checkpoint "Signatures") (:class:`OriginMismatch`).
    """
    note = open_note(data, [log_verifier, *others])
    if not _has_signature_by(note, log_verifier):
        raise UnverifiedNote(
            f"checkpoint is not signed by the log key {log_verifier.name}", note.unverified
        )
    checkpoint = Checkpoint.parse_body(note.text)
    expected = log_verifier.name if origin is None else origin
    if checkpoint.origin != expected:
        raise OriginMismatch(f"checkpoint origin is {checkpoint.origin!r}, want {expected!r}")
    return checkpoint, note


def require_witnesses(
    note_bytes: bytes,
    log_verifier: Verifier,
    witness_verifiers: Sequence[Verifier],
    k: int,
    *,
    origin: str | None = None,
) -> Checkpoint:
    """Return the checkpoint if the log signed it and at least ``k`` known witnesses cosigned it.

    Runs :func:`open_checkpoint` (with the witnesses as further known keys, so a failing
    cosignature by a known witness rejects the note, c2sp.org/signed-note "Signatures"), then
    counts the distinct witness keys with a verified cosignature. Raises
    :class:`NotEnoughCosignatures` below ``k``, and the errors of :func:`open_checkpoint`.
    ``k`` must be between 0 and the number of distinct witness keys (``ValueError``).
    """
    log_key = (log_verifier.name, log_verifier.key_id)
    witnesses = {(w.name, w.key_id) for w in witness_verifiers} - {log_key}
    if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k <= len(witnesses):
        raise ValueError(f"k must be between 0 and {len(witnesses)} witnesses, got {k!r}")
    checkpoint, note = open_checkpoint(
        note_bytes, log_verifier, origin=origin, others=witness_verifiers
    )
    cosigned = {(s.name, s.key_id) for s in note.verified} & witnesses
    if len(cosigned) < k:
        raise NotEnoughCosignatures(
            f"checkpoint of {checkpoint.origin} at size {checkpoint.size} has "
            f"{len(cosigned)} valid witness cosignatures, {k} required"
        )
    return checkpoint


def verify_checkpoint_consistency(old: Checkpoint, new: Checkpoint, proof: list[bytes]) -> None:
    """Check that checkpoint ``new`` extends checkpoint ``old`` of the same log.

    Raises :class:`OriginMismatch` for different logs; :class:`InconsistentCheckpoint` when a
    size-0 checkpoint has another root than SHA-256("") (c2sp.org/tlog-witness), when ``new``
    is smaller, or when the RFC 9162 §2.1.4.2 consistency proof fails (for ``old.size == 0``
    the proof must be empty); :class:`SplitView` for equal sizes with different roots.
    """
    if old.origin != new.origin:
        raise OriginMismatch(f"checkpoints of different logs: {old.origin!r}, {new.origin!r}")
    for c in (old, new):
        if c.size == 0 and c.root != EMPTY_ROOT:
            raise InconsistentCheckpoint("a checkpoint of size 0 must have the empty tree's root")
    if new.size < old.size:
        raise InconsistentCheckpoint(f"size {new.size} is smaller than the known {old.size}")
    if new.size == old.size and new.root != old.root:
        raise SplitView(f"two roots for {new.origin} at size {new.size}: the log forked")
    try:
        merkle.verify_consistency(old.size, new.size, proof, old.root, new.root)
    except (MalformedProof, RootMismatch) as e:
        raise InconsistentCheckpoint(
            f"no consistency from size {old.size} to {new.size}: {e}"
        ) from e
