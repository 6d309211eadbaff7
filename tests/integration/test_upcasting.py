"""Events can grow: an upcaster changes how old payloads are read, never their bytes."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from ledger.audit import audit
from tests.conftest import School


class Note(Aggregate):
    """A throwaway aggregate whose event gains a field in version 2."""

    @event("Written")
    def __init__(self, text: str, by: UUID) -> None:
        self.text = text

    class Written(Aggregate.Created):
        text: str
        by: UUID


def test_upcast_on_read_keeps_stored_bytes_and_signatures(school: School) -> None:
    teacher = school.teachers["GV001"]
    note = Note(text="Ghi chú", by=school.staff("GV001"))
    school.ledger.save(note, signer=teacher)
    stored_before = school.ledger.recorder.select_events(note.id)[0].state

    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state["language"] = "vi"

    cls: Any = Note.Written
    cls.class_version = 2
    cls.upcast_v1_v2 = staticmethod(upcast_v1_v2)
    try:
        from ledger.application import Ledger

        fresh = Ledger(school.settings, None)
        try:
            (written,) = list(fresh.events.get(note.id))
            assert written.language == "vi"  # type: ignore[attr-defined]
            assert written.text == "Ghi chú"  # type: ignore[attr-defined]
            assert fresh.recorder.select_events(note.id)[0].state == stored_before
            assert audit(fresh).ok
        finally:
            fresh.close()
    finally:
        del cls.class_version
        del cls.upcast_v1_v2
