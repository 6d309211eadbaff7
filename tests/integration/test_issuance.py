"""Issuing học bạ số end to end, on SQLite and PostgreSQL: bulk, resume, supersede, refusals.

The independent checks of the issued files (openssl, qpdf, poppler) are in
``test_issued_pdf_tools.py``; this module checks the issuance itself: every issued file is
recorded in the ledger by its SHA-256 and every record in the ledger has its file, a rerun
issues nothing twice, a correction leads to a new version that supersedes the old one, and
what cannot be issued is refused with a clear reason and leaves nothing behind.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import jsonschema
import pytest

from api.cli import open_ledger
from api.demo import SCHOOL_YEAR, initialise, seed
from api.issuing import open_issuer
from ledger.application import Ledger, Settings
from ledger.audit import audit
from ledger.domain import StudentRecord, staff_id, student_id
from ledger.errors import AlreadyExists, ConcurrencyConflict, Incomplete, NotAuthorized
from projections.issuance import PENDING, Issuer
from projections.views import open_views
from signing import pades
from signing.keys import certificate_fingerprint
from signing.pki import DemoPKI
from tests.conftest import drop_postgres, postgres_url

STUDENTS = 6
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Demo:
    settings: Settings
    ledger: Ledger
    pki: DemoPKI

    @property
    def out(self) -> Path:
        return self.settings.data_dir / "out"

    def issuer(self, views: Any) -> Issuer:
        return open_issuer(self.settings, self.ledger, self.pki, views)

    def issue(self, students: list[UUID] | None = None, **kw: Any) -> Any:
        with open_views(self.settings) as views:
            issuer = self.issuer(views)
            return issuer.issue(
                students if students is not None else issuer.students_of(SCHOOL_YEAR), **kw
            )

    def students(self) -> list[UUID]:
        with open_views(self.settings) as views:
            return self.issuer(views).students_of(SCHOOL_YEAR)

    def record(self, student: UUID) -> StudentRecord:
        return self.ledger.load(student, StudentRecord)


def _demo(data: Path, url: str | None, students: int) -> Demo:
    settings = Settings(data, url)
    initialise(settings)
    ledger, pki = open_ledger(settings)
    assert pki is not None
    seed(ledger, pki, settings, students=students)
    return Demo(settings, ledger, pki)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def demo(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Demo]:
    url = postgres_url() if request.param == "postgres" else None
    try:
        d = _demo(tmp_path_factory.mktemp(f"issue-{request.param}") / "data", url, STUDENTS)
        try:
            yield d
        finally:
            d.ledger.close()
    finally:
        if url is not None:
            drop_postgres(url)


@pytest.fixture
def small(tmp_path: Path) -> Iterator[Demo]:
    """A fresh three-student demo on SQLite, for tests that spoil their data directory."""
    d = _demo(tmp_path / "data", None, 3)
    try:
        yield d
    finally:
        d.ledger.close()


def _homeroom_code(demo: Demo, student: UUID) -> str:
    record = demo.record(student)
    _grade, class_name, _school = record.years[SCHOOL_YEAR]
    with open_views(demo.settings) as views:
        views.catch_up()
        return str(
            next(
                h["staff_code"]
                for h in views.staff.homerooms(record.school, SCHOOL_YEAR)
                if h["class_name"] == class_name
            )
        )


def _files(demo: Demo) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(demo.out.glob("*.pdf"))
    }


def _recorded(demo: Demo) -> dict[str, str]:
    out = {}
    for student in demo.students():
        record = demo.record(student)
        for t in record.transcripts:
            out[f"{record.student_code}-{t.number}.pdf"] = t.sha256
    return out


def test_bulk_issue_records_every_file_and_a_rerun_issues_nothing(demo: Demo) -> None:
    report = demo.issue(jobs=2)
    assert report.count("refused") == 0, [o.detail for o in report.outcomes]
    assert report.count("issued") == STUDENTS
    files = _files(demo)
    assert files == _recorded(demo)  # every file has its event, every event its file
    assert not list((demo.out / PENDING).glob("*"))
    again = demo.issue(jobs=2)
    assert again.count("up_to_date") == STUDENTS and again.count("issued") == 0
    assert _files(demo) == files
    assert audit(demo.ledger).ok


def test_issued_transcript_passes_ades_lta_validation_with_three_signatures(demo: Demo) -> None:
    demo.issue(jobs=1)
    path = sorted(demo.out.glob("*.pdf"))[0]
    statuses = pades.lta_statuses(path.read_bytes(), demo.pki.trust_roots())
    assert [s.field_name for s in statuses] == ["GVCN", "HieuTruong", "DauTruong"]
    assert all(s.passed for s in statuses), statuses
    assert statuses[-1].modification_level == "LTA_UPDATES"


def test_attachments_carry_the_data_and_a_proof_of_the_record_head(demo: Demo) -> None:
    from pyhanko.pdf_utils.reader import PdfFileReader

    from ledger.log import leaf_hash_of
    from projections.transcript import from_xml
    from signing.checkpoint import CosignatureVerifier, require_witnesses
    from signing.envelope import decode
    from signing.merkle import verify_inclusion
    from signing.note import NoteVerifier

    demo.issue(jobs=1)
    student = demo.students()[0]
    record = demo.record(student)
    current = record.current_transcript
    assert current is not None
    path = demo.out / f"{record.student_code}-{current.number}.pdf"
    reader = PdfFileReader(open(path, "rb"))
    names = reader.root["/Names"]["/EmbeddedFiles"]["/Names"]
    files = {
        str(names[i]): names[i + 1].get_object()["/EF"]["/F"].get_object().data
        for i in range(0, len(names), 2)
    }
    assert set(files) == {"transcript.json", "transcript.xml", "proof.json"}
    data = json.loads(files["transcript.json"])
    assert from_xml(files["transcript.xml"]) == data
    assert data["issue"]["record_version"] == current.record_version
    assert data["student"]["code"] == record.student_code
    proof = json.loads(files["proof.json"])
    schema = json.loads((ROOT / "docs" / "schemas" / "proof.schema.json").read_text("utf-8"))
    jsonschema.Draft202012Validator(schema).validate(proof)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema).validate({**proof, "record_version": "1"})
    assert proof["record"] == str(student)
    assert [e["version"] for e in proof["events"]] == list(range(1, current.record_version + 1))
    inclusion = proof["inclusion"]
    # The head is in a checkpoint the log signed and k of n witnesses cosigned.
    checkpoint = require_witnesses(
        inclusion["checkpoint"].encode(),
        NoteVerifier.from_vkey(proof["log"]["vkey"]),
        [CosignatureVerifier.from_vkey(w["vkey"]) for w in proof["witnesses"]],
        proof["witness_quorum"],
    )
    assert inclusion["version"] == current.record_version
    verify_inclusion(
        base64.b64decode(inclusion["leaf_hash"]),
        inclusion["leaf_index"],
        inclusion["tree_size"],
        [base64.b64decode(h) for h in inclusion["inclusion_proof"]],
        checkpoint.root,
    )
    # The leaf is the head event's: recomputed from the stored envelope in the bundle.
    head = proof["events"][-1]
    assert leaf_hash_of(student, head["version"], base64.b64decode(head["state"])) == (
        base64.b64decode(inclusion["leaf_hash"])
    )
    assert decode(base64.b64decode(head["state"])).hash.hex() == data["issue"]["record_head"]


def test_a_student_with_missing_scores_is_refused_naming_what_is_missing(small: Demo) -> None:
    principal = small.pki.signer_for("HT001")
    newcomer = small.ledger.enrol_student(principal, "HS790007019999", SCHOOL_YEAR, 6, "6A1")
    gaps = small.ledger.transcript_gaps(newcomer)
    assert gaps and "chưa có kết quả cả năm" in gaps[0] and "Toán HK1" in gaps[0]
    events_before = small.record(newcomer).version
    report = small.issue([newcomer], jobs=1)
    [outcome] = report.outcomes
    assert outcome.status == "refused" and "Toán HK1" in outcome.detail
    assert small.record(newcomer).version == events_before
    assert not list(small.out.glob("HS790007019999*")) if small.out.exists() else True
    with pytest.raises(Incomplete, match="chưa có kết quả cả năm"):
        small.ledger.issue_transcript(
            principal,
            newcomer,
            transcript="x",
            school_year=SCHOOL_YEAR,
            record_version=events_before,
            sha256="0" * 64,
        )


def test_a_revoked_signer_is_refused_and_nothing_is_issued(small: Demo) -> None:
    student = small.students()[0]
    homeroom = _homeroom_code(small, student)
    cert = small.pki.staff[homeroom]
    small.ledger.revoke_certificate(
        small.pki.signer_for("HT001"),
        staff_id(small.pki.school_code, homeroom),
        certificate_fingerprint(cert),
        reason="keyCompromise",
    )
    report = small.issue([student], jobs=1)
    [outcome] = report.outcomes
    assert outcome.status == "refused" and f"GVCN {homeroom}" in outcome.detail
    assert "revoked" in outcome.detail
    assert not small.record(student).transcripts
    assert not list(small.out.glob("*.pdf"))


def test_the_issue_command_is_for_the_principal_only(small: Demo) -> None:
    student = small.students()[0]
    version = small.record(student).version
    with pytest.raises(NotAuthorized):
        small.ledger.issue_transcript(
            small.pki.signer_for("GV001"),
            student,
            transcript="t",
            school_year=SCHOOL_YEAR,
            record_version=version,
            sha256="a" * 64,
        )
    with pytest.raises(ConcurrencyConflict):
        small.ledger.issue_transcript(
            small.pki.signer_for("HT001"),
            student,
            transcript="t",
            school_year=SCHOOL_YEAR,
            record_version=version - 1,
            sha256="a" * 64,
        )


def test_a_correction_after_issue_leads_to_a_new_version_that_supersedes(small: Demo) -> None:
    report = small.issue(jobs=1)
    assert report.count("issued") == len(small.students())
    student = small.students()[0]
    record = small.record(student)
    first = record.current_transcript
    assert first is not None
    # The teacher proposes a correction of a closed term's score; the principal approves it.
    version, entry = next((v, e) for v, e in sorted(record.entries.items()) if e.score is not None)
    teacher_code = next(
        code
        for code, cert in small.pki.staff.items()
        if (entry_ := small.ledger.registry.get(certificate_fingerprint(cert))) is not None
        and entry_.owner == entry.by
    )
    new_score = "9" if str(entry.score) != "9" else "8"
    proposal = small.ledger.propose_correction(
        small.pki.signer_for(teacher_code), student, version, new_score, "nhập nhầm điểm"
    )
    small.ledger.approve_correction(small.pki.signer_for("HT001"), student, proposal)
    # The recorded year result no longer follows from the events: no issue until the GVCN
    # records it again.
    [stale] = small.issue([student], jobs=1).outcomes
    assert stale.status == "refused" and "GVCN cần ghi lại" in stale.detail
    homeroom = _homeroom_code(small, student)
    stage = small.record(student).results[SCHOOL_YEAR]["stage"]
    small.ledger.record_year_result(small.pki.signer_for(homeroom), student, stage=stage)
    again = small.issue([student], jobs=1)
    [outcome] = again.outcomes
    if outcome.status == "refused":
        pytest.fail(outcome.detail)
    assert outcome.status == "issued" and outcome.number == 2
    assert outcome.supersedes == first.sha256
    record = small.record(student)
    assert record.transcripts[0].superseded_at is not None
    assert record.current_transcript is not None and record.current_transcript.number == 2
    topics = [e["event"] for e in small.ledger.history(student)]
    assert topics[-2:] == ["TranscriptSuperseded", "TranscriptIssued"]
    assert (small.out / f"{record.student_code}-1.pdf").is_file()
    assert (small.out / f"{record.student_code}-2.pdf").is_file()
    with pytest.raises(AlreadyExists):
        small.ledger.issue_transcript(
            small.pki.signer_for("HT001"),
            student,
            transcript="t",
            school_year=SCHOOL_YEAR,
            record_version=record.version,
            sha256="b" * 64,
        )


def test_interrupted_runs_recover_pending_files_by_their_event(small: Demo) -> None:
    students = small.students()
    small.issue(students[:1], jobs=1)
    code = small.record(students[0]).student_code
    # Crash after the event, before the rename: the file is still pending.
    final = small.out / f"{code}-1.pdf"
    pending = small.out / PENDING
    pending.mkdir(exist_ok=True)
    os.replace(final, pending / final.name)
    # Crash before the event: a pending file the ledger does not know.
    (pending / "HS790007010099-1.pdf").write_bytes(b"%PDF-1.7 half written")
    report = small.issue(jobs=1)
    assert report.recovered == 1 and report.discarded == 1
    assert final.is_file() and not list(pending.iterdir())
    assert _files(small) == _recorded(small)


def test_sigkill_during_a_bulk_run_leaves_no_half_issued_transcript(small: Demo) -> None:
    env = {**os.environ, "SOCAI_DATA": str(small.settings.data_dir)}
    env.pop("SOCAI_DATABASE_URL", None)
    small.ledger.close()
    proc = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "issue", "--all", "--jobs", "2", "--quiet"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list(small.out.glob("*.pdf")):
        if proc.poll() is not None:
            break
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    small.ledger, _ = open_ledger(small.settings)
    # Whatever the kill interrupted, the next run finishes the job exactly once.
    report = small.issue(jobs=2)
    assert report.count("refused") == 0
    assert _files(small) == _recorded(small)
    for student in small.students():
        assert len(small.record(student).transcripts) == 1
    assert not (small.out / PENDING).exists() or not list((small.out / PENDING).iterdir())
    assert audit(small.ledger).ok


def test_cli_issue_class_reports_in_vietnamese(
    small: Demo, capsys: pytest.CaptureFixture[str]
) -> None:
    from api.cli import main

    small.ledger.close()
    try:
        code = main(
            [
                "--data",
                str(small.settings.data_dir),
                "issue",
                "--class",
                "6A1",
                "--jobs",
                "1",
                "--quiet",
            ]
        )
        assert code == 0
        out = capsys.readouterr().out
        assert "Học bạ số:" in out and "đã cấp" in out
        code = main(["--data", str(small.settings.data_dir), "issue", "--class", "6A1", "--json"])
        summary = json.loads(capsys.readouterr().out)
        assert code == 0 and summary["issued"] == 0 and summary["up_to_date"] >= 1
        assert main(["--data", str(small.settings.data_dir), "issue", "--class", "9Z9"]) != 0
        assert "9Z9" in capsys.readouterr().err
    finally:
        small.ledger, _ = open_ledger(small.settings)


def test_student_codes_resolve(small: Demo) -> None:
    assert student_id("HS790007010001") in small.students()
