"""The signed event envelope, version 1 (byte-exact spec in ``docs/formats.md``).

An event is stored as an envelope: a fixed binary header, the signer's batch
signature with the event's path in the signed batch, and the payload bytes
kept verbatim, exactly as they were hashed.

Event hash (32 bytes)::

    SHA-256( "socai/event/v1" 0x00
             || u32 len(record_id) || record_id
             || u64 version
             || u32 len(topic) || topic (UTF-8)
             || prev (32 bytes)
             || SHA-256(payload) )

Signing is batched: the event hashes of one save are the leaves of an RFC 9162
Merkle tree (leaf = SHA-256(0x00 || event hash)), in chunks of at most
:data:`MAX_BATCH` events. The signer signs, once per chunk::

    "socai/event-batch/v1" 0x00 || u16 batch size || batch root

and every envelope carries that signature plus its own inclusion path, so each
event verifies on its own while one signature serves up to 64 events.

Envelope layout (all integers big-endian)::

    magic     4   b"SCE1"
    alg       1   signing.algorithms.Algorithm
    signer   32   SHA-256 of the signer's certificate (DER)
    prev     32   hash of the record's previous event (zeros for version 1)
    hash     32   event hash
    size      2   batch size n (1..MAX_BATCH)
    index     2   position in the batch (0..n-1)
    plen      1   number of path hashes k
    path   32*k   RFC 9162 inclusion path of the event in its batch
    slen      2   signature length L
    sig       L   signature
    payload  ...  the rest: the event payload, verbatim
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from uuid import UUID

from signing.algorithms import Algorithm
from signing.errors import HashMismatch, MalformedEnvelope, MalformedProof

MAGIC = b"SCE1"
EVENT_DOMAIN = b"socai/event/v1\x00"
BATCH_DOMAIN = b"socai/event-batch/v1\x00"
ZERO_HASH = bytes(32)
#: Largest number of events under one signature. 64 keeps the path at six
#: hashes (192 bytes) while one signature covers the whole chunk.
MAX_BATCH = 64

_HEADER = struct.Struct(">4sB32s32s32sHHB")
_U16 = struct.Struct(">H")
_ALGORITHMS = frozenset(int(a) for a in Algorithm)
_sha256 = hashlib.sha256


def record_id_bytes(record_id: UUID | str) -> bytes:
    """The bytes of a record id as hashed: 16 raw bytes of a UUID, else UTF-8."""
    if isinstance(record_id, UUID):
        return record_id.bytes
    return record_id.encode("utf-8")


def event_hash(record_id: bytes, version: int, topic: str, prev: bytes, payload: bytes) -> bytes:
    """Compute the event hash (domain-separated, length-prefixed)."""
    topic_b = topic.encode("utf-8")
    return _sha256(
        b"".join(
            (
                EVENT_DOMAIN,
                struct.pack(">I", len(record_id)),
                record_id,
                struct.pack(">Q", version),
                struct.pack(">I", len(topic_b)),
                topic_b,
                prev,
                _sha256(payload).digest(),
            )
        )
    ).digest()


def batch_message(size: int, root: bytes) -> bytes:
    """The bytes a signer signs for a batch of ``size`` events with this root."""
    return BATCH_DOMAIN + _U16.pack(size) + root


def _leaf(event_hash_: bytes) -> bytes:
    # RFC 9162 §2.1.1: leaf hash = SHA-256(0x00 || leaf data).
    return _sha256(b"\x00" + event_hash_).digest()


def batch_tree(event_hashes: Sequence[bytes]) -> tuple[bytes, list[list[bytes]]]:
    """Return the RFC 9162 root over ``event_hashes`` and every leaf's inclusion path.

    Built level by level: adjacent nodes are paired and an odd last node is
    carried up unchanged, which yields the same tree as the recursive split at
    the largest power of two in RFC 9162 §2.1.1, in O(n) hashes for all paths.
    """
    level = [_leaf(h) for h in event_hashes]
    n = len(level)
    if n == 1:
        return level[0], [[]]
    if n == 0:
        raise MalformedProof("an empty batch has no tree")
    paths: list[list[bytes]] = [[] for _ in range(n)]
    positions = list(range(n))
    while len(level) > 1:
        width = len(level)
        for leaf, pos in enumerate(positions):
            sibling = pos ^ 1
            if sibling < width:
                paths[leaf].append(level[sibling])
            positions[leaf] = pos >> 1
        # RFC 9162 §2.1.1: node hash = SHA-256(0x01 || left || right).
        nxt = [_sha256(b"\x01" + level[i] + level[i + 1]).digest() for i in range(0, width - 1, 2)]
        if width % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0], paths


def root_from_path(event_hash_: bytes, index: int, size: int, path: Sequence[bytes]) -> bytes:
    """Recompute the batch root from one event hash and its path (RFC 9162 §2.1.3.2)."""
    if not 0 <= index < size:
        raise MalformedProof(f"index {index} outside batch of {size}")
    fn, sn = index, size - 1
    r = _leaf(event_hash_)
    for p in path:
        if len(p) != 32:
            raise MalformedProof("path hash is not 32 bytes")
        if sn == 0:
            raise MalformedProof("path too long")
        if fn & 1 or fn == sn:
            r = _sha256(b"\x01" + p + r).digest()
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = _sha256(b"\x01" + r + p).digest()
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise MalformedProof("path too short")
    return r


@dataclass(frozen=True, slots=True)
class Envelope:
    """A parsed version-1 envelope."""

    algorithm: Algorithm
    #: SHA-256 of the signer's certificate (DER).
    signer: bytes
    #: Hash of the same record's previous event; zeros for the first event.
    prev: bytes
    #: The event hash as stored.
    hash: bytes
    batch_size: int
    batch_index: int
    path: tuple[bytes, ...]
    signature: bytes
    #: The payload bytes exactly as hashed and signed.
    payload: bytes

    def encode(self) -> bytes:
        """Serialise to the stored bytes."""
        return encode(
            self.algorithm,
            self.signer,
            self.prev,
            self.hash,
            self.batch_size,
            self.batch_index,
            self.path,
            self.signature,
            self.payload,
        )

    def batch_root(self) -> bytes:
        """The root of the batch this event was signed in, from its path."""
        return root_from_path(self.hash, self.batch_index, self.batch_size, self.path)

    def signed_message(self) -> bytes:
        """The bytes the signature covers."""
        return batch_message(self.batch_size, self.batch_root())

    def verify_hash(self, record_id: bytes, version: int, topic: str) -> None:
        """Raise :class:`HashMismatch` unless the stored hash matches the fields."""
        if event_hash(record_id, version, topic, self.prev, self.payload) != self.hash:
            raise HashMismatch("event hash does not match record id, version, topic, prev, payload")


def encode(
    algorithm: int,
    signer: bytes,
    prev: bytes,
    hash_: bytes,
    size: int,
    index: int,
    path: Sequence[bytes],
    signature: bytes,
    payload: bytes,
) -> bytes:
    """Serialise envelope fields (see the module docstring for the layout)."""
    return b"".join(
        (
            _HEADER.pack(MAGIC, algorithm, signer, prev, hash_, size, index, len(path)),
            *path,
            _U16.pack(len(signature)),
            signature,
            payload,
        )
    )


def decode(data: bytes) -> Envelope:
    """Parse stored bytes; raise :class:`MalformedEnvelope` on any defect."""
    if len(data) < _HEADER.size + 2:
        raise MalformedEnvelope("envelope too short")
    magic, alg, signer, prev, hash_, size, index, plen = _HEADER.unpack_from(data)
    if magic != MAGIC:
        raise MalformedEnvelope("not a version-1 envelope (bad magic)")
    if alg not in _ALGORITHMS:
        raise MalformedEnvelope(f"unknown signature algorithm {alg}")
    if not 1 <= size <= MAX_BATCH or index >= size:
        raise MalformedEnvelope(f"batch index {index} of {size} out of range")
    pos = _HEADER.size
    end = pos + 32 * plen
    if len(data) < end + 2:
        raise MalformedEnvelope("envelope truncated in path")
    path = tuple(data[i : i + 32] for i in range(pos, end, 32))
    (slen,) = _U16.unpack_from(data, end)
    sig_start = end + 2
    if slen == 0 or len(data) < sig_start + slen:
        raise MalformedEnvelope("envelope truncated in signature")
    return Envelope(
        Algorithm(alg),
        signer,
        prev,
        hash_,
        size,
        index,
        path,
        data[sig_start : sig_start + slen],
        data[sig_start + slen :],
    )


@dataclass(frozen=True, slots=True)
class Unsealed:
    """One event ready to be sealed: its chain link, hash and payload bytes."""

    #: Hash of the record's previous event (zeros for version 1).
    prev: bytes
    #: This event's hash, from :func:`event_hash`.
    hash: bytes
    payload: bytes


def seal(
    items: Sequence[Unsealed],
    algorithm: Algorithm,
    fingerprint: bytes,
    sign: Callable[[bytes], bytes],
    check: Callable[[bytes, bytes], None] | None = None,
) -> list[bytes]:
    """Hash, batch-sign and encode ``items`` with one signer, in order.

    The caller computes each hash with :func:`event_hash`, chaining the
    events of one record inside the batch, before sealing. ``check``, when
    given, is called with each batch message and its signature and raises to
    stop a signature that does not verify from being used.
    """
    out: list[bytes] = []
    for start in range(0, len(items), MAX_BATCH):
        chunk = items[start : start + MAX_BATCH]
        hashes = [i.hash for i in chunk]
        root, paths = batch_tree(hashes)
        n = len(chunk)
        message = batch_message(n, root)
        signature = sign(message)
        if check is not None:
            check(message, signature)
        for k, (item, h, path) in enumerate(zip(chunk, hashes, paths, strict=True)):
            out.append(
                encode(algorithm, fingerprint, item.prev, h, n, k, path, signature, item.payload)
            )
    return out
