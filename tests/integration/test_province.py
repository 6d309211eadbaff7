"""The province generator: deterministic, signed through the ledger, resumable after SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from api.cli import main
from bench.province import STATE_FILE, Plan, ProvinceError, Scale, generate
from ledger.application import Ledger, Settings
from ledger.audit import audit
from ledger.domain import StudentRecord, student_id

#: Two schools (so students and a teacher transfer), two years (so classes move up).
SMALL = Scale(2, classes_per_grade=2, class_size=6, years=2)


def _contents(settings: Settings) -> Counter[tuple[str, int, str]]:
    """Every stored event as (record, version, topic): what a run writes, signatures aside."""
    ledger = Ledger(settings)
    try:
        notes = ledger.recorder.select_notifications(start=1, limit=10**7)
        return Counter((str(n.originator_id), n.originator_version, n.topic) for n in notes)
    finally:
        ledger.close()


def _audited(settings: Settings) -> int:
    ledger = Ledger(settings)
    try:
        report = audit(ledger, jobs=2)
        assert report.ok, report.problems[:5]
        return int(report.as_dict()["events"])
    finally:
        ledger.close()


def test_plan_is_deterministic_and_moves_students_between_schools() -> None:
    a, b = Plan(SMALL), Plan(SMALL)
    assert a.roster(0, 1, 7, 0) == b.roster(0, 1, 7, 0)
    # Last year's 6A1 moved up to 7A1, less those who left, plus those who came in.
    last = {p.code for p in a.roster(0, 0, 6, 0)}
    now = {p.code for p in a.roster(0, 1, 7, 0)}
    left = {p.code for p in a.leavers(0, 0)}
    came = {p.code for p in a.arrivals(0, 1, 7)}
    assert now == (last - left) | came
    # Across the province some move: the seed is chosen so that the small plan has transfers.
    moved = [p for s in range(SMALL.schools) for p in a.leavers(s, 0)]
    assert moved, "the small plan should transfer someone"
    # A teacher who transferred out is replaced by a new person in the same post.
    slot = a.leaving_teacher(0)
    assert a.teacher_code(0, 1, slot) != a.teacher_code(0, 0, slot)
    assert Plan(Scale(2, classes_per_grade=2, class_size=6, years=2, seed=7)).roster(
        0, 0, 6, 0
    ) != a.roster(0, 0, 6, 0)


def test_generates_a_province_that_audits_and_the_same_twice(tmp_path: Path) -> None:
    one, two = Settings(tmp_path / "one"), Settings(tmp_path / "two")
    done = generate(one, SMALL)
    assert done.units_done == done.units == SMALL.schools * SMALL.years
    assert done.written == done.events > 0.8 * SMALL.events
    generate(two, SMALL)
    assert _contents(one) == _contents(two)
    assert _audited(one) == done.events
    # Transfers happened: a student who left school 0 is now school 1's.
    plan = Plan(SMALL)
    moved = plan.leavers(0, 0)
    ledger = Ledger(one)
    try:
        for pupil in moved:
            record = ledger.read(student_id(pupil.code), StudentRecord)
            assert record.school_year == "2023-2024"
            assert len(record.years) == 2
    finally:
        ledger.close()
    state = json.loads((one.data_dir / STATE_FILE).read_text())
    assert state["units_done"] == 4 and state["running"] is False


def test_stops_at_a_size_and_grows_to_the_whole_province(tmp_path: Path) -> None:
    settings = Settings(tmp_path / "data")
    first = generate(settings, SMALL, until_events=1)
    assert first.units_done == 1  # one round of one worker on SQLite
    rest = generate(settings, SMALL)
    assert rest.resumed_from == 1 and rest.units_done == 4
    assert rest.events == first.events + rest.written
    with pytest.raises(ProvinceError, match="another province"):
        generate(settings, Scale(3, classes_per_grade=2, class_size=6, years=2))


def test_a_killed_run_resumes_and_writes_what_an_uninterrupted_one_does(tmp_path: Path) -> None:
    whole = Settings(tmp_path / "whole")
    generate(whole, SMALL)
    killed = Settings(tmp_path / "killed")
    env = {**os.environ, "SOCAI_DATA": str(killed.data_dir)}
    argv = [sys.executable, "-m", "api.cli", "province", "--schools", "2"]
    argv += ["--classes-per-grade", "2", "--class-size", "6", "--years", "2", "--quiet"]
    proc = subprocess.Popen(argv, env=env, start_new_session=True)
    state_path = killed.data_dir / STATE_FILE
    try:
        # Kill it inside a round: after one unit was recorded whole, while the next is written.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if state_path.is_file():
                state = json.loads(state_path.read_text())
                if state["units_done"] >= 1 and _head(killed) > state["head"] + 200:
                    break
            if proc.poll() is not None:
                pytest.fail(f"the generator ended before it could be killed: {proc.returncode}")
            time.sleep(0.05)
        else:
            pytest.fail("the generator did not get going")
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    state = json.loads(state_path.read_text())
    assert state["running"] is True
    assert _head(killed) > state["head"]
    assert main(["--data", str(killed.data_dir), "province", "--schools", "2",
                 "--classes-per-grade", "2", "--class-size", "6", "--years", "2",
                 "--quiet"]) == 0  # fmt: skip
    state = json.loads(state_path.read_text())
    assert state["running"] is False and state["units_done"] == 4
    assert _contents(killed) == _contents(whole)
    _audited(killed)


def _head(settings: Settings) -> int:
    ledger = Ledger(settings)
    try:
        return int(ledger.recorder.max_notification_id() or 0)
    finally:
        ledger.close()


@pytest.mark.postgres
def test_postgres_with_two_workers(tmp_path: Path) -> None:
    from tests.conftest import drop_postgres, postgres_url

    url = postgres_url()
    try:
        settings = Settings(tmp_path / "data", url)
        done = generate(settings, SMALL, workers=2)
        assert done.units_done == 4
        sqlite = Settings(tmp_path / "sqlite")
        generate(sqlite, SMALL)
        assert _contents(settings) == _contents(sqlite)
        _audited(settings)
    finally:
        drop_postgres(url)
