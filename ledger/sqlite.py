"""Embedded SQLite storage: eventsourcing's recorder plus the certificate registry.

Durability is not left to defaults: every connection runs WAL with
``synchronous=FULL`` (set on the connection, since it is not a database
setting) and is checked when opened; a weaker connection is refused.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
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
from ledger.store import CertificateRow, RevocationRow

_REVOCATION_DDL = (
    "CREATE TABLE IF NOT EXISTS socai_revocations ("
    "fingerprint BLOB PRIMARY KEY, revoked_at TEXT NOT NULL, reason TEXT NOT NULL, "
    "owner TEXT NOT NULL, version INTEGER NOT NULL) WITHOUT ROWID"
)
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
        return [*super().construct_create_table_statements(), _CERT_DDL, _REVOCATION_DDL]

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids = super()._insert_events(c, stored_events, **kwargs)
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
