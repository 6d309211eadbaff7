"""The view runner's contract, on SQLite and on PostgreSQL (the ``settings`` fixture).

Two small views stand in for the real ones: ``Counts`` (every event: per record,
how many and the last topic) and ``ScoreTotals`` (score events only, decoding
their state: per student and subject, how many and their sum).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import JSONTranscoder
from eventsourcing.postgres import PostgresSubscription

from ledger.application import Settings
from ledger.domain import StudentRecord
from projections.errors import ProjectionError, ViewApplyFailed, ViewStopped
from projections.runner import PollingSubscription, View, ViewEvent, ViewRunner
from projections.store import PostgresViewStore, SQLiteViewStore, Tx
from tests.conftest import CLASS_NAME, SCHOOL_YEAR, School

SCORED = "ledger.domain:StudentRecord.ScoreRecorded"


class Counts(View):
    """Per record: the number of events, and the topic and version of the last."""

    name = "counts"
    ddl = (
        "CREATE TABLE counts (record_id TEXT PRIMARY KEY, n BIGINT NOT NULL, "
        "last_topic TEXT NOT NULL, last_version BIGINT NOT NULL)",
    )

    def apply(self, batch: Sequence[ViewEvent], tx: Tx) -> None:
        rows: dict[str, tuple[int, str, int]] = {}
        for e in batch:
            key = e.record_id.hex
            n = rows[key][0] if key in rows else 0
            rows[key] = (n + 1, e.topic, e.version)
        tx.upsert(
            "counts",
            ("record_id", "n", "last_topic", "last_version"),
            ("record_id",),
            [(key, *row) for key, row in rows.items()],
            update={
                "n": "counts.n + excluded.n",
                "last_topic": "excluded.last_topic",
                "last_version": "excluded.last_version",
            },
        )

    def of(self, runner: ViewRunner, record: UUID) -> tuple[int, str] | None:
        """A typed query, as real views offer them."""
        row = runner.query_one(
            self, "SELECT n, last_topic FROM counts WHERE record_id = ?", (record.hex,)
        )
        return None if row is None else (int(row["n"]), str(row["last_topic"]))


class ScoreTotals(View):
    """Per student and subject: the number of scores and their sum in tenths."""

    name = "score_totals"
    topics = (getattr(StudentRecord, "ScoreRecorded"),)  # made by @event
    ddl = (
        "CREATE TABLE totals (record_id TEXT NOT NULL, subject TEXT NOT NULL, "
        "n INTEGER NOT NULL, tenths BIGINT NOT NULL, PRIMARY KEY (record_id, subject))",
        "CREATE INDEX totals_subject ON totals (subject)",
    )

    def apply(self, batch: Sequence[ViewEvent], tx: Tx) -> None:
        rows: dict[tuple[str, str], tuple[int, int]] = {}
        for e in batch:
            key = (e.record_id.hex, e.state["subject"])
            n, tenths = rows.get(key, (0, 0))
            rows[key] = (n + 1, tenths + int(e.state["value"] * 10))
        tx.upsert(
            "totals",
            ("record_id", "subject", "n", "tenths"),
            ("record_id", "subject"),
            [(*key, *row) for key, row in rows.items()],
            update={"n": "totals.n + excluded.n", "tenths": "totals.tenths + excluded.tenths"},
        )


def _rows(runner: ViewRunner, view: View) -> list[dict[str, Any]]:
    table = "counts" if isinstance(view, Counts) else "totals"
    key = "record_id" if table == "counts" else "record_id, subject"
    return runner.query(view, f"SELECT * FROM {table} ORDER BY {key}")


def _expected_counts(s: School) -> list[dict[str, Any]]:
    """Counts straight from the ledger's notifications."""
    rows: dict[str, dict[str, Any]] = {}
    for n in s.ledger.recorder.select_notifications(0, 1_000_000):
        key = UUID(str(n.originator_id)).hex
        row = rows.setdefault(key, {"record_id": key, "n": 0})
        row.update(n=row["n"] + 1, last_topic=n.topic, last_version=n.originator_version)
    return [rows[k] for k in sorted(rows)]


def _enrol(s: School, count: int, start: int = 0) -> list[UUID]:
    return [
        s.ledger.enrol_student(s.principal, f"HS{i:05d}", SCHOOL_YEAR, 6, CLASS_NAME)
        for i in range(start, start + count)
    ]


def _score(
    s: School, students: list[UUID], subject: str, kind: str = "tx", value: str = "7.5"
) -> None:
    s.ledger.record_scores(s.teachers["GV001"], [(x, subject, 1, kind, value) for x in students])


def _head(s: School) -> int:
    return s.ledger.recorder.max_notification_id() or 0


def _count(s: School) -> int:
    return len(s.ledger.recorder.select_notifications(0, 1_000_000))


@pytest.fixture
def runner(school: School) -> Iterator[ViewRunner]:
    r = ViewRunner(school.settings, page_size=7)
    try:
        yield r
    finally:
        r.close()


def test_incremental_catch_up_gives_the_rows_of_a_rebuild(
    school: School, runner: ViewRunner
) -> None:
    students = _enrol(school, 5)
    _score(school, students, "Toán")
    counts, totals = Counts(), ScoreTotals()
    first = runner.catch_up(counts)
    assert first.position == _head(school)
    assert first.events == _count(school)  # every notification, a page of 7 at a time
    assert first.pages == -(-_count(school) // 7)
    runner.catch_up(totals)
    assert runner.catch_up(counts).events == 0  # nothing new

    more = _enrol(school, 3, start=5)
    _score(school, students + more, "Ngữ văn", value="8.5")
    _score(school, more, "Toán", kind="gk", value="6")
    again = runner.catch_up(counts)
    assert again.events == _count(school) - first.events
    runner.catch_up(totals)
    incremental = (_rows(runner, counts), _rows(runner, totals))

    assert incremental[0] == _expected_counts(school)
    assert runner.rebuild(counts).position == _head(school)
    rebuilt = runner.rebuild(totals)
    assert rebuilt.events == 5 + 8 + 3  # score events only: filtered in SQL
    assert (_rows(runner, counts), _rows(runner, totals)) == incremental
    toan = [r for r in incremental[1] if r["subject"] == "Toán"]
    assert sorted(r["tenths"] for r in toan) == [60] * 3 + [75] * 5
    assert counts.of(runner, students[0]) == (3, SCORED)
    assert counts.of(runner, UUID(int=1)) is None


class Crashing(Counts):
    """Counts that dies in the middle of its ``fail_on``-th page, after writing rows."""

    def __init__(self, fail_on: int) -> None:
        self.pages = 0
        self.fail_on = fail_on

    def apply(self, batch: Sequence[ViewEvent], tx: Tx) -> None:
        self.pages += 1
        super().apply(batch, tx)
        if self.pages == self.fail_on:
            raise RuntimeError("simulated crash")


def test_a_crash_between_pages_keeps_the_first_page_and_a_rerun_completes(
    school: School, runner: ViewRunner
) -> None:
    _score(school, _enrol(school, 4), "Toán")
    ids = [n.id for n in school.ledger.recorder.select_notifications(0, 1000)]
    with pytest.raises(ViewApplyFailed) as caught:
        runner.catch_up(Crashing(fail_on=2))
    assert isinstance(caught.value, ProjectionError)
    assert isinstance(caught.value.__cause__, RuntimeError)
    assert (caught.value.first, caught.value.last) == (ids[7], ids[13])
    # The view stays at the first page's position, with the first page's rows only.
    assert runner.position(Counts()) == ids[6]
    assert sum(r["n"] for r in _rows(runner, Counts())) == 7

    done = runner.catch_up(Counts())
    assert done.events == len(ids) - 7
    assert _rows(runner, Counts()) == _expected_counts(school)  # no event counted twice


def test_two_runners_racing_on_one_view_apply_each_event_once(school: School) -> None:
    _score(school, _enrol(school, 6), "Toán")
    runners = [ViewRunner(school.settings, page_size=3) for _ in range(2)]
    errors: list[BaseException] = []

    def run(r: ViewRunner) -> None:
        try:
            r.catch_up(Counts())
        except BaseException as e:
            errors.append(e)

    try:
        threads = [threading.Thread(target=run, args=(r,)) for r in runners]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert _rows(runners[0], Counts()) == _expected_counts(school)
    finally:
        for r in runners:
            r.close()


class Recording(Counts):
    """Counts that remembers its batch sizes, and can be made to fail."""

    def __init__(self) -> None:
        self.sizes: list[int] = []
        self.fail = False

    def apply(self, batch: Sequence[ViewEvent], tx: Tx) -> None:
        if self.fail:
            raise RuntimeError("view bug")
        self.sizes.append(len(batch))
        super().apply(batch, tx)


def test_a_live_view_picks_up_new_events_within_a_couple_of_seconds(
    school: School, runner: ViewRunner
) -> None:
    view = Recording()
    students = _enrol(school, 2)
    with runner.start(view) as live:
        subscription = live._live._subscription.subscription
        if school.settings.database_url:
            assert isinstance(subscription, PostgresSubscription)  # LISTEN/NOTIFY
        else:
            assert isinstance(subscription, PollingSubscription)
        assert live.position() == _head(school)
        for subject in ("Toán", "Ngữ văn"):
            students += _enrol(school, 1, start=len(students))
            live.wait(_head(school), timeout=5)
            view.sizes.clear()
            _score(school, students, subject)
            started = time.monotonic()
            assert live.wait(_head(school), timeout=5) == _head(school)
            assert time.monotonic() - started < 2
            assert _rows(runner, view) == _expected_counts(school)
            # Events saved together arrive, and are applied, together.
            assert view.sizes == [len(students)]
    assert not live.running


def test_a_live_view_waits_past_events_of_other_topics(school: School, runner: ViewRunner) -> None:
    students = _enrol(school, 2)
    with runner.start(ScoreTotals()) as live:
        _score(school, students, "Toán")
        live.wait(_head(school), timeout=5)
        _enrol(school, 2, start=2)  # not a score: nothing for this view
        started = time.monotonic()
        assert live.wait(_head(school), timeout=5) == _head(school)
        assert time.monotonic() - started < 1
        assert live.position() == _head(school)


def test_a_live_view_stops_when_apply_fails(school: School, runner: ViewRunner) -> None:
    view = Recording()
    students = _enrol(school, 2)
    live = runner.start(view)
    try:
        position = live.position()
        view.fail = True
        _score(school, students, "Toán")
        with pytest.raises(ViewStopped) as caught:
            live.wait(_head(school), timeout=5)
        assert isinstance(caught.value.__cause__, ViewApplyFailed)
        assert not live.running
        assert live.position() == position
    finally:
        live.stop()
    view.fail = False
    assert runner.catch_up(view).position == _head(school)


def test_views_have_independent_positions_and_stores(school: School, runner: ViewRunner) -> None:
    _score(school, _enrol(school, 3), "Toán")
    counts, totals = Counts(), ScoreTotals()
    runner.catch_up(counts)
    assert runner.position(totals) == 0
    runner.catch_up(totals)
    _enrol(school, 1, start=3)
    runner.catch_up(counts)
    assert runner.position(counts) == _head(school) > runner.position(totals)
    runner.rebuild(counts)
    assert _rows(runner, totals) and runner.position(totals) < _head(school)

    a, b = runner.store(counts), runner.store(totals)
    if school.settings.database_url:
        assert isinstance(a, PostgresViewStore) and isinstance(b, PostgresViewStore)
        assert (a.schema, b.schema) == ("view_counts", "view_score_totals")
    else:
        assert isinstance(a, SQLiteViewStore) and isinstance(b, SQLiteViewStore)
        views = school.settings.data_dir / "views"
        assert (a.path, b.path) == (views / "counts.sqlite", views / "score_totals.sqlite")


def test_a_changed_view_is_rebuilt_when_opened(school: School, runner: ViewRunner) -> None:
    _score(school, _enrol(school, 2), "Toán")
    runner.catch_up(Counts())

    class Counts2(Counts):
        ddl = (Counts.ddl[0].replace("last_version", "version"),)

        def apply(self, batch: Sequence[ViewEvent], tx: Tx) -> None:
            tx.executemany(
                "INSERT INTO counts (record_id, n, last_topic, version) VALUES (?, 1, ?, ?) "
                "ON CONFLICT (record_id) DO UPDATE SET n = counts.n + 1, "
                "last_topic = excluded.last_topic, version = excluded.version",
                [(e.record_id.hex, e.topic, e.version) for e in batch],
            )

    with ViewRunner(school.settings) as fresh:
        assert fresh.position(Counts2()) == 0
        fresh.catch_up(Counts2())
        rows = fresh.query(Counts2(), "SELECT record_id, n, last_topic, version FROM counts")
    expected = {r["record_id"]: r["n"] for r in _expected_counts(school)}
    assert {r["record_id"]: int(r["n"]) for r in rows} == expected


class Types(View):
    """A table of every portable column type, written through ``Tx``."""

    name = "types"
    ddl = (
        "CREATE TABLE t (k TEXT PRIMARY KEY, i INTEGER, b BIGINT, f DOUBLE PRECISION, "
        "ok BOOLEAN, data BLOB, note TEXT)",
    )

    def apply(self, batch: Sequence[ViewEvent], tx: Tx) -> None:
        columns = ("k", "i", "b", "f", "ok", "data", "note")
        tx.insert(
            "t",
            columns,
            [
                ("a1", 1, 2**40, 0.5, True, b"\x00\xff", "Trường 100%"),
                ("a2", None, None, None, None, None, None),
                ("b1", -7, 0, 1e300, False, b"", "it's"),
            ],
        )
        tx.upsert("t", columns, ("k",), [("a2", 2, 3, 4.0, True, b"x", "?")])
        tx.upsert("t", ("k", "note"), ("k",), [("b1", "kept")], update=())
        tx.execute("UPDATE t SET i = i + ? WHERE k LIKE 'a%' AND i IS NOT NULL", (10,))
        assert tx.query("SELECT count(*) AS n FROM t WHERE note LIKE ?", ("%100\\%%",))


def test_tx_writes_every_portable_type(settings: Settings) -> None:
    from uuid import uuid4

    from projections.runner import PayloadCodec
    from projections.store import open_store

    view = Types()
    store = open_store(settings, view.name, "socai")
    try:
        store.open(view.ddl, view.fingerprint())
        event = ViewEvent(1, uuid4(), 1, "m:A", b"{}", PayloadCodec(JSONTranscoder()))
        assert store.apply(view, [event], 1, after=0) == (1, 1)
        rows = {r["k"]: r for r in store.query("SELECT * FROM t ORDER BY k")}
        assert {k: (r["i"], r["b"], r["f"], bool(r["ok"])) for k, r in rows.items()} == {
            "a1": (11, 2**40, 0.5, True),
            "a2": (12, 3, 4.0, True),
            "b1": (-7, 0, 1e300, False),
        }
        assert [bytes(rows[k]["data"]) for k in ("a1", "a2", "b1")] == [b"\x00\xff", b"x", b""]
        assert [rows[k]["note"] for k in ("a1", "a2", "b1")] == ["Trường 100%", "?", "it's"]
        assert store.query("SELECT k FROM t WHERE k LIKE 'a%' ORDER BY k") == [
            {"k": "a1"},
            {"k": "a2"},
        ]
    finally:
        store.close()
