"""The pieces of :mod:`projections.views` that need no database server.

The hot events are read straight from their payload bytes when those have the
transcoder's usual shape; these tests pin that the fast path and the decoded
state always agree, and that any other shape falls back to the decoded state.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, JSONTranscoder, UUIDAsHex

from projections.runner import SQLITE, PayloadCodec, Tx, ViewEvent
from projections.views import (
    COMMENT_ASSESSED,
    COMMENT_PAYLOAD,
    SCORE_PAYLOAD,
    SCORE_RECORDED,
    _table_of,
    _Writes,
    insert_rows,
    local_day,
    read_assessment,
    read_year_result,
    result_summary,
)

TEACHER = UUID("31dfbc79-34ad-57ff-a24b-c87e1cea9e85")
WHEN = datetime(2026, 3, 9, 18, 30, 5, 123456, tzinfo=UTC)


def transcoder() -> JSONTranscoder:
    t = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        t.register(transcoding)
    return t


CODEC = PayloadCodec(transcoder())


def event(topic: str, state: dict[str, Any]) -> ViewEvent:
    payload = CODEC.transcoder.encode(state)
    return ViewEvent(1, uuid4(), 3, topic, payload, CODEC)


def score(**changes: Any) -> dict[str, Any]:
    state = {"timestamp": WHEN, "subject": "Toán", "term": 1, "kind": "tx"}
    state |= {"value": Decimal("7.5"), "by": TEACHER}
    return state | changes


def comment(**changes: Any) -> dict[str, Any]:
    state = {"timestamp": WHEN, "subject": "Nghệ thuật", "term": 2, "kind": "gk"}
    state |= {"passed": False, "by": TEACHER}
    return state | changes


def slow(e: ViewEvent) -> tuple[Any, ...]:
    """What the decoded state says (the reference)."""
    s = CODEC.decode(e.payload)
    value = str(s["value"]) if "value" in s else ("Đạt" if s["passed"] else "Chưa đạt")
    return (s["subject"], s["term"], s["kind"], value, str(s["by"]), s["timestamp"].isoformat())


def fields(e: ViewEvent) -> tuple[Any, ...]:
    a = read_assessment(e)
    return (a.subject, a.term, a.kind, a.value, a.by, a.at)


@pytest.mark.parametrize(
    ("topic", "state"),
    [
        (SCORE_RECORDED, score()),
        (SCORE_RECORDED, score(value=Decimal("10.0"), term=2, kind="ck")),
        (SCORE_RECORDED, score(value=Decimal("0"), subject="Hoạt động trải nghiệm, hướng nghiệp")),
        (SCORE_RECORDED, score(timestamp=WHEN.replace(microsecond=0))),
        (COMMENT_ASSESSED, comment()),
        (COMMENT_ASSESSED, comment(passed=True)),
    ],
)
def test_fast_path_reads_what_the_decoded_state_says(topic: str, state: dict[str, Any]) -> None:
    e = event(topic, state)
    pattern = SCORE_PAYLOAD if topic == SCORE_RECORDED else COMMENT_PAYLOAD
    assert pattern.fullmatch(e.payload) is not None  # the usual shape: read from the bytes
    assert fields(e) == slow(e)


@pytest.mark.parametrize(
    ("topic", "state"),
    [
        # An escaped character in a string, another field order, a field more, a naive time.
        (SCORE_RECORDED, score(subject='Toán "nâng cao"\n')),
        (SCORE_RECORDED, {"by": TEACHER, **score()}),
        (SCORE_RECORDED, score(extra="x")),
        (COMMENT_ASSESSED, comment(subject="Âm nhạc\\Mĩ thuật")),
        (SCORE_RECORDED, score(timestamp=WHEN.replace(tzinfo=None))),
    ],
)
def test_other_shapes_fall_back_to_the_decoded_state(topic: str, state: dict[str, Any]) -> None:
    e = event(topic, state)
    pattern = SCORE_PAYLOAD if topic == SCORE_RECORDED else COMMENT_PAYLOAD
    if "extra" in state or "\\" in str(state.get("subject")) or '"' in str(state.get("subject")):
        assert pattern.fullmatch(e.payload) is None
    assert fields(e) == slow(e)


def test_local_day_is_the_vietnamese_calendar_day() -> None:
    # 16:59:59 UTC is 23:59:59 in Hà Nội; 17:00 UTC is the next day there.
    before = datetime(2026, 3, 9, 16, 59, 59, 1, tzinfo=UTC)
    after = datetime(2026, 3, 9, 17, 0, 0, 1, tzinfo=UTC)
    assert local_day(event(SCORE_RECORDED, score(timestamp=before))) == "2026-03-09"
    assert local_day(event(SCORE_RECORDED, score(timestamp=after))) == "2026-03-10"
    assert local_day(event(SCORE_RECORDED, score(timestamp=after.replace(microsecond=0)))) == (
        "2026-03-10"
    )
    # Stamped in another zone, the slow path converts it the same way.
    seven = timezone(timedelta(hours=7))
    assert local_day(event(SCORE_RECORDED, score(timestamp=after.astimezone(seven)))) == (
        "2026-03-10"
    )


def test_writes_keep_event_order_per_table_and_batch_runs() -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("CREATE TABLE a (k INTEGER PRIMARY KEY, v TEXT)")
    conn.execute("CREATE TABLE b (k INTEGER PRIMARY KEY, v TEXT)")
    tx = Tx(conn.cursor(), SQLITE)
    insert_a = "INSERT INTO a (k, v) VALUES (?, ?)"
    update_a = "UPDATE a SET v = ? WHERE k = ?"
    insert_b = "INSERT INTO b (k, v) VALUES (?, ?)"
    w = _Writes()
    w.add(insert_a, 1, "x")
    w.add(insert_b, 1, "y")  # another table: does not break a's run
    w.add(insert_a, 2, "x")
    w.add(update_a, "z", 1)  # after the inserts of a, in order
    w.add(insert_a, 3, "x")
    assert [len(runs) for runs in w.tables.values()] == [3, 1]
    assert [len(rows) for _, rows in w.tables["a"]] == [2, 1, 1]
    w.flush(tx)
    assert [tuple(r) for r in conn.execute("SELECT * FROM a ORDER BY k")] == [
        (1, "z"),
        (2, "x"),
        (3, "x"),
    ]
    assert w.tables == {}
    assert _table_of("  delete from Entries where k = ?") == "entries"
    with pytest.raises(ValueError, match="not a write"):
        _table_of("SELECT 1")


@pytest.mark.parametrize("count", [0, 1, 110, 111, 112, 1000])
def test_insert_rows_writes_every_row_in_multi_row_statements(count: int) -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.execute(
        "CREATE TABLE t (a INTEGER, b TEXT, c TEXT, d INTEGER, e TEXT, f TEXT, g TEXT, "
        "h TEXT, i TEXT)"
    )
    tx = Tx(conn.cursor(), SQLITE)
    rows = [(i, "b", None, i * 2, "é", "f", "g", "h", str(i)) for i in range(count)]
    insert_rows(tx, "t", ("a", "b", "c", "d", "e", "f", "g", "h", "i"), rows)
    assert conn.execute("SELECT * FROM t ORDER BY a").fetchall() == rows


TT22_RESULT = {
    "school_year": "2025-2026",
    "grade": 6,
    "class_name": "6A1",
    "subjects": {
        "Toán": {"assessed": "score", "term1": "8.0", "term2": "7.0", "year": "7.3"},
        # A subject named like a summary key must not be taken for it.
        "learning": {"assessed": "comment", "term1": "Đạt", "term2": "Đạt", "year": "Đạt"},
    },
    "learning": "Khá",
    "learning_raw": "Khá",
    "adjusted_by": None,
    "conduct": {"term1": "Tốt", "term2": "Tốt", "year": "Tốt"},
    "conduct_after_summer": None,
    "learning_after_reassessment": None,
    "absences": 2,
    "promotion": "Lên lớp",
    "award": None,
    "regulation": "TT22/2021",
}
TT27_RESULT = {
    "school_year": "2025-2026",
    "grade": 4,
    "class_name": "4A",
    "subjects": {"Toán": {"assessed": "score", "level": "Hoàn thành tốt", "code": "T"}},
    "qualities": {"Yêu nước": "Tốt"},
    "absences": 0,
    "result": "Hoàn thành xuất sắc",
    "regulation": "TT27/2020",
}


@pytest.mark.parametrize("result", [TT22_RESULT, TT27_RESULT])
@pytest.mark.parametrize("usual", [True, False])
def test_year_results_are_read_as_their_json(result: dict[str, Any], usual: bool) -> None:
    state = {"timestamp": WHEN, "school_year": "2025-2026", "stage": "year", "result": result}
    state["by"] = TEACHER
    if not usual:
        state = {"by": TEACHER, **state}  # another field order: read from the decoded state
    e = event("ledger.domain:StudentRecord.YearResultRecorded", state)
    r = read_year_result(e)
    assert json.loads(r.result) == result
    assert (r.school_year, r.stage, r.at) == ("2025-2026", "year", WHEN.isoformat())
    if result is TT22_RESULT:
        assert result_summary(r.result) == ("Khá", "Lên lớp", None)
    else:
        assert result_summary(r.result) == ("Hoàn thành xuất sắc", None, None)
