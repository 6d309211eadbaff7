"""Signed, witnessed checkpoints of the transparency log.

A checkpoint (C2SP tlog-checkpoint) commits to the log's size and root; the log signs it with
its Ed25519 note key (C2SP signed-note), gets an RFC 3161 timestamp over it, and submits it to
its witnesses (C2SP tlog-witness), which cosign only a consistent extension of what they hold.

The log never signs two roots for one size, also after a restore from backup:

- Every signed checkpoint is persisted (``checkpoints.sqlite``, WAL + synchronous=FULL, kept
  beside the data directory's keys, apart from the event store) **before** it is published.
- Before signing, the current tree must extend the last signed checkpoint: not smaller
  (:class:`LogBehind`: the store was restored from an older backup), and with the same root at
  the old size (:class:`LogRewritten`). A witness that holds a larger size than ours (HTTP
  409) also means the store is behind. In each case nothing is signed until an operator
  reconciles the store (restores the missing events); see docs/operations.md.
"""

from __future__ import annotations

import base64
import sqlite3
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from uuid import UUID

from ledger.errors import LedgerError
from ledger.log import LogError, TransparencyLog
from signing.checkpoint import Checkpoint, CosignatureVerifier, require_witnesses
from signing.errors import OldSizeConflict, SigningError
from signing.note import NoteSigner, NoteVerifier, add_signature_lines, sign_note
from signing.witness import AddCheckpointRequest, parse_size_body


class CheckpointError(LedgerError):
    """A checkpoint cannot be made or published."""


class LogBehind(CheckpointError):
    """The store holds fewer events than the log already signed: restored from a backup?"""


class LogRewritten(CheckpointError):
    """The tree no longer has the root the log signed for an older size."""


class WitnessClient(Protocol):
    """One witness, reached over HTTP or in-process."""

    name: str
    verifier: CosignatureVerifier

    def add_checkpoint(self, body: bytes) -> tuple[int, bytes]:
        """POST an add-checkpoint request; return (HTTP status, response body)."""
        ...


@dataclass
class HttpWitness:
    """A witness at ``url`` (its add-checkpoint endpoint), C2SP tlog-witness over HTTP."""

    name: str
    verifier: CosignatureVerifier
    url: str
    timeout: float = 10.0

    def add_checkpoint(self, body: bytes) -> tuple[int, bytes]:
        if not self.url.startswith(("http://", "https://")):
            raise CheckpointError(f"witness {self.name}: not an http(s) URL")
        request = urllib.request.Request(  # noqa: S310 - scheme checked above
            self.url, data=body, method="POST", headers={"Content-Type": "text/plain"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:  # noqa: S310
                return int(answer.status), bytes(answer.read())
        except urllib.error.HTTPError as e:
            return int(e.code), bytes(e.read())
        except (urllib.error.URLError, OSError) as e:
            raise CheckpointError(f"witness {self.name} unreachable: {e}") from e


@dataclass(frozen=True)
class SignedCheckpoint:
    """A checkpoint as the log signed it, with what witnesses added."""

    size: int
    root: bytes
    #: The note with the log's signature and every cosignature gathered so far.
    note: bytes
    #: RFC 3161 token over the log-signed note (without cosignatures), or None.
    timestamp: bytes | None
    cosigned_by: tuple[str, ...]
    #: The note as the log signed it, before any cosignature (what the token covers).
    log_note: bytes = b""


_SCHEMA = """
CREATE TABLE IF NOT EXISTS checkpoints (
    size INTEGER PRIMARY KEY, root BLOB NOT NULL, note BLOB NOT NULL,
    timestamp BLOB, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS cosignatures (
    size INTEGER NOT NULL, witness TEXT NOT NULL, lines BLOB NOT NULL,
    PRIMARY KEY (size, witness));
CREATE TABLE IF NOT EXISTS witness_state (witness TEXT PRIMARY KEY, size INTEGER NOT NULL);
CREATE TRIGGER IF NOT EXISTS checkpoints_append_only BEFORE UPDATE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'a signed checkpoint is never changed'); END;
"""


class CheckpointStore:
    """What the log signed and what witnesses answered; kept apart from the event store."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        # One connection shared by the server's threads: sqlite3 needs them to take turns.
        self.lock = threading.RLock()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def last_signed(self) -> tuple[int, bytes] | None:
        row = self._db.execute(
            "SELECT size, root FROM checkpoints ORDER BY size DESC LIMIT 1"
        ).fetchone()
        return None if row is None else (int(row[0]), bytes(row[1]))

    def signed_root(self, size: int) -> bytes | None:
        row = self._db.execute("SELECT root FROM checkpoints WHERE size = ?", (size,)).fetchone()
        return None if row is None else bytes(row[0])

    def record(self, size: int, root: bytes, note: bytes, token: bytes | None) -> bool:
        """Keep a signed checkpoint; False when this size was already kept with the same root.

        Two server processes may sign the same size at once; the first row stays. A second,
        different root for a size is refused: the log never signs two roots for one size.
        """
        inserted = self._db.execute(
            "INSERT INTO checkpoints VALUES (?, ?, ?, ?, ?) ON CONFLICT(size) DO NOTHING",
            (size, root, note, token, time.time()),
        ).rowcount
        if inserted:
            return True
        if self.signed_root(size) != root:
            raise sqlite3.IntegrityError(f"a second root for size {size}")
        return False

    def add_cosignature(self, size: int, witness: str, lines: bytes) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO cosignatures VALUES (?, ?, ?)", (size, witness, lines)
        )
        self._db.execute(
            "INSERT INTO witness_state VALUES (?, ?) ON CONFLICT(witness) DO UPDATE "
            "SET size = max(size, excluded.size)",
            (witness, size),
        )

    def witness_size(self, witness: str) -> int:
        row = self._db.execute(
            "SELECT size FROM witness_state WHERE witness = ?", (witness,)
        ).fetchone()
        return 0 if row is None else int(row[0])

    def set_witness_size(self, witness: str, size: int) -> None:
        self._db.execute(
            "INSERT INTO witness_state VALUES (?, ?) ON CONFLICT(witness) DO UPDATE "
            "SET size = excluded.size",
            (witness, size),
        )

    def checkpoints(self) -> list[SignedCheckpoint]:
        """Every signed checkpoint, newest first, with its cosignatures."""
        out = []
        for size, root, note, token in self._db.execute(
            "SELECT size, root, note, timestamp FROM checkpoints ORDER BY size DESC"
        ).fetchall():
            rows = self._db.execute(
                "SELECT witness, lines FROM cosignatures WHERE size = ? ORDER BY witness", (size,)
            ).fetchall()
            full = bytes(note)
            for _, lines in rows:
                full = add_signature_lines(full, bytes(lines))
            out.append(
                SignedCheckpoint(
                    int(size),
                    bytes(root),
                    full,
                    None if token is None else bytes(token),
                    tuple(str(w) for w, _ in rows),
                    bytes(note),
                )
            )
        return out


class Checkpointer:
    """Makes, persists, timestamps and submits the log's checkpoints."""

    def __init__(
        self,
        log: TransparencyLog,
        signer: NoteSigner,
        store: CheckpointStore,
        witnesses: Sequence[WitnessClient] = (),
        *,
        timestamp: Callable[[bytes], bytes] | None = None,
    ) -> None:
        self.log = log
        self.signer = signer
        self.origin = signer.name
        self.store = store
        self.witnesses = list(witnesses)
        self._timestamp = timestamp

    @property
    def verifier(self) -> NoteVerifier:
        return self.signer.verifier

    def _check_extends_last(self, size: int, root: bytes) -> None:
        last = self.store.last_signed()
        if last is None:
            return
        last_size, last_root = last
        if size < last_size:
            raise LogBehind(
                f"the store's log has {size} events but the log already signed size "
                f"{last_size}: events {size}…{last_size - 1} are missing (restored from an "
                "older backup?); nothing is signed until the store is reconciled"
            )
        if self.log.root(last_size) != last_root:
            raise LogRewritten(
                f"the tree at size {last_size} no longer has the root the log signed: "
                "history up to that size was changed; nothing is signed"
            )
        if size == last_size and root != last_root:  # pragma: no cover - implied above
            raise LogRewritten(f"a second root for size {size}")

    def make(self) -> SignedCheckpoint:
        """Sign a checkpoint of the current tree (or return the last one if nothing grew)."""
        self.log.catch_up()
        size = self.log.size
        root = self.log.root(size)
        self._check_extends_last(size, root)
        if self.store.signed_root(size) is not None:
            return self.store.checkpoints()[0]
        body = Checkpoint(self.origin, size, root).to_body()
        note = sign_note(body, [self.signer])
        token = self._timestamp(note) if self._timestamp is not None else None
        # Persisted before anything leaves this process (DESIGN.md §4). Another process may
        # have kept this size a moment ago (same tree, same root): then use its checkpoint.
        if not self.store.record(size, root, note, token):
            return next(c for c in self.store.checkpoints() if c.size == size)
        return SignedCheckpoint(size, root, note, token, (), note)

    def submit(self, checkpoint: SignedCheckpoint) -> dict[str, str]:
        """Send the checkpoint to every witness; store cosignatures; return witness → outcome."""
        outcome: dict[str, str] = {}
        for witness in self.witnesses:
            outcome[witness.name] = self._submit_one(witness, checkpoint)
        return outcome

    def _submit_one(
        self, witness: WitnessClient, cp: SignedCheckpoint, retried: bool = False
    ) -> str:
        old = min(self.store.witness_size(witness.name), cp.size)
        proof = self.log.consistency_proof(old, cp.size) if 0 < old < cp.size else []
        log_note = self._log_signed_note(cp)
        body = AddCheckpointRequest(old, tuple(proof), log_note).to_bytes()
        try:
            status, answer = witness.add_checkpoint(body)
        except CheckpointError as e:
            return f"unreachable: {e}"
        if status == 200:
            checked = add_signature_lines(log_note, answer)
            try:
                require_witnesses(checked, self.verifier, [witness.verifier], 1)
            except SigningError as e:
                return f"bad cosignature: {e}"
            self.store.add_cosignature(cp.size, witness.name, answer)
            return "cosigned"
        if status == 409 and not retried:
            try:
                held = parse_size_body(answer)
            except (SigningError, OldSizeConflict) as e:
                return f"conflict with an unreadable size: {e}"
            if held > cp.size:
                raise LogBehind(
                    f"witness {witness.name} holds size {held}, beyond this log's {cp.size}: "
                    "the store is behind what was published; nothing more is signed"
                )
            self.store.set_witness_size(witness.name, held)
            return self._submit_one(witness, cp, retried=True)
        return f"refused ({status}): {answer[:200].decode('utf-8', 'replace').strip()}"

    def _log_signed_note(self, cp: SignedCheckpoint) -> bytes:
        """The note with the log's own signature only (as first signed)."""
        rows = self.store._db.execute(
            "SELECT note FROM checkpoints WHERE size = ?", (cp.size,)
        ).fetchone()
        return bytes(rows[0])

    def checkpoint(self) -> tuple[SignedCheckpoint, dict[str, str]]:
        """Make (or reuse) the current checkpoint, submit it, and return it with cosignatures.

        Serialised in this process: one checkpoint at a time.
        """
        with self.store.lock:
            cp = self.make()
            outcome = self.submit(cp)
            latest = next(c for c in self.store.checkpoints() if c.size == cp.size)
            return latest, outcome

    def latest(self) -> SignedCheckpoint | None:
        with self.store.lock:
            checkpoints = self.store.checkpoints()
        return checkpoints[0] if checkpoints else None

    def prove_record(self, record: UUID, version: int, cp: SignedCheckpoint) -> dict[str, Any]:
        """Inclusion of one event (a record's head, say) in a signed checkpoint."""
        leaf = self.log.leaf(record, version)
        if leaf.index >= cp.size:
            raise LogError(
                f"record {record} version {version} was logged after checkpoint {cp.size}"
            )
        proof = self.log.inclusion_proof(leaf.index, cp.size)
        return {
            "record": str(record),
            "version": version,
            "leaf_index": leaf.index,
            "leaf_hash": base64.b64encode(leaf.hash).decode(),
            "tree_size": cp.size,
            "inclusion_proof": [base64.b64encode(h).decode() for h in proof],
            "checkpoint": cp.note.decode("utf-8"),
        }
