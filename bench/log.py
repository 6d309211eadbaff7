"""``socai bench log``: proof latency at scale and the cost of keeping the log.

- Proofs: a SQLite ledger database whose log holds ``leaves`` leaves (10⁶ in the full run,
  10⁵ with ``--quick``), appended through the real storage path in batches; then p50/p95 of
  inclusion proofs (random index, full size) and consistency proofs (random old size), each
  read from storage and verified. Target: p50 < 2 ms on SQLite at 10⁶ leaves.
- Maintenance: signed appends of 1,000-event saves with the log kept in the same transaction,
  against the same saves with in-transaction logging switched off, alternating in the same
  run. Target: the log costs ≤ 15 % of signed-append throughput.
"""

from __future__ import annotations

import hashlib
import random
import statistics
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from ledger.application import Ledger, Settings
from ledger.log import LeafRow, TransparencyLog
from signing import merkle

PROOF_P50_TARGET_MS = 2.0
MAINTENANCE_TARGET = 0.15


def _fill(ledger: Ledger, leaves: int, batch: int = 20_000) -> TransparencyLog:
    """Append synthetic leaves through the real storage path (nodes computed by the log)."""
    storage: Any = ledger.recorder
    log = TransparencyLog(storage)
    size, last = storage.log_position()
    while size < leaves:
        n = min(batch, leaves - size)
        hashes = [hashlib.sha256(i.to_bytes(8, "big")).digest() for i in range(size, size + n)]
        rows = [LeafRow(size + i, last + i + 1, h) for i, h in enumerate(hashes)]
        nodes, frontier = log._new_nodes(size, hashes)
        assert storage.log_append((size, last), (size + n, last + n), rows, nodes, frontier)
        size, last = size + n, last + n
    return log


def _percentiles(samples: list[float]) -> dict[str, float]:
    samples = sorted(samples)
    return {
        "p50_ms": round(statistics.median(samples) * 1000, 3),
        "p95_ms": round(samples[int(len(samples) * 0.95) - 1] * 1000, 3),
    }


def _proofs(quick: bool) -> dict[str, Any]:
    leaves = 100_000 if quick else 1_000_000
    samples = 300 if quick else 1000
    rng = random.Random(9162)
    with tempfile.TemporaryDirectory(prefix="socai-bench-log-") as d:
        ledger = Ledger(Settings(Path(d)))
        try:
            t = time.perf_counter()
            log = _fill(ledger, leaves)
            fill_s = time.perf_counter() - t
            root = log.root(leaves)
            leaf_rows = {
                i: ledger.recorder.log_leaves(i, i + 1)[0].hash  # type: ignore[attr-defined]
                for i in rng.sample(range(leaves), samples)
            }
            inclusion = []
            for index, h in leaf_rows.items():
                t = time.perf_counter()
                proof = log.inclusion_proof(index, leaves)
                merkle.verify_inclusion(h, index, leaves, proof, root)
                inclusion.append(time.perf_counter() - t)
            consistency = []
            for _ in range(samples):
                old = rng.randrange(1, leaves)
                old_root = log.root(old)
                t = time.perf_counter()
                proof = log.consistency_proof(old, leaves)
                merkle.verify_consistency(old, leaves, proof, old_root, root)
                consistency.append(time.perf_counter() - t)
            db_bytes = sum(p.stat().st_size for p in Path(d).glob("ledger.sqlite*"))
        finally:
            ledger.close()
    inc = _percentiles(inclusion)
    con = _percentiles(consistency)
    return {
        "leaves": leaves,
        "fill_leaves_per_s": round(leaves / fill_s),
        "inclusion": inc,
        "consistency": con,
        "bytes_per_leaf": round(db_bytes / leaves, 1),
        "target_p50_ms": PROOF_P50_TARGET_MS,
        "meets_target": inc["p50_ms"] < PROOF_P50_TARGET_MS and con["p50_ms"] < PROOF_P50_TARGET_MS,
    }


def _maintenance(quick: bool) -> dict[str, Any]:
    """Signed 1,000-event saves with the log kept in the same transaction, and without it."""
    from bench.ledger import _records, _setup

    saves = 4 if quick else 10
    rounds = 3 if quick else 7
    value = Decimal("8.5")
    rates: dict[str, list[float]] = {"append": [], "append+log": []}
    with tempfile.TemporaryDirectory(prefix="socai-bench-logm-") as d:
        ledger, plain, teacher, teacher_id = _setup(Path(d), None)
        plain.close()
        recorder: Any = ledger.recorder
        school = ledger.load(ledger.actor(teacher).owner, object).school  # type: ignore[attr-defined]
        try:
            for r in range(rounds):
                for kind in ("append", "append+log") if r % 2 == 0 else ("append+log", "append"):
                    recorder.log_in_transaction = kind == "append+log"
                    recs = _records(1000, f"{kind[-3:]}{r}-", school, teacher_id)
                    ledger.save(*recs, signer=teacher)
                    ledger.transparency_log.catch_up()  # outside the timed part
                    t = time.perf_counter()
                    for _ in range(saves):
                        for rec in recs:
                            rec.record_score(
                                subject="Toán", term=1, kind="tx", value=value, by=teacher_id
                            )
                        ledger.save(*recs, signer=teacher)
                    rates[kind].append(saves * 1000 / (time.perf_counter() - t))
                    ledger.transparency_log.catch_up()
        finally:
            recorder.log_in_transaction = True
            ledger.close()
    ratios = sorted(b / a for a, b in zip(rates["append"], rates["append+log"], strict=True))
    cost = 1 - statistics.median(ratios)
    return {
        "append_events_per_s": round(statistics.median(rates["append"])),
        "append_and_log_events_per_s": round(statistics.median(rates["append+log"])),
        "log_cost": round(cost, 3),
        "log_cost_range": [round(1 - ratios[-1], 3), round(1 - ratios[0], 3)],
        "target_cost": MAINTENANCE_TARGET,
        "meets_target": cost <= MAINTENANCE_TARGET,
    }


def run_log_bench(*, quick: bool = False) -> dict[str, Any]:
    started = time.perf_counter()
    out: dict[str, Any] = {"suite": "log", "quick": quick}
    out["proofs"] = _proofs(quick)
    out["maintenance"] = _maintenance(quick)
    out["seconds"] = round(time.perf_counter() - started, 1)
    p, m = out["proofs"], out["maintenance"]
    ok = {True: "✓", False: "✗"}
    out["markdown"] = "\n".join(
        [
            "| log (SQLite) | figure | target |",
            "|---|---:|---:|",
            f"| leaves | {p['leaves']:,} | |",
            f"| inclusion proof + verify, p50 / p95 | {p['inclusion']['p50_ms']} / "
            f"{p['inclusion']['p95_ms']} ms | p50 < 2 ms {ok[p['inclusion']['p50_ms'] < 2]} |",
            f"| consistency proof + verify, p50 / p95 | {p['consistency']['p50_ms']} / "
            f"{p['consistency']['p95_ms']} ms | p50 < 2 ms {ok[p['consistency']['p50_ms'] < 2]} |",
            f"| log storage per leaf (leaves + nodes + index) | {p['bytes_per_leaf']} B | |",
            f"| signed append, 1000/save | {m['append_events_per_s']:,} ev/s | |",
            f"| signed append + log in the same transaction | "
            f"{m['append_and_log_events_per_s']:,} ev/s | |",
            f"| cost of the log | {m['log_cost'] * 100:.1f} % | ≤ 15 % {ok[m['meets_target']]} |",
            f"\n{out['seconds']} s in all.",
        ]
    )
    return out
