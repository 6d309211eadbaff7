"""A transparency-log witness: the c2sp.org/tlog-witness ``add-checkpoint`` state machine.

A witness knows logs by origin, with their note keys. A log sends it::

    old 20852014                                   the size the log thinks the witness has
    PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=   0..63 consistency proof lines, base64
    ...
                                                   an empty line
    example.com/behind-the-sofa                    the new checkpoint, a signed note
    20852163
    CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=

    — example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/...

and gets back the witness's ``cosignature/v1`` line(s), after the witness has checked the
checkpoint against the latest one it cosigned for that log and stored the new one.
:class:`Witness` does the checks; each refusal is an exception whose HTTP status the protocol
fixes (see :data:`HTTP_STATUS`). Storage is a seam, :class:`WitnessStorage`: an in-memory
store for tests and :class:`WitnessStore` on SQLite (WAL, ``synchronous=FULL``), where the
latest (size, root) per log only moves forward, by compare-and-swap inside one
``BEGIN IMMEDIATE`` transaction, so concurrent requests (threads or processes) can never roll
a log back (c2sp.org/tlog-witness "add-checkpoint", the race at its end).

The rules follow c2sp.org/tlog-witness as of its main branch after v1.0.0 (commit 95978ca,
"clarify size zero and size match handling"): a split view (same size, different root) and a
size-0 checkpoint with a non-empty root are 422, not 409 as v1.0.0 had it.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, Protocol

from signing.checkpoint import (
    EMPTY_ROOT,
    Checkpoint,
    CosignatureSigner,
    parse_decimal,
    verify_checkpoint_consistency,
)
from signing.errors import (
    AmbiguousKey,
    InconsistentCheckpoint,
    InvalidNoteSignature,
    MalformedCheckpoint,
    MalformedNote,
    MalformedWitnessRequest,
    OldSizeConflict,
    SigningError,
    UnknownLog,
    UnverifiedNote,
    WitnessStorageError,
)
from signing.merkle import HASH_SIZE
from signing.note import (
    Verifier,
    b64decode_strict,
    format_note,
    open_note,
    parse_note,
    signature_lines,
)

__all__ = [
    "EMPTY_STATE",
    "HTTP_STATUS",
    "MAX_PROOF_LINES",
    "AddCheckpointRequest",
    "MemoryWitnessStore",
    "TreeState",
    "Witness",
    "WitnessStorage",
    "WitnessStore",
    "http_status",
    "origin_hash",
    "parse_size_body",
]

_log = logging.getLogger(__name__)

MAX_PROOF_LINES = 63
"""Most consistency proof lines a request may carry (c2sp.org/tlog-witness "add-checkpoint")."""

HTTP_STATUS: tuple[tuple[type[SigningError], int], ...] = (
    (UnknownLog, 404),  # The checkpoint origin is unknown.
    (UnverifiedNote, 403),  # No signature from a trusted key for the origin.
    (InvalidNoteSignature, 403),  # A trusted key's signature line fails to verify.
    (AmbiguousKey, 403),  # Two configured keys share a name and ID: nothing can be trusted.
    (OldSizeConflict, 409),  # Old size is not the latest cosigned size; body has that size.
    (InconsistentCheckpoint, 422),  # Bad proof, split view, bad size-0 root, proof for old 0.
    (MalformedWitnessRequest, 400),  # Request syntax, or old size above the checkpoint size.
    (MalformedNote, 400),
    (MalformedCheckpoint, 400),
    (WitnessStorageError, 503),
)
"""Exception class to HTTP status, most specific first (c2sp.org/tlog-witness "add-checkpoint")."""

_OLD_LINE = re.compile("old (0|[1-9][0-9]*)")


def http_status(exc: BaseException) -> int:
    """The HTTP status for an exception raised by :meth:`Witness.add_checkpoint` (500 if none)."""
    for cls, status in HTTP_STATUS:
        if isinstance(exc, cls):
            return status
    return 500


def origin_hash(origin: str) -> str:
    """Lowercase hex SHA-256 of the origin, the monitoring path segment (c2sp.org/tlog-witness
    "Monitor Retrieval Mechanism")."""
    return hashlib.sha256(origin.encode("utf-8")).hexdigest()


def parse_size_body(body: bytes) -> int:
    """Parse a 409 ``text/x.tlog.size`` body: a decimal size and a newline (for clients).

    Raises :class:`MalformedWitnessRequest` when it is anything else.
    """
    if not isinstance(body, bytes) or not body.endswith(b"\n"):
        raise MalformedWitnessRequest("size body must be a decimal and a newline")
    try:
        size = parse_decimal(body[:-1].decode("ascii"))
    except UnicodeDecodeError:
        size = None
    if size is None:
        raise MalformedWitnessRequest("size body is not a decimal without leading zeros")
    return size


# --------------------------------------------------------------------------- request


@dataclass(frozen=True)
class AddCheckpointRequest:
    """The body of an add-checkpoint request (c2sp.org/tlog-witness "add-checkpoint")."""

    old_size: int
    """The size of the previous checkpoint the client believes the witness holds."""
    proof: tuple[bytes, ...]
    """The RFC 9162 consistency proof from ``old_size`` to the checkpoint's size."""
    checkpoint: bytes
    """The signed checkpoint note."""

    def to_bytes(self) -> bytes:
        """Encode the request body (what a log POSTs)."""
        if len(self.proof) > MAX_PROOF_LINES:
            raise MalformedWitnessRequest(f"more than {MAX_PROOF_LINES} proof lines")
        lines = [
            f"old {self.old_size}\n",
            *(base64.b64encode(h).decode() + "\n" for h in self.proof),
        ]
        return "".join(lines).encode("ascii") + b"\n" + self.checkpoint

    @classmethod
    def parse(cls, body: bytes) -> AddCheckpointRequest:
        """Parse a request body strictly; raise :class:`MalformedWitnessRequest` (400).

        c2sp.org/tlog-witness "add-checkpoint": an old size line ``old <decimal, no leading
        zeros>``, zero to 63 proof lines each one base64 hash, an empty line, the checkpoint;
        every line ends in a newline. The note itself is checked later.
        """
        if not isinstance(body, bytes | bytearray):
            raise MalformedWitnessRequest("request body must be bytes")
        body = bytes(body)
        end = body.find(b"\n\n")  # The header lines are non-empty: the first blank line ends it.
        if end < 0:
            raise MalformedWitnessRequest("request has no empty line before the checkpoint")
        try:
            header = body[:end].decode("ascii").split("\n")
        except UnicodeDecodeError:
            raise MalformedWitnessRequest("request header is not ASCII") from None
        match = _OLD_LINE.fullmatch(header[0])
        old_size = parse_decimal(match.group(1)) if match else None
        if old_size is None:
            raise MalformedWitnessRequest("first line is not 'old <size>' (decimal uint64)")
        if len(header) - 1 > MAX_PROOF_LINES:
            raise MalformedWitnessRequest(f"more than {MAX_PROOF_LINES} consistency proof lines")
        proof: list[bytes] = []
        for line in header[1:]:
            h = b64decode_strict(line)
            if h is None or len(h) != HASH_SIZE:
                raise MalformedWitnessRequest("a consistency proof line is not base64 of 32 bytes")
            proof.append(h)
        checkpoint = body[end + 2 :]
        if not checkpoint:
            raise MalformedWitnessRequest("request has no checkpoint")
        return cls(old_size, tuple(proof), checkpoint)


# --------------------------------------------------------------------------- storage


class TreeState(NamedTuple):
    """The latest tree a witness cosigned for one log."""

    size: int
    """Tree size."""
    root: bytes
    """32-byte root hash."""


EMPTY_STATE = TreeState(0, EMPTY_ROOT)
"""The state of a log the witness never cosigned: the empty tree (old size 0)."""


class WitnessStorage(Protocol):
    """Where a witness keeps the latest cosigned tree of each log. Must be safe to share
    between threads; :meth:`swap` must be atomic against every other writer."""

    def latest(self, origin: str) -> TreeState | None:
        """The latest cosigned state, or ``None`` if the witness never cosigned the log."""
        ...

    def latest_note(self, origin: str) -> bytes | None:
        """The latest cosigned checkpoint note, with the log's and the witness's signatures."""
        ...

    def swap(
        self, origin: str, expected: TreeState | None, new: TreeState, note: bytes
    ) -> TreeState | None:
        """Atomically replace ``expected`` by ``new`` (and the note); return ``None``.

        If the stored state is not ``expected``, change nothing and return the stored state
        (:data:`EMPTY_STATE` when there is none). Must refuse, by raising
        :class:`InconsistentCheckpoint`, a ``new`` smaller than the stored state or with the
        same size and another root, whatever the caller checked.
        """
        ...

    def record_evidence(self, origin: str, reason: str, request: bytes) -> None:
        """Keep a validly signed request that failed the consistency checks (possible proof
        of log misbehaviour, c2sp.org/tlog-witness "add-checkpoint" MAY)."""
        ...


def _check_forward(current: TreeState, new: TreeState) -> None:
    if new.size < current.size:
        raise InconsistentCheckpoint(
            f"refusing to roll back from size {current.size} to {new.size}"
        )
    if new.size == current.size and new.root != current.root:
        raise InconsistentCheckpoint(f"refusing a second root at size {new.size}")


class MemoryWitnessStore:
    """A :class:`WitnessStorage` in memory (tests, and a model of the contract)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._states: dict[str, tuple[TreeState, bytes]] = {}
        self.evidence: list[tuple[str, str, bytes]] = []
        """Recorded (origin, reason, request) triples."""

    def latest(self, origin: str) -> TreeState | None:
        with self._lock:
            entry = self._states.get(origin)
        return entry[0] if entry else None

    def latest_note(self, origin: str) -> bytes | None:
        with self._lock:
            entry = self._states.get(origin)
        return entry[1] if entry else None

    def swap(
        self, origin: str, expected: TreeState | None, new: TreeState, note: bytes
    ) -> TreeState | None:
        with self._lock:
            entry = self._states.get(origin)
            current = entry[0] if entry else None
            if current != expected:
                return current or EMPTY_STATE
            _check_forward(current or EMPTY_STATE, new)
            self._states[origin] = (new, note)
            return None

    def record_evidence(self, origin: str, reason: str, request: bytes) -> None:
        with self._lock:
            self.evidence.append((origin, reason, request))


# Sizes are stored as 20-digit zero-padded decimals: 2^64 - 1 has 20 digits, SQLite INTEGER
# holds only 2^63 - 1, and fixed-width text compares (BINARY collation) in numeric order, so
# the triggers below can refuse a rollback in SQL, whatever the code above them does.
_SCHEMA = """
BEGIN IMMEDIATE;
CREATE TABLE IF NOT EXISTS checkpoint (
    origin TEXT PRIMARY KEY,
    size TEXT NOT NULL CHECK (length(size) = 20 AND size NOT GLOB '*[^0-9]*'),
    root BLOB NOT NULL CHECK (length(root) = 32),
    note BLOB NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
CREATE TRIGGER IF NOT EXISTS checkpoint_forward_only BEFORE UPDATE ON checkpoint
WHEN NEW.origin <> OLD.origin OR NEW.size < OLD.size
    OR (NEW.size = OLD.size AND NEW.root <> OLD.root)
BEGIN
    SELECT RAISE(ABORT, 'witness state only moves forward');
END;
CREATE TRIGGER IF NOT EXISTS checkpoint_no_delete BEFORE DELETE ON checkpoint
BEGIN
    SELECT RAISE(ABORT, 'witness state is never deleted');
END;
CREATE TABLE IF NOT EXISTS evidence (
    id INTEGER PRIMARY KEY,
    origin TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    reason TEXT NOT NULL,
    request BLOB NOT NULL
) STRICT;
PRAGMA user_version = 1;
COMMIT;
"""


def _size_text(size: int) -> str:
    return f"{size:020d}"


class WitnessStore:
    """A :class:`WitnessStorage` in its own SQLite file (WAL, ``synchronous=FULL``).

    One connection per instance, used under a lock; several instances, in one process or
    many, may share the file: every swap is one ``BEGIN IMMEDIATE`` transaction (the write
    lock is taken before the state is read), so check and write are atomic across them.
    """

    def __init__(self, path: Path | str, *, busy_timeout: float = 30.0) -> None:
        """Open (creating if needed) the witness database at ``path``."""
        self._path = Path(path)
        self._lock = threading.Lock()
        try:
            self._conn = sqlite3.connect(
                self._path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
            mode = self._conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise WitnessStorageError(f"{self._path}: cannot switch to WAL (got {mode})")
            self._conn.execute("PRAGMA synchronous=FULL")
            try:
                self._conn.executescript(_SCHEMA)
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as e:
            raise WitnessStorageError(f"cannot open witness database {self._path}: {e}") from e

    @property
    def path(self) -> Path:
        """The database file."""
        return self._path

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()

    def _row(self, origin: str) -> tuple[TreeState, bytes] | None:
        row = self._conn.execute(
            "SELECT size, root, note FROM checkpoint WHERE origin = ?", (origin,)
        ).fetchone()
        if row is None:
            return None
        size, root, note = row
        if not (isinstance(size, str) and size.isdigit() and isinstance(root, bytes)):
            raise WitnessStorageError(f"damaged witness row for {origin!r}")
        return TreeState(int(size), root), bytes(note)

    def latest(self, origin: str) -> TreeState | None:
        try:
            with self._lock:
                row = self._row(origin)
        except sqlite3.Error as e:
            raise WitnessStorageError(f"cannot read witness state: {e}") from e
        return row[0] if row else None

    def latest_note(self, origin: str) -> bytes | None:
        try:
            with self._lock:
                row = self._row(origin)
        except sqlite3.Error as e:
            raise WitnessStorageError(f"cannot read witness state: {e}") from e
        return row[1] if row else None

    def swap(
        self, origin: str, expected: TreeState | None, new: TreeState, note: bytes
    ) -> TreeState | None:
        with self._lock:
            try:
                # The write lock first, then the read: no other connection can commit between
                # this check and the write below (c2sp.org/tlog-witness: check and persist
                # atomically).
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    row = self._row(origin)
                    current = row[0] if row else None
                    if current != expected:
                        self._conn.execute("ROLLBACK")
                        return current or EMPTY_STATE
                    _check_forward(current or EMPTY_STATE, new)
                    self._conn.execute(
                        "INSERT INTO checkpoint (origin, size, root, note, updated_at) "
                        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (origin) DO UPDATE SET "
                        "size = excluded.size, root = excluded.root, note = excluded.note, "
                        "updated_at = excluded.updated_at",
                        (origin, _size_text(new.size), new.root, note, int(time.time())),
                    )
                    self._conn.execute("COMMIT")  # synchronous=FULL: durable when this returns.
                    return None
                except BaseException:
                    if self._conn.in_transaction:
                        self._conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as e:
                raise WitnessStorageError(f"cannot write witness state: {e}") from e

    def record_evidence(self, origin: str, reason: str, request: bytes) -> None:
        try:
            with self._lock:
                self._conn.execute(
                    "INSERT INTO evidence (origin, received_at, reason, request) "
                    "VALUES (?, ?, ?, ?)",
                    (origin, int(time.time()), reason, request),
                )
        except sqlite3.Error as e:
            raise WitnessStorageError(f"cannot record evidence: {e}") from e

    def evidence(self) -> list[tuple[str, str, bytes]]:
        """Every recorded (origin, reason, request), oldest first."""
        try:
            with self._lock:
                rows = self._conn.execute(
                    "SELECT origin, reason, request FROM evidence ORDER BY id"
                ).fetchall()
        except sqlite3.Error as e:
            raise WitnessStorageError(f"cannot read evidence: {e}") from e
        return [(str(o), str(r), bytes(q)) for o, r, q in rows]


# --------------------------------------------------------------------------- the witness


class Witness:
    """The add-checkpoint logic of a witness, independent of HTTP and of storage."""

    def __init__(
        self,
        signer: CosignatureSigner,
        logs: Mapping[str, Iterable[Verifier]],
        store: WitnessStorage,
    ) -> None:
        """``logs`` maps each known origin to the note keys the witness trusts for it."""
        self._signer = signer
        self._store = store
        self._logs: dict[str, tuple[Verifier, ...]] = {}
        for origin, verifiers in logs.items():
            keys = tuple(verifiers)
            if not isinstance(origin, str) or not origin or "\n" in origin or not keys:
                raise ValueError(f"log {origin!r} needs a one-line origin and at least one key")
            self._logs[origin] = keys
        self._by_hash = {origin_hash(o): o for o in self._logs}

    @property
    def signer(self) -> CosignatureSigner:
        """The witness's cosigning key."""
        return self._signer

    @property
    def origins(self) -> tuple[str, ...]:
        """The origins of the known logs."""
        return tuple(self._logs)

    def add_checkpoint(self, body: bytes) -> bytes:
        """Handle one add-checkpoint request body; return the cosignature line(s).

        The steps of c2sp.org/tlog-witness "add-checkpoint", in order, each with its error
        (:data:`HTTP_STATUS` gives the status):

        1. Parse the request: old size line, at most 63 proof lines, empty line, note (400).
        2. Parse the note's syntax (c2sp.org/signed-note) to read the origin line (400).
        3. Find the log by origin (404, :class:`UnknownLog`).
        4. Verify the note with the log's keys, ignoring unknown keys: no valid signature by
           a trusted key, or a failing one, is 403 (:class:`UnverifiedNote`,
           :class:`InvalidNoteSignature`).
        5. Parse the verified text as a checkpoint (c2sp.org/tlog-checkpoint) (400).
        6. The old size must not exceed the checkpoint size (400).
        7. The old size must equal the latest cosigned size, 0 if none (409,
           :class:`OldSizeConflict` carrying that size).
        8. A size-0 checkpoint must have the empty tree's root; with old size 0 the proof
           must be empty; at equal sizes the roots must match (split view); otherwise the
           RFC 9162 consistency proof from the stored root must verify (422). A validly
           signed request failing here is kept as evidence.
        9. Cosign (timestamp now, never 0), then store the new state by compare-and-swap
           against the state checked in 7-8: if another request moved it meanwhile, 409 with
           the size found, and the cosignature is discarded. Only then answer.
        """
        request = AddCheckpointRequest.parse(body)  # Step 1.
        parsed = parse_note(request.checkpoint)  # Step 2.
        origin = parsed.text.split("\n", 1)[0]
        keys = self._logs.get(origin)
        if keys is None:  # Step 3.
            raise UnknownLog("unknown log origin")  # Not echoed: it is request data.
        note = open_note(request.checkpoint, keys)  # Step 4.
        checkpoint = Checkpoint.parse_body(note.text)  # Step 5.
        if request.old_size > checkpoint.size:  # Step 6.
            raise MalformedWitnessRequest(
                f"old size {request.old_size} exceeds checkpoint size {checkpoint.size}"
            )
        stored = self._store.latest(origin)
        current = stored or EMPTY_STATE
        if request.old_size != current.size:  # Step 7.
            raise OldSizeConflict(
                f"old size {request.old_size} is not the latest cosigned size {current.size}",
                current.size,
            )
        previous = Checkpoint(origin, current.size, current.root)
        try:  # Step 8.
            verify_checkpoint_consistency(previous, checkpoint, list(request.proof))
        except InconsistentCheckpoint as e:
            self._keep_evidence(origin, str(e), bytes(body))
            raise
        # Step 9: the cosignature covers the whole text, extension lines included.
        lines = signature_lines(note.text, [self._signer])
        monitored = format_note(note.text, note.verified) + lines
        new = TreeState(checkpoint.size, checkpoint.root)
        found = self._store.swap(origin, stored, new, monitored)
        if found is not None:
            raise OldSizeConflict(
                f"the latest cosigned size moved to {found.size} during the request", found.size
            )
        return lines

    def checkpoint_for(self, hashed_origin: str) -> bytes:
        """The latest cosigned checkpoint of the log whose origin hashes to ``hashed_origin``.

        c2sp.org/tlog-witness "Monitor Retrieval Mechanism": the note carries the log
        signatures the witness verified and its own cosignature. Raises :class:`UnknownLog`
        (404) for an unknown hash or a log never cosigned.
        """
        origin = self._by_hash.get(hashed_origin)
        note = self._store.latest_note(origin) if origin is not None else None
        if note is None:
            raise UnknownLog("no cosigned checkpoint for this origin hash")
        return note

    def _keep_evidence(self, origin: str, reason: str, body: bytes) -> None:
        try:
            self._store.record_evidence(origin, reason, body)
        except WitnessStorageError as e:
            # The refusal stands either way; losing the evidence must not turn it into a 503.
            _log.warning("could not record evidence for %s: %s", origin, e)
