"""``socai bench scale``: how each cost grows with the ledger's size (10⁵, 10⁶, 10⁷ events).

One data directory per backend (SQLite; PostgreSQL too when ``SOCAI_DATABASE_URL`` is set)
starts as ``socai demo`` (a school, 12 students, their issued transcripts, a witnessed
checkpoint), then grows with a province from :mod:`bench.province` to each size in turn. At
each size, on the same store:

- **generate**: the province generator's rate for the step (signed through the commands);
- **append**: signed saves of new records (the ledger's storage path: sign, chain, insert,
  log), 1,000 events per save and one event per save;
- **proofs**: RFC 9162 inclusion proofs of random leaves and consistency proofs from random
  earlier sizes, from the stored perfect subtrees;
- **record load**: random province students read cold (every event replayed and its batch
  signature verified) and again from the ledger's aggregate cache;
- **rebuild**: the dashboard view rebuilt from the first event (reads every notification);
- **audit**: ``audit(jobs=2)``, every event re-verified, the log recomputed;
- **verify**: one issued transcript verified offline (``verify_pdf``) and online against a
  ``socai serve`` of the store (is it current, does the log extend its checkpoint);
- **bytes/event**: the store's size on disk over its events.

Baselines from the same run: the smallest size (each figure's growth is its ratio to it,
against log₂ n's) and the bare signing rate of the key. A cost per operation that grows more
than log₂ n does (with 25 % for noise) is marked ✗: a defect by the issue's rule.
"""

from __future__ import annotations

import io
import math
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager, redirect_stdout
from pathlib import Path
from typing import Any

from bench.province import GRADES, Plan, Scale, generate, progress_bar
from ledger.application import Ledger, Settings
from ledger.domain import StudentRecord, staff_id, student_id

FULL_SIZES = (10**5, 10**6, 10**7)
QUICK_SIZES = (3 * 10**4, 10**5)
QUICK_SCALE = Scale(2, classes_per_grade=2, class_size=20, years=3)
#: Growth allowed beyond log₂ n's before a figure is called a defect.
SLACK = 1.25
DEMO_SCHOOL = "79000701"


def run_scale_bench(
    *,
    quick: bool = False,
    sizes: Sequence[int] | None = None,
    keep: Path | None = None,
    backends: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Grow a ledger through ``sizes`` on each backend, measuring at each; return the figures."""
    sizes = tuple(sorted(sizes or (QUICK_SIZES if quick else FULL_SIZES)))
    url = os.environ.get("SOCAI_DATABASE_URL") or None
    chosen = list(backends or (["sqlite"] + (["postgresql"] if url else [])))
    started = time.perf_counter()
    out: dict[str, Any] = {"suite": "scale", "quick": quick, "sizes": list(sizes), "backends": {}}
    for backend in chosen:
        pg_sizes = sizes if backend == "sqlite" or quick else tuple(s for s in sizes if s <= 10**6)
        with ExitStack() as stack:
            if keep is not None:
                base = keep / backend
                base.mkdir(parents=True, exist_ok=True)
            else:
                base = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="socai-scale-")))
            database = None
            if backend == "postgresql":
                assert url is not None, "SOCAI_DATABASE_URL is needed for PostgreSQL"
                from bench.ledger import _fresh_postgres

                database = _fresh_postgres(url, "socai_bench_scale")
            out["backends"][backend] = grown = _grow(base / "data", database, pg_sizes, quick)
            if backend == "sqlite" and len(sizes) > 1:
                # The smallest size again, in a store of its own, verified turn about with
                # the largest: drift and other load hit both alike.
                small = base / "reference" / "data"
                _demo(Settings(small))
                generate(Settings(small), _scale(quick, sizes), until_events=sizes[0])
                grown["verify_interleaved"] = compare_verification(
                    Settings(small), Settings(base / "data"), 8 if quick else 30
                )
    out["seconds"] = round(time.perf_counter() - started, 1)
    out["markdown"] = markdown(out)
    return out


def _grow(data: Path, database: str | None, sizes: Sequence[int], quick: bool) -> dict[str, Any]:
    settings = Settings(data, database)
    pdf = _demo(settings)
    scale = _scale(quick, sizes)
    rows = []
    for size in sizes:
        done = generate(settings, scale, until_events=size, progress=_bar())
        sys.stderr.write("\n")
        row: dict[str, Any] = {
            "target": size,
            "generate_events_per_s": round(done.rate),
            "generated": done.written,
        }
        row.update(measure(settings, scale, done.units_done, pdf, quick=quick))
        rows.append(row)
        _print_row(settings.backend, row)
    return {
        "scale": {
            "schools": scale.schools,
            "classes_per_grade": scale.classes_per_grade,
            "class_size": scale.class_size,
            "years": scale.years,
        },
        "rows": rows,
        "growth": growth(rows),
    }


def _scale(quick: bool, sizes: Sequence[int]) -> Scale:
    return QUICK_SCALE if quick else Scale.for_events(max(sizes), years=3)


def _bar() -> Callable[[int, int, float], None] | None:
    return progress_bar() if sys.stderr.isatty() or os.environ.get("SOCAI_PROGRESS") else None


def _print_row(backend: str, row: dict[str, Any]) -> None:
    sys.stderr.write(
        f"[scale {backend}] {row['events']:,} events: gen {row['generate_events_per_s']:,}/s, "
        f"append {row['append_batch_per_s']:,}/s, audit {row['audit_events_per_s']:,}/s, "
        f"verify p50 {row['verify_p50_ms']} ms\n"
    )


def _demo(settings: Settings) -> Path:
    """``socai demo`` into the data directory (once); the first issued transcript."""
    from api.cli import main

    out = settings.data_dir / "out"
    # No passphrase or password is set in the environment (a later command in this process
    # would inherit it): ``socai demo`` keeps generated ones in DATA/secrets.
    if not out.is_dir():
        with _database_env(settings):
            with redirect_stdout(io.StringIO()):
                code = main(
                    ["--data", str(settings.data_dir), "demo", "--students", "12", "--json"]
                )
            if code:
                raise RuntimeError("socai demo failed")
    return sorted(out.glob("*.pdf"))[0]


@contextmanager
def _database_env(settings: Settings) -> Iterator[dict[str, str]]:
    """``SOCAI_DATABASE_URL`` as ``settings`` has it, for the CLI run in process; restored after."""
    saved = os.environ.get("SOCAI_DATABASE_URL")
    if settings.database_url:
        os.environ["SOCAI_DATABASE_URL"] = settings.database_url
    else:
        os.environ.pop("SOCAI_DATABASE_URL", None)
    try:
        yield {**os.environ, "SOCAI_DATA": str(settings.data_dir)}
    finally:
        if saved is None:
            os.environ.pop("SOCAI_DATABASE_URL", None)
        else:
            os.environ["SOCAI_DATABASE_URL"] = saved


# -- measuring at one size ---------------------------------------------------------------------


def measure(
    settings: Settings, scale: Scale, units_done: int, pdf: Path, *, quick: bool
) -> dict[str, Any]:
    """Every figure at the store's current size (the store grows by the appends only)."""
    row: dict[str, Any] = {}
    ledger = _open(settings)
    try:
        row["events"] = int(ledger.recorder.max_notification_id() or 0)
        row["bytes"] = store_bytes(settings)
        row["bytes_per_event"] = round(row["bytes"] / row["events"])
        row.update(_proofs(ledger, 100 if quick else 300))
        row.update(_loads(ledger, scale, units_done, 40 if quick else 150))
    finally:
        ledger.close()
    row.update(_rebuild(settings))
    row.update(_audit(settings))
    row.update(_verify(settings, pdf, 5 if quick else 15))
    ledger = _open(settings)
    try:
        row.update(_append(ledger, row["events"], 2 if quick else 4, 100 if quick else 300))
    finally:
        ledger.close()
    return row


def _open(settings: Settings) -> Ledger:
    from api.trust import load_trust
    from signing.keys import resolve_passphrase
    from signing.pki import DemoPKI

    pki = DemoPKI.load(
        settings.data_dir / "pki", resolve_passphrase(settings.data_dir, create=False)
    )
    return Ledger(settings, load_trust(settings.data_dir, pki))


def store_bytes(settings: Settings) -> int:
    """The event store's size on disk (SQLite files, or the PostgreSQL database)."""
    if settings.database_url:
        from ledger.postgres import connect

        with connect(settings.database_url) as conn:
            row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
            return int(row[0]) if row else 0
    path = settings.sqlite_path
    return sum(p.stat().st_size for p in (path, path.with_name(path.name + "-wal")) if p.is_file())


def _quantiles(samples: list[float], scale: float) -> tuple[float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return round(statistics.median(ordered) * scale, 3), round(p99 * scale, 3)


def _proofs(ledger: Ledger, n: int) -> dict[str, Any]:
    log = ledger.transparency_log
    size = log.size
    rng = random.Random(size)
    inclusion, consistency, hashes = [], [], []
    for _ in range(n):
        index = rng.randrange(size)
        t = time.perf_counter()
        proof = log.inclusion_proof(index, size)
        inclusion.append(time.perf_counter() - t)
        hashes.append(len(proof))
        old = rng.randrange(1, size)
        t = time.perf_counter()
        log.consistency_proof(old, size)
        consistency.append(time.perf_counter() - t)
    inc50, inc99 = _quantiles(inclusion, 1e6)
    con50, con99 = _quantiles(consistency, 1e6)
    return {
        "leaves": size,
        "inclusion_p50_us": inc50,
        "inclusion_p99_us": inc99,
        "inclusion_hashes": round(statistics.mean(hashes), 1),
        "consistency_p50_us": con50,
        "consistency_p99_us": con99,
    }


def _loads(ledger: Ledger, scale: Scale, units_done: int, n: int) -> dict[str, Any]:
    """Random province students read cold (replayed, verified) and then from the cache."""
    plan = Plan(scale)
    units = list(plan.units())[:units_done]
    rng = random.Random(units_done)
    cold, warm, per_event = [], [], []
    for _ in range(n):
        year, school = rng.choice(units)
        grade = rng.choice(GRADES)
        roster = plan.roster(school, year, grade, rng.randrange(scale.classes_per_grade))
        record = student_id(rng.choice(roster).code)
        ledger.forget_cached()
        t = time.perf_counter()
        agg = ledger.read(record, StudentRecord)
        cold.append(time.perf_counter() - t)
        per_event.append(cold[-1] / agg.version)
        t = time.perf_counter()
        ledger.read(record, StudentRecord)
        warm.append(time.perf_counter() - t)
    cold50, cold99 = _quantiles(cold, 1e3)
    warm50, _ = _quantiles(warm, 1e3)
    return {
        "load_cold_p50_ms": cold50,
        "load_cold_p99_ms": cold99,
        "load_cold_us_per_event": round(statistics.median(per_event) * 1e6, 1),
        "load_cached_p50_ms": warm50,
    }


def _rebuild(settings: Settings) -> dict[str, Any]:
    from projections.views import open_views

    with open_views(settings) as views:
        done = views.runner.rebuild(views.dashboard)
    return {
        "rebuild_events": done.events,
        "rebuild_seconds": round(done.seconds, 2),
        "rebuild_events_per_s": round(done.events / done.seconds) if done.seconds else 0,
    }


def _audit(settings: Settings) -> dict[str, Any]:
    from ledger.audit import audit

    ledger = _open(settings)
    try:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t = time.perf_counter()
        report = audit(ledger, jobs=2)
        seconds = time.perf_counter() - t
    finally:
        ledger.close()
    events = int(report.as_dict().get("events", 0))
    return {
        "audit_ok": report.ok,
        "audit_problems": [f"{p.check}: {p.detail}"[:200] for p in report.problems[:3]],
        "audit_events": events,
        "audit_seconds": round(seconds, 1),
        "audit_events_per_s": round(events / seconds),
        "audit_peak_rss_mib": round(
            max(before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) / 1024
        ),
        "audit_child_peak_rss_mib": round(
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        ),
    }


def _verify(settings: Settings, pdf: Path, runs: int) -> dict[str, Any]:
    """Offline, then online against ``socai serve`` on this store (a fresh checkpoint first)."""
    from api.cli import main
    from bench.serve import process_serving
    from projections.verify import trust_from_data_dir, verify_online, verify_pdf

    with _database_env(settings) as env:
        with redirect_stdout(io.StringIO()):
            main(["--data", str(settings.data_dir), "log", "checkpoint", "--json"])
    port = 18700 + os.getpid() % 200
    base = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--workers", "1"]
    argv += ["--log-level", "warning"]
    content = pdf.read_bytes()
    trust = trust_from_data_dir(settings.data_dir)
    offline, online, total = [], [], []
    status = ""
    with process_serving(argv, f"{base}/api/v1/health", env, "socai serve"):
        verify_online(verify_pdf(content, trust), trust, base_url=base)  # warm-up
        for _ in range(runs):
            t0 = time.perf_counter()
            report = verify_pdf(content, trust)
            t1 = time.perf_counter()
            report = verify_online(report, trust, base_url=base)
            t2 = time.perf_counter()
            offline.append(t1 - t0)
            online.append(t2 - t1)
            total.append(t2 - t0)
            status = report.status
    return {
        "verify_status": status,
        "verify_p50_ms": _quantiles(total, 1e3)[0],
        "verify_offline_p50_ms": _quantiles(offline, 1e3)[0],
        "verify_online_p50_ms": _quantiles(online, 1e3)[0],
    }


def compare_verification(small: Settings, large: Settings, runs: int) -> dict[str, Any]:
    """Verification p50 of two stores, each served by its own ``socai serve``, turn about.

    Each store verifies its own first issued transcript (the same demo school, so the same
    work offline); the online part asks that store's server. Both with one verifier's trust
    (the union of the two data directories' anchors, logs and witnesses): what varies is
    the ledger's size, not how many CAs the verifier trusts (a cost of its own, reported
    apart). ``ratio``: large over small.
    """
    from bench.serve import process_serving
    from projections.verify import trust_from_data_dir, verify_online, verify_pdf

    samples: dict[str, list[float]] = {"small": [], "large": [], "own_trust": []}
    online: dict[str, list[float]] = {"small": [], "large": [], "own_trust": []}
    statuses: dict[str, str] = {}
    sizes = {}
    with ExitStack() as stack:
        targets = {}
        for i, (name, settings) in enumerate((("small", small), ("large", large))):
            pdf = _demo(settings)
            with _database_env(settings) as env, redirect_stdout(io.StringIO()):
                from api.cli import main

                main(["--data", str(settings.data_dir), "log", "checkpoint", "--json"])
            port = 18900 + os.getpid() % 50 + 50 * i
            base = f"http://127.0.0.1:{port}"
            argv = [sys.executable, "-m", "api.cli", "serve", "--port", str(port)]
            argv += ["--workers", "1", "--log-level", "warning"]
            stack.enter_context(process_serving(argv, f"{base}/api/v1/health", env, name))
            targets[name] = (pdf.read_bytes(), trust_from_data_dir(settings.data_dir), base)
            ledger = Ledger(settings)
            sizes[name] = int(ledger.recorder.max_notification_id() or 0)
            ledger.close()
        small_trust, large_trust = targets["small"][1], targets["large"][1]
        # The small store's file with the small store's own trust (a few CAs): what the
        # number of trusted CAs costs, apart from the ledger's size.
        targets["own_trust"] = targets["small"]
        targets["small"] = (
            targets["small"][0],
            _union(small_trust, large_trust, _demo_cas(large)),
            targets["small"][2],
        )
        targets["large"] = (
            targets["large"][0],
            _union(large_trust, small_trust, _demo_cas(small)),
            targets["large"][2],
        )
        for content, trust, base in targets.values():  # warm-up
            verify_online(verify_pdf(content, trust), trust, base_url=base)
        for r in range(runs):
            order = ("small", "large", "own_trust")
            for name in order if r % 2 == 0 else order[::-1]:
                content, trust, base = targets[name]
                t0 = time.perf_counter()
                report = verify_pdf(content, trust)
                t1 = time.perf_counter()
                report = verify_online(report, trust, base_url=base)
                t2 = time.perf_counter()
                samples[name].append(t2 - t0)
                online[name].append(t2 - t1)
                statuses[name] = report.status
    p50 = {k: _quantiles(v, 1e3)[0] for k, v in samples.items()}
    trusted = {k: len(t.roots) + len(t.intermediates) for k, (_, t, _) in targets.items()}
    return {
        "events": sizes,
        "trusted_cas": trusted,
        "runs": runs,
        "status": statuses,
        "p50_ms": p50,
        "online_p50_ms": {k: _quantiles(v, 1e3)[0] for k, v in online.items()},
        "ratio": round(p50["large"] / p50["small"], 3),
        "target": "within 20 % (0.8–1.2)",
        "ok": 0.8 <= p50["large"] / p50["small"] <= 1.2,
    }


def _demo_cas(settings: Settings) -> list[Any]:
    """The CAs of the data directory's own demo PKI (``socai init``'s)."""
    from signing.pki import DemoPKI

    pki = DemoPKI.load(settings.data_dir / "pki", b"")  # certificates only: no key is read
    return [*pki.trust_roots(), *pki.intermediates()]


def _union(a: Any, b: Any, leave_out: Sequence[Any] = ()) -> Any:
    """``a``'s trust plus what ``b`` trusts but ``leave_out``: one verifier trusting both.

    ``leave_out``: ``b``'s own demo CAs. Two ``socai init``s make demo CAs of the same
    names with different keys; a verifier trusts one school of a name.
    """
    from projections.verify import VerifyTrust

    def both(x: tuple[Any, ...], y: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(dict.fromkeys([*x, *y]))

    def cas(x: tuple[Any, ...], y: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(dict.fromkeys([*x, *(c for c in y if c not in leave_out)]))

    return VerifyTrust(
        roots=cas(a.roots, b.roots),
        intermediates=cas(a.intermediates, b.intermediates),
        log_vkeys=both(a.log_vkeys, b.log_vkeys),
        witness_vkeys=both(a.witness_vkeys, b.witness_vkeys),
        witness_quorum=min(a.witness_quorum, b.witness_quorum),
    )


def _append(ledger: Ledger, head: int, saves: int, singles: int) -> dict[str, Any]:
    """New records saved through the signed store: 1,000 per save, then one per save."""
    from signing.keys import resolve_passphrase
    from signing.pki import DemoPKI

    pki = DemoPKI.load(
        ledger.settings.data_dir / "pki", resolve_passphrase(ledger.settings.data_dir, create=False)
    )
    teacher = pki.signer_for("HT001")  # enrolment is the principal's
    by = staff_id(DEMO_SCHOOL, "HT001")
    school = ledger.actor(teacher).owner
    school_of = ledger.read(school, object).school  # type: ignore[attr-defined]
    tag = f"B{head:09d}"

    def records(n: int, prefix: str) -> list[StudentRecord]:
        return [
            StudentRecord(
                student_code=f"{tag}{prefix}{i:05d}",
                school=school_of,
                school_year="2025-2026",
                grade=6,
                class_name="6Z",
                by=by,
            )
            for i in range(n)
        ]

    batch = []
    for s in range(saves):
        recs = records(1000, f"b{s}")
        t = time.perf_counter()
        ledger.save(*recs, signer=teacher)
        batch.append(1000 / (time.perf_counter() - t))
    recs = records(singles, "s")
    t = time.perf_counter()
    for rec in recs:
        ledger.save(rec, signer=teacher)
    single = singles / (time.perf_counter() - t)
    bare = _bare_sign(teacher, 2000)
    return {
        "append_batch_per_s": round(statistics.median(batch)),
        "append_single_per_s": round(single),
        "bare_sign_per_s": round(bare),
    }


def _bare_sign(signer: Any, n: int) -> float:
    message = b"\x00" * 32
    t = time.perf_counter()
    for _ in range(n):
        signer.sign(message)
    return n / (time.perf_counter() - t)


# -- growth and the report -------------------------------------------------------------------

#: (figure, kind): "rate" figures are events per second (cost per op = 1/rate); "cost"
#: figures are time or bytes per operation.
FIGURES: tuple[tuple[str, str, str], ...] = (
    ("generate_events_per_s", "rate", "generate (ev/s)"),
    ("append_batch_per_s", "rate", "append, 1,000/save (ev/s)"),
    ("append_single_per_s", "rate", "append, 1/save (ev/s)"),
    ("inclusion_p50_us", "cost", "inclusion proof p50 (µs)"),
    ("consistency_p50_us", "cost", "consistency proof p50 (µs)"),
    ("load_cold_us_per_event", "cost", "record load, cold (µs/event)"),
    ("load_cached_p50_ms", "cost", "record load, cached p50 (ms)"),
    ("rebuild_events_per_s", "rate", "dashboard rebuild (ev/s)"),
    ("audit_events_per_s", "rate", "audit (ev/s)"),
    ("verify_p50_ms", "cost", "verification p50 (ms)"),
    ("verify_online_p50_ms", "cost", "online part p50 (ms)"),
    ("bytes_per_event", "cost", "bytes/event"),
)


def growth(rows: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each figure's cost per operation at the largest size over the smallest, against log₂ n."""
    if len(rows) < 2:
        return {}
    first, last = rows[0], rows[-1]
    allowed = math.log2(last["events"]) / math.log2(first["events"]) * SLACK
    out = {}
    for key, kind, _ in FIGURES:
        a, b = first.get(key), last.get(key)
        if not a or not b:
            continue
        cost = (a / b) if kind == "rate" else (b / a)
        out[key] = {
            "cost_ratio": round(cost, 2),
            "allowed": round(allowed, 2),
            "ok": cost <= allowed,
        }
    return out


def markdown(results: dict[str, Any]) -> str:
    lines = []
    for backend, data in results["backends"].items():
        rows = data["rows"]
        sc = data["scale"]
        lines.append(
            f"### {backend}: {sc['schools']} schools × {4 * sc['classes_per_grade']} classes × "
            f"{sc['class_size']} students × {sc['years']} years (THCS)"
        )
        lines.append("")
        head = "| figure | " + " | ".join(f"{r['events']:,} ev" for r in rows)
        head += " | cost growth | allowed (log n) |"
        lines.append(head)
        lines.append("|---|" + "---:|" * (len(rows) + 2))
        g = data["growth"]
        for key, _, label in FIGURES:
            cells = " | ".join(_fmt(r.get(key)) for r in rows)
            grown = g.get(key)
            mark = f"{grown['cost_ratio']:.2f} {'✓' if grown['ok'] else '✗'}" if grown else "–"
            lines.append(f"| {label} | {cells} | {mark} | {grown['allowed'] if grown else '–'} |")
        extra: list[tuple[str, str | None]] = [
            ("audit ok", "audit_ok"),
            ("audit s", "audit_seconds"),
            ("audit peak RSS MiB (this, child)", None),
            ("verification verdict", "verify_status"),
            ("verification offline part p50 ms", "verify_offline_p50_ms"),
            ("record load cold p50 ms", "load_cold_p50_ms"),
            ("inclusion proof hashes", "inclusion_hashes"),
            ("bare ECDSA signatures/s", "bare_sign_per_s"),
            ("store MB", None),
        ]
        for label, field in extra:
            if field is None and label.startswith("audit peak"):
                cells = " | ".join(
                    f"{r['audit_peak_rss_mib']}, {r['audit_child_peak_rss_mib']}" for r in rows
                )
            elif field is None:
                cells = " | ".join(f"{r['bytes'] / 1e6:,.0f}" for r in rows)
            else:
                cells = " | ".join(_fmt(r.get(field)) for r in rows)
            lines.append(f"| {label} | {cells} | | |")
        lines.append("")
        v = data.get("verify_interleaved")
        if v:
            lines.append(
                f"Verification turn about ({v['runs']} runs each, offline and online against "
                f"each store's own server): {v['events']['small']:,} events p50 "
                f"{v['p50_ms']['small']} ms (online part {v['online_p50_ms']['small']} ms), "
                f"{v['events']['large']:,} events p50 {v['p50_ms']['large']} ms (online part "
                f"{v['online_p50_ms']['large']} ms): ratio {v['ratio']} "
                f"{'✓' if v['ok'] else '✗'} (target within 20 %); verdicts {v['status']}. "
                f"Both with one verifier's trust ({v['trusted_cas']['large']} CAs); the "
                f"{v['events']['small']:,}-event store's file with its own trust "
                f"({v['trusted_cas']['own_trust']} CAs): p50 {v['p50_ms']['own_trust']} ms."
            )
            lines.append("")
    lines.append(f"{results['seconds']:,.0f} s in all.")
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.3g}" if value < 100 else f"{value:,.0f}"


__all__ = ["FIGURES", "growth", "markdown", "measure", "run_scale_bench"]
