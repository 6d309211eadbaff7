"""Attacks on the database that only the witnessed log can reveal (SQLite, through the CLI).

The attacker controls the server: the event store, the log tables, the checkpoint store and
the keys on disk. The inspector holds a checkpoint cosigned by the witness earlier (saved from
`socai log checkpoint`), and the witness holds its own state.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.cli import main
from ledger.application import Ledger, Settings


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Path]]:
    monkeypatch.delenv("SOCAI_DATABASE_URL", raising=False)
    monkeypatch.setenv("SOCAI_KEY_PASSPHRASE", "kiểm thử tấn công")
    data = tmp_path / "data"
    assert main(["--data", str(data), "demo", "--students", "4"]) == 0
    saved = tmp_path / "inspector-checkpoint.txt"
    return_code = main(["--data", str(data), "log", "checkpoint", "--json"])
    assert return_code == 0
    yield data, saved


def save_checkpoint(data: Path, to: Path, capsys: pytest.CaptureFixture[str]) -> int:
    capsys.readouterr()
    assert main(["--data", str(data), "log", "checkpoint", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["witnesses"] == {"socai-local-witness": "cosigned"}
    to.write_text(out["note"], "utf-8")
    return int(out["size"])


def rebuild_log(data: Path) -> None:
    """What an attacker does after changing events: recompute a consistent log from them."""
    with sqlite3.connect(data / "ledger.sqlite") as db:
        db.execute("DELETE FROM socai_log_leaves")
        db.execute("DELETE FROM socai_log_nodes")
        db.execute("UPDATE socai_log_state SET size = 0, last_notification_id = 0, frontier = x''")
    ledger = Ledger(Settings(data))
    try:
        ledger.transparency_log.catch_up()
    finally:
        ledger.close()


def audit_json(data: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    capsys.readouterr()
    code = main(["--data", str(data), "audit", "--json", *extra])
    return code, json.loads(capsys.readouterr().out)


def test_truncation_is_reported_with_the_missing_range(
    demo: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    data, saved = demo
    size = save_checkpoint(data, saved, capsys)
    with sqlite3.connect(data / "ledger.sqlite") as db:
        db.execute(
            "DELETE FROM stored_events WHERE rowid > (SELECT max(rowid) - 5 FROM stored_events)"
        )
    rebuild_log(data)  # a consistent, shorter log: its own checks pass
    code, report = audit_json(data, capsys, "--checkpoint", str(saved))
    assert code == 1
    details = [p["detail"] for p in report["problems"] if p["check"] == "checkpoint"]
    assert any(f"leaves {size - 5}…{size - 1} are missing" in d for d in details), details
    # The store is now behind what the log signed: it refuses to sign until reconciled.
    capsys.readouterr()
    assert main(["--data", str(data), "log", "checkpoint"]) != 0
    assert "missing" in capsys.readouterr().err


def test_deleted_record_is_reported(
    demo: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    data, saved = demo
    save_checkpoint(data, saved, capsys)
    with sqlite3.connect(data / "ledger.sqlite") as db:
        (victim,) = db.execute(
            "SELECT originator_id FROM stored_events ORDER BY rowid DESC LIMIT 1"
        ).fetchone()
        db.execute("DELETE FROM stored_events WHERE originator_id = ?", (victim,))
    # Before the attacker touches the log, the log itself names the missing events.
    code, report = audit_json(data, capsys)
    assert code == 1
    assert any("no longer stored" in p["detail"] for p in report["problems"])
    # After rebuilding the log, only the witnessed checkpoint reveals it.
    rebuild_log(data)
    code, report = audit_json(data, capsys, "--checkpoint", str(saved))
    assert code == 1
    assert {p["check"] for p in report["problems"]} == {"checkpoint"}


def test_rewrite_resigned_with_the_stolen_log_key(
    demo: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    data, saved = demo
    size = save_checkpoint(data, saved, capsys)
    # Rewrite: drop one record's history, add others so the log grows past the old size,
    # wipe the checkpoint store, and sign fresh checkpoints with the log key from disk.
    with sqlite3.connect(data / "ledger.sqlite") as db:
        (victim,) = db.execute(
            "SELECT originator_id FROM stored_events ORDER BY rowid LIMIT 1 OFFSET 20"
        ).fetchone()
        db.execute("DELETE FROM stored_events WHERE originator_id = ?", (victim,))
    rebuild_log(data)
    (data / "log" / "checkpoints.sqlite").unlink()
    for extra in ("-wal", "-shm"):
        (data / "log" / f"checkpoints.sqlite{extra}").unlink(missing_ok=True)
    ledger = Ledger(Settings(data))
    try:
        from signing.pki import DemoPKI

        pki = DemoPKI.load(data / "pki", "kiểm thử tấn công".encode())
        principal = pki.signer_for("HT001")
        ledger.open_class(principal, "2025-2026", "6A9", 6)
        for i in range(30):
            ledger.enrol_student(principal, f"HSFAKE{i}", "2025-2026", 6, "6A9")
    finally:
        ledger.close()
    capsys.readouterr()
    assert main(["--data", str(data), "log", "checkpoint", "--json"]) == 0
    forged = json.loads(capsys.readouterr().out)
    assert forged["size"] > size
    # The witness holds the real history and refuses the forged extension.
    assert forged["witnesses"]["socai-local-witness"].startswith("refused (422)")
    # Every event verifies and the forged log is self-consistent, but not with the witness.
    code, report = audit_json(data, capsys, "--checkpoint", str(saved))
    assert code == 1
    problems = [p for p in report["problems"] if p["check"] == "checkpoint"]
    assert problems and "was changed" in problems[0]["detail"]


def test_restore_from_backup_refuses_to_sign(
    demo: tuple[Path, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data, saved = demo
    backup = tmp_path / "backup.sqlite"
    save_checkpoint(data, saved, capsys)
    with sqlite3.connect(data / "ledger.sqlite") as db, sqlite3.connect(backup) as out:
        db.backup(out)
    assert main(["--data", str(data), "demo", "--students", "1"]) != 0  # already seeded
    ledger = Ledger(Settings(data))
    try:
        from signing.pki import DemoPKI

        pki = DemoPKI.load(data / "pki", "kiểm thử tấn công".encode())
        ledger.enrol_student(pki.signer_for("HT001"), "HS-NEW", "2025-2026", 6, "6A1")
    finally:
        ledger.close()
    save_checkpoint(data, tmp_path / "later.txt", capsys)
    # Restore the older database (SQLite's backup API, as an operator's restore would).
    with sqlite3.connect(backup) as old, sqlite3.connect(data / "ledger.sqlite") as live:
        old.backup(live)
    capsys.readouterr()
    assert main(["--data", str(data), "log", "checkpoint"]) != 0
    err = capsys.readouterr().err
    assert "already signed" in err and "nothing is signed" in err
