"""``socai bench verify``: offline verification of a transcript, and audit throughput.

- Verification latency of one issued transcript, offline: in this process
  (:func:`projections.verify.verify_pdf`) and as ``socai verify`` runs it, in a forked
  child with limits (:func:`projections.verify.verify_file`); p50, p95 and max over the
  runs. Target: p50 ≤ 300 ms.
- Audit throughput (``socai audit`` over the demo ledger, the authority replay in a second
  process beside the per-event checks) in events/s, against the bare
  verification rate of the signatures' algorithm (ECDSA P-256 over a 32-byte message)
  measured in the same run, on both cores (two processes). Target: ≥ 0.7×.
"""

from __future__ import annotations

import os
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from bench.demo import demo_school


def _bare_rate(n: int) -> float:
    """ECDSA P-256 / SHA-256 verifications per second in one process."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    message = os.urandom(32)
    signature = key.sign(message, ec.ECDSA(hashes.SHA256()))
    public = key.public_key()
    started = time.perf_counter()
    for _ in range(n):
        public.verify(signature, message, ec.ECDSA(hashes.SHA256()))
    return n / (time.perf_counter() - started)


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(1000 * statistics.median(ordered), 1),
        "p95_ms": round(1000 * ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 1),
        "max_ms": round(1000 * ordered[-1], 1),
    }


def run_verify_bench(*, quick: bool = False) -> dict[str, Any]:
    from api.demo import seed
    from api.issuing import open_issuer
    from ledger.audit import audit
    from projections.verify import trust_from_data_dir, verify_file, verify_pdf
    from projections.views import open_views

    runs = 10 if quick else 40
    students = 12 if quick else 60
    cores = os.cpu_count() or 1
    started = time.perf_counter()
    out: dict[str, Any] = {"suite": "verify", "quick": quick, "cores": cores}
    with demo_school("socai-bench-verify-") as demo:
        data, settings, ledger, pki = demo.data, demo.settings, demo.ledger, demo.pki
        seed(ledger, pki, settings, students=students)
        with open_views(settings) as views:
            issuer = open_issuer(settings, ledger, pki, views)
            issuer.issue(issuer.students_of("2025-2026"), jobs=cores)
        trust = trust_from_data_dir(data)
        pdf = sorted((data / "out").glob("*.pdf"))[0]
        content = pdf.read_bytes()
        verdict = verify_pdf(content, trust)  # warm-up
        inproc, sandboxed = [], []
        for _ in range(runs):
            t = time.perf_counter()
            verify_pdf(content, trust)
            inproc.append(time.perf_counter() - t)
            t = time.perf_counter()
            verify_file(pdf, trust)
            sandboxed.append(time.perf_counter() - t)
        t = time.perf_counter()
        report = audit(ledger, jobs=min(2, cores))
        audit_s = time.perf_counter() - t
        events = int(report.as_dict().get("events", 0))
    n = 2000 if quick else 20000
    with ProcessPoolExecutor(max_workers=cores) as pool:
        t = time.perf_counter()
        rates = list(pool.map(_bare_rate, [n] * cores))
        bare_wall = time.perf_counter() - t
    bare = sum(rates)
    audit_rate = events / audit_s
    out.update(
        {
            "verdict": verdict.status,
            "bytes": len(content),
            "in_process": _percentiles(inproc),
            "sandboxed": _percentiles(sandboxed),
            "target_p50_ms": 300,
            "audit_events": events,
            "audit_ok": report.ok,
            "audit_seconds": round(audit_s, 2),
            "audit_events_per_s": round(audit_rate),
            "bare_verifications_per_s_all_cores": round(bare),
            "bare_seconds": round(bare_wall, 2),
            "audit_ratio": round(audit_rate / bare, 3),
            "target_audit_ratio": 0.7,
            "seconds": round(time.perf_counter() - started, 1),
        }
    )
    p50 = out["sandboxed"]["p50_ms"]
    ok_p50 = "✓" if p50 <= 300 else "✗"
    ok_audit = "✓" if out["audit_ratio"] >= 0.7 else "✗"
    out["markdown"] = "\n".join(
        [
            f"Offline verification of one issued transcript ({len(content):,} bytes, verdict "
            f"{verdict.status}), {runs} runs:",
            "",
            "| how | p50 ms | p95 ms | max ms |",
            "|---|---:|---:|---:|",
            "| in process (`verify_pdf`) | {p50_ms} | {p95_ms} | {max_ms} |".format(
                **out["in_process"]
            ),
            "| `socai verify`: forked child with limits (`verify_file`) | {p50_ms} | {p95_ms} | "
            "{max_ms} |".format(**out["sandboxed"]),
            "",
            f"p50 {p50} ms {ok_p50} (target ≤ 300 ms).",
            "",
            f"Audit of the demo ledger: {events:,} events in {audit_s:.2f} s = "
            f"{audit_rate:,.0f} events/s; bare ECDSA P-256 verification on {cores} cores: "
            f"{bare:,.0f}/s; ratio {out['audit_ratio']:.3f} {ok_audit} (target ≥ 0.7).",
        ]
    )
    return out
