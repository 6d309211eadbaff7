"""``socai bench ledger``: signed append throughput against same-run baselines.

Baselines, measured in the same run on the same storage (a fresh SQLite file
in WAL with ``synchronous=FULL``, through the same durable connection pool;
and PostgreSQL when ``SOCAI_DATABASE_URL`` is set):

- ``plain``: eventsourcing's own ``Mapper`` and ``EventStore`` saving the same
  domain events (JSON, no signature, no chain);
- ``bare-sign``: the rate of signing one message per event with the same key
  and algorithm, no storage at all.

Workloads: ``single`` (one event per save, as a teacher enters one score) and
``batch`` (1,000 events per save: one score for each of 1,000 students, as a
gradebook column is saved). Each cell is the median of several rounds, with
plain and signed rounds alternating so drift hits both alike.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, cast
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.utils import Environment

from ledger.application import Ledger, Settings
from ledger.domain import PRINCIPAL, StudentRecord
from signing.keys import KeyType, SoftwareSigner
from signing.pki import StaffSpec, create_demo_pki

TARGETS = {"batch": 0.6, "single": 0.85}
SCHOOL = "79BENCH1"


class PlainApplication(Application[UUID]):
    """eventsourcing with its stock mapper and event store, on the ledger's storage."""

    name = "socai"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        super().__init__()

    def construct_env(self, name: str, env: Any = None) -> Environment:
        base = super().construct_env(name, env)
        if self.settings.database_url:
            from ledger.postgres import env_from_url

            base.update(env_from_url(self.settings.database_url))
        else:
            self.settings.data_dir.mkdir(parents=True, exist_ok=True)
            base["SQLITE_DBNAME"] = str(self.settings.data_dir / "plain.sqlite")
        return base

    def construct_factory(self, env: Environment) -> InfrastructureFactory[Any]:
        if self.settings.database_url:
            from ledger.postgres import LedgerPostgresFactory

            return LedgerPostgresFactory(env)
        from ledger.sqlite import LedgerSQLiteFactory

        return LedgerSQLiteFactory(env)


def _fresh_postgres(url: str, name: str) -> str:
    from ledger.postgres import connect

    with connect(url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.rsplit("/", 1)[0] + "/" + name


def _setup(
    tmp: Path, database_url: str | None, key_type: str = "ec-p256"
) -> tuple[Ledger, PlainApplication, SoftwareSigner, UUID]:
    pki = create_demo_pki(
        tmp / "pki",
        school_name="Trường Đo Hiệu Năng",
        school_code=SCHOOL,
        province="Hà Nội",
        staff=[
            StaffSpec("HT001", "Hiệu Trưởng Đo", PRINCIPAL),
            StaffSpec("GV001", "Giáo Viên Đo", "Giáo viên", cast(KeyType, key_type)),
        ],
        passphrase=b"bench",
        now=datetime.now(UTC),
    )
    signed_url = plain_url = None
    if database_url:
        signed_url = _fresh_postgres(database_url, "socai_bench_signed")
        plain_url = _fresh_postgres(database_url, "socai_bench_plain")
    ledger = Ledger(Settings(tmp / "signed", signed_url))
    plain = PlainApplication(Settings(tmp / "plain", plain_url))
    seal = pki.seal_signer()
    ledger.register_school(seal, SCHOOL, "Trường Đo Hiệu Năng", "Hà Nội")
    principal_file = ledger.open_staff_file(seal, "HT001", PRINCIPAL)
    ledger.register_certificate(seal, principal_file, pki.staff["HT001"])
    principal = pki.signer_for("HT001")
    teacher_file = ledger.open_staff_file(principal, "GV001", "Giáo viên")
    ledger.register_certificate(principal, teacher_file, pki.staff["GV001"])
    return ledger, plain, pki.signer_for("GV001"), teacher_file


def _records(n: int, prefix: str, school: UUID, by: UUID) -> list[StudentRecord]:
    return [
        StudentRecord(
            student_code=f"{prefix}{i:06d}",
            school=school,
            school_year="2025-2026",
            grade=6,
            class_name="6A1",
            by=by,
        )
        for i in range(n)
    ]


def _rate(fn: Callable[[], int]) -> float:
    t = time.perf_counter()
    n = fn()
    return n / (time.perf_counter() - t)


def run_ledger_bench(*, quick: bool = False, out: Path | None = None) -> dict[str, Any]:
    """Run the ledger suite; return figures (and write JSON/Markdown to ``out``)."""
    rounds = 3 if quick else 9
    single_n = 200 if quick else 500
    batch_size = 1000
    batch_saves = 3 if quick else 6
    database_url = os.environ.get("SOCAI_DATABASE_URL") or None
    backends = [("sqlite", None)] + ([("postgresql", database_url)] if database_url else [])
    results: dict[str, Any] = {"suite": "ledger", "quick": quick, "backends": {}}
    started = time.perf_counter()
    for backend, url in backends:
        with tempfile.TemporaryDirectory(prefix="socai-bench-") as d:
            ledger, plain, teacher, teacher_id = _setup(Path(d), url)
            school = ledger.load(ledger.actor(teacher).owner, object).school  # type: ignore[attr-defined]
            try:
                results["backends"][backend] = _measure(
                    ledger,
                    plain,
                    teacher,
                    teacher_id,
                    school,
                    rounds,
                    single_n,
                    batch_size,
                    batch_saves,
                )
            finally:
                ledger.close()
                plain.close()
    results["seconds"] = round(time.perf_counter() - started, 1)
    results["markdown"] = _markdown(results)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "bench-report.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
        (out / "bench-report.md").write_text(results["markdown"])
    return results


def _measure(
    ledger: Ledger,
    plain: PlainApplication,
    teacher: SoftwareSigner,
    teacher_id: UUID,
    school: UUID,
    rounds: int,
    single_n: int,
    batch_size: int,
    batch_saves: int,
) -> dict[str, Any]:
    value = Decimal("8.5")
    figures: dict[str, dict[str, list[float]]] = {
        "single": {"plain": [], "signed": []},
        "batch": {"plain": [], "signed": []},
    }
    for r in range(rounds):
        # ABBA order: plain first in even rounds, signed first in odd ones.
        for kind in ("plain", "signed") if r % 2 == 0 else ("signed", "plain"):
            app: Any = plain if kind == "plain" else ledger
            kwargs: dict[str, Any] = {} if kind == "plain" else {"signer": teacher}
            # The records are enrolled outside the timed part, then each
            # workload appends scores to them.
            recs = _records(batch_size, f"{kind[0]}{r}-", school, teacher_id)
            for i in range(0, len(recs), 250):
                app.save(*recs[i : i + 250], **kwargs)

            def single(
                app: Any = app, kwargs: dict[str, Any] = kwargs, recs: list[StudentRecord] = recs
            ) -> int:
                for i in range(single_n):
                    rec = recs[i % 50]
                    rec.record_score(subject="Toán", term=1, kind="tx", value=value, by=teacher_id)
                    app.save(rec, **kwargs)
                return single_n

            def batch(
                app: Any = app, kwargs: dict[str, Any] = kwargs, recs: list[StudentRecord] = recs
            ) -> int:
                for _ in range(batch_saves):
                    for rec in recs:
                        rec.record_score(
                            subject="Toán", term=1, kind="tx", value=value, by=teacher_id
                        )
                    app.save(*recs, **kwargs)
                return batch_saves * len(recs)

            figures["single"][kind].append(_rate(single))
            figures["batch"][kind].append(_rate(batch))
    message = b"\x00" * 53
    n = 2000

    def bare() -> int:
        for _ in range(n):
            teacher.sign(message)
        return n

    bare_rates = [_rate(bare) for _ in range(rounds)]
    out: dict[str, Any] = {"algorithm": teacher.algorithm.label, "workloads": {}}
    bare_rate = statistics.median(bare_rates)
    for workload, per in figures.items():
        p = statistics.median(per["plain"])
        s = statistics.median(per["signed"])
        # Rounds are paired (same round, adjacent in time), so the median of
        # the per-round ratios is less exposed to drift than a ratio of medians.
        ratios = sorted(b / a for a, b in zip(per["plain"], per["signed"], strict=True))
        ratio = statistics.median(ratios)
        out["workloads"][workload] = {
            "events_per_save": 1 if workload == "single" else batch_size,
            "plain_events_per_s": round(p, 1),
            "signed_events_per_s": round(s, 1),
            "ratio_to_plain": round(ratio, 3),
            "ratio_range": [round(ratios[0], 3), round(ratios[-1], 3)],
            "rounds": len(ratios),
            "target_ratio": TARGETS[workload],
            "meets_target": ratio >= TARGETS[workload],
            "ratio_to_bare_sign": round(s / bare_rate, 3),
        }
    out["bare_sign_per_s"] = round(bare_rate, 1)
    return out


def _markdown(results: dict[str, Any]) -> str:
    lines = [
        "| backend | workload | plain ev/s | signed ev/s | signed/plain | target "
        "| bare sign/s | signed/bare |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for backend, b in results["backends"].items():
        for workload, w in b["workloads"].items():
            ok = "✓" if w["meets_target"] else "✗"
            cells = [
                backend,
                f"{workload} ({w['events_per_save']}/save)",
                f"{w['plain_events_per_s']:,.0f}",
                f"{w['signed_events_per_s']:,.0f}",
                f"{w['ratio_to_plain']:.2f}",
                f"≥{w['target_ratio']} {ok}",
                f"{b['bare_sign_per_s']:,.0f} ({b['algorithm']})",
                f"{w['ratio_to_bare_sign']:.2f}",
            ]
            lines.append("| " + " | ".join(cells) + " |")
    lines.append(f"\n{results['seconds']} s in all.")
    return "\n".join(lines)
