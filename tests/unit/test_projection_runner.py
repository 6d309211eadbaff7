"""The view runner's parts that need no server: SQL helpers, decoding, the SQLite store,
the polling subscription."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Notification,
    StoredEvent,
    Transcoder,
    TranscodingNotRegisteredError,
    UUIDAsHex,
)
from eventsourcing.sqlite import SQLiteDatastore

from ledger.domain import StudentRecord
from projections.errors import (
    InvalidView,
    ProjectionError,
    ViewApplyFailed,
    ViewConflict,
    ViewStorageError,
)
from projections.runner import (
    PayloadCodec,
    PollingSQLiteRecorder,
    PollingSubscription,
    View,
    ViewEvent,
    _check,
    _topics_of,
    payload_of,
    raw_text,
)
from projections.store import (
    POSTGRESQL,
    SQLITE,
    SQLiteViewStore,
    Tx,
    insert_sql,
    to_pyformat,
    upsert_sql,
)
from signing import envelope
from signing.algorithms import Algorithm
from signing.errors import MalformedEnvelope

# -- SQL helpers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sqlite", "psycopg"),
    [
        ("SELECT * FROM t WHERE a = ? AND b = ?", "SELECT * FROM t WHERE a = %s AND b = %s"),
        ("SELECT a % 2 FROM t WHERE a = ?", "SELECT a %% 2 FROM t WHERE a = %s"),
        ("SELECT 'it''s ? 50%' FROM t WHERE a = ?", "SELECT 'it''s ? 50%%' FROM t WHERE a = %s"),
        ('SELECT "odd?name" FROM t', 'SELECT "odd?name" FROM t'),
        ("SELECT 1 -- why? 5%\nFROM t WHERE a = ?", "SELECT 1 -- why? 5%%\nFROM t WHERE a = %s"),
        ("SELECT /* a ? */ 1 WHERE b = ?", "SELECT /* a ? */ 1 WHERE b = %s"),
        ("SELECT a - 1 / 2 FROM t", "SELECT a - 1 / 2 FROM t"),
    ],
)
def test_to_pyformat_converts_placeholders_outside_quotes_and_comments(
    sqlite: str, psycopg: str
) -> None:
    assert to_pyformat(sqlite) == psycopg
    assert SQLITE.sql(sqlite) == sqlite
    assert POSTGRESQL.sql(sqlite) == psycopg


@pytest.mark.parametrize("bad", ["SELECT 'open", 'SELECT "open', "SELECT /* open"])
def test_to_pyformat_refuses_unterminated_quotes(bad: str) -> None:
    with pytest.raises(InvalidView):
        to_pyformat(bad)


def test_insert_and_upsert_sql() -> None:
    assert insert_sql("t", ["a", "b"]) == "INSERT INTO t (a, b) VALUES (?, ?)"
    assert upsert_sql("t", ["k", "a", "b"], ["k"]) == (
        "INSERT INTO t (k, a, b) VALUES (?, ?, ?) ON CONFLICT (k) "
        "DO UPDATE SET a = excluded.a, b = excluded.b"
    )
    assert upsert_sql("t", ["k", "n"], ["k"], {"n": "t.n + excluded.n"}).endswith(
        "ON CONFLICT (k) DO UPDATE SET n = t.n + excluded.n"
    )
    assert upsert_sql("t", ["k"], ["k"]).endswith("ON CONFLICT (k) DO NOTHING")


@pytest.mark.parametrize(
    "call",
    [
        lambda: insert_sql("t; DROP TABLE x", ["a"]),
        lambda: insert_sql("t", ["a b"]),
        lambda: insert_sql("t", []),
        lambda: upsert_sql("t", ["a"], ["k"]),
        lambda: upsert_sql("t", ["a"], []),
        lambda: upsert_sql("t", ["a", "b"], ["a"], {"b = 1, a": "2"}),
    ],
)
def test_sql_helpers_refuse_what_is_not_an_identifier(call: Any) -> None:
    with pytest.raises(InvalidView):
        call()


def test_ddl_is_translated_for_postgresql_only() -> None:
    ddl = "CREATE TABLE t (k TEXT PRIMARY KEY, data BLOB NOT NULL, blobby TEXT) WITHOUT ROWID"
    assert SQLITE.ddl(ddl) == ddl
    assert POSTGRESQL.ddl(ddl) == (
        "CREATE TABLE t (k TEXT PRIMARY KEY, data BYTEA NOT NULL, blobby TEXT)"
    )


# -- envelopes and payloads -----------------------------------------------------------------


def _sealed(payloads: Sequence[bytes], signature_length: int) -> list[bytes]:
    items = [
        envelope.Unsealed(bytes(32), envelope.event_hash(b"r", i + 1, "t", bytes(32), p), p)
        for i, p in enumerate(payloads)
    ]
    return envelope.seal(items, Algorithm(1), bytes(32), lambda m: b"\x07" * signature_length)


@pytest.mark.parametrize("batch", [1, 2, 5, 64])
@pytest.mark.parametrize("signature_length", [64, 72, 256, 512])
def test_payload_of_agrees_with_envelope_decode(batch: int, signature_length: int) -> None:
    payloads = [f'{{"n":{i},"t":"Toán"}}'.encode() * (i + 1) for i in range(batch)]
    for state in _sealed(payloads, signature_length):
        assert payload_of(state) == envelope.decode(state).payload


def test_payload_of_reports_a_malformed_envelope() -> None:
    good = _sealed([b"{}"], 64)[0]
    for bad in (b"", b"XXXX" + good[4:], good[:120], good[:110] + b"\xff\xff"):
        with pytest.raises(ViewStorageError) as caught:
            payload_of(bad)
        assert isinstance(caught.value.__cause__, MalformedEnvelope)


def _transcoder() -> JSONTranscoder:
    t = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        t.register(transcoding)
    return t


STATES: list[dict[str, Any]] = [
    {},
    {"subject": "Ngữ văn", "term": 1, "value": Decimal("7.5"), "by": uuid4()},
    {"timestamp": datetime.now(UTC), "nested": {"a": [uuid4(), {"b": Decimal("1")}]}},
    {"list": [1, 2.5, None, True, "x"], "_type_": "plain key", "_data_": 1},
    {"looks": {"_type_": "x", "other": 1}},
]


@pytest.mark.parametrize("state", STATES)
def test_payload_codec_decodes_as_the_transcoder(state: dict[str, Any]) -> None:
    transcoder = _transcoder()
    payload = transcoder.encode(state)
    codec = PayloadCodec(transcoder)
    assert codec.decode(payload) == transcoder.decode(payload) == state
    assert codec.decode(payload) == state  # and again, from the UUID cache


def test_payload_codec_falls_back_to_the_transcoder_for_odd_input() -> None:
    transcoder = _transcoder()
    codec = PayloadCodec(transcoder)
    assert codec.decode(b' {"a": 1} \n') == {"a": 1}
    with pytest.raises(ValueError):
        codec.decode(b'{"a": 1} trailing')
    with pytest.raises(TranscodingNotRegisteredError):
        codec.decode(b'{"x": {"_type_": "unknown", "_data_": 1}}')


def test_payload_codec_uses_any_other_transcoder_as_it_is() -> None:
    class Upper(Transcoder):
        def encode(self, obj: Any) -> bytes:
            return b""

        def decode(self, data: bytes) -> Any:
            return {"upper": data.upper()}

    assert PayloadCodec(Upper()).decode(b"abc") == {"upper": b"ABC"}


def _event(n: int, record: UUID, payload: bytes = b'{"v": 1}', topic: str = "m:A.B") -> ViewEvent:
    return ViewEvent(n, record, n, topic, payload, PayloadCodec(_transcoder()))


def test_view_event_is_immutable_and_decodes_its_state_once() -> None:
    calls: list[bytes] = []

    class Counting(Transcoder):
        def encode(self, obj: Any) -> bytes:
            return b""

        def decode(self, data: bytes) -> Any:
            calls.append(data)
            return {"v": 1}

    event = ViewEvent(7, uuid4(), 3, "ledger.domain:StudentRecord.ScoreRecorded", b"{}", None)  # type: ignore[arg-type]
    event = event._replace(codec=PayloadCodec(Counting()))
    assert event.event_name == "ScoreRecorded"
    assert calls == []
    assert event.state == {"v": 1}
    assert event.state is event.state
    assert calls == [b"{}"]
    with pytest.raises(AttributeError):
        event.notification_id = 8  # type: ignore[misc]


# -- declaring views ------------------------------------------------------------------------


class Tiny(View):
    name = "tiny"
    ddl = ("CREATE TABLE seen (record_id TEXT PRIMARY KEY, n BIGINT NOT NULL)",)

    def apply(self, batch: Sequence[ViewEvent], tx: Tx) -> None:
        counts: dict[str, int] = {}
        for e in batch:
            counts[e.record_id.hex] = counts.get(e.record_id.hex, 0) + 1
        tx.upsert(
            "seen",
            ("record_id", "n"),
            ("record_id",),
            list(counts.items()),
            update={"n": "seen.n + excluded.n"},
        )


def test_topics_may_be_event_classes() -> None:
    class Scores(Tiny):
        topics = (getattr(StudentRecord, "ScoreRecorded"), "ledger.domain:StudentRecord.Enrolled")

    assert _topics_of(Scores()) == (
        "ledger.domain:StudentRecord.ScoreRecorded",
        "ledger.domain:StudentRecord.Enrolled",
    )
    assert _topics_of(Tiny()) is None


@pytest.mark.parametrize(
    "changes",
    [
        {"name": "Bad-Name"},
        {"name": "x" * 41},
        {"topics": ()},
        {"topics": "ledger.domain:StudentRecord.ScoreRecorded"},
        {"ddl": ("CREATE TABLE tracking (a TEXT)",)},
        {"ddl": ("CREATE TABLE IF NOT EXISTS view_schema (a TEXT)",)},
    ],
)
def test_bad_view_declarations_are_refused(changes: dict[str, Any]) -> None:
    bad = type("Bad", (Tiny,), changes)()
    with pytest.raises(InvalidView):
        _check(bad)


def test_fingerprint_follows_ddl_and_version() -> None:
    bumped = type("Bumped", (Tiny,), {"version": 2})()
    wider = type("Wider", (Tiny,), {"ddl": (*Tiny.ddl, "CREATE INDEX i ON seen (n)")})()
    prints = {Tiny().fingerprint(), bumped.fingerprint(), wider.fingerprint()}
    assert len(prints) == 3


# -- the SQLite store ---------------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteViewStore]:
    s = SQLiteViewStore(tmp_path / "views" / "tiny.sqlite", "tiny", "socai")
    s.open(Tiny.ddl, Tiny().fingerprint())
    try:
        yield s
    finally:
        s.close()


def _rows(store: SQLiteViewStore) -> dict[str, int]:
    return {r["record_id"]: r["n"] for r in store.query("SELECT * FROM seen")}


def test_sqlite_store_runs_wal_full_and_secure_delete(store: SQLiteViewStore) -> None:
    with store.datastore.transaction(commit=False) as c:
        raw = c.sqlite_cursor
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("PRAGMA synchronous").fetchone()[0] == 2
        assert raw.execute("PRAGMA secure_delete").fetchone()[0] == 1


def test_store_applies_pages_once(store: SQLiteViewStore) -> None:
    a, b = uuid4(), uuid4()
    view = Tiny()
    assert store.position() is None
    assert store.apply(view, [_event(1, a), _event(2, b)], 2, after=0) == (2, 2)
    # The same page again, and a page overlapping it: only the new event counts.
    assert store.apply(view, [_event(1, a), _event(2, b)], 2, after=0) == (0, 2)
    assert store.apply(view, [_event(2, b), _event(3, a)], 5, after=1) == (1, 5)
    assert store.position() == 5
    assert _rows(store) == {a.hex: 2, b.hex: 1}


def test_store_refuses_a_page_beyond_a_gap(store: SQLiteViewStore) -> None:
    with pytest.raises(ViewConflict):
        store.apply(Tiny(), [_event(9, uuid4())], 9, after=8)
    assert store.position() is None


def test_a_failing_apply_rolls_back_rows_and_position(store: SQLiteViewStore) -> None:
    class Failing(Tiny):
        def apply(self, batch: Sequence[ViewEvent], tx: Tx) -> None:
            super().apply(batch, tx)
            raise KeyError("boom")

    a = uuid4()
    store.apply(Tiny(), [_event(1, a)], 1, after=0)
    with pytest.raises(ViewApplyFailed) as caught:
        store.apply(Failing(), [_event(2, a), _event(3, a)], 3, after=1)
    assert isinstance(caught.value, ProjectionError)
    assert (caught.value.first, caught.value.last) == (2, 3)
    assert isinstance(caught.value.__cause__, KeyError)
    assert store.position() == 1
    assert _rows(store) == {a.hex: 1}


def test_reset_drops_the_views_tables_and_position(store: SQLiteViewStore) -> None:
    store.apply(Tiny(), [_event(1, uuid4())], 4, after=0)
    with store._write() as (cursor, _):
        cursor.execute("CREATE TABLE extra (a TEXT)")
    store.reset(Tiny.ddl, Tiny().fingerprint())
    assert store.position() is None
    assert _rows(store) == {}
    names = {r["name"] for r in store.query("SELECT name FROM sqlite_master WHERE type='table'")}
    assert names == {"seen", "tracking", "view_schema"}


def test_open_recreates_tables_when_the_ddl_changes(store: SQLiteViewStore) -> None:
    store.apply(Tiny(), [_event(1, uuid4())], 1, after=0)
    assert store.open(Tiny.ddl, Tiny().fingerprint()) is False
    assert store.position() == 1
    wider = ("CREATE TABLE seen (record_id TEXT PRIMARY KEY, n BIGINT NOT NULL, x TEXT)",)
    assert store.open(wider, "another fingerprint") is True
    assert store.position() is None
    assert store.query("SELECT * FROM seen") == []


def test_tx_writes_and_reads(store: SQLiteViewStore) -> None:
    with store._write() as (cursor, _):
        tx = Tx(cursor, SQLITE)
        tx.insert("seen", ("record_id", "n"), [("a", 1), ("b", 2)])
        tx.upsert("seen", ("record_id", "n"), ("record_id",), iter([("a", 5)]))
        tx.executemany("UPDATE seen SET n = n + ? WHERE record_id = ?", [(1, "b")])
        tx.execute("DELETE FROM seen WHERE record_id = ?", ("zzz",))
        assert tx.query("SELECT n FROM seen WHERE record_id = ?", ("b",)) == [{"n": 3}]
    assert _rows(store) == {"a": 5, "b": 3}


# -- the polling subscription -------------------------------------------------------------


@pytest.fixture
def recorder(tmp_path: Path) -> Iterator[PollingSQLiteRecorder]:
    r = PollingSQLiteRecorder(SQLiteDatastore(str(tmp_path / "ledger.sqlite")))
    r.create_table()
    try:
        yield r
    finally:
        r.datastore.close()


def _append(recorder: PollingSQLiteRecorder, *topics: str) -> list[int]:
    ids = recorder.insert_events([StoredEvent(uuid4(), 1, t, b"state") for t in topics])
    assert ids is not None
    return list(ids)


def test_polling_subscription_follows_new_events_and_stops(
    recorder: PollingSQLiteRecorder,
) -> None:
    first = _append(recorder, "m:A", "m:B", "m:A")
    seen: list[Notification] = []
    with recorder.subscribe(gt=first[0], topics=["m:A"]) as subscription:
        assert isinstance(subscription, PollingSubscription)

        def consume() -> None:
            seen.extend(subscription)

        thread = threading.Thread(target=consume)
        thread.start()
        deadline = time.monotonic() + 2
        while len(seen) < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert [n.id for n in seen] == [first[2]]
        later = _append(recorder, "m:B", "m:A")
        started = time.monotonic()
        while len(seen) < 2 and time.monotonic() < started + 2:
            time.sleep(0.005)
        assert time.monotonic() - started < 0.5  # polled every 75 ms
        assert [n.id for n in seen] == [first[2], later[1]]
        subscription.stop()
        thread.join(timeout=2)
        assert not thread.is_alive()


def test_select_rows_reads_pages_as_tuples(recorder: PollingSQLiteRecorder) -> None:
    ids = _append(recorder, "m:A", "m:B", "m:A", "m:A")
    rows = recorder.select_rows(ids[0], ids[-1], ("m:A",), 10)
    assert [r[0] for r in rows] == [ids[2], ids[3]]
    assert all(isinstance(r, tuple) and r[3] == "m:A" and r[4] == b"state" for r in rows)
    assert len(recorder.select_rows(0, ids[-1], None, 3)) == 3


@pytest.mark.parametrize("state", STATES[1:])
def test_raw_keeps_tagged_values_whose_text_matches_the_decoded_state(
    state: dict[str, Any],
) -> None:
    payload = _transcoder().encode(state)
    event = _event(1, uuid4(), payload)
    for key, value in event.state.items():
        text = raw_text(event.raw[key])
        if isinstance(value, (UUID, Decimal)):
            assert text == (value.hex if isinstance(value, UUID) else str(value))
        elif isinstance(value, datetime):
            assert datetime.fromisoformat(text) == value
        elif not isinstance(value, dict):
            assert text == value


def test_raw_refuses_what_is_not_a_json_object() -> None:
    with pytest.raises(ViewStorageError):
        _ = _event(1, uuid4(), b"[1, 2]").raw
    with pytest.raises(ViewStorageError):
        _ = _event(1, uuid4(), b"{not json").raw
