"""A province of THCS schools over several school years: deterministic, resumable, signed.

:func:`generate` writes a synthetic province through the ledger's own commands, every event
signed by the person who would sign it (each school has its own demo PKI: Sở CA, school CA,
seal, principal and teachers). Per school and year (a *unit*):

- year one: the school, its principal and teachers (file, certificate, title, salary step);
  later years: the teacher who transferred out last summer is replaced by a new one;
- the school year, its classes (``classes_per_grade`` per grade 6–9) and subject plans, the
  teaching assignments (blocks of eight classes; one teacher per scored subject, each the
  GVCN of one class who also teaches its comment subjects) and homerooms;
- grade 6 enrols a new cohort; grades 7–9 are last year's classes moved up
  (``join_class``), less the students who transferred out, plus those who transferred in;
- every score and comment assessment of both terms (a teacher's column per save), conduct,
  absences for a third of the students, a remark and the year result per student, a direct
  correction and a principal-approved correction per class and term, term closes, an award;
- at the end of the year about 1.5 % of grades 6–8 transfer to the next school
  (``transfer_out`` here, ``transfer_in`` in that school's next year), one teacher per school
  transfers out (``transfer_staff``), and every teacher's evaluation is recorded.

Deterministic: every choice comes from a random generator seeded by (seed, school, year), and
codes and record ids derive from positions, so a run and its resumption write the same
records with the same contents (signatures and timestamps differ, as they must).

Units run year by year, ``workers`` at a time in separate processes (each keeps the schools
it was given, and their records in its aggregate cache). After each round the position is
written to ``DATA/province.json``. Resumable: a run that was killed is rolled back to the end
of the last whole round (the only deletion anywhere in Sổ Cái, refused unless the store was
created by this generator and has no signed checkpoint beyond that point) and continues.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import os
import queue
import random
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any
from uuid import UUID

from bench.views import BLOCK, COMMENT_SUBJECTS, SCORED_SUBJECTS, _kinds, _score
from ledger.application import Ledger, Settings
from ledger.catalog import THCS_PLAN
from ledger.domain import PRINCIPAL, StudentRecord, staff_id, student_id
from ledger.results import YEAR
from signing.keys import SoftwareSigner
from signing.pki import DemoPKI, StaffSpec, create_demo_pki

GRADES = (6, 7, 8, 9)
FIRST_YEAR = 2022
PASSPHRASE = b"socai province"
STATE_FILE = "province.json"
#: Events a worker keeps in its aggregate cache (a few GiB at most).
WORKER_CACHE_EVENTS = 3_000_000
#: Share of grades 6-8 who transfer to another school at the end of a year.
TRANSFER_SHARE = 0.015
#: Events per student and year, and per class (see bench.views for the count).
PER_STUDENT = 3 + 2 * sum(len(_kinds(s)) for s in THCS_PLAN) + 2 + 2 / 3 + 2
PER_CLASS = 1 + 2 * len(THCS_PLAN) + 1 + 2 + 4 + 1


class ProvinceError(Exception):
    """The generator cannot run or resume (say why)."""


@dataclass(frozen=True)
class Scale:
    """The size of a province: schools × classes × students × years."""

    schools: int
    classes_per_grade: int = 4
    class_size: int = 40
    years: int = 3
    seed: int = 2025

    def __post_init__(self) -> None:
        if self.schools < 1 or self.years < 1 or self.class_size < 4:
            raise ProvinceError("a province needs ≥ 1 school, ≥ 1 year and ≥ 4 students a class")
        if (len(GRADES) * self.classes_per_grade) % BLOCK:
            raise ProvinceError(
                f"classes per school ({4} × classes_per_grade) must fill blocks of {BLOCK}"
            )

    @property
    def classes(self) -> int:
        return len(GRADES) * self.classes_per_grade

    @property
    def teachers(self) -> int:
        return self.classes  # one per scored subject in each block of eight classes

    @property
    def unit_events(self) -> int:
        """About how many events one school writes in one year."""
        return int(self.classes * (self.class_size * PER_STUDENT + PER_CLASS) + 8 * self.teachers)

    @property
    def events(self) -> int:
        return self.unit_events * self.schools * self.years

    @classmethod
    def for_events(cls, events: int, *, years: int = 3, seed: int = 2025) -> Scale:
        """The smallest province of ``years`` years with at least ``events`` events."""
        unit = cls(1, years=years, seed=seed).unit_events
        schools = max(1, -(-events // (unit * years)))
        return cls(schools, years=years, seed=seed)


def school_code(school: int) -> str:
    return f"79{school:06d}"


def year_text(year: int) -> str:
    return f"{FIRST_YEAR + year}-{FIRST_YEAR + year + 1}"


def class_name(grade: int, k: int) -> str:
    return f"{grade}A{k + 1}"


def _rng(scale: Scale, *parts: object) -> random.Random:
    digest = hashlib.sha256(repr((scale.seed, *parts)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


# -- the plan: who is where, a pure function of the scale ------------------------------------


@dataclass(frozen=True)
class Pupil:
    code: str
    ability: float


class Plan:
    """Rosters, transfers and staff of every unit, computed without the store."""

    def __init__(self, scale: Scale) -> None:
        self.scale = scale
        self.roster = cache(self._roster)
        self.leavers = cache(self._leavers)

    def units(self) -> Iterator[tuple[int, int]]:
        """(year, school) in the order they are written: year by year."""
        for year in range(self.scale.years):
            for school in range(self.scale.schools):
                yield year, school

    def _roster(self, school: int, year: int, grade: int, k: int) -> tuple[Pupil, ...]:
        """Class ``(grade, k)`` of ``school`` in ``year``, transfers in included (class 0)."""
        s = self.scale
        if grade == GRADES[0] or year == 0:
            rng = _rng(s, "cohort", school, year, grade, k)
            tag = f"{school:04d}{(year - grade + GRADES[0]) % 100:02d}{k:02d}"
            return tuple(
                Pupil(f"HS{tag}{i:02d}", rng.uniform(4.5, 9.6)) for i in range(s.class_size)
            )
        gone = {p.code for p in self.leavers(school, year - 1)}
        kept = [p for p in self.roster(school, year - 1, grade - 1, k) if p.code not in gone]
        if k == 0:
            kept += self.arrivals(school, year, grade)
        return tuple(kept)

    def _leavers(self, school: int, year: int) -> tuple[Pupil, ...]:
        """Students of grades 6–8 of ``school`` who transfer out at the end of ``year``."""
        s = self.scale
        if s.schools < 2 or year >= s.years - 1:
            return ()
        rng = _rng(s, "leavers", school, year)
        out = []
        for grade in GRADES[:-1]:
            for k in range(s.classes_per_grade):
                for pupil in self.roster(school, year, grade, k):
                    if rng.random() < TRANSFER_SHARE:
                        out.append(pupil)
        return tuple(out)

    def arrivals(self, school: int, year: int, grade: int) -> list[Pupil]:
        """Who transferred in to ``school``'s ``grade`` for ``year`` (from the school before)."""
        source = (school - 1) % self.scale.schools
        if year == 0 or source == school:
            return []
        return [
            p
            for p in self.leavers(source, year - 1)
            if self.grade_of(source, year - 1, p) == grade - 1
        ]

    def grade_of(self, school: int, year: int, pupil: Pupil) -> int:
        for grade in GRADES:
            for k in range(self.scale.classes_per_grade):
                if pupil in self.roster(school, year, grade, k):
                    return grade
        raise KeyError(pupil.code)

    def leaving_teacher(self, year: int) -> int:
        """The teacher slot that transfers out at the end of ``year`` (every school)."""
        return (3 * year + 1) % self.scale.teachers

    def teacher_code(self, school: int, year: int, slot: int) -> str:
        """The staff code holding ``slot`` in ``year``: a new person after each transfer."""
        generation = sum(
            1 for y in range(year) if y < self.scale.years - 1 and self.leaving_teacher(y) == slot
        )
        return f"GV{school:04d}{slot:03d}{generation}"


# -- progress ---------------------------------------------------------------------------------


@dataclass
class State:
    """``DATA/province.json``: what the generator has written."""

    scale: dict[str, int]
    units_done: int = 0
    #: The ledger's last notification id when ``units_done`` units were whole.
    head: int = 0
    events: int = 0
    seconds: float = 0.0
    #: The ledger's head before the generator first ran (a store may hold other records).
    base: int = 0
    #: Set while a run is under way: found set at the start, the last run was killed.
    running: bool = False
    rounds: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def read(cls, path: Path) -> State | None:
        if not path.is_file():
            return None
        return cls(**json.loads(path.read_text("utf-8")))

    def write(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=1), "utf-8")
        os.replace(tmp, path)


@dataclass(frozen=True)
class Generated:
    """What one call of :func:`generate` wrote."""

    events: int  # the ledger's head afterwards
    written: int  # events written by this call
    seconds: float
    units_done: int
    units: int
    resumed_from: int
    rolled_back: int

    @property
    def rate(self) -> float:
        return self.written / self.seconds if self.seconds else 0.0


def generate(
    settings: Settings,
    scale: Scale,
    *,
    until_events: int | None = None,
    workers: int | None = None,
    progress: Callable[[int, int, float], None] | None = None,
) -> Generated:
    """Write ``scale``'s province into the ledger at ``settings`` (resuming a previous run).

    Stops at the end of the first round after which the ledger holds ``until_events`` or
    more events (None: the whole province). ``progress(events, target, rate)`` is called
    about once a second. ``workers``: processes writing at once (default 1 on SQLite, whose
    single writer lock makes a second one slower, and 2 on PostgreSQL).
    """
    plan = Plan(scale)
    units = list(plan.units())
    path = settings.data_dir / STATE_FILE
    state = State.read(path)
    if state is None:
        head = _head(settings)
        state = State(scale=asdict(scale), head=head, base=head)
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    elif state.scale != asdict(scale):
        raise ProvinceError(
            f"{path} was written for another province: {state.scale}; use a new data directory"
        )
    rolled_back = 0
    if state.running:
        # The last run was killed during a round: remove that round's partial writes.
        rolled_back = _rollback(settings, state.head)
    else:
        state.head = _head(settings)  # others' events since (a benchmark's) are kept
    state.running = True
    state.write(path)
    resumed_from = state.units_done
    target = until_events if until_events is not None else scale.events
    if workers is None:
        workers = 2 if settings.database_url else 1
    workers = max(1, min(workers, scale.schools))
    started = time.perf_counter()
    first = state.head
    ctx = mp.get_context("fork")
    counter = ctx.Array("q", workers, lock=False)
    tasks = [ctx.SimpleQueue() for _ in range(workers)]
    done: Any = ctx.Queue()
    procs = [
        ctx.Process(target=_worker, args=(settings, scale, w, tasks[w], done, counter), daemon=True)
        for w in range(workers)
    ]
    for p in procs:
        p.start()
    try:
        while state.units_done < len(units) and state.head < target:
            batch = units[state.units_done : state.units_done + workers]
            # A round never spans two years: a transfer in needs last year's transfer out.
            batch = [u for u in batch if u[0] == batch[0][0]]
            for i, unit in enumerate(batch):
                tasks[unit[1] % workers if _sticky(scale, workers) else i].put(unit)
            round_started = time.perf_counter()
            before = sum(counter)
            pending = len(batch)
            while pending:
                try:
                    result = done.get(timeout=1.0)
                except queue.Empty:
                    _alive(procs)
                    if progress is not None:
                        events = state.head + sum(counter) - before
                        progress(events, target, (events - first) / (time.perf_counter() - started))
                    continue
                if isinstance(result, BaseException):
                    raise result
                pending -= 1
            head = _head(settings)
            state.units_done += len(batch)
            state.events += head - state.head
            state.head = head
            state.seconds += time.perf_counter() - round_started
            state.rounds.append(
                {
                    "units": state.units_done,
                    "head": head,
                    "seconds": round(time.perf_counter() - round_started, 2),
                }
            )
            state.write(path)
            if progress is not None:
                progress(state.head, target, (head - first) / (time.perf_counter() - started))
        state.running = False
        state.write(path)
    finally:
        for q in tasks:
            q.put(None)
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
    return Generated(
        events=state.head,
        written=state.head - first,
        seconds=time.perf_counter() - started,
        units_done=state.units_done,
        units=len(units),
        resumed_from=resumed_from,
        rolled_back=rolled_back,
    )


def _sticky(scale: Scale, workers: int) -> bool:
    return scale.schools % workers == 0


def _alive(procs: list[Any]) -> None:
    for p in procs:
        if not p.is_alive():
            raise ProvinceError(f"a generator worker died (exit code {p.exitcode})")


def _worker(
    settings: Settings, scale: Scale, index: int, tasks: Any, done: Any, counter: Any
) -> None:
    ledger = Ledger(settings)
    writer = _Writer(ledger, settings, Plan(scale), counter, index)
    try:
        # Room for about a year of this worker's schools: next year's classes are this
        # year's moved up, so their records are used again (bounded: a 10⁷-event run).
        with ledger.cached(1 << 30, events=WORKER_CACHE_EVENTS):
            while True:
                unit = tasks.get()
                if unit is None:
                    return
                try:
                    writer.unit(*unit)
                except BaseException as e:  # reported to the parent, which stops the run
                    done.put(ProvinceError(f"unit {unit} failed: {type(e).__name__}: {e}"))
                    return
                done.put(unit)
    finally:
        ledger.close()


# -- writing one unit --------------------------------------------------------------------------


class _Writer:
    def __init__(
        self, ledger: Ledger, settings: Settings, plan: Plan, counter: Any, index: int
    ) -> None:
        self.index = index
        self.ledger = ledger
        self.settings = settings
        self.plan = plan
        self.scale = plan.scale
        self.counter = counter
        self.pkis: dict[int, DemoPKI] = {}

    def _count(self, n: int) -> None:
        self.counter[self.index] += n

    def pki(self, school: int) -> DemoPKI:
        found = self.pkis.get(school)
        if found is None:
            directory = self.settings.data_dir / "province-pki" / school_code(school)
            if (directory / "seal" / "cert.pem").is_file():
                found = DemoPKI.load(directory, PASSPHRASE)
            else:
                found = create_demo_pki(
                    directory,
                    school_name=f"Trường THCS Tỉnh Mẫu số {school + 1}",
                    school_code=school_code(school),
                    province="Tỉnh Mẫu",
                    staff=[
                        StaffSpec(
                            "HT" + school_code(school), f"Hiệu Trưởng {school + 1}", PRINCIPAL
                        )
                    ],
                    passphrase=PASSPHRASE,
                    now=datetime.now(UTC),
                )
            _trust(self.settings.data_dir, found)
            self.pkis[school] = found
        return found

    def signer(self, school: int, code: str) -> SoftwareSigner:
        pki = self.pki(school)
        if code not in pki.staff:
            pki.issue_staff(StaffSpec(code, f"Giáo Viên {code}", "Giáo viên"), datetime.now(UTC))
        return pki.signer_for(code)

    def unit(self, year: int, school: int) -> None:
        ledger, plan, s = self.ledger, self.plan, self.scale
        rng = _rng(s, "unit", school, year)
        pki = self.pki(school)
        code = school_code(school)
        principal_code = "HT" + code
        if year == 0:
            seal = pki.seal_signer()
            ledger.register_school(seal, code, pki.school_name, "Tỉnh Mẫu")
            head = ledger.open_staff_file(seal, principal_code, PRINCIPAL)
            ledger.register_certificate(seal, head, pki.staff[principal_code])
            self._count(3)
        principal = pki.signer_for(principal_code)
        teachers = [plan.teacher_code(school, year, slot) for slot in range(s.teachers)]
        for slot, teacher in enumerate(teachers):
            if year == 0 or teacher != plan.teacher_code(school, year - 1, slot):
                self._hire(principal, school, teacher, rng)
        text = year_text(year)
        ledger.open_school_year(principal, text)
        self._count(1)
        names = [class_name(g, k) for g in GRADES for k in range(s.classes_per_grade)]
        rosters: dict[str, list[tuple[UUID, float]]] = {}
        with ledger.one_save(principal):
            for name in names:
                ledger.open_class(principal, text, name, int(name[0]))
                ledger.plan_subjects(principal, text, name, THCS_PLAN)
                self._count(1 + len(THCS_PLAN))
        with ledger.one_save(principal):
            self._assign(principal, code, text, names, teachers)
        for grade in GRADES:
            for k in range(s.classes_per_grade):
                with ledger.one_save(principal):
                    rosters[class_name(grade, k)] = self._class(
                        principal, school, year, grade, k, text, rng
                    )
        signers = {t: self.signer(school, t) for t in teachers}
        for b in range(0, len(names), BLOCK):
            self._block(
                principal,
                text,
                names[b : b + BLOCK],
                teachers[b : b + BLOCK],
                rosters,
                signers,
                rng,
            )
        with ledger.one_save(principal):
            for pupil in plan.leavers(school, year):
                ledger.transfer_out(
                    principal,
                    student_id(pupil.code),
                    school_code((school + 1) % s.schools),
                    "chuyển nơi cư trú",
                )
                self._count(2)
            for teacher in teachers:
                ledger.record_evaluation(
                    principal,
                    staff_id(code, teacher),
                    text,
                    rng.randint(22, 30),
                    rng.randint(50, 70),
                )
                self._count(1)
        if year < s.years - 1:
            leaving = teachers[plan.leaving_teacher(year)]
            ledger.transfer_staff(
                principal,
                staff_id(code, leaving),
                school_code((school + 1) % s.schools),
                f"QĐ {leaving}/ĐĐ",
            )
            self._count(1)

    def _assign(
        self, principal: SoftwareSigner, code: str, text: str, names: list[str], teachers: list[str]
    ) -> None:
        ledger = self.ledger
        for b in range(0, len(names), BLOCK):
            block, staff = names[b : b + BLOCK], teachers[b : b + BLOCK]
            for i, teacher in enumerate(staff):
                pairs = [(n, SCORED_SUBJECTS[i]) for n in block] + [
                    (block[i], c) for c in COMMENT_SUBJECTS
                ]
                ledger.assign_teachings(principal, staff_id(code, teacher), text, pairs)
                ledger.assign_homeroom(principal, staff_id(code, teacher), text, block[i])
                self._count(len(pairs) + 1)

    def _class(
        self,
        principal: SoftwareSigner,
        school: int,
        year: int,
        grade: int,
        k: int,
        text: str,
        rng: random.Random,
    ) -> list[tuple[UUID, float]]:
        """Enrol, move up or take in the students of one class; its roster."""
        ledger, plan = self.ledger, self.plan
        name = class_name(grade, k)
        arriving = {p.code for p in plan.arrivals(school, year, grade)} if k == 0 else set()
        roster = []
        for pupil in plan.roster(school, year, grade, k):
            rid = student_id(pupil.code)
            if grade == GRADES[0] or year == 0:
                born = FIRST_YEAR + year - grade + 5
                identity = {
                    "ho_va_ten": f"Học Sinh {pupil.code}",
                    "ngay_sinh": f"{born}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
                }
                rid = ledger.enrol_student(principal, pupil.code, text, grade, name, identity)
                self._count(3)
            elif pupil.code in arriving:
                ledger.transfer_in(principal, rid, text, grade, name)
                self._count(2)
            else:
                ledger.join_class(principal, rid, text, grade, name)
                self._count(2)
            roster.append((rid, pupil.ability))
        return roster

    def _hire(self, principal: SoftwareSigner, school: int, code: str, rng: random.Random) -> None:
        ledger = self.ledger
        signer = self.signer(school, code)
        born = f"{rng.randint(1970, 2000)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}"
        sid = ledger.open_staff_file(
            principal,
            code,
            "Giáo viên",
            identity={"ho_va_ten": f"Giáo Viên {code}", "ngay_sinh": born},
        )
        ledger.register_certificate(principal, sid, signer.certificate)
        ledger.appoint_title(
            principal, sid, "Giáo viên THCS", "hạng II", "V.07.04.31", f"QĐ {code}/TC"
        )
        ledger.raise_salary_step(
            principal, sid, rng.randint(1, 8), "3.33", f"{FIRST_YEAR}-09-01", "QĐ lương"
        )
        self._count(6)

    def _block(
        self,
        principal: SoftwareSigner,
        text: str,
        names: list[str],
        teachers: list[str],
        rosters: dict[str, list[tuple[UUID, float]]],
        signers: dict[str, SoftwareSigner],
        rng: random.Random,
    ) -> None:
        ledger = self.ledger
        gvcn = dict(zip(names, teachers, strict=True))
        for term in (1, 2):
            for i, code in enumerate(teachers):
                subject = SCORED_SUBJECTS[i]
                scores = [
                    (rid, subject, term, kind, _score(rng, ability))
                    for name in names
                    for rid, ability in rosters[name]
                    for kind in _kinds(subject)
                ]
                self._count(ledger.record_scores(signers[code], scores))
            for name in names:
                comments = [
                    (rid, subject, term, kind, rng.random() < 0.98)
                    for rid, _ in rosters[name]
                    for subject in COMMENT_SUBJECTS
                    for kind in _kinds(subject)
                ]
                self._count(ledger.assess_comments(signers[gvcn[name]], comments))
            for name in names:
                teacher = signers[gvcn[name]]
                self._corrections(term, teacher, rosters[name], signers[teachers[1]], principal)
                with ledger.one_save(teacher):  # the class's conduct column
                    for rid, ability in rosters[name]:
                        level = "Tốt" if ability > 7.5 else "Khá" if ability > 5.5 else "Đạt"
                        ledger.assess_conduct(teacher, rid, term, level)
                        self._count(1)
                        if rng.random() < 1 / 3:
                            ledger.record_absences(teacher, rid, term, rng.randint(1, 6))
                            self._count(1)
                ledger.close_term(principal, text, name, term)
                self._count(1)
        for name in names:
            teacher = signers[gvcn[name]]
            with ledger.one_save(teacher):  # the GVCN's end-of-year page for the class
                for rid, _ in rosters[name]:
                    ledger.record_remark(teacher, rid, "", f"Chăm ngoan, tiến bộ ({name}).")
                    ledger.record_year_result(teacher, rid, YEAR)
                    self._count(2)
            ledger.grant_student_award(
                principal, rosters[name][0][0], "Giấy khen phong trào", "QĐ 12/KT"
            )
            self._count(1)

    def _corrections(
        self,
        term: int,
        gvcn: SoftwareSigner,
        students: list[tuple[UUID, float]],
        toan: SoftwareSigner,
        principal: SoftwareSigner,
    ) -> None:
        """A direct correction while the term is open; in term 1 also one the principal
        approves (proposed by the mathematics teacher)."""
        ledger = self.ledger
        rid = students[0][0]
        record = ledger.load(rid, StudentRecord)
        mine = [
            (v, e)
            for v, e in sorted(record.entries.items())
            if e.term == term and e.school_year == record.school_year
        ]
        if term == 1:
            version = next(v for v, e in mine if e.subject == SCORED_SUBJECTS[1])
            ledger.correct_score(toan, rid, version, "9.0", "nhập nhầm")
            proposal = ledger.propose_correction(
                toan,
                students[1][0],
                self._first_math(students[1][0], term),
                "8.5",
                "chấm lại bài kiểm tra",
            )
            ledger.approve_correction(principal, students[1][0], proposal)
            self._count(3)
        else:
            version = next(v for v, e in mine if e.score is None)
            ledger.correct_score(gvcn, rid, version, True, "nhập nhầm")
            self._count(1)

    def _first_math(self, rid: UUID, term: int) -> int:
        record = self.ledger.load(rid, StudentRecord)
        return next(
            v
            for v, e in sorted(record.entries.items())
            if e.subject == SCORED_SUBJECTS[1]
            and e.term == term
            and e.school_year == record.school_year
        )


def _trust(data_dir: Path, pki: DemoPKI) -> None:
    """Make the data directory trust the school's demo root (and know its CAs), as a Sở's
    schools are trusted: ``DATA/trust``, as ``socai pki trust add`` writes it."""
    import fcntl

    from cryptography.hazmat.primitives.serialization import Encoding

    from api.trust import (
        ANCHORS_FILE,
        INTERMEDIATES_FILE,
        append_certificates,
        read_pem_certificates,
        trust_dir,
    )

    directory = trust_dir(data_dir)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    with open(directory / ".province.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the workers add their schools at once
        for name, certs in ((ANCHORS_FILE, [pki.root]), (INTERMEDIATES_FILE, pki.intermediates())):
            path = directory / name
            pem = path.read_bytes() if path.is_file() else b""
            have = {c.public_bytes(Encoding.DER) for c in read_pem_certificates(pem, str(path))}
            new = [c for c in certs if c.public_bytes(Encoding.DER) not in have]
            if new:
                append_certificates(directory / name, new)


# -- the store: head and roll-back -----------------------------------------------------------


def _head(settings: Settings) -> int:
    ledger = Ledger(settings)
    try:
        return ledger.recorder.max_notification_id() or 0
    finally:
        ledger.close()


def _rollback(settings: Settings, head: int) -> int:
    """Delete what a killed run wrote after ``head``; return how many events that was."""
    current = _head(settings)
    if current <= head:
        return 0
    signed = _signed_size(settings)
    if signed is not None and signed > _leaves_up_to(settings, head):
        raise ProvinceError(
            f"the log signed a checkpoint of {signed} leaves, beyond the generator's position: "
            "refusing to roll back"
        )
    if settings.database_url:
        _rollback_postgres(settings, head)
    else:
        _rollback_sqlite(settings, head)
    return current - head


def _signed_size(settings: Settings) -> int | None:
    path = settings.data_dir / "log" / "checkpoints.sqlite"
    if not path.is_file():
        return None
    import sqlite3

    with sqlite3.connect(path) as conn:
        try:
            row = conn.execute("SELECT MAX(size) FROM checkpoints").fetchone()
        except sqlite3.Error:
            return None
    return int(row[0]) if row and row[0] is not None else None


def _leaves_up_to(settings: Settings, head: int) -> int:
    ledger = Ledger(settings)
    try:
        conn_rows = _query(
            ledger, "SELECT COUNT(*) FROM socai_log_leaves WHERE notification_id <= {p}", head
        )
        return int(conn_rows[0][0])
    finally:
        ledger.close()


def _query(ledger: Ledger, sql: str, *params: Any) -> list[Any]:
    recorder: Any = ledger.recorder
    if ledger.settings.database_url:
        with recorder.datastore.get_connection() as conn:
            return list(conn.execute(sql.format(p="%s"), params).fetchall())
    with recorder.datastore.transaction(commit=False) as c:
        c.execute(sql.format(p="?"), params)
        return list(c.fetchall())


def _rewind_log(conn: Any, head: int, mark: str) -> None:
    """The log's leaves, nodes and position as they were at notification ``head``.

    ``conn``: a sqlite3 or psycopg connection inside the roll-back's transaction; ``mark``
    its parameter placeholder (``?`` or ``%s``).
    """
    from ledger.log import frontier_keys

    def q(sql: str) -> str:
        return sql.replace("?", mark)

    conn.execute(q("DELETE FROM socai_log_leaves WHERE notification_id > ?"), (head,))
    size = _scalar(conn, "SELECT COUNT(*) FROM socai_log_leaves")
    conn.execute(q("DELETE FROM socai_log_nodes WHERE ((idx + 1) << level) > ?"), (size,))
    frontier = [
        bytes(
            _scalar(conn, q("SELECT hash FROM socai_log_leaves WHERE idx = ?"), (idx,))
            if level == 0
            else _scalar(
                conn,
                q("SELECT hash FROM socai_log_nodes WHERE level = ? AND idx = ?"),
                (level, idx),
            )
        )
        for level, idx in frontier_keys(size)
    ]
    last = _scalar(conn, "SELECT COALESCE(MAX(notification_id), 0) FROM socai_log_leaves")
    conn.execute(
        q("UPDATE socai_log_state SET size = ?, last_notification_id = ?, frontier = ?"),
        (size, last, b"".join(frontier)),
    )


def _rollback_sqlite(settings: Settings, head: int) -> None:
    import sqlite3

    with sqlite3.connect(settings.sqlite_path, isolation_level=None) as conn:
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("DELETE FROM stored_events WHERE rowid > ?", (head,))
        _rewind_log(conn, head, "?")
        conn.execute(
            "DELETE FROM socai_certificates WHERE NOT EXISTS (SELECT 1 FROM stored_events e "
            "WHERE e.originator_id = socai_certificates.owner "
            "AND e.originator_version = socai_certificates.version)"
        )
        conn.execute("COMMIT")


def _scalar(conn: Any, sql: str, params: tuple[Any, ...] = ()) -> Any:
    row = conn.execute(sql, params).fetchone()
    if row is None:
        raise ProvinceError(f"the store is missing what the log needs ({sql})")
    return row[0]


def _rollback_postgres(settings: Settings, head: int) -> None:
    from ledger.postgres import connect

    assert settings.database_url
    with connect(settings.database_url) as conn, conn.transaction():
        table = _scalar(
            conn,
            "SELECT table_name FROM information_schema.columns "
            "WHERE column_name = 'notification_id' AND table_name LIKE '%events' LIMIT 1",
        )
        conn.execute(f'DELETE FROM "{table}" WHERE notification_id > %s', (head,))  # noqa: S608
        _rewind_log(conn, head, "%s")
        conn.execute(
            f'DELETE FROM socai_certificates c WHERE NOT EXISTS (SELECT 1 FROM "{table}" e '  # noqa: S608
            "WHERE e.originator_id = c.owner AND e.originator_version = c.version)"
        )


# -- the command line's progress bar ---------------------------------------------------------


def progress_bar(stream: Any = sys.stderr) -> Callable[[int, int, float], None]:
    """A one-line progress bar: events written of the target, rate, time left."""

    def show(events: int, target: int, rate: float) -> None:
        share = min(1.0, events / target) if target else 1.0
        bar = "█" * int(30 * share) + "·" * (30 - int(30 * share))
        left = (target - events) / rate if rate and target > events else 0
        stream.write(
            f"\r{bar} {events:,}/{target:,} sự kiện · {rate:,.0f} sự kiện/s · "
            f"còn {int(left) // 60}:{int(left) % 60:02d}   "
        )
        stream.flush()

    return show


__all__ = ["Generated", "Plan", "ProvinceError", "Scale", "generate", "progress_bar"]
