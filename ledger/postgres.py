"""PostgreSQL storage: eventsourcing's recorder plus the certificate registry.

The only module of ``ledger`` that imports psycopg. Driver errors are
translated at this boundary. The server must run with ``synchronous_commit``
on (or a stricter remote setting) and ``fsync`` on; anything weaker is refused
when the store opens.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any
from urllib.parse import unquote, urlsplit
from uuid import UUID

import psycopg
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresFactory
from psycopg.sql import SQL, Identifier

from ledger.errors import StorageError
from ledger.log import LeafRow, extend, leaf_hash_of, unpack_frontier
from ledger.store import CertificateRow, RevocationRow, refuse_if_revoked

_LOG_DDL = [
    "CREATE TABLE IF NOT EXISTS {schema}.socai_log_state ("
    "id int PRIMARY KEY CHECK (id = 0), size bigint NOT NULL, "
    "last_notification_id bigint NOT NULL, frontier bytea NOT NULL)",
    "INSERT INTO {schema}.socai_log_state VALUES (0, 0, 0, ''::bytea) ON CONFLICT DO NOTHING",
    "CREATE TABLE IF NOT EXISTS {schema}.socai_log_leaves ("
    "idx bigint PRIMARY KEY, notification_id bigint NOT NULL, hash bytea NOT NULL)",
    "CREATE INDEX IF NOT EXISTS socai_log_leaves_notification "
    "ON {schema}.socai_log_leaves (notification_id)",
    "CREATE TABLE IF NOT EXISTS {schema}.socai_log_nodes ("
    "level int NOT NULL, idx bigint NOT NULL, hash bytea NOT NULL, PRIMARY KEY (level, idx))",
]
_DURABLE_COMMIT = {"on", "remote_write", "remote_apply", "local"}
#: Advisory lock key serialising schema setup ("socai" in ASCII).
_SCHEMA_LOCK = 0x736F636169


def env_from_url(url: str) -> dict[str, str]:
    """eventsourcing's POSTGRES_* settings from a ``postgresql://`` URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise StorageError(
            f"SOCAI_DATABASE_URL must start with postgresql://, not {parts.scheme}://"
        )
    dbname = unquote(parts.path.lstrip("/"))
    if not dbname:
        raise StorageError("SOCAI_DATABASE_URL names no database")
    return {
        "POSTGRES_DBNAME": dbname,
        "POSTGRES_HOST": parts.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(parts.port or 5432),
        "POSTGRES_USER": unquote(parts.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(parts.password or ""),
        "POSTGRES_CONNECT_TIMEOUT": "5",
        "POSTGRES_POOL_SIZE": "4",
        "POSTGRES_MAX_OVERFLOW": "4",
        "POSTGRES_LOCK_TIMEOUT": "10",
    }


def connect(url: str) -> psycopg.Connection[Any]:
    """A plain autocommit connection, for checks, tests and administration."""
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=5)
    except psycopg.Error as e:
        raise StorageError(f"PostgreSQL unreachable: {e}") from e


class LedgerPostgresRecorder(PostgresApplicationRecorder):
    """Application recorder that also writes the certificate registry in the same transaction."""

    def create_table(self) -> None:
        # eventsourcing re-runs its DDL (CREATE OR REPLACE FUNCTION included)
        # on every open; two processes opening at once collide with "tuple
        # concurrently updated". A session-level advisory lock, held on its own
        # connection, makes the schema setup of concurrent openers take turns.
        with self.datastore.get_connection() as lock_conn:
            lock_conn.execute("SELECT pg_advisory_lock(%s)", (_SCHEMA_LOCK,))
            try:
                super().create_table()
                with self.datastore.transaction(commit=True) as curs:
                    curs.execute(
                        SQL(
                            "CREATE TABLE IF NOT EXISTS {schema}.socai_certificates ("
                            "fingerprint bytea PRIMARY KEY, owner uuid NOT NULL, "
                            "version bigint NOT NULL, pem text NOT NULL)"
                        ).format(schema=Identifier(self.datastore.schema))
                    )
                    for ddl in _LOG_DDL:
                        curs.execute(SQL(ddl).format(schema=Identifier(self.datastore.schema)))
                    curs.execute(
                        SQL(
                            "CREATE TABLE IF NOT EXISTS {schema}.socai_revocations ("
                            "fingerprint bytea PRIMARY KEY, revoked_at timestamptz NOT NULL, "
                            "reason text NOT NULL, owner uuid NOT NULL, version bigint NOT NULL)"
                        ).format(schema=Identifier(self.datastore.schema))
                    )
            finally:
                lock_conn.execute("SELECT pg_advisory_unlock(%s)", (_SCHEMA_LOCK,))

    def check_durability(self) -> None:
        """Raise :class:`StorageError` unless commits are flushed durably."""
        with self.datastore.transaction(commit=False) as curs:
            curs.execute("SHOW synchronous_commit")
            sync = curs.fetchone()
            curs.execute("SHOW fsync")
            fsync = curs.fetchone()
        assert sync is not None and fsync is not None
        if sync["synchronous_commit"] not in _DURABLE_COMMIT:
            raise StorageError(
                f"PostgreSQL synchronous_commit={sync['synchronous_commit']}; refusing to run"
            )
        if fsync["fsync"] != "on":
            raise StorageError("PostgreSQL fsync is off; refusing to run")

    def _insert_events(
        self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        check = kwargs.get("revocation_check")
        if check is not None:
            curs.execute(
                self._sql("SELECT * FROM {schema}.socai_revocations WHERE fingerprint=%s"),
                (check[0],),
            )
            row = curs.fetchone()
            refuse_if_revoked(None if row is None else _revocation_row(row), check[1])
        certs: Sequence[CertificateRow] = kwargs.get("certificates") or ()
        if certs:
            curs.executemany(
                SQL("INSERT INTO {schema}.socai_certificates VALUES (%s,%s,%s,%s)").format(
                    schema=Identifier(self.datastore.schema)
                ),
                [(r.fingerprint, r.owner, r.version, r.pem) for r in certs],
            )
        revocations: Sequence[RevocationRow] = kwargs.get("revocations") or ()
        if revocations:
            curs.executemany(
                SQL("INSERT INTO {schema}.socai_revocations VALUES (%s,%s,%s,%s,%s)").format(
                    schema=Identifier(self.datastore.schema)
                ),
                [(r.fingerprint, r.revoked_at, r.reason, r.owner, r.version) for r in revocations],
            )

    def select_revocation(self, fingerprint: bytes) -> RevocationRow | None:
        # On the append path: one autocommit round trip, no BEGIN/ROLLBACK around it.
        with self.datastore.get_connection() as conn:
            row = conn.execute(
                SQL("SELECT * FROM {schema}.socai_revocations WHERE fingerprint=%s").format(
                    schema=Identifier(self.datastore.schema)
                ),
                (fingerprint,),
            ).fetchone()
        return None if row is None else _revocation_row(row)

    def select_revocations(self) -> list[RevocationRow]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                SQL("SELECT * FROM {schema}.socai_revocations ORDER BY owner, version").format(
                    schema=Identifier(self.datastore.schema)
                )
            )
            return [_revocation_row(r) for r in curs.fetchall()]

    def select_certificate(self, fingerprint: bytes) -> CertificateRow | None:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                SQL("SELECT * FROM {schema}.socai_certificates WHERE fingerprint=%s").format(
                    schema=Identifier(self.datastore.schema)
                ),
                (fingerprint,),
            )
            row = curs.fetchone()
        return None if row is None else _cert_row(row)

    def select_certificates(self) -> list[CertificateRow]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                SQL("SELECT * FROM {schema}.socai_certificates ORDER BY owner, version").format(
                    schema=Identifier(self.datastore.schema)
                )
            )
            return [_cert_row(r) for r in curs.fetchall()]

    # -- transparency log storage (ledger.log.LogStorage) -------------------------------

    #: Log the events of every insert in its own transaction (benchmarks turn it off to
    #: measure what the log costs).
    log_in_transaction = True

    def _fetch_ids_after_insert_events(
        self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        if ids and self.log_in_transaction:
            self._append_log(curs, stored_events, ids)
        return ids

    def _append_log(
        self, curs: Any, stored_events: Sequence[StoredEvent], ids: Sequence[int]
    ) -> None:
        """Log the events just inserted, in this transaction, if nothing before them is unlogged.

        Runs under the events table's EXCLUSIVE lock that eventsourcing takes for every
        insert, so inserts (and with them the log) are serialised in notification order.
        """
        # One round trip: the log's position and the newest notification before these.
        curs.execute(
            SQL(
                "SELECT s.size, s.last_notification_id, s.frontier, "
                "(SELECT max(notification_id) FROM {schema}.{events} "
                "WHERE notification_id < %s) AS before FROM {schema}.socai_log_state s "
                "WHERE s.id = 0"
            ).format(
                schema=Identifier(self.datastore.schema), events=Identifier(self.events_table_name)
            ),
            (ids[0],),
        )
        state = curs.fetchone()
        if state["last_notification_id"] != (state["before"] or 0):
            return  # unlogged events precede these: the follower logs them all in order
        size = int(state["size"])
        leaves = [
            (size + i, n, leaf_hash_of(s.originator_id, s.originator_version, s.state))
            for i, (s, n) in enumerate(zip(stored_events, ids, strict=True))
        ]
        frontier = unpack_frontier(bytes(state["frontier"]))
        nodes, after = extend(size, frontier, [x[2] for x in leaves])
        curs.executemany(
            self._sql("INSERT INTO {schema}.socai_log_leaves VALUES (%s,%s,%s)"), leaves
        )
        if nodes:
            curs.executemany(
                self._sql("INSERT INTO {schema}.socai_log_nodes VALUES (%s,%s,%s)"), nodes
            )
        curs.execute(
            self._sql(
                "UPDATE {schema}.socai_log_state SET size = %s, last_notification_id = %s, "
                "frontier = %s WHERE id = 0"
            ),
            (size + len(leaves), ids[-1], b"".join(after)),
        )

    def _sql(self, text: str) -> Any:
        return SQL(text).format(schema=Identifier(self.datastore.schema))

    def log_position(self) -> tuple[int, int]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                self._sql("SELECT size, last_notification_id FROM {schema}.socai_log_state")
            )
            row = curs.fetchone()
        assert row is not None
        return int(row["size"]), int(row["last_notification_id"])

    def log_append(
        self,
        old: tuple[int, int],
        new_position: tuple[int, int],
        leaves: Sequence[LeafRow],
        nodes: Sequence[tuple[int, int, bytes]],
        frontier: Sequence[bytes],
    ) -> bool:
        with self.datastore.get_connection() as conn, conn.transaction():
            curs = conn.execute(
                self._sql(
                    "UPDATE {schema}.socai_log_state SET size = %s, last_notification_id = %s, "
                    "frontier = %s WHERE id = 0 AND size = %s AND last_notification_id = %s"
                ),
                (*new_position, b"".join(frontier), *old),
            )
            if curs.rowcount != 1:
                return False
            with conn.cursor() as c:
                c.executemany(
                    self._sql("INSERT INTO {schema}.socai_log_leaves VALUES (%s,%s,%s)"),
                    [(x.index, x.notification_id, x.hash) for x in leaves],
                )
                c.executemany(
                    self._sql("INSERT INTO {schema}.socai_log_nodes VALUES (%s,%s,%s)"), nodes
                )
        return True

    def log_nodes(self, keys: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        wanted = list(keys)
        if not wanted:
            return {}
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                self._sql(
                    "SELECT n.level, n.idx, n.hash FROM {schema}.socai_log_nodes n "
                    "JOIN unnest(%s::int[], %s::bigint[]) AS k(level, idx) "
                    "ON n.level = k.level AND n.idx = k.idx "
                    "UNION ALL SELECT 0, l.idx, l.hash FROM {schema}.socai_log_leaves l "
                    "JOIN unnest(%s::int[], %s::bigint[]) AS k(level, idx) "
                    "ON k.level = 0 AND l.idx = k.idx"
                ),
                ([k[0] for k in wanted], [k[1] for k in wanted]) * 2,
            )
            return {(r["level"], r["idx"]): bytes(r["hash"]) for r in curs.fetchall()}

    def _leaf_query(self, where: str) -> Any:
        # `where` is one of this class's own fixed clauses, never outside input.
        return SQL(
            "SELECT l.idx, l.notification_id, l.hash, e.originator_id, e.originator_version, "  # noqa: S608
            "e.state FROM {schema}.socai_log_leaves l LEFT JOIN {schema}.{events} e "
            "ON e.notification_id = l.notification_id WHERE " + where
        ).format(
            schema=Identifier(self.datastore.schema), events=Identifier(self.events_table_name)
        )

    def log_leaves(self, start: int, stop: int) -> list[LeafRow]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                self._leaf_query("l.idx >= %s AND l.idx < %s ORDER BY l.idx"), (start, stop)
            )
            return [_leaf_row(r) for r in curs.fetchall()]

    def log_leaf_of(self, record_id: UUID, version: int) -> LeafRow | None:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                self._leaf_query("e.originator_id = %s AND e.originator_version = %s"),
                (record_id, version),
            )
            row = curs.fetchone()
        return None if row is None else _leaf_row(row)

    def log_positions(self, record_id: UUID) -> dict[int, int]:
        query = SQL(
            "SELECT e.originator_version, l.idx FROM {schema}.socai_log_leaves l "
            "JOIN {schema}.{events} e ON e.notification_id = l.notification_id "
            "WHERE e.originator_id = %s"
        ).format(
            schema=Identifier(self.datastore.schema), events=Identifier(self.events_table_name)
        )
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(query, (record_id,))
            return {int(r["originator_version"]): int(r["idx"]) for r in curs.fetchall()}

    def iter_stored(self, record: UUID | None = None, page: int = 1000) -> Iterator[StoredEvent]:
        """Every stored event ordered by (record, version), streamed in pages."""
        table = SQL("{}.{}").format(
            Identifier(self.datastore.schema), Identifier(self.events_table_name)
        )
        after: tuple[UUID, int] = (UUID(int=0), 0)
        first = True
        while True:
            with self.datastore.transaction(commit=False) as curs:
                if record is None:
                    cond = SQL("(originator_id, originator_version) > (%s, %s)")
                    if first:
                        cond = SQL("(originator_id, originator_version) >= (%s, %s)")
                    curs.execute(
                        SQL(
                            "SELECT * FROM {} WHERE {} ORDER BY originator_id, "
                            "originator_version LIMIT %s"
                        ).format(table, cond),
                        (*after, page),
                    )
                else:
                    curs.execute(
                        SQL(
                            "SELECT * FROM {} WHERE originator_id=%s AND originator_version>%s "
                            "ORDER BY originator_version LIMIT %s"
                        ).format(table),
                        (record, after[1], page),
                    )
                rows = curs.fetchall()
            first = False
            for row in rows:
                yield StoredEvent(
                    originator_id=row["originator_id"],
                    originator_version=row["originator_version"],
                    topic=row["topic"],
                    state=bytes(row["state"]),
                )
            if len(rows) < page:
                return
            after = (rows[-1]["originator_id"], rows[-1]["originator_version"])


def _leaf_row(row: Any) -> LeafRow:
    version = row["originator_version"]
    return LeafRow(
        int(row["idx"]),
        int(row["notification_id"]),
        bytes(row["hash"]),
        row["originator_id"],
        None if version is None else int(version),
        None if row["state"] is None else bytes(row["state"]),
    )


def _revocation_row(row: Any) -> RevocationRow:
    return RevocationRow(
        bytes(row["fingerprint"]), row["revoked_at"], row["reason"], row["owner"], row["version"]
    )


def _cert_row(row: Any) -> CertificateRow:
    return CertificateRow(bytes(row["fingerprint"]), row["owner"], row["version"], row["pem"])


class LedgerPostgresFactory(PostgresFactory):
    """eventsourcing's PostgreSQL factory with the ledger recorder."""

    application_recorder_class = LedgerPostgresRecorder
