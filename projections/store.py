"""Where views keep their rows: one SQLite file or one PostgreSQL schema per view.

A view's store is an eventsourcing tracking recorder (the "materialised view" of
:mod:`eventsourcing.projection`): the view's tables and its tracking position
live in one database, and each page of events is written in one transaction
together with the position it reaches, so a crash never applies an event twice.
Writes are idempotent as well: the position is re-read inside the write
transaction and events at or below it are skipped, so a catch-up and a live
runner (or two processes) may race on one view without double-applying.

SQLite: ``<data_dir>/views/<name>.sqlite`` in WAL mode with ``synchronous=FULL``
and ``secure_delete=ON`` (deleted personal data must not linger in free pages).
The tracking table is eventsourcing's, always named ``tracking``, hence one
file per view.

PostgreSQL: schema ``view_<name>`` in the ledger's database. Every connection's
``search_path`` is that schema, so a view names its tables unqualified and the
same SQL runs on both engines. Its tracking table is ``view_<name>.tracking``.

View SQL is written once, SQLite style, with ``?`` placeholders;
:func:`to_pyformat` turns it into psycopg's ``%s`` style. :func:`upsert_sql`
and :func:`insert_sql` build the two statements views need most.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from eventsourcing.persistence import PersistenceError, Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.sqlite import (
    SQLiteConnection,
    SQLiteConnectionPool,
    SQLiteCursor,
    SQLiteDatastore,
    SQLiteTrackingRecorder,
)

from ledger.application import Settings
from ledger.errors import LedgerError
from ledger.postgres import env_from_url
from projections.errors import InvalidView, ViewApplyFailed, ViewConflict, ViewStorageError

#: A view's name: a lower-case SQL identifier, short enough for ``view_<name>`` in PostgreSQL.
VIEW_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}\Z")
#: eventsourcing's tracking table; on SQLite it cannot be renamed.
TRACKING_TABLE = "tracking"
#: One row: the fingerprint of the view's DDL, to notice when its tables change.
SCHEMA_TABLE = "view_schema"
#: Tables a view must not declare: the store's own.
RESERVED_TABLES = frozenset({TRACKING_TABLE, SCHEMA_TABLE})

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_BLOB = re.compile(r"\bBLOB\b", re.IGNORECASE)
_WITHOUT_ROWID = re.compile(r"\s+WITHOUT\s+ROWID\s*(?=;?\s*\Z)", re.IGNORECASE)
_SPECIAL = frozenset("'\"-/?%")


# -- SQL written once for both engines -----------------------------------------------------


@lru_cache(maxsize=4096)
def to_pyformat(statement: str) -> str:
    """Turn ``?`` placeholders into psycopg's ``%s``, and every ``%`` into ``%%``.

    Quoted strings, quoted identifiers and comments are copied as they are,
    except that ``%`` is doubled everywhere (psycopg reads it in literals too).
    Dollar-quoted and ``E'…'`` strings are not recognised; views do not need them.
    Results are cached: views pass the same few statements for every page.
    """
    out: list[str] = []
    i, n = 0, len(statement)
    while i < n:
        ch = statement[i]
        if ch in "'\"":
            j = i + 1
            while True:
                j = statement.find(ch, j)
                if j < 0:
                    raise InvalidView(f"unterminated {ch} quote in SQL: {statement!r}")
                if statement.startswith(ch, j + 1):  # a doubled quote is an escaped quote
                    j += 2
                    continue
                break
            out.append(statement[i : j + 1].replace("%", "%%"))
            i = j + 1
        elif statement.startswith("--", i):
            j = statement.find("\n", i)
            j = n if j < 0 else j
            out.append(statement[i:j].replace("%", "%%"))
            i = j
        elif statement.startswith("/*", i):
            j = statement.find("*/", i + 2)
            if j < 0:
                raise InvalidView(f"unterminated comment in SQL: {statement!r}")
            out.append(statement[i : j + 2].replace("%", "%%"))
            i = j + 2
        elif ch == "?":
            out.append("%s")
            i += 1
        elif ch == "%":
            out.append("%%")
            i += 1
        else:
            j = i + 1
            while j < n and statement[j] not in _SPECIAL:
                j += 1
            out.append(statement[i:j])
            i = j
    return "".join(out)


def _identifiers(*names: str) -> None:
    for name in names:
        if not isinstance(name, str) or not _IDENTIFIER.match(name):
            raise InvalidView(f"{name!r} is not a plain SQL identifier")


def _insert_head(table: str, columns: Sequence[str]) -> str:
    _identifiers(table, *columns)
    if not columns:
        raise InvalidView("an insert needs at least one column")
    # Identifiers are checked above; values are always parameters.
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES "  # noqa: S608


def _conflict_tail(
    columns: Sequence[str],
    key: Sequence[str],
    update: Sequence[str] | Mapping[str, str] | None,
) -> str:
    _identifiers(*key)
    if not key or not set(key) <= set(columns):
        raise InvalidView(f"the conflict key {list(key)} must be among the columns {list(columns)}")
    if update is None:
        update = [c for c in columns if c not in key]
    if isinstance(update, Mapping):
        _identifiers(*update)
        sets = [f"{column} = {expression}" for column, expression in update.items()]
    else:
        _identifiers(*update)
        sets = [f"{column} = excluded.{column}" for column in update]
    action = f"DO UPDATE SET {', '.join(sets)}" if sets else "DO NOTHING"
    return f" ON CONFLICT ({', '.join(key)}) {action}"


def _row_marks(width: int, mark: str = "?") -> str:
    return "(" + ", ".join([mark] * width) + ")"


def insert_sql(table: str, columns: Sequence[str]) -> str:
    """``INSERT INTO table (columns) VALUES (?, …)``."""
    return _insert_head(table, columns) + _row_marks(len(columns))


def upsert_sql(
    table: str,
    columns: Sequence[str],
    key: Sequence[str],
    update: Sequence[str] | Mapping[str, str] | None = None,
) -> str:
    """An insert that updates the row with the same ``key`` instead (SQLite ≥ 3.24, PostgreSQL).

    ``update`` names the columns to overwrite with the new value (default: every
    non-key column), or maps columns to SQL expressions, where ``excluded.c`` is
    the new value and ``table.c`` the stored one (qualify it: PostgreSQL finds a
    bare ``c`` ambiguous), e.g. ``{"n": "counts.n + excluded.n"}``. With nothing
    to update the statement is ``ON CONFLICT DO NOTHING``.
    """
    head = _insert_head(table, columns)
    return head + _row_marks(len(columns)) + _conflict_tail(columns, key, update)


@dataclass(frozen=True)
class Dialect:
    """The engine a view runs on, and the two translations its SQL needs."""

    #: ``"sqlite"`` or ``"postgresql"``.
    name: str

    @property
    def is_postgres(self) -> bool:
        return self.name == "postgresql"

    def sql(self, statement: str) -> str:
        """A statement written with ``?`` placeholders, in this engine's parameter style."""
        return to_pyformat(statement) if self.is_postgres else statement

    def ddl(self, statement: str) -> str:
        """A view's DDL for this engine: on PostgreSQL ``BLOB`` is ``BYTEA``, no ``WITHOUT ROWID``.

        Otherwise write types both engines know: ``TEXT``, ``INTEGER`` (32-bit on
        PostgreSQL), ``BIGINT``, ``DOUBLE PRECISION``, ``BOOLEAN``, ``BLOB``.
        Store UUIDs, decimals and datetimes as ``TEXT`` (``sqlite3`` binds none of them).
        """
        if not self.is_postgres:
            return statement
        return _WITHOUT_ROWID.sub("", _BLOB.sub("BYTEA", statement))


SQLITE = Dialect("sqlite")
POSTGRESQL = Dialect("postgresql")


class Tx:
    """One write transaction on a view's store: what ``View.apply`` writes its rows with.

    Statements use ``?`` placeholders on both engines. Write rows with
    :meth:`insert`, :meth:`upsert` or :meth:`executemany`, accumulated per page,
    not one statement per event. :meth:`query` reads inside the transaction.
    """

    __slots__ = ("_column_types", "_cursor", "dialect")

    def __init__(
        self,
        cursor: Any,
        dialect: Dialect,
        column_types: Callable[[str], Mapping[str, str]] | None = None,
    ) -> None:
        self._cursor = cursor
        self._column_types = column_types
        #: The engine, for the rare statement that must differ.
        self.dialect = dialect

    def execute(self, statement: str, params: Sequence[Any] = ()) -> None:
        """Run one statement."""
        self._cursor.execute(self.dialect.sql(statement), tuple(params))

    def executemany(self, statement: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one statement for every row (nothing when there are none)."""
        batch = rows if isinstance(rows, list) else list(rows)
        if batch:
            self._cursor.executemany(self.dialect.sql(statement), batch)

    def insert(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        """Insert rows given as tuples in ``columns`` order."""
        self._rows(table, columns, rows, "")

    def upsert(
        self,
        table: str,
        columns: Sequence[str],
        key: Sequence[str],
        rows: Iterable[Sequence[Any]],
        *,
        update: Sequence[str] | Mapping[str, str] | None = None,
    ) -> None:
        """Insert rows, or update the rows with the same ``key`` (see :func:`upsert_sql`).

        A key may occur only once in ``rows`` (PostgreSQL refuses to update a
        row twice in one statement): merge a page's rows per key first.
        """
        self._rows(table, columns, rows, _conflict_tail(columns, key, update))

    def _rows(
        self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], tail: str
    ) -> None:
        head = _insert_head(table, columns)
        batch = rows if isinstance(rows, list) else list(rows)
        if not batch:
            return
        width = len(columns)
        if not self.dialect.is_postgres or self._column_types is None:
            # sqlite3 loops over the rows in C, as fast as a multi-row statement would be.
            self._cursor.executemany(self.dialect.sql(head + _row_marks(width) + tail), batch)
            return
        # PostgreSQL: one statement over one array per column, one round trip per page
        # rather than one per row; the arrays are cast to the columns' own types.
        types = self._column_types(table)
        try:
            casts = [f"%b::{types[c]}[]" for c in columns]
        except KeyError as e:
            raise InvalidView(f"table {table} has no column {e.args[0]}") from None
        try:
            arrays = [list(values) for values in zip(*batch, strict=True)]
        except ValueError:
            raise InvalidView(f"rows for {table} differ in length") from None
        if len(arrays) != width:
            raise InvalidView(f"rows for {table} must have {width} values, not {len(arrays)}")
        # Identifiers and types come from the checks above and the catalog.
        statement = f"{head[: -len('VALUES ')]}SELECT * FROM unnest({', '.join(casts)})"  # noqa: S608
        self._cursor.execute(statement + to_pyformat(tail), arrays)

    def query(self, statement: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Rows as dicts, seeing this transaction's own writes."""
        self._cursor.execute(self.dialect.sql(statement), tuple(params))
        return [dict(row) for row in self._cursor.fetchall()]


# -- stores ---------------------------------------------------------------------------------


class ViewLike(Protocol):
    """What a store needs of a view (:class:`projections.runner.View` provides it)."""

    def apply(self, batch: Any, tx: Tx) -> None: ...


class Positioned(Protocol):
    """An event with a notification id (:class:`projections.runner.ViewEvent`)."""

    @property
    def notification_id(self) -> int: ...


class ViewStore(ABC):
    """A view's tables and tracking position in one database (SQLite file or PostgreSQL schema)."""

    dialect: Dialect
    #: The view's name.
    view_name: str
    #: The tracking name of the application it follows (the ledger's, ``socai``).
    application_name: str

    # -- engine specifics ----------------------------------------------------------------

    @abstractmethod
    def _write(self) -> Any:
        """Context manager: a write transaction, one writer per view at a time.

        Yields (cursor for the view's SQL, cursor for eventsourcing's tracking insert).
        """

    @abstractmethod
    def _read(self) -> Any:
        """Context manager: a read-only cursor."""

    @abstractmethod
    def _scalar(self, cursor: Any, statement: str, params: Sequence[Any] = ()) -> Any:
        """The first column of the first row of a query, or None."""

    @abstractmethod
    def _objects(self, cursor: Any) -> list[tuple[str, str]]:
        """(``TABLE`` or ``VIEW``, name) of the view's own database objects."""

    @abstractmethod
    def _track(self, cursor: Any, position: int) -> None:
        """Record the tracking position in the transaction of ``cursor``."""

    @abstractmethod
    def _tracking_table(self) -> str:
        """The tracking table's name as SQL."""

    def _types_in(self, cursor: Any) -> Callable[[str], Mapping[str, str]] | None:
        """Column types by table, for writing arrays (PostgreSQL); None where not needed."""
        return None

    def compact(self) -> None:  # noqa: B027 - optional: only SQLite's WAL needs it
        """Remove old page images kept by the engine, after tables were dropped (no-op here)."""

    @abstractmethod
    def close(self) -> None:
        """Close the store's connections."""

    @abstractmethod
    def max_tracking_id(self, application_name: str) -> int | None:
        """See :meth:`eventsourcing.persistence.TrackingRecorder.max_tracking_id`."""

    # -- common behaviour ----------------------------------------------------------------

    def position(self) -> int | None:
        """The notification id the view has applied up to, or None before its first page."""
        try:
            return self.max_tracking_id(self.application_name)
        except PersistenceError as e:
            raise ViewStorageError(f"view {self.view_name}: cannot read its position: {e}") from e

    def open(self, ddl: Sequence[str], fingerprint: str) -> bool:
        """Create the view's tables unless they match ``fingerprint``; return True if (re)created.

        When the fingerprint differs (the view's DDL or version changed), the old
        tables are dropped and the position reset, so the next catch-up rebuilds.
        """
        with self._write() as (cursor, tracking):
            stored = self._scalar(cursor, f"SELECT fingerprint FROM {SCHEMA_TABLE} WHERE id = 0")  # noqa: S608
            if stored == fingerprint:
                return False
            self._reset(cursor, tracking, ddl, fingerprint)
        self.compact()
        return True

    def reset(self, ddl: Sequence[str], fingerprint: str) -> None:
        """Drop the view's tables, forget its position and create the tables afresh."""
        with self._write() as (cursor, tracking):
            self._reset(cursor, tracking, ddl, fingerprint)
        self.compact()

    def _reset(self, cursor: Any, tracking: Any, ddl: Sequence[str], fingerprint: str) -> None:
        for kind, name in self._objects(cursor):
            if name not in RESERVED_TABLES:
                cursor.execute(self._drop(kind, name))
        cursor.execute(
            self.dialect.sql(f"DELETE FROM {self._tracking_table()} WHERE application_name = ?"),  # noqa: S608
            (self.application_name,),
        )
        for statement in ddl:
            cursor.execute(self.dialect.ddl(statement))
        cursor.execute(
            self.dialect.sql(upsert_sql(SCHEMA_TABLE, ("id", "fingerprint"), ("id",))),
            (0, fingerprint),
        )

    def _drop(self, kind: str, name: str) -> str:
        quoted = '"' + name.replace('"', '""') + '"'
        return f"DROP {kind} IF EXISTS {quoted}" + (" CASCADE" if self.dialect.is_postgres else "")

    def apply(
        self, view: ViewLike, events: Sequence[Positioned], upto: int, after: int
    ) -> tuple[int, int]:
        """Apply a page of events and move the position to ``upto``, in one transaction.

        ``events`` are every event the view needs in ``(after, upto]``, in
        notification order. Those at or below the stored position are skipped
        (another writer applied them). A stored position below ``after`` means the
        view was reset meanwhile: :class:`ViewConflict`, and nothing is written.
        Returns (events applied, position reached).
        """
        with self._write() as (cursor, tracking):
            current = (
                self._scalar(
                    cursor,
                    f"SELECT notification_id FROM {self._tracking_table()} "  # noqa: S608
                    "WHERE application_name = ?",
                    (self.application_name,),
                )
                or 0
            )
            if upto <= current:
                return 0, current
            if current < after:
                raise ViewConflict(
                    f"view {self.view_name} is at {current}, behind this page's start {after} "
                    "(rebuilt meanwhile?); catch up again"
                )
            if events and events[0].notification_id <= current:
                events = [e for e in events if e.notification_id > current]
            if events:
                try:
                    view.apply(events, Tx(cursor, self.dialect, self._types_in(cursor)))
                except Exception as e:
                    raise ViewApplyFailed(
                        self.view_name,
                        events[0].notification_id,
                        events[-1].notification_id,
                        f"{type(e).__name__}: {e}",
                    ) from e
            self._track(tracking, upto)
        return len(events), upto

    def query(self, statement: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Run a read-only query on the view's tables; rows as dicts."""
        with self._read() as cursor:
            cursor.execute(self.dialect.sql(statement), tuple(params))
            return [dict(row) for row in cursor.fetchall()]


def _lock_key_of(name: str) -> int:
    digest = hashlib.sha256(b"socai/view-lock\x00" + name.encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


# -- SQLite --------------------------------------------------------------------------------


class _ViewSQLitePool(SQLiteConnectionPool):
    """Connections in WAL with ``synchronous=FULL`` and ``secure_delete=ON``, checked."""

    def _create_connection(self) -> SQLiteConnection:
        conn = super()._create_connection()
        raw = conn._sqlite_conn  # eventsourcing keeps the sqlite3 connection here
        raw.execute("PRAGMA synchronous=FULL")
        raw.execute("PRAGMA secure_delete=ON")
        sync = raw.execute("PRAGMA synchronous").fetchone()[0]
        secure = raw.execute("PRAGMA secure_delete").fetchone()[0]
        mode = str(raw.execute("PRAGMA journal_mode").fetchone()[0]).lower()
        if sync < 2 or secure != 1 or mode != "wal":
            raw.close()
            raise ViewStorageError(
                f"view database {self.db_name}: synchronous={sync}, secure_delete={secure}, "
                f"journal_mode={mode}; need FULL, ON and WAL"
            )
        return conn


class SQLiteViewStore(SQLiteTrackingRecorder, ViewStore):
    """A view in its own SQLite file, with eventsourcing's ``tracking`` table."""

    dialect = SQLITE

    def __init__(self, path: Path, view_name: str, application_name: str) -> None:
        self.view_name = view_name
        self.application_name = application_name
        self.path = path
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            datastore = SQLiteDatastore(db_name=str(path), lock_timeout=30)
            old = datastore.pool
            # The datastore builds its pool eagerly but connects lazily: swap it for
            # the checked one before any connection exists (as ledger.sqlite does).
            datastore.pool = _ViewSQLitePool(db_name=old.db_name, lock_timeout=old.lock_timeout)
            old.close()
            super().__init__(datastore)
            self.create_table()
        except (OSError, sqlite3.Error, PersistenceError) as e:
            raise ViewStorageError(f"view {view_name}: cannot open {path}: {e}") from e

    def create_table(self) -> None:
        # eventsourcing looks for the tracking table before creating it, outside any
        # transaction, so two processes opening a new view would both insert its
        # migration row, and one would fail. Look and create under one write lock.
        with self._write() as (raw, cursor):
            raw.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'tracking'")
            if raw.fetchone() is not None:
                self.tracking_table_exists = True
                self.tracking_migration_previous = self._max_tracking_id(
                    self.table_migration_identifier, cursor
                )
                self.tracking_migration_current = self.tracking_migration_previous
            self._create_table(cursor)

    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            f"CREATE TABLE IF NOT EXISTS {SCHEMA_TABLE} ("
            "id INTEGER PRIMARY KEY CHECK (id = 0), fingerprint TEXT NOT NULL)",
        ]

    @contextmanager
    def _write(self) -> Iterator[tuple[sqlite3.Cursor, SQLiteCursor]]:
        try:
            with self.datastore.get_connection(commit=True) as conn:
                cursor = conn.cursor()
                try:
                    # IMMEDIATE: take the write lock before reading the position, so a
                    # concurrent writer makes this one wait instead of failing later.
                    cursor.execute("BEGIN IMMEDIATE")
                    yield cursor.sqlite_cursor, cursor
                    conn.commit()
                except BaseException:
                    conn.rollback()
                    raise
                finally:
                    cursor.sqlite_cursor.close()
        except (sqlite3.Error, PersistenceError) as e:
            raise ViewStorageError(f"view {self.view_name}: {e}") from e

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Cursor]:
        try:
            with self.datastore.transaction(commit=False) as c:
                yield c.sqlite_cursor
        except (sqlite3.Error, PersistenceError) as e:
            raise ViewStorageError(f"view {self.view_name}: {e}") from e

    def _scalar(self, cursor: Any, statement: str, params: Sequence[Any] = ()) -> Any:
        cursor.execute(statement, tuple(params))
        row = cursor.fetchone()
        return None if row is None else row[0]

    def _objects(self, cursor: Any) -> list[tuple[str, str]]:
        cursor.execute(
            "SELECT upper(type), name FROM sqlite_master WHERE type IN ('table', 'view') "
            "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
        )
        return [(str(r[0]), str(r[1])) for r in cursor.fetchall()]

    def _track(self, cursor: Any, position: int) -> None:
        self._insert_tracking(cursor, Tracking(self.application_name, position))

    def _tracking_table(self) -> str:
        return TRACKING_TABLE

    def compact(self) -> None:
        """Checkpoint and truncate the WAL, so dropped rows' old page images leave it too."""
        try:
            with self.datastore.get_connection(commit=True) as conn:
                conn._sqlite_conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except (sqlite3.Error, PersistenceError) as e:
            raise ViewStorageError(f"view {self.view_name}: {e}") from e

    def close(self) -> None:
        self.datastore.close()


# -- PostgreSQL ----------------------------------------------------------------------------


class _ViewPostgresDatastore(PostgresDatastore):
    """eventsourcing's datastore whose connections search the view's schema only."""

    def after_connect_func(self) -> Any:
        configure = super().after_connect_func()
        statement = f'SET search_path TO "{self.schema}"'  # the schema name is validated

        def after_connect(conn: Any) -> None:
            configure(conn)
            conn.execute(statement)

        return after_connect


class PostgresViewStore(PostgresTrackingRecorder, ViewStore):
    """A view in its own schema of the ledger's PostgreSQL database."""

    dialect = POSTGRESQL

    def __init__(self, url: str, view_name: str, application_name: str) -> None:
        self.view_name = view_name
        self.application_name = application_name
        self.schema = f"view_{view_name}"
        self._lock_key = _lock_key_of(self.schema)
        self._column_types: dict[str, dict[str, str]] = {}
        try:
            env = env_from_url(url)
        except LedgerError as e:
            raise ViewStorageError(str(e)) from e
        datastore = _ViewPostgresDatastore(
            dbname=env["POSTGRES_DBNAME"],
            host=env["POSTGRES_HOST"],
            port=env["POSTGRES_PORT"],
            user=env["POSTGRES_USER"],
            password=env["POSTGRES_PASSWORD"],
            connect_timeout=float(env["POSTGRES_CONNECT_TIMEOUT"]),
            pool_size=1,
            max_overflow=4,
            lock_timeout=int(env["POSTGRES_LOCK_TIMEOUT"]),
            schema=self.schema,
        )
        super().__init__(datastore, tracking_table_name=TRACKING_TABLE)
        try:
            self.create_table()
        except PersistenceError as e:
            datastore.close()
            raise ViewStorageError(
                f"view {view_name}: cannot open schema {self.schema}: {e}"
            ) from e

    def create_table(self) -> None:
        # Two processes opening a new view at once would collide on the catalog
        # ("duplicate key"): a session advisory lock makes them take turns.
        with self.datastore.get_connection() as lock_conn:
            lock_conn.execute("SELECT pg_advisory_lock(%s)", (self._lock_key,))
            try:
                with self.datastore.transaction(commit=True) as curs:
                    curs.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
                super().create_table()
                with self.datastore.transaction(commit=True) as curs:
                    curs.execute(
                        f'CREATE TABLE IF NOT EXISTS "{self.schema}".{SCHEMA_TABLE} ('
                        "id INTEGER PRIMARY KEY CHECK (id = 0), fingerprint TEXT NOT NULL)"
                    )
            finally:
                lock_conn.execute("SELECT pg_advisory_unlock(%s)", (self._lock_key,))

    @contextmanager
    def _write(self) -> Iterator[tuple[Any, Any]]:
        try:
            with self.datastore.transaction(commit=True) as curs:
                # Writers of one view take turns, across processes too.
                curs.execute("SELECT pg_advisory_xact_lock(%s)", (self._lock_key,))
                yield curs, curs
        except PersistenceError as e:
            raise ViewStorageError(f"view {self.view_name}: {e}") from e

    @contextmanager
    def _read(self) -> Iterator[Any]:
        try:
            with self.datastore.get_connection() as conn, conn.cursor() as curs:
                yield curs
        except PersistenceError as e:
            raise ViewStorageError(f"view {self.view_name}: {e}") from e

    def _scalar(self, cursor: Any, statement: str, params: Sequence[Any] = ()) -> Any:
        cursor.execute(to_pyformat(statement), tuple(params))
        row = cursor.fetchone()
        return None if row is None else next(iter(row.values()))

    def _objects(self, cursor: Any) -> list[tuple[str, str]]:
        cursor.execute(
            "SELECT table_type, table_name FROM information_schema.tables WHERE table_schema = %s",
            (self.schema,),
        )
        kinds = {"BASE TABLE": "TABLE", "VIEW": "VIEW"}
        return [
            (kinds[r["table_type"]], r["table_name"])
            for r in cursor.fetchall()
            if r["table_type"] in kinds
        ]

    def _track(self, cursor: Any, position: int) -> None:
        self._insert_tracking(cursor, Tracking(self.application_name, position))

    def _tracking_table(self) -> str:
        return f'"{self.schema}".{TRACKING_TABLE}'

    def _types_in(self, cursor: Any) -> Callable[[str], Mapping[str, str]]:
        cache = self._column_types

        def column_types(table: str) -> Mapping[str, str]:
            types = cache.get(table)
            if types is None:
                cursor.execute(
                    "SELECT attname, format_type(atttypid, atttypmod) AS type FROM pg_attribute "
                    "WHERE attrelid = to_regclass(%s) AND attnum > 0 AND NOT attisdropped",
                    (f'"{self.schema}"."{table}"',),
                )
                types = cache[table] = {r["attname"]: r["type"] for r in cursor.fetchall()}
                if not types:
                    raise InvalidView(f"view {self.view_name} has no table {table}")
            return types

        return column_types

    def _reset(self, cursor: Any, tracking: Any, ddl: Sequence[str], fingerprint: str) -> None:
        self._column_types.clear()
        super()._reset(cursor, tracking, ddl, fingerprint)

    def close(self) -> None:
        self.datastore.close()


def open_store(settings: Settings, view_name: str, application_name: str) -> ViewStore:
    """The store of the view named ``view_name`` for the ledger at ``settings``."""
    if not isinstance(view_name, str) or not VIEW_NAME.match(view_name):
        raise InvalidView(
            f"view name {view_name!r} must be lower-case letters, digits and _ (at most 40)"
        )
    if settings.database_url:
        return PostgresViewStore(settings.database_url, view_name, application_name)
    path = settings.data_dir / "views" / f"{view_name}.sqlite"
    return SQLiteViewStore(path, view_name, application_name)
