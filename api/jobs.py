"""Bulk issuance of học bạ số as jobs of the server, and the download of issued transcripts.

The functions here are the service layer of ``api/routes/issuance.py`` and of the principal's
pages: each takes the process's :class:`~api.services.Services` and the
:class:`~api.access.Caller`, checks what the caller may do (another school's object → 404, a
visible object and a forbidden action → 403), logs reads of personal data, and returns a
JSON-ready ``dict`` (or a :class:`TranscriptFile` for a PDF).

A job (DESIGN.md §1: the principal signs and issues transcripts in bulk):

1. :func:`start_issuance` (``POST /api/v1/schools/{school}/issuance``) checks the caller is the
   school's principal (Hiệu trưởng; a deputy reads as one but does not issue), resolves the
   students (a list of record ids, a class of a school year, or every class of it), stores a
   ``queued`` job and runs it in a background thread of this server process.
2. The thread opens its own ledger and views (the bulk run caches aggregates, which must not
   leak into the requests the process serves) and runs
   :class:`projections.issuance.Issuer` with the principal's **own key from their session**:
   the ``TranscriptIssued`` events and the Hiệu trưởng signature of each PDF are made with
   the key the account unsealed at log-in (:mod:`api.accounts`), never with a key the
   server keeps for the person (DESIGN.md invariant 2). The key stays in this process: the
   documents are signed in the job's thread, not in worker processes.
3. Progress goes to the tables ``socai_issuance_jobs`` and ``socai_issuance_outcomes`` in the
   accounts database (``accounts.sqlite`` or PostgreSQL, through :class:`api.accounts.Database`),
   so :func:`issuance_status` answers the same from any worker process. One job per school
   runs at a time (a second gets 409); the rule is also a partial unique index, so two
   workers starting a job at the same moment cannot both win.

Who signs what in an issued PDF: the GVCN's signature and the school's organisation seal
(con dấu điện tử, the school's key, not a person's; ``issue.seal`` in ``socai.json``) come
from the school's key store in the data directory (``DATA/pki``), as ``socai issue`` does;
the Hiệu trưởng's from the session.

Crashes: the issuer writes each PDF to ``OUT/.pending`` before its ``TranscriptIssued`` event
and renames it after, and each run starts by finishing or discarding what an interrupted run
left there, so a crash (of the server or the job) leaves no half-issued transcript; a new job
issues what is left. A job whose heartbeat stops (its process died) is reported ``failed``
after :data:`STALE_SECONDS`, and no longer blocks the school.

Downloads: :func:`transcript_file` serves exactly the bytes that were issued
(``DATA/out/<mã học sinh>-<n>.pdf``), after checking their SHA-256 against the ledger's
``TranscriptIssued`` event, and logs the read (``transcript.download``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import sqlite3
import threading
import time
import uuid
import weakref
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast
from uuid import UUID

from api.access import Caller, visible
from api.accounts import Database
from ledger.application import Ledger
from ledger.checkpoints import Checkpointer, SignedCheckpoint
from ledger.domain import (
    SchoolYear,
    StaffFile,
    StudentRecord,
    school_id,
    school_year_id,
    student_id,
)
from ledger.errors import (
    ConcurrencyConflict,
    InvalidInput,
    NotAuthorized,
    RecordNotFound,
    StorageError,
)
from projections.errors import ProjectionError
from projections.issuance import (
    PENDING,
    IssueOutcome,
    Issuer,
    SigningKit,
    _Planned,
)
from signing import pades
from signing.keys import SoftwareSigner
from signing.pki import DemoPKI

__all__ = [
    "ACTIVE",
    "INTERRUPTED",
    "MAX_STUDENTS",
    "STALE_SECONDS",
    "STATES",
    "JobStore",
    "SessionIssuer",
    "TranscriptFile",
    "issuance_status",
    "job_store",
    "recent_jobs",
    "start_issuance",
    "transcript_file",
    "transcripts_of",
]

log = logging.getLogger("socai.jobs")

#: A job names at most this many students.
MAX_STUDENTS = 10_000
#: A running job touches its row at least this often ...
HEARTBEAT_SECONDS = 5.0
#: ... and one silent for this long is taken for dead (its process stopped).
STALE_SECONDS = 60.0
#: States of a job, in the order they come.
STATES = ("queued", "running", "done", "failed")
ACTIVE = ("queued", "running")
#: Tries at a checkpoint that another process signed at the same moment.
CHECKPOINT_ATTEMPTS = 3

_DDL = [
    "CREATE TABLE IF NOT EXISTS socai_issuance_jobs ("
    " id TEXT PRIMARY KEY, school TEXT NOT NULL, school_year TEXT NOT NULL,"
    " scope TEXT NOT NULL, account TEXT NOT NULL, state TEXT NOT NULL,"
    " total INTEGER NOT NULL, done INTEGER NOT NULL DEFAULT 0,"
    " issued INTEGER NOT NULL DEFAULT 0, up_to_date INTEGER NOT NULL DEFAULT 0,"
    " refused INTEGER NOT NULL DEFAULT 0, error TEXT, worker TEXT,"
    " created DOUBLE PRECISION NOT NULL, started DOUBLE PRECISION,"
    " finished DOUBLE PRECISION, heartbeat DOUBLE PRECISION NOT NULL)",
    "CREATE INDEX IF NOT EXISTS socai_issuance_jobs_school"
    " ON socai_issuance_jobs (school, created)",
    # One queued or running job per school, whoever starts it (any worker process).
    "CREATE UNIQUE INDEX IF NOT EXISTS socai_issuance_jobs_active"
    " ON socai_issuance_jobs (school) WHERE state IN ('queued', 'running')",
    "CREATE TABLE IF NOT EXISTS socai_issuance_outcomes ("
    " job TEXT NOT NULL, seq INTEGER NOT NULL, record TEXT NOT NULL,"
    " student_code TEXT NOT NULL, status TEXT NOT NULL, number INTEGER, sha256 TEXT,"
    " detail TEXT NOT NULL, PRIMARY KEY (job, seq))",
]

_JOB_COLUMNS = (
    "id, school, school_year, scope, account, state, total, done, issued, up_to_date, refused,"
    " error, created, started, finished, heartbeat"
)


def _proc_stat(pid: int) -> tuple[str, str] | None:
    """(state, start time) of a process from ``/proc`` (Linux); None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text("ascii", "replace")
    except OSError:
        return None
    rest = text[text.rfind(")") + 2 :].split()
    return (rest[0], rest[19]) if len(rest) > 19 else None


def _worker() -> str:
    """This process, as a job names where it runs: ``host:pid:start`` (start: /proc's)."""
    pid = os.getpid()
    stat = _proc_stat(pid)
    return f"{socket.gethostname()}:{pid}:{stat[1] if stat else ''}"


INTERRUPTED = "đợt cấp bị gián đoạn (máy chủ dừng giữa chừng); chạy lại để cấp nốt"


def _alive(worker: str | None) -> bool:
    """Whether the process a job names may still run (another host's: assumed so).

    On this host: not when the pid is gone, a zombie, or a newer process with the same pid.
    """
    host, pid, start = [*(worker or "").split(":"), "", "", ""][:3]
    if host != socket.gethostname() or not pid.isdigit():
        return True
    if Path("/proc/self/stat").is_file():
        stat = _proc_stat(int(pid))
        return stat is not None and stat[0] not in ("Z", "X") and (not start or start == stat[1])
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


def _iso(moment: float | None) -> str | None:
    if moment is None:
        return None
    return datetime.fromtimestamp(float(moment), UTC).isoformat(timespec="seconds")


class JobStore:
    """The issuance jobs of one deployment (see the module docstring)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        db.script(_DDL)

    def close(self) -> None:
        self._db.close()

    # -- writing ---------------------------------------------------------------------------

    def create(
        self,
        job: UUID,
        school: UUID,
        school_year: str,
        scope: dict[str, Any],
        account: UUID,
        total: int,
    ) -> None:
        """Store a queued job; :class:`ConcurrencyConflict` if the school has an active one."""
        self.expire_stale(school)
        running = self.active(school)
        if running is not None:
            raise _busy(running)
        now = time.time()
        try:
            self._db.execute(
                "INSERT INTO socai_issuance_jobs (id, school, school_year, scope, account, state,"
                " total, worker, created, heartbeat) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (
                    job.hex,
                    school.hex,
                    school_year,
                    json.dumps(scope, ensure_ascii=False, sort_keys=True),
                    account.hex,
                    "queued",
                    total,
                    _worker(),
                    now,
                    now,
                ),
            )
        except StorageError:
            # Another worker won the race for the school (the partial unique index).
            running = self.active(school)
            if running is not None:
                raise _busy(running) from None
            raise

    def start(self, job: UUID) -> None:
        now = time.time()
        self._db.execute(
            "UPDATE socai_issuance_jobs SET state = 'running', started = ?, heartbeat = ?,"
            " worker = ? WHERE id = ?",
            (now, now, _worker(), job.hex),
        )

    def beat(self, job: UUID) -> None:
        self._db.execute(
            "UPDATE socai_issuance_jobs SET heartbeat = ? WHERE id = ? AND state = 'running'",
            (time.time(), job.hex),
        )

    def progress(self, job: UUID, seq: int, record: UUID, outcome: IssueOutcome) -> None:
        """Record one student's outcome and move the counters."""
        column = {"issued": "issued", "up_to_date": "up_to_date"}.get(outcome.status, "refused")
        self._db.execute(
            "INSERT INTO socai_issuance_outcomes (job, seq, record, student_code, status, number,"
            " sha256, detail) VALUES (?,?,?,?,?,?,?,?)",
            (
                job.hex,
                seq,
                str(record),
                outcome.student_code,
                outcome.status,
                outcome.number,
                outcome.sha256,
                outcome.detail[:2000],
            ),
        )
        self._db.execute(
            f"UPDATE socai_issuance_jobs SET done = done + 1, {column} = {column} + 1,"  # noqa: S608
            " heartbeat = ? WHERE id = ?",
            (time.time(), job.hex),
        )

    def finish(self, job: UUID, state: str, error: str | None = None) -> None:
        now = time.time()
        self._db.execute(
            "UPDATE socai_issuance_jobs SET state = ?, error = ?, finished = ?, heartbeat = ?"
            " WHERE id = ? AND state IN ('queued', 'running')",
            (state, None if error is None else error[:2000], now, now, job.hex),
        )

    def expire_stale(self, school: UUID | None = None) -> int:
        """Mark the active jobs whose process is gone as failed; return how many.

        A job is gone when its heartbeat is older than :data:`STALE_SECONDS`, or at once when
        it ran in a process of this host that no longer exists (a server restarted after a
        crash need not wait).
        """
        where, params = "state IN ('queued', 'running')", []
        if school is not None:
            where += " AND school = ?"
            params.append(school.hex)
        rows = self._db.rows(
            f"SELECT id, heartbeat, worker FROM socai_issuance_jobs WHERE {where}",  # noqa: S608
            params,
        )
        now = time.time()
        gone = [
            job
            for job, heartbeat, worker in rows
            if now - float(heartbeat) > STALE_SECONDS or not _alive(worker)
        ]
        for job in gone:
            self._db.execute(
                "UPDATE socai_issuance_jobs SET state = 'failed', finished = ?, error = ?"
                " WHERE id = ? AND state IN ('queued', 'running')",
                (now, INTERRUPTED, job),
            )
        return len(gone)

    # -- reading ---------------------------------------------------------------------------

    def get(self, job: UUID) -> dict[str, Any] | None:
        rows = self._db.rows(
            f"SELECT {_JOB_COLUMNS} FROM socai_issuance_jobs WHERE id = ?",  # noqa: S608
            (job.hex,),
        )
        return _job_row(rows[0]) if rows else None

    def active(self, school: UUID) -> dict[str, Any] | None:
        rows = self._db.rows(
            f"SELECT {_JOB_COLUMNS} FROM socai_issuance_jobs"  # noqa: S608
            " WHERE school = ? AND state IN ('queued', 'running')",
            (school.hex,),
        )
        return _job_row(rows[0]) if rows else None

    def recent(self, school: UUID, limit: int = 20) -> list[dict[str, Any]]:
        rows = self._db.rows(
            f"SELECT {_JOB_COLUMNS} FROM socai_issuance_jobs WHERE school = ?"  # noqa: S608
            " ORDER BY created DESC LIMIT ?",
            (school.hex, int(limit)),
        )
        return [_job_row(r) for r in rows]

    def outcomes(self, job: UUID) -> list[dict[str, Any]]:
        rows = self._db.rows(
            "SELECT seq, record, student_code, status, number, sha256, detail"
            " FROM socai_issuance_outcomes WHERE job = ? ORDER BY seq",
            (job.hex,),
        )
        return [
            {
                "seq": int(seq),
                "record": record,
                "student_code": code,
                "status": status,
                "number": None if number is None else int(number),
                "sha256": sha,
                "detail": detail,
            }
            for seq, record, code, status, number, sha, detail in rows
        ]


def _job_row(row: Sequence[Any]) -> dict[str, Any]:
    keys = [c.strip() for c in _JOB_COLUMNS.split(",")]
    out = dict(zip(keys, row, strict=True))
    out["scope"] = json.loads(out["scope"])
    return out


def _busy(running: dict[str, Any]) -> ConcurrencyConflict:
    return ConcurrencyConflict(
        f"trường đang có một đợt cấp học bạ chưa xong (job {UUID(running['id'])}); "
        "chờ đợt đó kết thúc (a bulk issuance is already running for this school)"
    )


# One store per Services (per process), closed when the Services object goes away.
_STORES: dict[int, JobStore] = {}
_STORES_LOCK = threading.Lock()


def job_store(services: Any) -> JobStore:
    """The job store of ``services`` (opened on first use, shared by the process's threads)."""
    key = id(services)
    with _STORES_LOCK:
        store = _STORES.get(key)
        if store is None:
            store = _STORES[key] = JobStore(Database(services.settings))

            def forget(key: int = key, store: JobStore = store) -> None:
                with _STORES_LOCK:
                    if _STORES.get(key) is store:
                        del _STORES[key]
                store.close()

            weakref.finalize(services, forget)
        return store


# -- the issuer with the principal's own key ------------------------------------------------------


@dataclass(eq=False)
class _PersonalPKI(DemoPKI):
    """The school's key store, where some staff sign with the key they brought themselves."""

    own: dict[str, SoftwareSigner] = field(default_factory=dict, repr=False)

    def signer_for(self, staff_code: str) -> SoftwareSigner:
        signer = self.own.get(staff_code)
        return signer if signer is not None else super().signer_for(staff_code)


def _personal(pki: DemoPKI, staff_code: str, signer: SoftwareSigner) -> _PersonalPKI:
    """``pki`` where ``staff_code`` signs with ``signer`` (and shows its certificate)."""
    values = {f.name: getattr(pki, f.name) for f in fields(pki) if f.init}
    values["staff"] = {**pki.staff, staff_code: signer.certificate}
    return _PersonalPKI(**values, own={staff_code: signer})


class SessionIssuer(Issuer):
    """An :class:`Issuer` whose principal signs with the key of their session.

    :class:`Issuer` signs in worker processes that load every key from the data directory;
    here the documents are signed in this process, by a :class:`SigningKit` whose principal
    is the session's signer, so that key never leaves the process that unsealed it.
    """

    def _make_all(
        self, plans: Iterable[_Planned], jobs: int
    ) -> Iterator[tuple[_Planned, bytes | str]]:
        kit: SigningKit | None = None
        for plan in plans:
            if kit is None:
                kit = SigningKit.load(self.data_dir, self.crls(), self.pki.passphrase)
                kit.pki = self.pki  # the personal key store (the principal's own key)
            try:
                made: bytes | str = kit.make(plan.job)
            except (ProjectionError, pades.PadesError) as e:
                made = str(e)
            yield plan, made


class _Checkpoints:
    """The process's checkpointer, for a job: a checkpoint another process raced is retried.

    Every server process (and each worker on PostgreSQL) signs checkpoints into the same
    ``checkpoints.sqlite``; when two sign the same size at once, the second insert fails
    (the log never stores two notes for one size). The size is then signed, and the next
    attempt finds and reuses it.
    """

    def __init__(self, inner: Checkpointer) -> None:
        self._inner = inner

    def checkpoint(self) -> tuple[SignedCheckpoint, dict[str, str]]:
        for attempt in range(1, CHECKPOINT_ATTEMPTS + 1):
            try:
                return self._inner.checkpoint()
            except sqlite3.Error:  # the same size signed by another process, or busy
                if attempt == CHECKPOINT_ATTEMPTS:
                    raise
                time.sleep(0.2 * attempt)
        raise AssertionError("unreachable")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


# -- starting a job ------------------------------------------------------------------------------


def _school(services: Any, who: Caller, school: UUID) -> None:
    """404 unless the caller may know the school; 403 unless they are its principal."""
    visible(who.in_school(school), "school")
    who.require(who.principal and who.school == school, "issue transcripts (Hiệu trưởng only)")


def _latest_year(ledger: Ledger, school: UUID) -> str:
    """The latest opened school year of the school (as ``socai issue`` chooses)."""
    today = datetime.now(UTC)
    start = today.year if today.month >= 8 else today.year - 1
    for first in range(start + 1, start - 15, -1):
        year = f"{first}-{first + 1}"
        if ledger.exists(school_year_id(school, year)):
            return year
    raise InvalidInput("trường chưa mở năm học nào; hãy chọn school_year")


def _check_year(text: object) -> str:
    if not isinstance(text, str) or len(text) != 9 or text[4] != "-":
        raise InvalidInput("school_year là năm học dạng 2025-2026")
    first, second = text[:4], text[5:]
    if not (first.isdigit() and second.isdigit() and int(second) == int(first) + 1):
        raise InvalidInput("school_year là năm học dạng 2025-2026")
    return text


def _students(
    ledger: Ledger,
    who: Caller,
    school: UUID,
    school_year: str,
    class_name: str | None,
    students: Sequence[UUID],
    every_class: bool,
) -> list[UUID]:
    chosen: list[UUID] = []
    if class_name is not None or every_class:
        try:
            year = ledger.load(school_year_id(school, school_year), SchoolYear)
        except RecordNotFound:
            raise InvalidInput(f"năm học {school_year} chưa được mở ở trường này") from None
        if class_name is not None:
            if class_name not in year.rosters:
                raise InvalidInput(f"lớp {class_name} không có trong năm học {school_year}")
            names = [class_name]
        else:
            names = sorted(year.rosters)
        for name in names:
            chosen += sorted(year.rosters[name], key=str)
    for student in students:
        try:
            record = ledger.load(student, StudentRecord)
        except RecordNotFound:
            raise RecordNotFound(f"no student record with id {student}") from None
        schools = {record.school, *(s for _, _, s in record.years.values())}
        # A record this school never held is another school's: not disclosed.
        visible(school in schools and who.reads_record(record), "student record")
        chosen.append(student)
    return list(dict.fromkeys(chosen))


def start_issuance(
    services: Any,
    who: Caller,
    school: UUID,
    *,
    school_year: str | None = None,
    class_name: str | None = None,
    students: Sequence[UUID] = (),
    every_class: bool = False,
) -> dict[str, Any]:
    """Start a bulk issuance for ``school``; return ``{"job", "total", "state"}``.

    Name the students (record ids), a class of ``school_year``, or ``every_class``; students
    may be added to a class. ``school_year`` defaults to the school's latest opened year.
    Raises (the API maps them): 404 for a school or record of another school, 403 for
    anyone but the school's principal or an account without its own key, 422 for a bad
    request, 409 while another job of the school runs.
    """
    _school(services, who, school)
    signer = who.signer()
    if class_name is not None and every_class:
        raise InvalidInput("chọn một lớp (class) hoặc tất cả (all), không cả hai")
    if class_name is None and not every_class and not students:
        raise InvalidInput("chọn học sinh (students), một lớp (class) hoặc tất cả (all)")
    if len(students) > MAX_STUDENTS:
        raise InvalidInput(f"một đợt cấp tối đa {MAX_STUDENTS} học sinh")
    if class_name is not None and (not isinstance(class_name, str) or not 0 < len(class_name) < 50):
        raise InvalidInput("class là tên lớp, ví dụ 6A1")
    pki: DemoPKI = services.pki
    if school != school_id(pki.school_code):
        # The seal, the school CA and the GVCNs' keys of another school are not here.
        raise InvalidInput(
            "máy chủ này chỉ giữ con dấu và khoá ký của trường "
            f"{pki.school_code}; hãy cấp học bạ trên máy chủ của trường mình"
        )
    ledger: Ledger = services.ledger()
    staff = ledger.load(who.staff, StaffFile) if who.staff else None
    entry = ledger.registry.get(signer.fingerprint)
    if staff is None or entry is None or entry.owner != staff.id:
        raise NotAuthorized("the session's key is not a registered key of this staff file")
    year = _check_year(school_year) if school_year is not None else _latest_year(ledger, school)
    chosen = _students(ledger, who, school, year, class_name, students, every_class)
    if len(chosen) > MAX_STUDENTS:
        raise InvalidInput(f"một đợt cấp tối đa {MAX_STUDENTS} học sinh")
    job = uuid.uuid4()
    scope = {
        "school_year": year,
        "class": class_name,
        "all": every_class,
        "students": len(students),
    }
    store = job_store(services)
    store.create(job, school, year, scope, who.account.id, len(chosen))
    runner = _Job(services, store, job, str(staff.staff_code), signer, chosen)
    threading.Thread(target=runner.run, name=f"issuance-{job}", daemon=True).start()
    return {"job": str(job), "total": len(chosen), "state": "queued"}


@dataclass
class _Job:
    """One job's run in its background thread."""

    services: Any
    store: JobStore
    job: UUID
    principal_code: str
    signer: SoftwareSigner
    students: list[UUID]
    _seq: int = 0

    def run(self) -> None:
        stop = threading.Event()
        beat = threading.Thread(target=self._beat, args=(stop,), daemon=True)
        try:
            self.store.start(self.job)
            beat.start()
            self._issue()
        except Exception as e:  # a job records why it failed, whatever it was
            # The type and message only: they name records and checks, never personal data.
            log.warning("issuance job %s failed: %s", self.job, type(e).__name__)
            self.store.finish(self.job, "failed", f"{type(e).__name__}: {e}")
        else:
            self.store.finish(self.job, "done")
        finally:
            stop.set()

    def _beat(self, stop: threading.Event) -> None:
        while not stop.wait(HEARTBEAT_SECONDS):
            try:
                self.store.beat(self.job)
            except StorageError:
                pass  # the next beat tries again; the job itself reports what failed

    def _issue(self) -> None:
        from api.logctl import config
        from api.trust import load_trust
        from projections.views import open_views

        services = self.services
        settings = services.settings
        pki = _personal(services.pki, self.principal_code, self.signer)
        # Its own ledger and views: the bulk run caches aggregates in its ledger.
        ledger = Ledger(settings, load_trust(settings.data_dir, services.pki))
        try:
            with open_views(settings) as views:
                conf = config(settings.data_dir)
                issue_conf = conf.get("issue", {})
                issuer = SessionIssuer(
                    ledger,
                    views,
                    # Shared: the process signs one checkpoint at a time.
                    cast(Checkpointer, _Checkpoints(services.checkpointer())),
                    pki,
                    data_dir=settings.data_dir,
                    out=Path(settings.data_dir) / "out",
                    log_config=conf,
                    public_url=issue_conf.get("public_url")
                    or pki.base_url
                    or "http://127.0.0.1:8000",
                    seal=bool(issue_conf.get("seal", True)),
                    principal_code=self.principal_code,
                )
                issuer.issue(self.students, jobs=1, progress=self._progress)
        finally:
            ledger.close()

    def _progress(self, done: int, total: int, outcome: IssueOutcome) -> None:
        self._seq += 1
        self.store.progress(self.job, self._seq, _record_of(outcome.student_code), outcome)


def _record_of(student_code: str) -> UUID:
    """The record id an outcome names (a record id when its code could not be read)."""
    try:
        return UUID(student_code)
    except ValueError:
        return student_id(student_code)


# -- reading jobs --------------------------------------------------------------------------------


def _job_view(row: dict[str, Any], outcomes: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "job": str(UUID(row["id"])),
        "school": str(UUID(row["school"])),
        "school_year": row["school_year"],
        "class": row["scope"].get("class"),
        "all": bool(row["scope"].get("all")),
        "state": row["state"],
        "total": int(row["total"]),
        "done": int(row["done"]),
        "issued_count": int(row["issued"]),
        "up_to_date": int(row["up_to_date"]),
        "failed": int(row["refused"]),
        "created": _iso(row["created"]),
        "started": _iso(row["started"]),
        "finished": _iso(row["finished"]),
        "error": row["error"],
        "issued": [
            {
                "record": o["record"],
                "student_code": o["student_code"],
                "number": o["number"],
                "sha256": o["sha256"],
            }
            for o in outcomes
            if o["status"] == "issued"
        ],
        "errors": [
            {"record": o["record"], "student_code": o["student_code"], "detail": o["detail"]}
            for o in outcomes
            if o["status"] not in ("issued", "up_to_date")
        ],
    }


def issuance_status(services: Any, who: Caller, job: UUID) -> dict[str, Any]:
    """A job's progress: state, counts, the transcripts issued and the refusals.

    For the school's principal and deputies (404 for a job of another school or none).
    """
    store = job_store(services)
    row = store.get(job)
    visible(row is not None and who.in_school(UUID(row["school"])), "issuance job")
    assert row is not None
    school = UUID(row["school"])
    who.require(who.leads and who.school == school, "read the school's issuance jobs")
    if row["state"] in ACTIVE and store.expire_stale(school):
        row = store.get(job) or row
    return _job_view(row, store.outcomes(job))


def recent_jobs(services: Any, who: Caller, school: UUID, limit: int = 20) -> dict[str, Any]:
    """The school's latest jobs (newest first, without their per-student lists)."""
    visible(who.in_school(school), "school")
    who.require(who.leads and who.school == school, "read the school's issuance jobs")
    store = job_store(services)
    store.expire_stale(school)
    jobs = []
    for row in store.recent(school, max(1, min(int(limit), 100))):
        view = _job_view(row, [])
        del view["issued"], view["errors"]
        jobs.append(view)
    return {"school": str(school), "jobs": jobs}


# -- issued transcripts ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TranscriptFile:
    """An issued PDF, exactly as issued."""

    content: bytes
    filename: str
    sha256: str
    media_type: str = "application/pdf"


def _readable_record(services: Any, who: Caller, record: UUID) -> StudentRecord:
    """The record, if the caller may read it: 404 for another school's, 403 for a colleague's."""
    ledger: Ledger = services.ledger()
    try:
        found = ledger.load(record, StudentRecord)
    except RecordNotFound:
        raise RecordNotFound("no student record with this id") from None
    schools = {found.school, *(s for _, _, s in found.years.values())}
    visible(who.reads_record(found) or any(who.in_school(s) for s in schools), "student record")
    who.require(who.reads_record(found), "read this student record")
    return found


def _issued_path(services: Any, code: str, number: int) -> Path | None:
    out = Path(services.settings.data_dir) / "out"
    name = f"{code}-{number}.pdf"
    for path in (out / name, out / PENDING / name):
        if path.is_file():
            return path
    return None


def transcripts_of(services: Any, who: Caller, record: UUID) -> dict[str, Any]:
    """Every issue of the record's transcript, oldest first, with where to download it."""
    found = _readable_record(services, who, record)
    return {
        "record": str(record),
        "student_code": found.student_code,
        "transcripts": [
            {
                "number": t.number,
                "transcript": t.transcript,
                "school_year": t.school_year,
                "record_version": t.record_version,
                "sha256": t.sha256,
                "supersedes": t.supersedes,
                "superseded": t.superseded_at is not None,
                "current": t.superseded_at is None,
                "available": _issued_path(services, found.student_code, t.number) is not None,
                "download": f"/api/v1/records/{record}/transcripts/{t.number}.pdf",
            }
            for t in found.transcripts
        ],
    }


def transcript_file(services: Any, who: Caller, record: UUID, number: int) -> TranscriptFile:
    """The signed PDF of issue ``number``, its bytes checked against the ledger; the read logged.

    404 when the record has no such issue or its file is not on this server; 503 when the
    file on disk is not the one the ledger recorded (it is never served then).
    """
    found = _readable_record(services, who, record)
    issued = next((t for t in found.transcripts if t.number == number), None)
    if issued is None:
        raise RecordNotFound(f"the record has no transcript number {number}")
    path = _issued_path(services, found.student_code, number)
    if path is None:
        raise RecordNotFound(f"the PDF of transcript number {number} is not on this server")
    content = path.read_bytes()
    digest = hashlib.sha256(content).hexdigest()
    if digest != issued.sha256:
        log.error("issued PDF %s does not match its TranscriptIssued hash", path.name)
        raise StorageError(
            "tệp học bạ trên máy chủ không khớp với mã băm đã ghi sổ; không thể tải về"
        )
    services.accounts().log_reads(who.account, "transcript.download", [record])
    return TranscriptFile(content, f"{found.student_code}-{number}.pdf", digest)
