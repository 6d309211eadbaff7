"""``socai shred``: crypto-shredding a person (DESIGN.md invariant 8, DOMAIN.md §6.2).

A canary, a unique string in one student's name and in their GVCN's remark, must appear in
plaintext in none of the places that hold data: every file under the data directory (the
ledger with its WAL and shared memory, the vault, the PKI, the log...) and, on PostgreSQL,
a ``pg_dump`` of the database. Neither before ``socai shred`` (the ledger holds ciphertext
only) nor after it. Each place is one function in :data:`LEAK_CHECKS`; a place added later
(views, logs) is one more function appended there.
"""

from __future__ import annotations

import glob
import json
import logging
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import api.demo
from api.cli import EX_CANTCREAT, EX_DATAERR, EX_NOINPUT, main, open_ledger
from ledger.application import Ledger, Settings
from ledger.audit import audit
from ledger.domain import StaffFile, StudentRecord, staff_id, student_id
from signing.keys import resolve_passphrase
from signing.pki import DemoPKI
from tests.conftest import drop_postgres, postgres_url

CANARY = f"Canary{uuid.uuid4().hex[:12]}"
#: The re-sit student: scores, a year result, the summer re-assessment and remarks.
STUDENT = "HS790007010001"
REASON = "Quyết định số 15/QĐ-THCSND: hết thời hạn lưu trữ dữ liệu định danh"


@dataclass
class Case:
    settings: Settings
    capsys: pytest.CaptureFixture[str]

    @property
    def data(self) -> Path:
        return self.settings.data_dir

    def socai(self, *args: str) -> tuple[int, str, str]:
        code = main(["--data", str(self.data), *args])
        out, err = self.capsys.readouterr()
        return code, out, err

    def ledger(self) -> Ledger:
        ledger, _ = open_ledger(self.settings)
        return ledger


# -- where personal data could leak -----------------------------------------------------------


def _files(case: Case, needle: bytes) -> list[str]:
    """Every file under the data directory (ledger.sqlite, -wal, -shm, vault.sqlite, ...).

    Except the issued transcripts in ``DATA/out``: a học bạ shows the student's identity by
    design; ``socai shred`` deletes the school's copies (checked by the tests below).
    """
    out = case.data / "out"
    return [
        str(path.relative_to(case.data))
        for path in sorted(case.data.rglob("*"))
        if path.is_file() and out not in path.parents and needle in path.read_bytes()
    ]


def _issued_copies(case: Case) -> list[Path]:
    return sorted((case.data / "out").rglob(f"{STUDENT}-*.pdf"))


def _pg_dump_binary() -> str:
    found = shutil.which("pg_dump") or next(
        iter(sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_dump"), reverse=True)), None
    )
    if found is None:
        pytest.fail("pg_dump not found on PATH or under /usr/lib/postgresql/*/bin")
    return found


def _pg_dump(case: Case, needle: bytes) -> list[str]:
    """The whole PostgreSQL database, as ``pg_dump`` gives it (every table, every row)."""
    url = case.settings.database_url
    if url is None:
        return []
    dump = subprocess.run(
        [_pg_dump_binary(), "--no-owner", url], capture_output=True, check=True, timeout=120
    ).stdout
    assert b"socai_vault" in dump and b"socai_events" in dump  # the dump is of our database
    # bytea columns (the events' stored state among them) are dumped in hex.
    found = needle in dump or needle.hex().encode() in dump
    return ["pg_dump"] if found else []


#: Every place checked for the canary; append a function for a new place (e.g. the views).
LEAK_CHECKS: list[Callable[[Case, bytes], list[str]]] = [_files, _pg_dump]


def leaks(case: Case, text: str = CANARY) -> list[str]:
    needle = text.encode("utf-8")
    return [place for check in LEAK_CHECKS for place in check(case, needle)]


# -- the seeded data directory ------------------------------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def case(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Iterator[Case]:
    """``socai demo --students 4`` where the re-sit student's name and remark hold the canary."""
    monkeypatch.delenv("SOCAI_DATABASE_URL", raising=False)
    real_identity = api.demo.student_identity

    def identity(code: str, born_year: int) -> dict[str, str]:
        fields = real_identity(code, born_year)
        if code == STUDENT:
            family, *rest = fields["ho_va_ten"].split()
            fields["ho_va_ten"] = " ".join([family, CANARY, *rest])
        return fields

    monkeypatch.setattr(api.demo, "student_identity", identity)
    remarks = dict(api.demo.HOMEROOM_REMARKS)
    remarks["resit"] = f"Em {CANARY} cần cố gắng hơn ở môn Toán."
    monkeypatch.setattr(api.demo, "HOMEROOM_REMARKS", remarks)
    url = None
    if request.param == "postgres":
        url = postgres_url()
        monkeypatch.setenv("SOCAI_DATABASE_URL", url)
    try:
        c = Case(Settings(tmp_path / "data", url), capsys)
        code, _, err = c.socai("demo", "--students", "4")
        assert code == 0, err
        yield c
    finally:
        if url is not None:
            drop_postgres(url)


def _snapshot(ledger: Ledger) -> dict[str, Any]:
    record = ledger.load(student_id(STUDENT), StudentRecord)
    return {
        "scores": dict(record.scores),
        "entries": dict(record.entries),
        "results": dict(record.results),
        "reassessed": dict(record.reassessed),
        "events": ledger.recorder.max_notification_id(),
    }


def _views_hold(case: Case) -> dict[str, Any]:
    """Rebuild the views, and read the student's transcript through them (decrypted)."""
    code, _, err = case.socai("views", "rebuild")
    assert code == 0, err
    code, out, err = case.socai("transcript", STUDENT, "--json")
    assert code == 0, err
    (year,) = json.loads(out)["years"]
    return dict(year)


def test_shred_a_student(case: Case, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    ledger = case.ledger()
    try:
        identity = ledger.identity_of(student_id(STUDENT))
        assert identity is not None and CANARY in identity["ho_va_ten"]
        before = _snapshot(ledger)
        assert before["scores"] and before["results"]
    finally:
        ledger.close()
    # The ledger holds ciphertext only: the canary is nowhere, even before the shred.
    assert leaks(case) == []
    # The views too (files under DATA/views, or schemas in the dump): they decrypt on read.
    shown = _views_hold(case)
    assert CANARY in shown["identity"]["ho_va_ten"]
    assert any(CANARY in (r["text"] or "") for r in shown["remarks"])
    assert leaks(case) == []
    # Control: the same checks do see what the ledger keeps in clear (a school's name).
    seen = leaks(case, api.demo.PARTNER_NAME)
    if case.settings.database_url:
        assert "pg_dump" in seen, seen
    else:
        assert any(place.startswith("ledger.sqlite") for place in seen), seen

    assert len(_issued_copies(case)) == 1  # the demo issued the student's học bạ số
    code, out, err = case.socai("shred", STUDENT, "--reason", REASON)
    assert code == 0, err
    assert f"Đã xoá dữ liệu cá nhân của học sinh {STUDENT}" in out
    assert "Đã xoá 1 bản học bạ số đã cấp lưu tại trường" in out
    assert _issued_copies(case) == []
    assert "PersonalDataShredded" in out and "Trần Thị Hương, Hiệu trưởng" in out
    assert CANARY not in out

    assert leaks(case) == []
    after_views = _views_hold(case)  # rebuilt after the shred
    assert after_views["identity"] is None and after_views["shredded"]
    assert all(r["text"] is None for r in after_views["remarks"])
    assert after_views["result"] == shown["result"]  # the year result stays
    assert leaks(case) == []
    assert CANARY not in caplog.text  # nothing logged it, at any level
    ledger = case.ledger()
    try:
        rid = student_id(STUDENT)
        assert ledger.identity_of(rid) is None
        assert ledger.vault.is_shredded(rid)
        record = ledger.load(rid, StudentRecord)
        assert record.shredded and record.identity is None
        erasure = [e for e in ledger.history(rid) if e["event"] == "PersonalDataShredded"]
        assert len(erasure) == 1
        assert set(erasure[0]["fields"]) == {"reason", "by"}
        assert erasure[0]["fields"]["reason"] == REASON
        assert erasure[0]["signer_owner"] == str(staff_id("79000701", "HT001"))
        assert CANARY not in json.dumps(erasure[0], default=str, ensure_ascii=False)
        # Academic results are kept: every score, the year result, the re-assessment.
        after = _snapshot(ledger)
        assert {k: v for k, v in after.items() if k != "events"} == {
            k: v for k, v in before.items() if k != "events"
        }
        assert after["events"] == before["events"] + 1
        report = audit(ledger)
        assert report.ok, report.problems[:5]
    finally:
        ledger.close()
    code, out, _ = case.socai("audit")
    assert code == 0 and "ĐẠT" in out


def test_shred_refusals_write_nothing(case: Case) -> None:
    ledger = case.ledger()
    try:
        events = ledger.recorder.max_notification_id()
        name = ledger.identity_of(student_id(STUDENT))["ho_va_ten"]  # type: ignore[index]
    finally:
        ledger.close()

    def written() -> int:
        ledger = case.ledger()
        try:
            return int(ledger.recorder.max_notification_id() or 0) - int(events or 0)
        finally:
            ledger.close()

    code, _, err = case.socai("shred", "HS-KHONG-CO", "--reason", REASON)
    assert code == EX_NOINPUT and "HS-KHONG-CO" in err
    code, _, err = case.socai("shred", str(uuid.uuid4()), "--reason", REASON)
    assert code == EX_NOINPUT and "no record" in err
    # The reason is kept in clear: one naming the person is refused.
    code, _, err = case.socai("shred", STUDENT, "--reason", f"Yêu cầu của {name}")
    assert code == EX_DATAERR and "personal data" in err and CANARY not in err
    assert written() == 0

    code, _, err = case.socai("shred", STUDENT, "--reason", REASON)
    assert code == 0, err
    assert written() == 1
    code, _, err = case.socai("shred", STUDENT, "--reason", REASON)
    assert code == EX_CANTCREAT and "already shredded" in err
    code, _, err = case.socai("shred", str(student_id(STUDENT)), "--reason", REASON)
    assert code == EX_CANTCREAT
    assert written() == 1
    assert leaks(case) == []


def test_shred_a_staff_member_json(case: Case) -> None:
    code, out, err = case.socai("shred", "GV012", "--reason", REASON, "--json")
    assert code == 0, err
    report = json.loads(out)
    sid = staff_id("79000701", "GV012")
    assert report["record"] == str(sid) and report["kind"] == "staff"
    assert report["code"] == "GV012" and report["event"] == "PersonalDataShredded"
    assert report["key_destroyed"] is True
    ledger = case.ledger()
    try:
        assert ledger.identity_of(sid) is None
        staff = ledger.load(sid, StaffFile)
        assert staff.shredded and staff.evaluations and staff.rank  # the HR history stays
        assert audit(ledger).ok
    finally:
        ledger.close()


def test_shred_finishes_an_interrupted_erasure(case: Case) -> None:
    """A crash between the recorded erasure and the key's destruction: a rerun finishes it."""
    rid = student_id(STUDENT)
    pki = DemoPKI.load(case.data / "pki", resolve_passphrase(case.data, create=False))
    ledger = case.ledger()
    try:

        def crash(person: uuid.UUID) -> bool:
            raise OSError("the machine stopped here")

        ledger.vault.shred = crash  # type: ignore[method-assign]
        with pytest.raises(OSError):
            ledger.shred(pki.signer_for("HT001"), rid, REASON)
    finally:
        ledger.close()
    ledger = case.ledger()
    try:
        assert ledger.load(rid, StudentRecord).shredded
        assert not ledger.vault.is_shredded(rid)  # the key outlived its recorded erasure
        events = ledger.recorder.max_notification_id()
    finally:
        ledger.close()

    code, out, err = case.socai("shred", STUDENT, "--reason", REASON)
    assert code == 0, err
    assert "Đã hoàn tất" in out
    ledger = case.ledger()
    try:
        assert ledger.vault.is_shredded(rid) and ledger.identity_of(rid) is None
        assert ledger.recorder.max_notification_id() == events  # no second erasure event
        assert [e["event"] for e in ledger.history(rid)].count("PersonalDataShredded") == 1
        assert audit(ledger).ok
    finally:
        ledger.close()
    assert leaks(case) == []
