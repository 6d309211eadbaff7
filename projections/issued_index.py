"""Which issue of which record a transcript id names: the index behind ``/verify/{transcript_id}``.

The QR code of an issued học bạ số carries ``{public_url}/verify/{transcript_id}``, where the
id is :func:`projections.issuance.transcript_id` (a uuid5 of the record and the issue
number, so it cannot be turned back into either). :class:`IssuedIndex` is a small view on
:mod:`projections.runner` that keeps one row per ``TranscriptIssued`` event: the transcript
id, the record, the issue number, the school year, the PDF's SHA-256 and the time of issue,
and whether a ``TranscriptSuperseded`` event has since replaced it.

The index only finds the issue; what a page shows as *current* or *superseded* is read
from the record itself (the ledger is the authority, the index may lag a page behind).
:func:`find_issue` catches the view up before it looks, so an issue is found as soon as its
event is stored, without a live runner. Nothing personal is kept: no student code, name or
identity, only ids and hashes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.utils import get_topic

from ledger.domain import StudentRecord
from projections.errors import ViewConflict
from projections.runner import Tx, View, ViewEvent, ViewRunner

__all__ = ["IssuedIndex", "IssuedRow", "find_issue"]

_ISSUED = f"{get_topic(StudentRecord)}.TranscriptIssued"
_SUPERSEDED = f"{get_topic(StudentRecord)}.TranscriptSuperseded"


@dataclass(frozen=True)
class IssuedRow:
    """One issued transcript, as the index knows it."""

    #: The public transcript id (the QR code's).
    transcript: str
    #: The student record it was issued from.
    record: UUID
    #: The issue number (1, 2, … per record).
    number: int
    school_year: str
    #: Hex SHA-256 of the signed PDF.
    sha256: str
    #: When the ``TranscriptIssued`` event was made (ISO 8601, UTC), "" when unknown.
    issued_at: str
    #: Whether a later ``TranscriptSuperseded`` names this issue's PDF.
    superseded: bool


class IssuedIndex(View):
    """``issued``: transcript id → record and issue number, for the QR landing page."""

    name = "issued"
    topics: ClassVar[Sequence[str | type] | None] = (_ISSUED, _SUPERSEDED)
    ddl: ClassVar[Sequence[str]] = (
        "CREATE TABLE issued (transcript TEXT PRIMARY KEY, record TEXT NOT NULL, "
        "number INTEGER NOT NULL, school_year TEXT NOT NULL, sha256 TEXT NOT NULL, "
        "issued_at TEXT NOT NULL, superseded INTEGER NOT NULL DEFAULT 0)",
        "CREATE INDEX issued_by_hash ON issued (record, sha256)",
    )
    version = 1

    _COLUMNS = ("transcript", "record", "number", "school_year", "sha256", "issued_at")

    def apply(self, batch: Sequence[ViewEvent], tx: Tx) -> None:
        issued: dict[str, tuple[Any, ...]] = {}
        superseded: list[tuple[str, str]] = []
        for e in batch:
            s = e.state
            if e.topic == _ISSUED:
                moment = s.get("timestamp")
                at = moment.isoformat() if isinstance(moment, datetime) else ""
                issued[str(s["transcript"])] = (
                    str(s["transcript"]),
                    str(e.record_id),
                    int(s["number"]),
                    str(s["school_year"]),
                    str(s["sha256"]),
                    at,
                )
            else:
                superseded.append((str(e.record_id), str(s["sha256"])))
        # Issues first: a page may hold an issue and the event superseding it.
        tx.upsert("issued", self._COLUMNS, ("transcript",), list(issued.values()))
        tx.executemany(
            "UPDATE issued SET superseded = 1 WHERE record = ? AND sha256 = ?", superseded
        )


def find_issue(
    runner: ViewRunner, transcript: str, *, index: IssuedIndex | None = None
) -> IssuedRow | None:
    """The issue with this transcript id, after catching the index up; None if unknown."""
    view = index or IssuedIndex()
    try:
        runner.catch_up(view)
    except ViewConflict:
        pass  # another process moved the index meanwhile; what it wrote is there to read
    row = runner.query_one(
        view,
        "SELECT transcript, record, number, school_year, sha256, issued_at, superseded "
        "FROM issued WHERE transcript = ?",
        (transcript,),
    )
    if row is None:
        return None
    return IssuedRow(
        str(row["transcript"]),
        UUID(str(row["record"])),
        int(row["number"]),
        str(row["school_year"]),
        str(row["sha256"]),
        str(row["issued_at"]),
        bool(row["superseded"]),
    )
