"""``bench.soak`` in quick mode: half a minute of mixed load, its samples, then the crash.

The figures are measurements, not asserted against targets; what is asserted is that the
soak measured what it says (memory of each worker, latency and rate per kind of operation,
every sample interval) and that its fault phase checked what it must: a SIGKILL of the whole
server under load, a restart, every acknowledged write read back, the issuance run again,
the views caught up equal to a rebuild, the audit passing.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from bench.soak import QUICK_PLAN, run_soak
from tests.conftest import drop_postgres, postgres_url

SECONDS = 30.0


@pytest.mark.slow
@pytest.mark.postgres
def test_quick_soak_samples_and_survives_a_crash(tmp_path: Path) -> None:
    url = postgres_url()  # skips (or fails when required) without PostgreSQL
    started = time.monotonic()
    try:
        result = run_soak(SECONDS / 60, url, tmp_path, quick=True)
    finally:
        drop_postgres(url)
    took = time.monotonic() - started
    print(result["markdown"])
    print(f"quick soak: {took:.0f} s in all")

    samples = result["samples"]
    assert len(samples) >= int(SECONDS / QUICK_PLAN.sample_seconds) - 1
    for s in samples:
        memory = s["memory"]
        assert len(memory["workers_mib"]) == 2 and all(m > 0 for m in memory["workers_mib"])
        assert memory["tree_mib"] >= sum(memory["workers_mib"])
    # Every sample saw writes of both kinds, with their latencies.
    for s in samples[1:]:
        for kind in ("score", "column"):
            k = s["ops"][kind]
            assert k["ok"] > 0 and 0 < k["p50_ms"] <= k["p99_ms"], (s["t_s"], kind, k)
    overall = result["overall"]
    # The other kinds ran at least once in the half minute.
    for kind in ("verify", "issue", "download", "audit"):
        assert overall[kind]["ok"] >= 1, (kind, overall.get(kind))
    assert result["errors_before_fault"] == {}, result["errors_before_fault"]
    assert result["audits"] and all(a["ok"] for a in result["audits"])

    fault = result["fault"]
    assert fault["killed_processes"] >= 3
    assert fault["acknowledged_before_kill"] > 0
    assert all(200 <= s < 300 for s in fault["probe_statuses"])
    writes = fault["writes"]
    assert writes["missing"] == 0 and writes["stray"] == 0, writes
    assert writes["unacknowledged_landed"] == writes["in_doubt_landed"], writes
    assert fault["issuance_rerun"]["state"] == "done"
    assert fault["transcripts"]["ok"] and fault["transcripts"]["pending"] == []
    assert fault["views"]["ok"] and fault["audit"]["ok"]
    assert fault["ok"] and result["ok"]

    # The report: a row per sample, the summary, and the files.
    markdown = result["markdown"]
    assert markdown.count("\n| ") >= len(samples) + 2
    assert "All checks passed" in markdown
    saved = json.loads((tmp_path / "soak.json").read_text("utf-8"))
    assert len(saved["samples"]) == len(samples)
    assert (tmp_path / "soak.md").read_text("utf-8").startswith("Machine:")
    assert took < 90, f"the quick soak took {took:.0f} s"
