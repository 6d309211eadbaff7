"""Signed notes (c2sp.org/signed-note@v1.0.0) and Ed25519 note keys.

A note is UTF-8 text ending in a newline, a blank line, and one or more signature lines
``— <key name> base64(key ID || signature)``::

    If you think cryptography is the answer to your problem,
    then you don't know what your problem is.

    — PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqf...

:func:`open_note` checks every rule of the specification and verifies the signatures of the
known keys; :func:`parse_note` checks the syntax only (a witness needs the origin line to find
the keys). :func:`sign_note` writes notes. Keys are identified by (name, key ID), key ID =
SHA-256(name || 0x0A || signature type || public key)[:4]; verifier keys travel as *vkeys*
``<name>+<hex key ID>+base64(type || public key)``. :class:`NoteSigner` and
:class:`NoteVerifier` are Ed25519 keys of signature type 0x01; the timestamped cosignature keys
of type 0x04 live in :mod:`signing.checkpoint`. Signer keys (*skeys*) use the Go encoding of
golang.org/x/mod/sumdb/note, ``PRIVATE+KEY+<name>+<hex key ID>+base64(0x01 || 32-byte seed)``,
which C2SP does not specify; keep them secret.

Where the specification leaves a choice, this module takes the strict one and says so at the
line: base64 must be canonical, hex key IDs lowercase, key names free of control characters,
and every signature by a known key is verified, also a repeated one.

Everything raises a :class:`~signing.errors.SigningError`: :class:`MalformedNote`,
:class:`UnverifiedNote`, :class:`InvalidNoteSignature`, :class:`AmbiguousKey` (all
:class:`~signing.errors.VerificationError`) for notes, :class:`MalformedNoteKey` for key strings.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol, runtime_checkable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from signing.errors import (
    AmbiguousKey,
    InvalidNoteSignature,
    MalformedNote,
    MalformedNoteKey,
    UnverifiedNote,
    VerificationError,
)

__all__ = [
    "MAX_SIGNATURES",
    "SIGNATURE_PREFIX",
    "TYPE_COSIGNATURE_V1",
    "TYPE_ED25519",
    "Note",
    "NoteSigner",
    "NoteVerifier",
    "ParsedNote",
    "Signature",
    "Signer",
    "VKey",
    "Verifier",
    "add_signature_lines",
    "b64decode_strict",
    "check_note_text",
    "encode_vkey",
    "format_note",
    "is_valid_key_name",
    "key_id",
    "new_signing_key",
    "open_note",
    "parse_note",
    "parse_vkey",
    "sign_note",
    "signature_lines",
]

MAX_SIGNATURES = 100
"""Most signature lines a note may carry (c2sp.org/signed-note "Format": verifiers SHOULD
limit the count and MUST accept at least 16; 100 is the limit of golang.org/x/mod/sumdb/note)."""

TYPE_ED25519 = 0x01
"""Signature type of plain Ed25519 note signatures (c2sp.org/signed-note "Signature types")."""

TYPE_COSIGNATURE_V1 = 0x04
"""Signature type of timestamped Ed25519 checkpoint cosignatures (c2sp.org/tlog-cosignature)."""

SIGNATURE_PREFIX = "— "
"""Start of every signature line: EM DASH (U+2014) and a space (c2sp.org/signed-note "Format")."""

_SKEY_PREFIX = "PRIVATE+KEY+"
_ED25519_KEY_SIZE = 32

# The Unicode White_Space property (PropList.txt), which Go's unicode.IsSpace implements: key
# names MUST NOT contain "any Unicode spaces" (c2sp.org/signed-note "Format"). Python's
# str.isspace() differs slightly (it adds U+001C..U+001F), so the set is spelt out.
_WHITE_SPACE = frozenset(
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
# c2sp.org/signed-note "Format": no ASCII control characters (below U+0020) other than newline.
_FORBIDDEN_CONTROL = re.compile("[\x00-\x09\x0b-\x1f]")
_BASE64 = re.compile("[A-Za-z0-9+/]*={0,2}")
_HEX_KEY_ID = re.compile("[0-9a-f]{8}")


# --------------------------------------------------------------------------- keys and names


def is_valid_key_name(name: object) -> bool:
    """Tell whether ``name`` may name a note key.

    c2sp.org/signed-note "Format": non-empty, no Unicode spaces, no plus (U+002B). Also
    refused here: text that is not valid UTF-8 (lone surrogates) and ASCII control characters,
    which no note may contain, so a key so named could never sign a valid note.
    """
    if not isinstance(name, str) or not name or "+" in name:
        return False
    if any(ch in _WHITE_SPACE for ch in name) or _FORBIDDEN_CONTROL.search(name):
        return False
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def key_id(name: str, typed_public_key: bytes) -> int:
    """Return SHA-256(name || 0x0A || type || public key)[:4] as a big-endian uint32.

    ``typed_public_key`` is the signature type byte followed by the public key
    (c2sp.org/signed-note "Signatures", the RECOMMENDED key ID; MUST for Ed25519 type 0x01 and
    for cosignatures, type 0x04, c2sp.org/tlog-cosignature "Format").
    """
    digest = hashlib.sha256(name.encode("utf-8") + b"\n" + typed_public_key).digest()
    return int.from_bytes(digest[:4], "big")


def b64decode_strict(text: str) -> bytes | None:
    """Decode standard, padded base64 (RFC 4648 §4); ``None`` unless ``text`` is canonical.

    Canonical means what an encoder writes: only the alphabet and padding, a length that is a
    multiple of four, and zero padding bits. Refusing other spellings of the same bytes keeps
    signatures and hashes from having two encodings (stricter than Go's decoder, which
    accepts non-zero padding bits).
    """
    if not isinstance(text, str) or len(text) % 4 or not _BASE64.fullmatch(text):
        return None
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    if base64.b64encode(raw).decode("ascii") != text:
        return None
    return raw


class VKey(NamedTuple):
    """A parsed verifier key string (c2sp.org/signed-note "Verifier keys")."""

    name: str
    """The key name."""
    key_id: int
    """The key ID, checked against ``name`` and ``typed_key``."""
    type: int
    """The signature type byte."""
    key: bytes
    """The public key material, without the type byte."""


def parse_vkey(vkey: str) -> VKey:
    """Parse ``<name>+<hex key ID>+base64(type || public key)`` of any signature type.

    Checks the syntax and that the key ID is SHA-256(name || 0x0A || type || key)[:4] (true of
    every type this package knows; type 0x02 computes it otherwise and is refused). Raises
    :class:`MalformedNoteKey`.
    """
    if not isinstance(vkey, str):
        raise MalformedNoteKey(f"a vkey is a string, got {type(vkey).__name__}")
    # The base64 part may itself contain "+", so split on the first two only.
    name, _, rest = vkey.partition("+")
    id_hex, _, key64 = rest.partition("+")
    if not is_valid_key_name(name):
        raise MalformedNoteKey("vkey has no valid key name")
    # The hex encoding is fixed length lowercase (c2sp.org/signed-note "Conventions").
    if not _HEX_KEY_ID.fullmatch(id_hex):
        raise MalformedNoteKey("vkey key ID is not 8 lowercase hex digits")
    typed = b64decode_strict(key64)
    if not typed:
        raise MalformedNoteKey("vkey key is not canonical base64 of a type byte and a key")
    wanted = int(id_hex, 16)
    if key_id(name, typed) != wanted:
        raise MalformedNoteKey(f"vkey key ID {id_hex} does not match its name and key")
    return VKey(name, wanted, typed[0], typed[1:])


def encode_vkey(name: str, typed_public_key: bytes) -> str:
    """Return the vkey ``<name>+<hex key ID>+base64(typed_public_key)``."""
    if not is_valid_key_name(name):
        raise MalformedNoteKey(f"invalid key name {name!r}")
    if not typed_public_key:
        raise MalformedNoteKey("empty public key")
    kid = key_id(name, typed_public_key)
    return f"{name}+{kid:08x}+{base64.b64encode(typed_public_key).decode('ascii')}"


@runtime_checkable
class Verifier(Protocol):
    """A known public key that verifies note signatures of one (name, key ID)."""

    @property
    def name(self) -> str:
        """The key name."""
        ...

    @property
    def key_id(self) -> int:
        """The uint32 key ID."""
        ...

    def verify(self, message: bytes, signature: bytes) -> None:
        """Check ``signature`` (without the 4-byte key ID) over ``message``.

        Raises a :class:`~signing.errors.VerificationError` when it does not verify.
        """
        ...


@runtime_checkable
class Signer(Protocol):
    """A private key that signs note texts under one (name, key ID)."""

    @property
    def name(self) -> str:
        """The key name."""
        ...

    @property
    def key_id(self) -> int:
        """The uint32 key ID."""
        ...

    def sign(self, message: bytes) -> bytes:
        """Return the signature of ``message``, without the 4-byte key ID."""
        ...


class NoteVerifier:
    """An Ed25519 note verifier key, signature type 0x01 (c2sp.org/signed-note "Ed25519")."""

    __slots__ = ("_key", "_key_id", "_name", "_raw")

    def __init__(self, name: str, public_key: Ed25519PublicKey | bytes) -> None:
        """Bind ``public_key`` (32 bytes or a key object) to ``name``."""
        if not is_valid_key_name(name):
            raise MalformedNoteKey(f"invalid key name {name!r}")
        if isinstance(public_key, Ed25519PublicKey):
            raw = public_key.public_bytes(
                serialization.Encoding.Raw, serialization.PublicFormat.Raw
            )
        elif isinstance(public_key, bytes) and len(public_key) == _ED25519_KEY_SIZE:
            raw = public_key
        else:
            raise MalformedNoteKey("an Ed25519 public key is 32 bytes")
        try:
            self._key = Ed25519PublicKey.from_public_bytes(raw)
        except ValueError:
            raise MalformedNoteKey("not an Ed25519 public key") from None
        self._name = name
        self._raw = raw
        # c2sp.org/signed-note "Ed25519 signatures": SHA-256(name || 0x0A || 0x01 || key)[:4].
        self._key_id = key_id(name, bytes([TYPE_ED25519]) + raw)

    @classmethod
    def from_vkey(cls, vkey: str) -> NoteVerifier:
        """Parse an Ed25519 (type 0x01) vkey; raise :class:`MalformedNoteKey` otherwise."""
        parsed = parse_vkey(vkey)
        if parsed.type != TYPE_ED25519:
            raise MalformedNoteKey(
                f"vkey has signature type 0x{parsed.type:02x}, want 0x01 (Ed25519)"
            )
        if len(parsed.key) != _ED25519_KEY_SIZE:
            raise MalformedNoteKey(f"Ed25519 vkey holds {len(parsed.key)} key bytes, want 32")
        return cls(parsed.name, parsed.key)

    @property
    def name(self) -> str:
        """The key name."""
        return self._name

    @property
    def key_id(self) -> int:
        """The key ID."""
        return self._key_id

    @property
    def public_key(self) -> bytes:
        """The 32-byte Ed25519 public key (RFC 8032 encoding)."""
        return self._raw

    @property
    def vkey(self) -> str:
        """This key as a vkey string."""
        return encode_vkey(self._name, bytes([TYPE_ED25519]) + self._raw)

    def verify(self, message: bytes, signature: bytes) -> None:
        """Check an Ed25519 signature (RFC 8032) over ``message``; raise if it fails."""
        try:
            self._key.verify(signature, message)
        except InvalidSignature:
            raise InvalidNoteSignature(
                f"signature by {self._name}+{self._key_id:08x} does not verify",
                self._name,
                self._key_id,
            ) from None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NoteVerifier):
            return NotImplemented
        return (self._name, self._raw) == (other._name, other._raw)

    def __hash__(self) -> int:
        return hash((NoteVerifier, self._name, self._raw))

    def __repr__(self) -> str:
        return f"NoteVerifier({self.vkey!r})"


class NoteSigner:
    """An Ed25519 note signing key, signature type 0x01."""

    __slots__ = ("_key", "_verifier")

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        """Bind ``private_key`` to ``name``."""
        if not isinstance(private_key, Ed25519PrivateKey):
            raise MalformedNoteKey("a note signing key is an Ed25519 private key")
        self._key = private_key
        self._verifier = NoteVerifier(name, private_key.public_key())

    @classmethod
    def from_skey(cls, skey: str) -> NoteSigner:
        """Parse ``PRIVATE+KEY+<name>+<hex key ID>+base64(0x01 || seed)`` (Go's encoding).

        Raises :class:`MalformedNoteKey` for bad syntax, another type, or a key ID that does
        not match the name and the public key derived from the seed.
        """
        if not isinstance(skey, str) or not skey.startswith(_SKEY_PREFIX):
            raise MalformedNoteKey("an skey starts with PRIVATE+KEY+")
        name, _, rest = skey[len(_SKEY_PREFIX) :].partition("+")
        id_hex, _, key64 = rest.partition("+")
        if not is_valid_key_name(name) or not _HEX_KEY_ID.fullmatch(id_hex):
            raise MalformedNoteKey("skey has no valid name or key ID")
        typed = b64decode_strict(key64)
        if not typed or typed[0] != TYPE_ED25519 or len(typed) != 1 + _ED25519_KEY_SIZE:
            raise MalformedNoteKey("skey key is not base64 of 0x01 and a 32-byte seed")
        signer = cls(name, Ed25519PrivateKey.from_private_bytes(typed[1:]))
        if signer.key_id != int(id_hex, 16):
            raise MalformedNoteKey(f"skey key ID {id_hex} does not match its name and key")
        return signer

    @property
    def name(self) -> str:
        """The key name."""
        return self._verifier.name

    @property
    def key_id(self) -> int:
        """The key ID."""
        return self._verifier.key_id

    @property
    def verifier(self) -> NoteVerifier:
        """The matching verifier."""
        return self._verifier

    @property
    def vkey(self) -> str:
        """The matching vkey string."""
        return self._verifier.vkey

    @property
    def skey(self) -> str:
        """This key as a Go-encoded skey string. Secret."""
        seed = self._key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        typed = base64.b64encode(bytes([TYPE_ED25519]) + seed).decode("ascii")
        return f"{_SKEY_PREFIX}{self.name}+{self.key_id:08x}+{typed}"

    @property
    def private_key(self) -> Ed25519PrivateKey:
        """The Ed25519 private key (for storing it encrypted)."""
        return self._key

    def sign(self, message: bytes) -> bytes:
        """Return the 64-byte Ed25519 signature of ``message``."""
        return self._key.sign(message)

    def __repr__(self) -> str:
        return f"NoteSigner({self.vkey!r})"


def new_signing_key(name: str) -> tuple[str, str]:
    """Generate an Ed25519 note key for ``name``; return ``(skey, vkey)`` (Go encodings)."""
    signer = NoteSigner(name, Ed25519PrivateKey.generate())
    return signer.skey, signer.vkey


# --------------------------------------------------------------------------- notes


@dataclass(frozen=True)
class Signature:
    """One signature line of a note, verified or not."""

    name: str
    """The key name."""
    key_id: int
    """The uint32 key ID (the first four bytes of the encoded signature)."""
    signature: bytes
    """The signature bytes after the key ID."""

    @property
    def encoded(self) -> str:
        """base64(key ID || signature), as written in the line."""
        return base64.b64encode(self.key_id.to_bytes(4, "big") + self.signature).decode("ascii")

    def line(self) -> str:
        """The signature line ``— <name> <base64>\\n``."""
        return f"{SIGNATURE_PREFIX}{self.name} {self.encoded}\n"


class ParsedNote(NamedTuple):
    """A note that is well formed, before any signature is checked."""

    text: str
    """The note text, ending in a newline (without the blank separator line)."""
    signatures: tuple[Signature, ...]
    """Every signature line, in order."""


class Note(NamedTuple):
    """An opened note: its text and signatures (unpacks as ``text, verified, unverified``)."""

    text: str
    """The note text, ending in a newline."""
    verified: tuple[Signature, ...]
    """Verified signatures, one per known key, in order of appearance."""
    unverified: tuple[Signature, ...]
    """Signatures by unknown keys, ignored; identical lines listed once."""


def check_note_text(text: str) -> bytes:
    """Return ``text`` as UTF-8 if it can be the text of a note; raise :class:`MalformedNote`.

    c2sp.org/signed-note "Format": the text ends in a newline, and the whole note is valid
    UTF-8 with no ASCII control character other than newline (so no CR: CRLF is refused).
    """
    if not isinstance(text, str):
        raise MalformedNote(f"note text must be str, got {type(text).__name__}")
    try:
        raw = text.encode("utf-8")
    except UnicodeEncodeError:
        raise MalformedNote("note text is not valid Unicode (lone surrogate)") from None
    if not text.endswith("\n"):
        raise MalformedNote("note text does not end in a newline")
    if _FORBIDDEN_CONTROL.search(text):
        raise MalformedNote("note text contains a control character other than newline")
    return raw


def _parse_signature_line(line: str) -> Signature:
    """Parse ``— <key name> base64(key ID || signature)`` (c2sp.org/signed-note "Signatures")."""
    if not line.startswith(SIGNATURE_PREFIX):
        raise MalformedNote("signature line does not start with an em dash and a space")
    name, sep, b64 = line[len(SIGNATURE_PREFIX) :].partition(" ")
    if not sep or not is_valid_key_name(name):
        raise MalformedNote("signature line has no valid key name")
    raw = b64decode_strict(b64)
    if raw is None:
        raise MalformedNote("signature is not canonical base64")
    # c2sp.org/signed-note "Format": base64 of 4+n bytes; n > 0, as in Go (len(sig) < 5).
    if len(raw) < 5:
        raise MalformedNote("signature shorter than a key ID and one byte")
    return Signature(name, int.from_bytes(raw[:4], "big"), raw[4:])


def parse_note(data: bytes) -> ParsedNote:
    """Check the syntax of a signed note and split it; verify nothing.

    The caller MUST NOT act on the text before :func:`open_note` (or its own verification)
    succeeds (c2sp.org/signed-note: "The text MUST be ignored unless the note is signed by a
    trusted key"). Raises :class:`MalformedNote`.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise MalformedNote(f"a note is bytes, got {type(data).__name__}")
    try:
        note = bytes(data).decode("utf-8")  # Strict: refuses overlongs and surrogates.
    except UnicodeDecodeError:
        raise MalformedNote("note is not valid UTF-8") from None
    if _FORBIDDEN_CONTROL.search(note):
        raise MalformedNote("note contains a control character other than newline")
    # c2sp.org/signed-note "Format": the text is separated from the signatures by the last
    # empty line; it ends in a newline, which it keeps.
    split = note.rfind("\n\n")
    if split < 0:
        raise MalformedNote("note has no blank line before its signatures")
    text, block = note[: split + 1], note[split + 2 :]
    if not block or not block.endswith("\n"):
        raise MalformedNote("note has no signature lines, or they do not end in a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise MalformedNote(f"note has {len(lines)} signatures, more than {MAX_SIGNATURES}")
    return ParsedNote(text, tuple(_parse_signature_line(line) for line in lines))


def open_note(data: bytes, known: Iterable[Verifier]) -> Note:
    """Parse a signed note and verify the signatures of the ``known`` keys.

    c2sp.org/signed-note "Signatures": signatures whose (name, key ID) is unknown are ignored,
    even when the name or the ID alone matches a known key; every signature of a known key is
    verified, and one that fails rejects the whole note (:class:`InvalidNoteSignature`; the
    SHOULD is taken, also for a repeated signature, which golang.org/x/mod/sumdb/note skips);
    without a verified signature the note is rejected (:class:`UnverifiedNote`). Two different
    known keys with the signature's name and key ID raise :class:`AmbiguousKey`. Syntax errors
    raise :class:`MalformedNote`.
    """
    parsed = parse_note(data)
    message = parsed.text.encode("utf-8")
    index: dict[tuple[str, int], list[Verifier]] = {}
    for v in known:
        candidates = index.setdefault((v.name, v.key_id), [])
        if v not in candidates:
            candidates.append(v)

    verified: list[Signature] = []
    unverified: list[Signature] = []
    seen_keys: set[tuple[str, int]] = set()
    for sig in parsed.signatures:
        key = (sig.name, sig.key_id)
        matches = index.get(key, [])
        if not matches:
            if sig not in unverified:
                unverified.append(sig)
            continue
        if len(matches) > 1:
            raise AmbiguousKey(f"more than one known key is {sig.name}+{sig.key_id:08x}")
        try:
            matches[0].verify(message, sig.signature)
        except VerificationError as e:
            raise InvalidNoteSignature(
                f"signature by known key {sig.name}+{sig.key_id:08x} does not verify",
                sig.name,
                sig.key_id,
            ) from e
        if key not in seen_keys:
            seen_keys.add(key)
            verified.append(sig)
    if not verified:
        raise UnverifiedNote("note has no signature from a known key", tuple(unverified))
    return Note(parsed.text, tuple(verified), tuple(unverified))


def signature_lines(text: str, signers: Sequence[Signer]) -> bytes:
    """Sign ``text`` with each signer; return only the signature lines."""
    message = check_note_text(text)
    if not signers:
        raise MalformedNote("a note needs at least one signature")
    if len(signers) > MAX_SIGNATURES:
        raise MalformedNote(f"more than {MAX_SIGNATURES} signers")
    out: list[str] = []
    for signer in signers:
        if not is_valid_key_name(signer.name):
            raise MalformedNoteKey(f"signer has an invalid key name {signer.name!r}")
        signature = signer.sign(message)
        if not signature:
            raise MalformedNoteKey(f"signer {signer.name} returned an empty signature")
        out.append(Signature(signer.name, signer.key_id, signature).line())
    return "".join(out).encode("utf-8")


def sign_note(text: str, signers: Sequence[Signer]) -> bytes:
    """Return the signed note: ``text``, a blank line, one signature line per signer."""
    return check_note_text(text) + b"\n" + signature_lines(text, signers)


def format_note(text: str, signatures: Iterable[Signature]) -> bytes:
    """Write a note from ``text`` and existing signatures (checked by a round trip)."""
    lines = "".join(sig.line() for sig in signatures)
    data = check_note_text(text) + b"\n" + lines.encode("utf-8")
    parse_note(data)
    return data


def add_signature_lines(note: bytes, lines: bytes) -> bytes:
    """Append signature ``lines`` (such as a witness's answer) to a signed ``note``.

    c2sp.org/tlog-witness "add-checkpoint": a client MAY concatenate the response to the
    checkpoint and open the result with the witness keys it trusts. Both parts are checked
    for syntax; verification is left to :func:`open_note`. Raises :class:`MalformedNote`.
    """
    parse_note(note)
    if not isinstance(lines, bytes) or not lines.endswith(b"\n"):
        raise MalformedNote("signature lines must be bytes ending in a newline")
    try:
        decoded = lines.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedNote("signature lines are not valid UTF-8") from None
    if _FORBIDDEN_CONTROL.search(decoded):
        raise MalformedNote("signature lines contain a control character other than newline")
    # Each line must parse on its own: an empty line would move the text/signature boundary.
    for line in decoded[:-1].split("\n"):
        _parse_signature_line(line)
    joined = bytes(note) + lines
    parse_note(joined)
    return joined
