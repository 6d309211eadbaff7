"""Views over the ledger, and the runner that keeps them up to date.

A view (:class:`View`) declares a ``name``, the event ``topics`` it needs, the
DDL of its tables, and :meth:`View.apply`, which turns a page of events
(:class:`ViewEvent`) into row writes on a :class:`~projections.store.Tx`. The
:class:`ViewRunner` feeds it:

- :meth:`ViewRunner.catch_up` reads every notification after the view's
  tracking position in pages (filtered by topic in SQL), and writes each page
  in one transaction together with the position it reaches, so a crash never
  applies an event twice and a rerun continues where the last commit ended.
- :meth:`ViewRunner.rebuild` drops the view's tables, forgets its position and
  catches up from the first event.
- :meth:`ViewRunner.start` catches up, then keeps the view current in a
  background thread on eventsourcing's projection runner: PostgreSQL's
  LISTEN/NOTIFY subscription, or, on SQLite (whose eventsourcing recorder has
  no ``subscribe()``), :class:`PollingSubscription`. Events that arrive together
  are applied together. :meth:`LiveView.wait` blocks until a notification is in.
- :meth:`ViewRunner.query` reads a view's tables, rows as dicts, so views can
  offer typed query methods on top.

Views trust the ledger: it verified every signature when it wrote the event,
and ``socai audit`` re-verifies. So a view reads only the payload out of the
envelope, and decodes it as the ledger's transcoder does (:class:`PayloadCodec`),
once, and only if the view looks at :attr:`ViewEvent.state`.
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple, cast
from uuid import UUID

import orjson
from eventsourcing.application import Application
from eventsourcing.persistence import (
    InfrastructureFactory,
    JSONTranscoder,
    ListenNotifySubscription,
    Mapper,
    PersistenceError,
    ShutDown,
    StoredEvent,
    TrackingRecorder,
    Transcoder,
    TranscodingNotRegisteredError,
    UUIDAsHex,
)
from eventsourcing.postgres import PostgresSubscription
from eventsourcing.projection import ApplicationSubscription, BaseProjectionRunner, Projection
from eventsourcing.utils import Environment, EnvType, get_topic

from ledger.application import Ledger, Settings
from ledger.errors import LedgerError
from ledger.postgres import LedgerPostgresFactory, LedgerPostgresRecorder, env_from_url
from ledger.sqlite import LedgerSQLiteFactory, LedgerSQLiteRecorder
from projections.errors import (
    InvalidView,
    ViewConflict,
    ViewStopped,
    ViewStorageError,
    ViewTimeout,
)
from projections.store import (
    POSTGRESQL,
    RESERVED_TABLES,
    SQLITE,
    VIEW_NAME,
    Dialect,
    Tx,
    ViewStore,
    insert_sql,
    open_store,
    to_pyformat,
    upsert_sql,
)
from signing import envelope
from signing.errors import SigningError

__all__ = [
    "LEDGER_NAME",
    "NOTIFY_FALLBACK",
    "PAGE_SIZE",
    "POLL_INTERVAL",
    "POSTGRESQL",
    "SQLITE",
    "Dialect",
    "LedgerReader",
    "LiveView",
    "PagedPostgresRecorder",
    "PayloadCodec",
    "PollingSQLiteRecorder",
    "PollingSubscription",
    "Progress",
    "Tx",
    "View",
    "ViewEvent",
    "ViewRunner",
    "insert_sql",
    "payload_of",
    "reader_env",
    "to_pyformat",
    "upsert_sql",
]

#: The tracking name of the ledger, as eventsourcing records it for every view.
LEDGER_NAME = Ledger.name
#: Notifications per page (and per transaction) in a catch-up or rebuild.
PAGE_SIZE = 2000
#: How often a SQLite subscription looks for new events once caught up, in seconds.
POLL_INTERVAL = 0.075
#: How long a PostgreSQL subscription waits for a notification before it looks anyway.
NOTIFY_FALLBACK = 1.0


# -- events as views see them --------------------------------------------------------------


class PayloadCodec:
    """Decodes event payloads exactly as the ledger's transcoder does, in about 60% of its time.

    For eventsourcing's own ``JSONTranscoder`` it parses with ``raw_decode``
    (skipping ``decode``'s two whitespace scans) and keeps the UUIDs it decodes,
    since the same few signers' and records' ids recur in every page. Anything
    unusual (a transcoder of another kind, trailing bytes, malformed JSON) goes
    to the transcoder itself, which gives the same result or its own error.
    """

    __slots__ = ("_raw_decode", "transcoder")

    #: UUIDs kept per codec before the cache starts afresh.
    UUID_CACHE = 1 << 16

    def __init__(self, transcoder: Transcoder) -> None:
        self.transcoder = transcoder
        self._raw_decode: Callable[[str], tuple[Any, int]] | None = None
        kind: Any = type(transcoder)
        if (
            isinstance(transcoder, JSONTranscoder)
            and kind.decode is JSONTranscoder.decode
            and kind._decode_obj is JSONTranscoder._decode_obj
        ):
            self._raw_decode = json.JSONDecoder(object_hook=self._hook(transcoder)).raw_decode

    @classmethod
    def _hook(cls, transcoder: JSONTranscoder) -> Callable[[dict[str, Any]], Any]:
        names = transcoder.names
        uuids: dict[str, UUID] = {}
        limit = cls.UUID_CACHE

        # JSONTranscoder._decode_obj, with the uuid_hex transcoding memoised (UUIDs are immutable).
        def hook(d: dict[str, Any]) -> Any:
            if len(d) != 2 or "_type_" not in d or "_data_" not in d:
                return d
            name, data = d["_type_"], d["_data_"]
            transcoding = names.get(name)
            if transcoding is None:
                raise TranscodingNotRegisteredError(
                    f"Data serialized with name '{name}' is not deserializable. "
                    "Please register a custom transcoding for this type."
                )
            if type(transcoding) is UUIDAsHex and type(data) is str:
                found = uuids.get(data)
                if found is None:
                    if len(uuids) >= limit:
                        uuids.clear()
                    found = uuids[data] = UUID(data)
                return found
            return transcoding.decode(data)

        return hook

    def decode(self, payload: bytes) -> dict[str, Any]:
        """The event state in ``payload``."""
        raw_decode = self._raw_decode
        if raw_decode is not None:
            text = payload.decode("utf-8")
            try:
                state, end = raw_decode(text)
            except ValueError:
                state, end = None, -1
            if end == len(text) and type(state) is dict:
                return state
        return cast(dict[str, Any], self.transcoder.decode(payload))


class _Once:
    """An attribute computed on first use and then kept on the instance.

    Like ``functools.cached_property`` without its lock, which in Python 3.11
    costs more per event than most views spend on it.
    """

    def __init__(self, compute: Callable[[Any], Any]) -> None:
        self.compute = compute
        self.__doc__ = compute.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        value = instance.__dict__[self.name] = self.compute(instance)
        return value


class _EventFields(NamedTuple):
    notification_id: int
    record_id: UUID
    version: int
    topic: str
    payload: bytes
    codec: PayloadCodec


class ViewEvent(_EventFields):
    """One event as a view sees it: where it is, whose it is, and its decoded state.

    Immutable. ``notification_id`` is its position in the ledger; ``record_id``
    and ``version`` name the record (aggregate) and the event's place in it;
    ``topic`` is the event class, e.g. ``ledger.domain:StudentRecord.ScoreRecorded``;
    ``payload`` the JSON bytes that were signed; ``codec`` decodes them.
    """

    if TYPE_CHECKING:
        #: The event's fields (UUID, Decimal, datetime restored), decoded once, on first use.
        state: dict[str, Any]
        #: The event's JSON as parsed, without restoring types, decoded once, on first use.
        raw: dict[str, Any]
    else:

        @_Once
        def state(self) -> dict[str, Any]:
            """The event's fields (UUID, Decimal, datetime restored), decoded once, on first use."""
            return self.codec.decode(self.payload)

        @_Once
        def raw(self) -> dict[str, Any]:
            """The payload JSON as parsed by orjson, with transcoded values left tagged.

            About five times cheaper than :attr:`state`: for the hot paths of a rebuild.
            A UUID, Decimal or datetime field is ``{"_type_": …, "_data_": text}`` here;
            :func:`raw_text` gets its text.
            """
            try:
                value = orjson.loads(self.payload)
            except orjson.JSONDecodeError as e:
                raise ViewStorageError(f"event payload is not JSON: {e}") from e
            if type(value) is not dict:
                raise ViewStorageError("event payload is not a JSON object")
            return value

    @property
    def event_name(self) -> str:
        """The event class's own name, e.g. ``ScoreRecorded``."""
        return self.topic.rpartition(".")[2]

    def __repr__(self) -> str:
        return f"ViewEvent({self.notification_id}, {self.record_id}, v{self.version}, {self.topic})"


#: The fixed part of a version-1 envelope (``signing.envelope``): magic, algorithm,
#: signer, prev, hash, batch size, batch index, path length.
_ENVELOPE_HEADER = struct.calcsize(">4sB32s32s32sHHB")


def raw_text(value: Any) -> Any:
    """The text of a tagged value in :attr:`ViewEvent.raw` (a UUID's hex, a Decimal's string)."""
    if type(value) is dict and "_data_" in value:
        return value["_data_"]
    return value


def payload_of(state: bytes) -> bytes:
    """The payload of a stored envelope (layout in ``signing.envelope``), without verifying it.

    Reads the two length fields instead of parsing the whole envelope, since it
    runs once per event in every rebuild; anything that does not fit the layout
    goes through :func:`signing.envelope.decode` for its precise error.
    """
    size = len(state)
    if state.startswith(envelope.MAGIC) and size >= _ENVELOPE_HEADER + 2:
        end = _ENVELOPE_HEADER + 32 * state[_ENVELOPE_HEADER - 1]
        if size >= end + 2:
            start = end + 2 + ((state[end] << 8) | state[end + 1])
            if end + 2 < start <= size:
                return state[start:]
    try:
        return envelope.decode(state).payload
    except SigningError as e:
        raise ViewStorageError(f"malformed event envelope in the ledger: {e}") from e


def _events(
    rows: Sequence[Sequence[Any]], codec: PayloadCodec, ids: dict[str, UUID] | None
) -> list[ViewEvent]:
    """ViewEvents from (notification id, record id, version, topic, state) rows.

    With ``ids``, record ids come as hex text (SQLite) and are made UUIDs
    through that cache: a record's events cluster, and UUID() is the dearest step.
    """
    new = tuple.__new__
    if ids is None:
        return [new(ViewEvent, (n, r, v, t, payload_of(s), codec)) for n, r, v, t, s in rows]
    if len(ids) > PayloadCodec.UUID_CACHE:
        ids.clear()
    known = ids.get
    return [
        new(ViewEvent, (n, known(r) or ids.setdefault(r, UUID(r)), v, t, payload_of(s), codec))
        for n, r, v, t, s in rows
    ]


# -- views ----------------------------------------------------------------------------------


class View(ABC):
    """A read model kept by the runner. Subclass it; instances are what the runner takes.

    Declare:

    - ``name``: lower-case identifier; the SQLite file ``<data>/views/<name>.sqlite``
      or the PostgreSQL schema ``view_<name>``.
    - ``topics``: the event topics (strings, or event classes) the view needs;
      None for all. Filtering happens in SQL, so list only what ``apply`` uses.
    - ``ddl``: ``CREATE TABLE``/``CREATE INDEX`` statements, written once for both
      engines (see :meth:`projections.store.Dialect.ddl`). Tables ``tracking`` and
      ``view_schema`` are the store's. When the DDL or ``version`` changes, the
      view is rebuilt on next use; bump ``version`` when ``apply`` changes meaning.
    - :meth:`apply`: write the rows for a page of events.
    """

    name: ClassVar[str]
    topics: ClassVar[Sequence[str | type] | None] = None
    ddl: ClassVar[Sequence[str]] = ()
    version: ClassVar[int] = 1

    @abstractmethod
    def apply(self, batch: Sequence[ViewEvent], tx: Tx) -> None:
        """Write what ``batch`` changes, through ``tx``, in one go.

        ``batch`` holds up to a page of events in notification order (only the
        declared topics). Accumulate rows in memory and write them with
        ``tx.executemany``/``tx.insert``/``tx.upsert``; the runner commits them
        with the new tracking position. Raise to reject the page: it is rolled
        back and the position stays.
        """

    def fingerprint(self) -> str:
        """Identifies the tables' shape: the DDL and ``version``."""
        text = "\x00".join([str(self.version), *self.ddl])
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _topics_of(view: View) -> tuple[str, ...] | None:
    topics = view.topics
    if topics is None:
        return None
    if isinstance(topics, str) or not topics:
        raise InvalidView(f"view {view.name}: topics must be None (all) or a non-empty sequence")
    return tuple(t if isinstance(t, str) else get_topic(t) for t in topics)


#: The tables a DDL statement creates, alters or indexes.
_DDL_TARGETS = re.compile(
    r"\b(?:TABLE|VIEW|ON)\s+(?:IF\s+(?:NOT\s+)?EXISTS\s+)?[\"`\[]?(\w+)", re.IGNORECASE
)


def _check(view: View) -> None:
    name = getattr(view, "name", None)
    if not isinstance(name, str) or not VIEW_NAME.match(name):
        raise InvalidView(
            f"view name {name!r} must be lower-case letters, digits and _ (at most 40)"
        )
    if not all(isinstance(s, str) for s in view.ddl):
        raise InvalidView(f"view {name}: ddl must be SQL statements")
    for statement in view.ddl:
        for table in _DDL_TARGETS.findall(statement):
            if table.lower() in RESERVED_TABLES:
                raise InvalidView(f"view {name}: table {table} is reserved for the store")
    _topics_of(view)


@dataclass(frozen=True)
class Progress:
    """What one catch-up or rebuild did."""

    #: The view's name.
    view: str
    #: The notification id the view has reached.
    position: int
    #: Events applied.
    events: int
    #: Transactions committed (pages).
    pages: int
    #: Wall-clock time taken.
    seconds: float


# -- reading the ledger ---------------------------------------------------------------------


class _PagedSubscription(ListenNotifySubscription[Any]):
    """A subscription that pulls pages up to the ledger's head when woken, or every ``interval``.

    Pulling up to the head (not just to the last matching event) moves the
    cursor past runs of events the view does not need, so each pull reads only
    what is new. :meth:`buffered` tells the runner whether more events are
    ready, so that it can apply them together.
    """

    def __init__(
        self,
        recorder: Any,
        gt: int | None = None,
        topics: Sequence[str] = (),
        *,
        page: int,
        interval: float,
    ) -> None:
        # Set before the base class starts the pulling thread, which reads them.
        self._page = page
        self._interval = interval
        super().__init__(recorder=recorder, gt=gt, topics=topics)

    def buffered(self) -> bool:
        """Whether the next event can be had without waiting."""
        return self._notifications_index < len(self._notifications) or not (
            self._notifications_queue.empty()
        )

    def _loop_on_pull(self) -> None:
        try:
            self._pull()
            while not self._has_been_stopped:
                # Woken by a notification or by stop(); else pull anyway after a while.
                self._has_been_notified.wait(self._interval)
                self._pull()
        except BaseException as e:
            if self._thread_error is None:
                self._thread_error = e
            self.stop()

    def _pull(self) -> None:
        while not self._has_been_stopped:
            # Cleared before reading the head, so a notification arriving from now
            # on makes the loop pull again.
            self._has_been_notified.clear()
            last = self._last_notification_id or 0
            head = self._recorder.max_notification_id() or 0
            if head <= last:
                return
            page = self._recorder.select_notifications(
                start=last,
                limit=self._page,
                stop=head,
                topics=self._topics,
                inclusive_of_start=False,
            )
            if page:
                try:
                    self._notifications_queue.put(page)
                except ShutDown:
                    return
            if len(page) < self._page:
                self._last_notification_id = head
                return
            self._last_notification_id = page[-1].id


class PollingSubscription(_PagedSubscription):
    """Notifications after ``gt``, polled every ``interval`` seconds once caught up.

    The subscription eventsourcing's SQLite recorder lacks. Iterate it for
    :class:`~eventsourcing.persistence.Notification` objects; it blocks while
    nothing is new; :meth:`stop` (or leaving its ``with`` block) ends it.
    """

    def __init__(
        self,
        recorder: Any,
        gt: int | None = None,
        topics: Sequence[str] = (),
        *,
        page: int = 500,
        interval: float = POLL_INTERVAL,
    ) -> None:
        super().__init__(recorder, gt, topics, page=page, interval=interval)


class _PagedPostgresSubscription(_PagedSubscription, PostgresSubscription):
    """eventsourcing's LISTEN/NOTIFY subscription, pulling pages up to the head.

    It also pulls every :data:`NOTIFY_FALLBACK` seconds without a notification:
    eventsourcing starts listening only after its first pull, so an event
    committed in between would otherwise wait for the next one to be seen.
    """


class PollingSQLiteRecorder(LedgerSQLiteRecorder):
    """The ledger's SQLite recorder, with a polling ``subscribe()`` and fast page reads."""

    poll_interval: ClassVar[float] = POLL_INTERVAL
    subscription_page: ClassVar[int] = 500

    def subscribe(self, gt: int | None = None, topics: Sequence[str] = ()) -> PollingSubscription:
        return PollingSubscription(
            self, gt, topics, page=self.subscription_page, interval=self.poll_interval
        )

    def select_rows(
        self, after: int, stop: int, topics: Sequence[str] | None, limit: int
    ) -> list[tuple[int, str, int, str, bytes]]:
        """(notification id, record id as hex, version, topic, state) in ``(after, stop]``."""
        statement = (
            "SELECT rowid, originator_id, originator_version, topic, state "  # noqa: S608
            f"FROM {self.events_table_name} WHERE rowid > ? AND rowid <= ?"
        )
        if topics:
            statement += f" AND topic IN ({', '.join('?' * len(topics))})"
        statement += " ORDER BY rowid LIMIT ?"
        with self.datastore.transaction(commit=False) as c:
            cursor = c.sqlite_cursor
            cursor.row_factory = None  # plain tuples: no per-row sqlite3.Row
            cursor.execute(statement, (after, stop, *(topics or ()), limit))
            return cast(list[tuple[int, str, int, str, bytes]], cursor.fetchall())


def _tuple_rows(cursor: Any) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    """psycopg row factory for plain tuples (this package does not import psycopg)."""
    return tuple


class PagedPostgresRecorder(LedgerPostgresRecorder):
    """The ledger's PostgreSQL recorder, subscribing by pages, with fast page reads."""

    subscription_page: ClassVar[int] = 500

    def subscribe(self, gt: int | None = None, topics: Sequence[str] = ()) -> PostgresSubscription:
        return _PagedPostgresSubscription(
            self, gt, topics, page=self.subscription_page, interval=NOTIFY_FALLBACK
        )

    def select_rows(
        self, after: int, stop: int, topics: Sequence[str] | None, limit: int
    ) -> list[tuple[int, UUID, int, str, bytes]]:
        """(notification id, record id, version, topic, state) in ``(after, stop]``, as tuples."""
        statement = (
            "SELECT notification_id, originator_id, originator_version, topic, state "  # noqa: S608
            f'FROM "{self.datastore.schema}"."{self.events_table_name}" '
            "WHERE notification_id > %s AND notification_id <= %s"
        )
        params: list[Any] = [after, stop]
        if topics:
            statement += " AND topic = ANY(%s)"
            params.append(list(topics))
        statement += " ORDER BY notification_id LIMIT %s"
        params.append(limit)
        with self.datastore.get_connection() as conn:
            with cast(Any, conn).cursor(row_factory=_tuple_rows, binary=True) as cursor:
                cursor.execute(statement, params, prepare=True)
                return cast(list[tuple[int, UUID, int, str, bytes]], cursor.fetchall())


_DATA_KEY = "SOCAI_VIEWS_LEDGER_DATA"
_URL_KEY = "SOCAI_VIEWS_LEDGER_URL"


def reader_env(settings: Settings) -> dict[str, str]:
    """The environment that makes a :class:`LedgerReader` open the ledger at ``settings``."""
    return {_DATA_KEY: str(settings.data_dir), _URL_KEY: settings.database_url or ""}


class _ViewMapper(Mapper[UUID]):
    """Maps notifications to :class:`ViewEvent` (no signature check: see the module docstring)."""

    def __init__(self, transcoder: Transcoder) -> None:
        super().__init__(transcoder)
        self.codec = PayloadCodec(transcoder)

    def to_domain_event(self, stored: StoredEvent) -> Any:
        return tuple.__new__(
            ViewEvent,
            (
                getattr(stored, "id", 0),
                stored.originator_id,
                stored.originator_version,
                stored.topic,
                payload_of(stored.state),
                self.codec,
            ),
        )


class LedgerReader(Application[UUID]):
    """The ledger opened read-only for views: no tables created, events as :class:`ViewEvent`.

    Constructed from an environment (as eventsourcing's runners construct
    applications): pass :func:`reader_env` of the ledger's settings.
    """

    name = LEDGER_NAME

    def __init__(self, env: EnvType | None = None) -> None:
        values = dict(env or {})
        data = values.get(_DATA_KEY)
        if not data:
            raise ViewStorageError("LedgerReader needs the ledger's settings: use reader_env()")
        self.settings = Settings(Path(data), values.get(_URL_KEY) or None)
        if not self.settings.database_url and not self.settings.sqlite_path.exists():
            raise ViewStorageError(f"no ledger at {self.settings.sqlite_path}")
        try:
            super().__init__(env)
        except (PersistenceError, LedgerError) as e:
            raise ViewStorageError(f"cannot open the ledger for reading: {e}") from e

    def construct_env(self, name: str, env: EnvType | None = None) -> Environment:
        base = super().construct_env(name, env)
        url = self.settings.database_url
        if url:
            base.update(env_from_url(url))
            base["POSTGRES_ENABLE_DB_FUNCTIONS"] = "n"
            base["POSTGRES_POOL_SIZE"] = "1"
            base["POSTGRES_MAX_OVERFLOW"] = "4"
            base["APPLICATION_RECORDER_TOPIC"] = get_topic(PagedPostgresRecorder)
        else:
            base["SQLITE_DBNAME"] = str(self.settings.sqlite_path)
            base["APPLICATION_RECORDER_TOPIC"] = get_topic(PollingSQLiteRecorder)
        base["CREATE_TABLE"] = "n"  # the ledger owns its schema; a reader only reads
        return base

    def construct_factory(self, env: Environment) -> InfrastructureFactory[Any]:
        if self.settings.database_url:
            return LedgerPostgresFactory(env)
        return LedgerSQLiteFactory(env)

    def construct_transcoder(self) -> Transcoder:
        transcoder = JSONTranscoder()
        # The ledger's own transcodings, so payloads decode exactly as the ledger
        # encoded them, including any it registers later.
        Ledger.register_transcodings(cast(Any, self), transcoder)
        return transcoder

    def construct_mapper(self) -> Mapper[UUID]:
        return _ViewMapper(self.construct_transcoder())


# -- the runner -----------------------------------------------------------------------------


class ViewRunner:
    """Catches views up with the ledger, rebuilds them, runs them live, and queries them.

    One runner per process and ledger; it is thread-safe. Each view has its
    own store (SQLite file or PostgreSQL schema) and tracking position, so
    views are independent of one another. ``page_size`` notifications are
    read, applied and committed at a time.
    """

    def __init__(self, settings: Settings, *, page_size: int = PAGE_SIZE) -> None:
        if not isinstance(page_size, int) or page_size < 1:
            raise InvalidView(f"page_size must be a positive integer, not {page_size!r}")
        self.settings = settings
        self.page_size = page_size
        #: The engine the views run on.
        self.dialect: Dialect = POSTGRESQL if settings.database_url else SQLITE
        self._reader = LedgerReader(reader_env(settings))
        recorder = self._reader.recorder
        assert isinstance(recorder, PollingSQLiteRecorder | PagedPostgresRecorder)
        self._recorder: PollingSQLiteRecorder | PagedPostgresRecorder = recorder
        self._text_ids = isinstance(recorder, PollingSQLiteRecorder)
        self._codec = PayloadCodec(self._reader.mapper.transcoder)
        self._ids: dict[str, UUID] | None = {} if self._text_ids else None
        self._stores: dict[str, tuple[ViewStore, str]] = {}
        self._checked: dict[tuple[Any, ...], ViewStore] = {}
        self._live: list[LiveView] = []
        self._lock = threading.Lock()

    @property
    def recorder(self) -> PollingSQLiteRecorder | PagedPostgresRecorder:
        """The ledger's recorder as the runner reads it (``select_rows`` is its page query)."""
        return self._recorder

    # -- stores -------------------------------------------------------------------------

    def store(self, view: View) -> ViewStore:
        """The view's store, opened (and its tables created or, if changed, recreated)."""
        # Every query comes here: skip the checks once a declaration has passed them.
        topics = view.topics
        key = (view.name, view.version, tuple(view.ddl), topics and tuple(topics))
        try:
            found = self._checked.get(key)
        except TypeError:  # something unhashable in the declaration: _check says what
            found = None
        if found is not None:
            return found
        _check(view)
        fingerprint = view.fingerprint()
        with self._lock:
            known = self._stores.get(view.name)
            if known is not None:
                if known[1] != fingerprint:
                    raise InvalidView(f"two different views are named {view.name}")
                self._checked[key] = known[0]
                return known[0]
            store = open_store(self.settings, view.name, LEDGER_NAME)
            try:
                store.open(view.ddl, fingerprint)
            except BaseException:
                store.close()
                raise
            self._stores[view.name] = (store, fingerprint)
            self._checked[key] = store
            return store

    def position(self, view: View) -> int:
        """The notification id the view has reached (0 before its first page)."""
        return self.store(view).position() or 0

    # -- reading the ledger --------------------------------------------------------------

    def head(self) -> int:
        """The ledger's newest notification id (0 when empty)."""
        try:
            return self._recorder.max_notification_id() or 0
        except PersistenceError as e:
            raise ViewStorageError(f"cannot read the ledger: {e}") from e

    def _page(
        self, after: int, stop: int, topics: tuple[str, ...] | None, limit: int
    ) -> list[ViewEvent]:
        try:
            rows = self._recorder.select_rows(after, stop, topics, limit)
        except PersistenceError as e:
            raise ViewStorageError(f"cannot read the ledger: {e}") from e
        return _events(rows, self._codec, self._ids)

    # -- catching up ---------------------------------------------------------------------

    def catch_up(self, view: View) -> Progress:
        """Apply every event after the view's position, a page per transaction.

        Ends at the ledger's head as it was when the catch-up began; the
        position then is that head, even if the last events were of other topics.
        """
        started = time.perf_counter()
        store = self.store(view)
        topics = _topics_of(view)
        position = store.position() or 0
        head = self.head()
        events = pages = 0
        while position < head:
            batch = self._page(position, head, topics, self.page_size)
            # A short page ends at the head: nothing else of these topics lies before it.
            upto = batch[-1].notification_id if len(batch) >= self.page_size else head
            applied, position = store.apply(view, batch, upto, after=position)
            events += applied
            pages += 1
        return Progress(view.name, position, events, pages, time.perf_counter() - started)

    def rebuild(self, view: View) -> Progress:
        """Drop the view's tables, reset its position, recreate them and catch up from the start.

        Stop the view's live runner first: a live runner writing across a
        rebuild stops with :class:`~projections.errors.ViewConflict`.
        """
        started = time.perf_counter()
        self.store(view).reset(view.ddl, view.fingerprint())
        done = self.catch_up(view)
        seconds = time.perf_counter() - started
        return Progress(view.name, done.position, done.events, done.pages, seconds)

    def settle(self, view: View, target: int) -> bool:
        """Move the view's position to ``target`` if no event it needs lies before it.

        True when the view is at or past ``target`` afterwards. Lets waiting for
        a notification of another topic end without reading anything.
        """
        store = self.store(view)
        position = store.position() or 0
        if position >= target:
            return True
        topics = _topics_of(view)
        if topics is None or target > self.head() or self._page(position, target, topics, 1):
            return False
        try:
            store.apply(view, [], target, after=position)
        except ViewConflict:
            return False
        return True

    # -- live ----------------------------------------------------------------------------

    def start(self, view: View) -> LiveView:
        """Catch the view up, then keep it current in a background thread until stopped."""
        with self._lock:
            self._live = [v for v in self._live if v.running]
            if any(v.view.name == view.name for v in self._live):
                raise InvalidView(f"view {view.name} is already live in this runner")
        self.catch_up(view)
        live = LiveView(self, view, self.store(view))
        with self._lock:
            self._live.append(live)
        return live

    # -- reading views -------------------------------------------------------------------

    def query(self, view: View, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Rows of a read-only query on the view's tables, as dicts; ``?`` placeholders."""
        return self.store(view).query(sql, params)

    def query_one(self, view: View, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        """The first row of :meth:`query`, or None."""
        rows = self.query(view, sql, params)
        return rows[0] if rows else None

    # -- lifetime ------------------------------------------------------------------------

    def close(self) -> None:
        """Stop live views started here and close every connection."""
        with self._lock:
            live, self._live = self._live, []
            stores, self._stores = list(self._stores.values()), {}
            self._checked = {}
        for view in live:
            view.stop()
        for store, _ in stores:
            store.close()
        self._reader.close()

    def __enter__(self) -> ViewRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _ViewProjection(Projection[Any]):
    """Adapts a :class:`View` to eventsourcing's projection runner: one call per batch."""

    name = "socai_view"

    def __init__(self, view: View, store: ViewStore, after: int, page_size: int) -> None:
        super().__init__(view=store)
        self.target = view
        self.after = after
        self.page_size = page_size

    def process_event(self, domain_event: Any, tracking: Any) -> None:
        batch = domain_event if isinstance(domain_event, list) else [domain_event]
        self.view.apply(self.target, batch, tracking.notification_id, after=self.after)
        # The subscription delivered every event the view needs up to here.
        self.after = tracking.notification_id


def _batched(
    subscription: ApplicationSubscription[Any], limit: int
) -> Iterator[tuple[list[Any], Any]]:
    """Group the events a subscription has ready into batches of at most ``limit``."""
    inner = subscription.subscription
    buffered = inner.buffered if isinstance(inner, _PagedSubscription) else lambda: False
    for event, tracking in subscription:
        batch = [event]
        while len(batch) < limit and buffered():
            try:
                event, tracking = next(subscription)
            except StopIteration:
                break
            batch.append(event)
        yield batch, tracking


class _LiveRunner(BaseProjectionRunner[LedgerReader]):
    """eventsourcing's projection runner, applying whatever has arrived as one batch."""

    @staticmethod
    def _process_events_loop(
        subscription: ApplicationSubscription[Any],
        projection: Any,
        is_stopping: threading.Event,
        runner: Any,
    ) -> None:
        BaseProjectionRunner._process_events_loop(
            cast(Any, _batched(subscription, projection.page_size)),
            projection,
            is_stopping,
            runner,
        )


class LiveView:
    """A view kept current in a background thread; made by :meth:`ViewRunner.start`.

    Use it as a context manager, or call :meth:`stop` (closing the runner stops
    it too): its threads are eventsourcing's, not daemons, and keep the process
    alive. If applying fails, the thread stops and :meth:`wait` raises
    :class:`~projections.errors.ViewStopped` with the failure as its cause.
    """

    def __init__(self, runner: ViewRunner, view: View, store: ViewStore) -> None:
        self.view = view
        self._runner = runner
        self._store = store
        self._error: BaseException | None = None
        self._stopped = False
        topics = _topics_of(view)
        projection = _ViewProjection(view, store, store.position() or 0, runner.page_size)
        try:
            self._live = _LiveRunner(
                projection=projection,
                application_class=LedgerReader,
                tracking_recorder=cast(TrackingRecorder, store),
                topics=topics or (),
                env=reader_env(runner.settings),
            )
        except (PersistenceError, LedgerError) as e:
            raise ViewStorageError(f"view {view.name}: cannot start: {e}") from e
        self._live.__enter__()

    @property
    def running(self) -> bool:
        """Whether the background thread is still applying events."""
        return not self._stopped and not self._live.is_interrupted.is_set()

    @property
    def error(self) -> BaseException | None:
        """What stopped the background thread, if anything did."""
        if self._error is None and self._live.is_interrupted.is_set():
            try:
                self._live.run_forever(timeout=0)  # re-raises the thread's error, once
            except BaseException as e:
                self._error = e
        return self._error

    def position(self) -> int:
        """The notification id the view has reached."""
        return self._store.position() or 0

    def wait(self, notification_id: int | None = None, timeout: float = 5.0) -> int:
        """Block until the view has applied ``notification_id`` (default: the ledger's head now).

        Returns the view's position. Raises :class:`~projections.errors.ViewTimeout`
        after ``timeout`` seconds, :class:`~projections.errors.ViewStopped` if the
        view stopped (with the error that stopped it as the cause).
        """
        target = self._runner.head() if notification_id is None else notification_id
        deadline = time.monotonic() + timeout
        delay = 0.002
        while True:
            if not self.running:
                error = self.error
                detail = f": {type(error).__name__}: {error}" if error else ""
                raise ViewStopped(f"live view {self.view.name} stopped{detail}") from error
            position = self.position()
            if position >= target:
                return position
            if self._runner.settle(self.view, target):
                return max(target, self.position())
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ViewTimeout(
                    f"view {self.view.name} is at {position}, not at {target}, after {timeout}s"
                )
            self._live.is_interrupted.wait(min(delay, remaining))
            delay = min(delay * 2, 0.05)

    def stop(self) -> None:
        """Stop the background thread and wait for it; idempotent."""
        if self._stopped:
            return
        self._stopped = True
        try:
            self._live.__exit__(None, None, None)
        except BaseException as e:  # the thread's error, re-raised by eventsourcing
            if self._error is None:
                self._error = e

    def __enter__(self) -> LiveView:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.stop()
        error = self._error
        if exc is None and error is not None:
            raise ViewStopped(f"live view {self.view.name} failed: {error}") from error
