"""The ``socai`` command line on the embedded SQLite store."""

from __future__ import annotations

import itertools
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from api.cli import EX_CANTCREAT, EX_NOINPUT, EX_USAGE, main


@pytest.fixture(autouse=True)
def _sqlite_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOCAI_DATABASE_URL", raising=False)
    monkeypatch.delenv("SOCAI_KEY_PASSPHRASE", raising=False)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_init_then_demo_history_audit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    code, out, _ = run(capsys, "--data", str(data), "init")
    assert code == 0 and "Đã khởi tạo" in out
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    secret = data / "secrets" / "key-passphrase"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    for key in data.rglob("*key*.pem"):
        assert key.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----"), key
        assert stat.S_IMODE(key.stat().st_mode) == 0o600

    code, out, _ = run(capsys, "--data", str(data), "demo", "--students", "4", "--json")
    assert code == 0
    summary = json.loads(out)
    assert summary["students"] == 4 and summary["classes"] == 3
    assert summary["corrections"] == 2 and summary["resits"] == 1
    assert summary["summer_training"] == 1
    assert summary["transfers"] == {"students_in": 1, "staff_out": 1}
    # 42 scores and 16 comment assessments a student and term (THCS_PLAN, TT 22/2021 Điều 6, 7):
    # 3 students here for both terms, the transferred one in term I at the partner school
    # (with 2 classmates there) and here in term II.
    assert summary["scores"] == 42 * (3 * 2 + 1 + 3)
    assert summary["comments"] == 16 * (3 * 2 + 1 + 3)
    # One TranscriptIssued per student after the seed, all in the last checkpoint.
    assert summary["checkpoint"]["size"] == summary["events"] + summary["issued"]["issued"]

    # The transferred student's record: one chain across both schools.
    code, out, _ = run(capsys, "--data", str(data), "history", summary["example_student"], "--json")
    assert code == 0
    events = json.loads(out)["events"]
    assert events[0]["event"] == "Enrolled" and events[0]["version"] == 1
    assert events[0]["signer_name"] == "Nguyễn Thị Thanh Tâm, Hiệu trưởng"  # partner school
    names = [e["event"] for e in events]
    out_at, in_at = names.index("TransferredOut"), names.index("TransferredIn")
    assert out_at + 1 == in_at
    assert events[in_at]["signer_name"] == "Trần Thị Hương, Hiệu trưởng"
    assert "ScoreRecorded" in names[:out_at] and "ScoreRecorded" in names[in_at:]
    # The demo ends by issuing the học bạ số: the year result, then the issue.
    assert names[-2:] == ["YearResultRecorded", "TranscriptIssued"]
    assert events[-1]["signer_name"] == "Trần Thị Hương, Hiệu trưởng"
    assert summary["issued"]["issued"] == summary["students"]
    assert len(list((data / "out").glob("*.pdf"))) == summary["students"]
    assert all(e["prev"] == p["hash"] for p, e in itertools.pairwise(events))

    code, out, _ = run(capsys, "--data", str(data), "history", summary["examples"]["corrected"])
    assert code == 0
    assert "CorrectionProposed" in out and "CorrectionApproved" in out and "ScoreCorrected" in out

    code, out, _ = run(capsys, "--data", str(data), "audit", "--json")
    report = json.loads(out)
    issued = summary["issued"]["issued"]  # one TranscriptIssued per student, after the seed
    assert code == 0 and report["ok"] and report["events"] == summary["events"] + issued


def test_demo_refuses_to_seed_twice(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    code, out, _ = run(capsys, "--data", str(data), "demo", "--students", "1", "--json")
    assert code == 0
    summary = json.loads(out)
    events = summary["events"] + summary["issued"]["issued"]  # the seed, then the issues
    code, _, err = run(capsys, "--data", str(data), "demo", "--students", "1")
    assert code == EX_CANTCREAT and "already seeded" in err
    for bad in ("0", "-3", "10001"):
        code, _, err = run(capsys, "--data", str(data), "demo", "--students", bad)
        assert code == EX_USAGE and "--students" in err
    code, out, _ = run(capsys, "--data", str(data), "audit", "--json")
    assert code == 0 and json.loads(out)["events"] == events


def test_init_refuses_to_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    assert run(capsys, "--data", str(data), "init")[0] == 0
    before = {p: p.stat().st_mtime_ns for p in data.rglob("*") if p.is_file()}
    code, _, err = run(capsys, "--data", str(data), "init")
    assert code == EX_CANTCREAT and "refusing to overwrite" in err
    assert {p: p.stat().st_mtime_ns for p in data.rglob("*") if p.is_file()} == before


def test_passphrase_from_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOCAI_KEY_PASSPHRASE", "một cụm mật khẩu dài")
    data = tmp_path / "data"
    assert run(capsys, "--data", str(data), "init")[0] == 0
    assert not (data / "secrets").exists()
    monkeypatch.setenv("SOCAI_KEY_PASSPHRASE", "sai mật khẩu")
    code, _, err = run(capsys, "--data", str(data), "demo", "--students", "1")
    assert code != 0 and "passphrase" in err.lower()
    assert "một cụm" not in err and "sai mật" not in err


def test_missing_data_dir_and_record(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--data", str(tmp_path / "none"), "audit")
    assert code == EX_NOINPUT and "socai init" in err
    data = tmp_path / "data"
    run(capsys, "--data", str(data), "init")
    code, _, err = run(capsys, "--data", str(data), "history", "HS-KHONG-CO")
    assert code == EX_NOINPUT


def test_console_script_and_env_data(tmp_path: Path) -> None:
    env = {**os.environ, "SOCAI_DATA": str(tmp_path / "d")}
    env.pop("SOCAI_DATABASE_URL", None)
    out = subprocess.run(
        [sys.executable, "-m", "api.cli", "demo", "--students", "2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert "Học sinh: 2" in out and "socai history HS790007020001" in out
    done = subprocess.run(
        [sys.executable, "-m", "api.cli", "audit"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "ĐẠT" in done.stdout
