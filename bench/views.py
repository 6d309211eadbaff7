"""``socai bench views``: rebuilding the read models against reading the ledger.

A one-year THCS dataset is generated through the ledger's own commands (see
:func:`generate`): a school with blocks of eight classes of 45 students, each
block taught by eight teachers (one per scored subject, each the GVCN of one
class who also teaches its comment subjects); every score and comment
assessment of both terms, saved a teacher's column at a time with
``record_scores``/``assess_comments``; conduct, absences, a GVCN remark and
the year result per student; a direct correction, a comment correction and a
correction approved by the principal per class; term closes; staff HR events.

Then, on the same storage and in the same run, each round (median of three,
two with ``--quick``):

- the baseline: every notification read in pages through the recorder query
  the runner uses, each row made the event a view receives (payload cut out
  of the envelope, record id a UUID; nothing decoded, nothing written), for
  the whole ledger and for each view's topics (:func:`read_pages`);
- for reference: the same through eventsourcing's ``select_notifications``,
  and a rebuild of a view that writes nothing (the runner's paging and one
  tracking commit per page);
- a full rebuild (``ViewRunner.rebuild``: drop, recreate, catch up) of each
  view of :mod:`projections.views`, right after reading its topics, so that
  drift hits a baseline and its rebuild alike.

``ratio`` is the baseline's time over the rebuild's for the same notifications
(the view's topics): 1.0 means the rebuild runs as fast as merely reading what
it reads. Target: ≥ 0.5. ``vs reading all`` compares with reading the whole
ledger once, which is what a view with few topics saves. ``all`` is the four
rebuilds one after the other against reading each view's topics.
"""

from __future__ import annotations

import json
import math
import os
import random
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.utils import Environment

from bench.ledger import _fresh_postgres
from ledger import assessment as rules
from ledger.application import Ledger, Settings
from ledger.catalog import THCS_PLAN
from ledger.domain import COMMENTED, PRINCIPAL, SCORED, StudentRecord
from ledger.results import YEAR
from projections.runner import (
    PAGE_SIZE,
    LedgerReader,
    PayloadCodec,
    Tx,
    View,
    ViewEvent,
    ViewRunner,
    payload_of,
    reader_env,
)
from projections.views import ALL_VIEWS
from signing.keys import SoftwareSigner
from signing.pki import DemoPKI, StaffSpec, create_demo_pki

#: Target: a rebuild runs at least at this fraction of the rate of reading the ledger.
TARGET = 0.5
SCHOOL = "79VIEWS1"
SCHOOL_NAME = "Trường THCS Đo Hiệu Năng Sổ Điểm"
YEAR_TEXT = "2025-2026"
CLASS_SIZE = 45
#: Classes per teacher group: one teacher per scored subject, each the GVCN of one class.
BLOCK = 8
QUICK_EVENTS = 20_000
FULL_EVENTS = 1_000_000
SCORED_SUBJECTS = [s for s, (_, how) in THCS_PLAN.items() if how == SCORED]
COMMENT_SUBJECTS = [s for s, (_, how) in THCS_PLAN.items() if how == COMMENTED]
assert len(SCORED_SUBJECTS) == BLOCK


def _kinds(subject: str) -> list[str]:
    """The entries one student gets in ``subject`` per term (TT 22/2021 Điều 6, 7)."""
    periods, how = THCS_PLAN[subject]
    if how == COMMENTED:
        regular = rules.comment_regular_count()
    else:
        regular = rules.regular_score_count(periods)
    return ["tx"] * regular + ["gk", "ck"]


#: Events per student in a year: enrolment, identity, joining the roster, every entry of
#: both terms, two conducts, absences for a third of the students, a remark, the result.
PER_STUDENT = 3 + 2 * sum(len(_kinds(s)) for s in THCS_PLAN) + 2 + 2 / 3 + 2
#: Events per class: opening, plan, assignments, homeroom, term closes, corrections, award.
PER_CLASS = 1 + len(THCS_PLAN) + len(THCS_PLAN) + 1 + 2 + 4 + 1
#: Events per teacher: file, certificate, identity, title, salary step, evaluation.
PER_TEACHER = 6


class _GeneratingLedger(Ledger):
    """The ledger with eventsourcing's aggregate cache, for generating a large dataset fast.

    Commands load every record they touch; replaying (and re-verifying) a record
    of a hundred events for each of them would make the generation quadratic.
    The cache hands out the cached aggregate itself (no deep copy): safe here,
    where one thread issues commands that never fail half-way.
    """

    name = Ledger.name  # the same tables as the ledger (eventsourcing names them after it)

    def construct_env(self, name: str, env: Any = None) -> Environment:
        base = super().construct_env(name, env)
        base["AGGREGATE_CACHE_MAXSIZE"] = str(4 * BLOCK * CLASS_SIZE + 1000)
        base["DEEPCOPY_FROM_AGGREGATE_CACHE"] = "n"
        return base


@dataclass(frozen=True)
class Dataset:
    """What :func:`generate` wrote."""

    events: int
    students: int
    classes: int
    teachers: int
    #: Writing the events through the commands (the rate's denominator).
    seconds: float
    #: Making the demo PKI's keys and certificates beforehand.
    pki_seconds: float
    school: str

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


def layout(events: int) -> tuple[int, int]:
    """(classes, students) whose year comes to at least ``events`` events (whole classes)."""
    per_class = CLASS_SIZE * PER_STUDENT + PER_CLASS + PER_TEACHER
    classes = max(1, math.ceil((events - 20) / per_class))
    return classes, classes * CLASS_SIZE


def _score(rng: random.Random, ability: float) -> str:
    value = min(10.0, max(0.0, rng.gauss(ability, 1.2)))
    return f"{round(value, 1):.1f}"


def generate(settings: Settings, events: int, pki_dir: Path) -> Dataset:
    """Fill the (empty) ledger at ``settings`` with one school year of at least ``events``.

    Every event goes through a command of :class:`~ledger.application.Ledger`, signed by
    the person who would sign it: scores and comment assessments as one teacher's
    column across the block's classes per save (``record_scores``/``assess_comments``).
    """
    classes, students = layout(events)
    blocks = math.ceil(classes / BLOCK)
    codes = [f"GV{i:04d}" for i in range(blocks * BLOCK)]
    made = time.perf_counter()
    pki = create_demo_pki(
        pki_dir,
        school_name=SCHOOL_NAME,
        school_code=SCHOOL,
        province="Hà Nội",
        staff=[StaffSpec("HT001", "Hiệu Trưởng Đo", PRINCIPAL)]
        + [StaffSpec(c, f"Giáo Viên {c}", "Giáo viên") for c in codes],
        passphrase=b"bench views",
        now=datetime.now(UTC),
    )
    started = time.perf_counter()
    ledger = _GeneratingLedger(settings)
    try:
        school = _Generator(ledger, pki, codes).run(classes)
        head = ledger.recorder.max_notification_id() or 0
    finally:
        ledger.close()
    return Dataset(
        events=head,
        students=students,
        classes=classes,
        teachers=len(codes),
        seconds=time.perf_counter() - started,
        pki_seconds=started - made,
        school=str(school),
    )


class _Generator:
    def __init__(self, ledger: Ledger, pki: DemoPKI, codes: Sequence[str]) -> None:
        self.ledger = ledger
        self.pki = pki
        self.codes = list(codes)
        self.rng = random.Random(2025)
        self.staff: dict[str, UUID] = {}
        self.signers: dict[str, SoftwareSigner] = {}

    def run(self, classes: int) -> UUID:
        ledger, pki = self.ledger, self.pki
        seal = pki.seal_signer()
        school = ledger.register_school(seal, SCHOOL, SCHOOL_NAME, "Hà Nội")
        head = ledger.open_staff_file(seal, "HT001", PRINCIPAL)
        ledger.register_certificate(seal, head, pki.staff["HT001"])
        self.principal = pki.signer_for("HT001")
        ledger.open_school_year(self.principal, YEAR_TEXT)
        for code in self.codes:
            self._hire(code)
        names = [f"{6 + i % 4}A{i // 4 + 1}" for i in range(classes)]
        for b in range(0, classes, BLOCK):
            self._block(names[b : b + BLOCK], self.codes[b : b + BLOCK])
        for code in self.codes:
            self.ledger.record_evaluation(
                self.principal,
                self.staff[code],
                YEAR_TEXT,
                self.rng.randint(22, 30),
                self.rng.randint(50, 70),
            )
        return school

    def _hire(self, code: str) -> None:
        ledger, p = self.ledger, self.principal
        born = f"{self.rng.randint(1970, 2000)}-0{self.rng.randint(1, 9)}-1{self.rng.randint(0, 9)}"
        sid = ledger.open_staff_file(
            p, code, "Giáo viên", identity={"ho_va_ten": f"Giáo Viên {code}", "ngay_sinh": born}
        )
        ledger.register_certificate(p, sid, self.pki.staff[code])
        ledger.appoint_title(p, sid, "Giáo viên THCS", "hạng II", "V.07.04.31", f"QĐ {code}/TC")
        ledger.raise_salary_step(p, sid, self.rng.randint(1, 8), "3.33", "2025-09-01", "QĐ lương")
        self.staff[code] = sid
        self.signers[code] = self.pki.signer_for(code)

    def _block(self, names: list[str], teachers: list[str]) -> None:
        """A block of classes for a whole year; teacher i teaches scored subject i in all of
        them and is the GVCN of class i, where they also teach the comment subjects."""
        ledger, p, rng = self.ledger, self.principal, self.rng
        for name in names:
            ledger.open_class(p, YEAR_TEXT, name, int(name[0]))
            ledger.plan_subjects(p, YEAR_TEXT, name, THCS_PLAN)
        for i, code in enumerate(teachers):
            pairs = [(name, SCORED_SUBJECTS[i]) for name in names]
            if i < len(names):
                pairs += [(names[i], s) for s in COMMENT_SUBJECTS]
            ledger.assign_teachings(p, self.staff[code], YEAR_TEXT, pairs)
        for name, code in zip(names, teachers, strict=False):
            ledger.assign_homeroom(p, self.staff[code], YEAR_TEXT, name)
        roster: dict[str, list[tuple[UUID, float]]] = {}
        for name in names:
            roster[name] = []
            for _ in range(CLASS_SIZE):
                code = f"HS{self.rng.randrange(10**9):09d}"
                born = f"201{rng.randint(3, 4)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}"
                identity = {"ho_va_ten": f"Học Sinh {code}", "ngay_sinh": born}
                rid = ledger.enrol_student(p, code, YEAR_TEXT, int(name[0]), name, identity)
                roster[name].append((rid, rng.uniform(4.5, 9.6)))
        gvcn = dict(zip(names, teachers, strict=False))
        for term in (1, 2):
            for i, code in enumerate(teachers):
                subject = SCORED_SUBJECTS[i]
                scores = [
                    (rid, subject, term, kind, _score(rng, ability))
                    for name in names
                    for rid, ability in roster[name]
                    for kind in _kinds(subject)
                ]
                ledger.record_scores(self.signers[code], scores)
            for name in names:
                comments = [
                    (rid, subject, term, kind, rng.random() < 0.98)
                    for rid, _ in roster[name]
                    for subject in COMMENT_SUBJECTS
                    for kind in _kinds(subject)
                ]
                ledger.assess_comments(self.signers[gvcn[name]], comments)
            for name in names:
                self._homeroom(term, self.signers[gvcn[name]], roster[name], teachers)
                ledger.close_term(p, YEAR_TEXT, name, term)
                if term == 1:
                    self._approved_correction(roster[name][1][0], teachers[1])
        for name in names:
            teacher = self.signers[gvcn[name]]
            for rid, _ in roster[name]:
                ledger.record_remark(teacher, rid, "", f"Chăm ngoan, tiến bộ ({name}).")
                ledger.record_year_result(teacher, rid, YEAR)
            ledger.grant_student_award(p, roster[name][0][0], "Giấy khen phong trào", "QĐ 12/KT")

    def _homeroom(
        self,
        term: int,
        teacher: SoftwareSigner,
        students: list[tuple[UUID, float]],
        teachers: list[str],
    ) -> None:
        ledger, rng = self.ledger, self.rng
        rid, _ = students[0]
        # Corrections while the term is open: a score by its teacher, a comment by the GVCN.
        record = ledger.load(rid, StudentRecord)
        entries = sorted(record.entries.items())
        if term == 1:
            toan = next(v for v, e in entries if e.subject == SCORED_SUBJECTS[1] and e.term == 1)
            ledger.correct_score(self.signers[teachers[1]], rid, toan, "9.0", "nhập nhầm")
        else:
            comment = next(v for v, e in entries if e.score is None and e.term == 2)
            ledger.correct_score(teacher, rid, comment, True, "nhập nhầm")
        for rid, ability in students:
            level = "Tốt" if ability > 7.5 else "Khá" if ability > 5.5 else "Đạt"
            ledger.assess_conduct(teacher, rid, term, level)
            if rng.random() < 1 / 3:
                ledger.record_absences(teacher, rid, term, rng.randint(1, 6))

    def _approved_correction(self, rid: UUID, teacher: str) -> None:
        record = self.ledger.load(rid, StudentRecord)
        version = next(
            v for v, e in sorted(record.entries.items()) if e.subject == SCORED_SUBJECTS[1]
        )
        proposal = self.ledger.propose_correction(
            self.signers[teacher], rid, version, "8.5", "chấm lại bài kiểm tra"
        )
        self.ledger.approve_correction(self.principal, rid, proposal)


# -- measuring -------------------------------------------------------------------------------


class _NullView(View):
    """Reads every notification and writes nothing: the runner's own cost of a rebuild."""

    name = "bench_null"

    def apply(self, batch: Sequence[ViewEvent], tx: Tx) -> None:
        pass


def read_pages(reader: LedgerReader, topics: Sequence[str] | None, page: int) -> tuple[int, float]:
    """The baseline: read every notification of ``topics`` in pages as the runner reads them.

    The same recorder query, each row made the event a view receives (payload cut
    out of the envelope, record id a UUID), nothing decoded, nothing written.
    Returns (events, seconds).
    """
    recorder: Any = reader.recorder
    codec = PayloadCodec(reader.mapper.transcoder)
    head = recorder.max_notification_id() or 0
    ids: dict[str, UUID] = {}
    new = tuple.__new__
    started = time.perf_counter()
    after = count = 0
    while after < head:
        rows = recorder.select_rows(after, head, topics, page)
        for n, r, v, t, state in rows:
            rid = r if isinstance(r, UUID) else (ids.get(r) or ids.setdefault(r, UUID(r)))
            new(ViewEvent, (n, rid, v, t, payload_of(state), codec))
        count += len(rows)
        after = rows[-1][0] if len(rows) >= page else head
    return count, time.perf_counter() - started


def read_notifications(reader: LedgerReader, page: int) -> tuple[int, float]:
    """Every notification through eventsourcing's own ``select_notifications`` (for reference)."""
    recorder: Any = reader.recorder
    head = recorder.max_notification_id() or 0
    started = time.perf_counter()
    after = count = 0
    while after < head:
        notifications = recorder.select_notifications(
            start=after, limit=page, inclusive_of_start=False
        )
        if not notifications:
            break
        count += len(notifications)
        after = notifications[-1].id
    return count, time.perf_counter() - started


def sizes(settings: Settings, views: Sequence[View]) -> dict[str, int]:
    """Bytes on disk of the ledger and of each view (SQLite files with their WAL, or the
    PostgreSQL relations with their indexes and TOAST)."""
    out: dict[str, int] = {}
    if settings.database_url:
        from ledger.postgres import connect

        total = (
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND "
        )
        with connect(settings.database_url) as conn:
            row = conn.execute(total + "n.nspname = 'public'").fetchone()
            out["ledger"] = int(row[0]) if row else 0
            for view in views:
                row = conn.execute(total + "n.nspname = %s", (f"view_{view.name}",)).fetchone()
                out[view.name] = int(row[0]) if row else 0
        return out

    def files(path: Path) -> int:
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*") if p.is_file())

    out["ledger"] = files(settings.sqlite_path)
    for view in views:
        out[view.name] = files(settings.data_dir / "views" / f"{view.name}.sqlite")
    return out


def measure(settings: Settings, *, rounds: int = 3, page_size: int = PAGE_SIZE) -> dict[str, Any]:
    """Time the baselines and a full rebuild of each view on the (filled) ledger at ``settings``.

    Each round reads the ledger (all of it, then each view's topics) and rebuilds each
    view right after reading its topics, so drift hits a baseline and its rebuild alike.
    """
    runner = ViewRunner(settings, page_size=page_size)
    reader = LedgerReader(reader_env(settings))
    views = [cls(runner) for cls in ALL_VIEWS]
    null = _NullView()
    read: dict[str, list[float]] = {"all": [], "eventsourcing": []}
    rebuild: dict[str, list[float]] = {"all": [], "null": []}
    applied: dict[str, int] = {}
    try:
        head = runner.head()
        for _ in range(rounds):
            read["all"].append(read_pages(reader, None, page_size)[1])
            read["eventsourcing"].append(read_notifications(reader, page_size)[1])
            rebuild["null"].append(runner.rebuild(null).seconds)
            total = 0.0
            for view in views:
                topics = [str(t) for t in view.topics or ()] or None
                events, seconds = read_pages(reader, topics, page_size)
                read.setdefault(view.name, []).append(seconds)
                progress = runner.rebuild(view)
                if progress.events != events or progress.position != head:
                    raise RuntimeError(f"{view.name}: rebuilt {progress} of {events} events")
                applied[view.name] = events
                rebuild.setdefault(view.name, []).append(progress.seconds)
                total += progress.seconds
            rebuild["all"].append(total)
        on_disk = sizes(settings, views)
    finally:
        reader.close()
        runner.close()
    return _figures(head, page_size, rounds, read, rebuild, applied, on_disk)


def _median(values: list[float]) -> float:
    return statistics.median(values)


def _ratio(baseline: list[float], rebuilt: list[float]) -> tuple[float, list[float]]:
    """Median and range of the per-round ratios baseline time / rebuild time."""
    ratios = sorted(b / r for b, r in zip(baseline, rebuilt, strict=True))
    return statistics.median(ratios), [round(ratios[0], 3), round(ratios[-1], 3)]


def _figures(
    head: int,
    page_size: int,
    rounds: int,
    read: dict[str, list[float]],
    rebuild: dict[str, list[float]],
    applied: dict[str, int],
    on_disk: dict[str, int],
) -> dict[str, Any]:
    everything = _median(read["all"])
    out: dict[str, Any] = {
        "notifications": head,
        "page_size": page_size,
        "rounds": rounds,
        "read_per_s": round(head / everything),
        "eventsourcing_read_per_s": round(head / _median(read["eventsourcing"])),
        "null_rebuild_per_s": round(head / _median(rebuild["null"])),
        "views": {},
        "bytes": on_disk,
    }
    for name, events in applied.items():
        ratio, spread = _ratio(read[name], rebuild[name])
        seconds = _median(rebuild[name])
        out["views"][name] = {
            "events": events,
            "read_s": round(_median(read[name]), 3),
            "rebuild_s": round(seconds, 3),
            "read_events_per_s": round(events / _median(read[name])),
            "rebuild_events_per_s": round(events / seconds),
            "ledger_per_s": round(head / seconds),
            "ratio": round(ratio, 3),
            "ratio_range": spread,
            "ratio_to_reading_everything": round(_ratio(read["all"], rebuild[name])[0], 3),
            "meets_target": ratio >= TARGET,
        }
    names = list(applied)
    summed = [sum(read[n][i] for n in names) for i in range(rounds)]
    ratio, spread = _ratio(summed, rebuild["all"])
    out["all"] = {
        "events": sum(applied.values()),
        "rebuild_s": round(_median(rebuild["all"]), 3),
        "ledger_per_s": round(head / _median(rebuild["all"])),
        "ratio": round(ratio, 3),
        "ratio_range": spread,
        "ratio_to_reading_everything_once": round(_ratio(read["all"], rebuild["all"])[0], 3),
        "meets_target": ratio >= TARGET,
    }
    return out


# -- the suite -------------------------------------------------------------------------------


def run(
    settings: Settings,
    *,
    events: int,
    quick: bool = False,
    pki_dir: Path | None = None,
    page_sizes: Sequence[int] = (PAGE_SIZE,),
) -> dict[str, Any]:
    """Generate a year of at least ``events`` events into the empty ledger at ``settings``,
    then measure reading and rebuilding it (see the module docstring), once per page size.

    Returns ``dataset`` (events, students, classes, teachers, seconds, events_per_s) and
    ``runs``: one :func:`measure` result per page size.
    """
    rounds = 2 if quick else 3
    with tempfile.TemporaryDirectory(prefix="socai-bench-views-pki-") as d:
        dataset = generate(settings, events, pki_dir or Path(d) / "pki")
    figures: dict[str, Any] = {
        "backend": settings.backend,
        "dataset": {**asdict(dataset), "events_per_s": round(dataset.rate, 1)},
        "runs": [measure(settings, rounds=rounds, page_size=p) for p in page_sizes],
    }
    return figures


def run_views_bench(
    *, quick: bool = False, events: int | None = None, out: Path | None = None
) -> dict[str, Any]:
    """``socai bench views``: SQLite, and PostgreSQL when ``SOCAI_DATABASE_URL`` is set.

    ``events`` defaults to 2×10⁴ with ``quick``, else 10⁶. The full run also rebuilds
    with pages of 20,000 events (the runner's default is 2,000). Returns the figures
    with ``markdown``; writes ``bench-report.json``/``.md`` to ``out`` if given.
    """
    n = events or (QUICK_EVENTS if quick else FULL_EVENTS)
    page_sizes = (PAGE_SIZE,) if quick else (PAGE_SIZE, 10 * PAGE_SIZE)
    database_url = os.environ.get("SOCAI_DATABASE_URL") or None
    results: dict[str, Any] = {"suite": "views", "quick": quick, "target": TARGET, "backends": {}}
    started = time.perf_counter()
    for backend, url in [("sqlite", None)] + (
        [("postgresql", database_url)] if database_url else []
    ):
        with tempfile.TemporaryDirectory(prefix="socai-bench-views-") as d:
            target = _fresh_postgres(url, "socai_bench_views") if url else None
            settings = Settings(Path(d) / "data", target)
            try:
                results["backends"][backend] = run(
                    settings, events=n, quick=quick, pki_dir=Path(d) / "pki", page_sizes=page_sizes
                )
            finally:
                if url:
                    _drop_postgres(url, "socai_bench_views")
    results["seconds"] = round(time.perf_counter() - started, 1)
    results["markdown"] = markdown(results)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "bench-report.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
        (out / "bench-report.md").write_text(results["markdown"])
    return results


def _drop_postgres(url: str, name: str) -> None:
    from ledger.postgres import connect

    with connect(url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def markdown(results: dict[str, Any]) -> str:
    """The figures as a Markdown table (rates in events per second)."""
    lines = [
        "| backend | page | view | events | read ev/s | rebuild ev/s | ratio | target "
        "| ledger ev/s | vs reading all | MB |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    notes = []
    for backend, b in results["backends"].items():
        ds = b["dataset"]
        notes.append(
            f"{backend}: {ds['events']:,} events ({ds['students']:,} students, {ds['classes']} "
            f"classes) generated at {ds['events_per_s']:,.0f} ev/s."
        )
        for run_ in b["runs"]:
            notes.append(
                f"{backend}, pages of {run_['page_size']:,}: reading {run_['read_per_s']:,} ev/s "
                f"(eventsourcing's select_notifications {run_['eventsourcing_read_per_s']:,}, "
                f"a rebuild writing nothing {run_['null_rebuild_per_s']:,}); "
                f"ledger {run_['bytes']['ledger'] / 1e6:,.0f} MB."
            )
            rows = [*run_["views"].items(), ("all", run_["all"])]
            for name, v in rows:
                ok = "✓" if v["meets_target"] else "✗"
                everything = v.get("ratio_to_reading_everything") or v.get(
                    "ratio_to_reading_everything_once", 0.0
                )
                mb = run_["bytes"].get(name)
                cells = [
                    backend,
                    f"{run_['page_size']:,}",
                    name,
                    f"{v['events']:,}",
                    f"{v['events'] / v['read_s']:,.0f}" if "read_s" in v else "",
                    f"{v['events'] / v['rebuild_s']:,.0f}",
                    f"{v['ratio']:.2f}",
                    f"≥{results['target']} {ok}",
                    f"{v['ledger_per_s']:,}",
                    f"{everything:.2f}",
                    f"{mb / 1e6:,.1f}" if mb is not None else "",
                ]
                lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines += notes
    lines.append(f"\n{results['seconds']} s in all.")
    return "\n".join(lines)
