"""Embedded SQLite storage: eventsourcing's recorder plus the certificate registry.

Durability is not left to defaults: every connection runs WAL with
``synchronous=FULL`` (set on the connection, since it is not a database
setting) and is checked when opened; a weaker connection is refused.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.sqlite import (
    SQLiteApplicationRecorder,
    SQLiteConnection,
    SQLiteConnectionPool,
    SQLiteCursor,
    SQLiteFactory,
)

from ledger.errors import StorageError
from ledger.log import LeafRow, extend, leaf_hash_of, unpack_frontier
from ledger.store import CertificateRow, RevocationRow, refuse_if_revoked

_REVOCATION_DDL = (
    "CREATE TABLE IF NOT EXISTS socai_revocations ("
    "fingerprint BLOB PRIMARY KEY, revoked_at TEXT NOT NULL, reason TEXT NOT NULL, "
    "owner TEXT NOT NULL, version INTEGER NOT NULL) WITHOUT ROWID"
)
_LOG_DDL = [
    "CREATE TABLE IF NOT EXISTS socai_log_state ("
    "id INTEGER PRIMARY KEY CHECK (id = 0), size INTEGER NOT NULL, "
    "last_notification_id INTEGER NOT NULL, frontier BLOB NOT NULL)",
    # No row is inserted here: opening a store must not take the write lock (many
    # processes open it at once). The first append creates the row.
    # Both keys grow with every append, so their B-trees are appended at the right edge.
    "CREATE TABLE IF NOT EXISTS socai_log_leaves ("
    "idx INTEGER PRIMARY KEY, notification_id INTEGER NOT NULL, hash BLOB NOT NULL)",
    "CREATE INDEX IF NOT EXISTS socai_log_leaves_notification "
    "ON socai_log_leaves (notification_id)",
    "CREATE TABLE IF NOT EXISTS socai_log_nodes ("
    "level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL, "
    "PRIMARY KEY (level, idx)) WITHOUT ROWID",
]
_CERT_DDL = (
    "CREATE TABLE IF NOT EXISTS socai_certificates ("
    "fingerprint BLOB PRIMARY KEY, owner TEXT NOT NULL, "
    "version INTEGER NOT NULL, pem TEXT NOT NULL) WITHOUT ROWID"
)


def check_durability(conn: sqlite3.Connection, *, memory: bool = False) -> None:
    """Raise :class:`StorageError` unless ``conn`` runs WAL with synchronous FULL or EXTRA."""
    sync = conn.execute("PRAGMA synchronous").fetchone()[0]
    if sync < 2:
        raise StorageError(f"SQLite synchronous={sync} is weaker than FULL (2); refusing to run")
    if not memory:
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StorageError(f"SQLite journal_mode={mode}, not WAL; refusing to run")


class DurableSQLiteConnectionPool(SQLiteConnectionPool):
    """A pool whose connections are set to ``synchronous=FULL`` and checked."""

    def _create_connection(self) -> SQLiteConnection:
        conn = super()._create_connection()
        raw = conn._sqlite_conn  # eventsourcing keeps the sqlite3 connection here
        raw.execute("PRAGMA synchronous=FULL")
        raw.execute("PRAGMA foreign_keys=ON")
        check_durability(raw, memory=self.is_sqlite_memory_mode)
        return conn


class LedgerSQLiteRecorder(SQLiteApplicationRecorder):
    """Application recorder that also writes the certificate registry in the same transaction."""

    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            _CERT_DDL,
            _REVOCATION_DDL,
            *_LOG_DDL,
        ]

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids = super()._insert_events(c, stored_events, **kwargs)
        # Reads come after the first insert: a deferred SQLite transaction that reads first
        # and writes later cannot wait for another writer (SQLITE_BUSY_SNAPSHOT in WAL).
        check = kwargs.get("revocation_check")
        if check is not None:
            c.execute("SELECT * FROM socai_revocations WHERE fingerprint=?", (check[0],))
            row = c.fetchone()
            refuse_if_revoked(None if row is None else _revocation_row(row), check[1])
        if ids:
            self._append_log(c, stored_events, ids)
        certs: Sequence[CertificateRow] = kwargs.get("certificates") or ()
        if certs:
            c.executemany(
                "INSERT INTO socai_certificates VALUES (?,?,?,?)",
                [(r.fingerprint, r.owner.hex, r.version, r.pem) for r in certs],
            )
        revocations: Sequence[RevocationRow] = kwargs.get("revocations") or ()
        if revocations:
            c.executemany(
                "INSERT INTO socai_revocations VALUES (?,?,?,?,?)",
                [
                    (r.fingerprint, r.revoked_at.isoformat(), r.reason, r.owner.hex, r.version)
                    for r in revocations
                ],
            )
        return ids

    def select_revocation(self, fingerprint: bytes) -> RevocationRow | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT * FROM socai_revocations WHERE fingerprint=?", (fingerprint,))
            row = c.fetchone()
        return None if row is None else _revocation_row(row)

    def select_revocations(self) -> list[RevocationRow]:
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT * FROM socai_revocations ORDER BY owner, version")
            return [_revocation_row(r) for r in c.fetchall()]

    def select_certificate(self, fingerprint: bytes) -> CertificateRow | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT * FROM socai_certificates WHERE fingerprint=?", (fingerprint,))
            row = c.fetchone()
        return None if row is None else _cert_row(row)

    def select_certificates(self) -> list[CertificateRow]:
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT * FROM socai_certificates ORDER BY owner, version")
            return [_cert_row(r) for r in c.fetchall()]

    # -- transparency log storage (ledger.log.LogStorage) -------------------------------

    #: Log the events of every insert in its own transaction (benchmarks turn it off to
    #: measure what the log costs).
    log_in_transaction = True

    def _append_log(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], ids: Sequence[int]
    ) -> None:
        """Log the events just inserted, in this transaction, if nothing before them is unlogged."""
        if not self.log_in_transaction:
            return
        c.execute("SELECT size, last_notification_id, frontier FROM socai_log_state WHERE id = 0")
        size, last, packed = c.fetchone() or (0, 0, b"")
        c.execute(
            f"SELECT max(rowid) FROM {self.events_table_name} WHERE rowid < ?",  # noqa: S608
            (ids[0],),
        )
        if last != (c.fetchone()[0] or 0):
            return  # unlogged events precede these: the follower logs them all in order
        leaves = [
            (size + i, n, leaf_hash_of(s.originator_id, s.originator_version, s.state))
            for i, (s, n) in enumerate(zip(stored_events, ids, strict=True))
        ]
        nodes, after = extend(size, unpack_frontier(packed), [x[2] for x in leaves])
        c.executemany("INSERT INTO socai_log_leaves VALUES (?,?,?)", leaves)
        if nodes:
            c.executemany("INSERT INTO socai_log_nodes VALUES (?,?,?)", nodes)
        c.execute(
            "INSERT INTO socai_log_state VALUES (0, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
            "size = excluded.size, last_notification_id = excluded.last_notification_id, "
            "frontier = excluded.frontier",
            (size + len(leaves), ids[-1], b"".join(after)),
        )

    def log_position(self) -> tuple[int, int]:
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT size, last_notification_id FROM socai_log_state WHERE id = 0")
            row = c.fetchone()
        return (0, 0) if row is None else (int(row[0]), int(row[1]))

    def log_append(
        self,
        old: tuple[int, int],
        new_position: tuple[int, int],
        leaves: Sequence[LeafRow],
        nodes: Sequence[tuple[int, int, bytes]],
        frontier: Sequence[bytes],
    ) -> bool:
        with self.datastore.transaction(commit=True) as c:
            c.execute("INSERT OR IGNORE INTO socai_log_state VALUES (0, 0, 0, x'')")
            c.execute(
                "UPDATE socai_log_state SET size = ?, last_notification_id = ?, frontier = ? "
                "WHERE id = 0 AND size = ? AND last_notification_id = ?",
                (*new_position, b"".join(frontier), *old),
            )
            if c.sqlite_cursor.rowcount != 1:
                return False  # rolled back on leaving the block: nothing written
            c.executemany(
                "INSERT INTO socai_log_leaves VALUES (?,?,?)",
                [(x.index, x.notification_id, x.hash) for x in leaves],
            )
            c.executemany("INSERT INTO socai_log_nodes VALUES (?,?,?)", nodes)
        return True

    def log_nodes(self, keys: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        wanted = list(keys)
        out: dict[tuple[int, int], bytes] = {}
        # Point lookups on the primary key inside one read transaction: SQLite
        # does not use the index for a row-value IN over a VALUES list.
        with self.datastore.transaction(commit=False) as c:
            for level, idx in wanted:
                if level == 0:
                    c.execute("SELECT hash FROM socai_log_leaves WHERE idx = ?", (idx,))
                else:
                    c.execute(
                        "SELECT hash FROM socai_log_nodes WHERE level = ? AND idx = ?",
                        (level, idx),
                    )
                row = c.fetchone()
                if row is not None:
                    out[(level, idx)] = bytes(row[0])
        return out

    def log_leaves(self, start: int, stop: int) -> list[LeafRow]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                "SELECT l.idx, l.notification_id, l.hash, e.originator_id, "  # noqa: S608
                "e.originator_version, e.state "
                f"FROM socai_log_leaves l LEFT JOIN {self.events_table_name} e "
                "ON e.rowid = l.notification_id WHERE l.idx >= ? AND l.idx < ? ORDER BY l.idx",
                (start, stop),
            )
            return [_leaf_row(r) for r in c.fetchall()]

    def log_leaf_of(self, record_id: UUID, version: int) -> LeafRow | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                "SELECT l.idx, l.notification_id, l.hash, e.originator_id, "  # noqa: S608
                "e.originator_version, e.state "
                f"FROM {self.events_table_name} e JOIN socai_log_leaves l "
                "ON l.notification_id = e.rowid "
                "WHERE e.originator_id = ? AND e.originator_version = ?",
                (record_id.hex, version),
            )
            row = c.fetchone()
        return None if row is None else _leaf_row(row)

    def log_positions(self, record_id: UUID) -> dict[int, int]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                "SELECT e.originator_version, l.idx "  # noqa: S608
                f"FROM {self.events_table_name} e JOIN socai_log_leaves l "
                "ON l.notification_id = e.rowid WHERE e.originator_id = ?",
                (record_id.hex,),
            )
            return {int(v): int(i) for v, i in c.fetchall()}

    def iter_stored(self, record: UUID | None = None, page: int = 1000) -> Iterator[StoredEvent]:
        """Every stored event ordered by (record, version), streamed in pages."""
        after: tuple[str, int] = ("", 0)
        table = self.events_table_name
        while True:
            with self.datastore.transaction(commit=False) as c:
                if record is None:
                    c.execute(
                        f"SELECT * FROM {table} WHERE (originator_id, originator_version) > (?, ?) "  # noqa: S608
                        "ORDER BY originator_id, originator_version LIMIT ?",
                        (*after, page),
                    )
                else:
                    c.execute(
                        f"SELECT * FROM {table} WHERE originator_id=? AND originator_version>? "  # noqa: S608
                        "ORDER BY originator_version LIMIT ?",
                        (record.hex, after[1], page),
                    )
                rows = c.fetchall()
            for row in rows:
                yield StoredEvent(
                    originator_id=self.convert_originator_id(row["originator_id"]),
                    originator_version=row["originator_version"],
                    topic=row["topic"],
                    state=row["state"],
                )
            if len(rows) < page:
                return
            after = (rows[-1]["originator_id"], rows[-1]["originator_version"])


def _leaf_row(row: Any) -> LeafRow:
    return LeafRow(
        int(row[0]),
        int(row[1]),
        bytes(row[2]),
        None if row[3] is None else UUID(row[3]),
        None if row[4] is None else int(row[4]),
        None if row[5] is None else bytes(row[5]),
    )


def _revocation_row(row: Any) -> RevocationRow:
    return RevocationRow(
        bytes(row["fingerprint"]),
        datetime.fromisoformat(row["revoked_at"]),
        row["reason"],
        UUID(row["owner"]),
        row["version"],
    )


def _cert_row(row: Any) -> CertificateRow:
    return CertificateRow(bytes(row["fingerprint"]), UUID(row["owner"]), row["version"], row["pem"])


class LedgerSQLiteFactory(SQLiteFactory):
    """eventsourcing's SQLite factory with the durable pool and the ledger recorder."""

    application_recorder_class = LedgerSQLiteRecorder

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        old = self.datastore.pool
        # The datastore builds its pool eagerly but connects lazily: swap it
        # for the durable one before any connection exists.
        self.datastore.pool = DurableSQLiteConnectionPool(
            db_name=old.db_name, lock_timeout=old.lock_timeout
        )
        old.close()
