"""`socai bench` runs end to end and writes its report (figures are not asserted: they are
measurements, and the targets are judged in the bench report, not in tests)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from api.cli import main


@pytest.mark.slow
def test_bench_quick_writes_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SOCAI_DATABASE_URL", raising=False)
    monkeypatch.setenv("SOCAI_KEY_PASSPHRASE", "bench smoke")
    assert main(["bench", "ledger", "log", "--quick", "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "bench-report.json").read_text("utf-8"))
    assert set(report) == {"ledger", "log", "_run"}
    assert report["_run"]["machine"]["cpus"] and set(report["_run"]["seconds"]) == {"ledger", "log"}
    for workload in report["ledger"]["backends"]["sqlite"]["workloads"].values():
        assert workload["plain_events_per_s"] > 0 and workload["signed_events_per_s"] > 0
        assert isinstance(workload["meets_target"], bool)
    proofs = report["log"]["proofs"]
    assert proofs["leaves"] == 100_000
    assert proofs["inclusion"]["p50_ms"] > 0
    markdown = (tmp_path / "bench-report.md").read_text("utf-8")
    assert "| sqlite | single (1/save)" in markdown and "inclusion proof" in markdown
    assert "## ledger" in capsys.readouterr().out


@pytest.mark.slow
def test_bench_issue_quick_reports_both_pipelines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SOCAI_DATABASE_URL", raising=False)
    monkeypatch.setenv("SOCAI_KEY_PASSPHRASE", "bench smoke")
    assert main(["bench", "issue", "--quick", "--out", str(tmp_path)]) == 0
    issue = json.loads((tmp_path / "bench-report.json").read_text("utf-8"))["issue"]
    assert issue["transcripts"] == 40 and issue["refused"] == 0
    assert issue["naive_ms_per_transcript"] > 0 and issue["bulk_per_s"] > 0
    assert set(issue["bulk_phases_seconds"]) == {"prepare", "plan", "wait", "record"}
    assert "naive: pyHanko defaults" in (tmp_path / "bench-report.md").read_text("utf-8")
    capsys.readouterr()


@pytest.mark.slow
def test_bench_verify_quick_reports_latency_and_audit_ratio(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SOCAI_DATABASE_URL", raising=False)
    monkeypatch.setenv("SOCAI_KEY_PASSPHRASE", "bench smoke")
    assert main(["bench", "verify", "--quick", "--out", str(tmp_path)]) == 0
    verify = json.loads((tmp_path / "bench-report.json").read_text("utf-8"))["verify"]
    assert verify["verdict"] == "TOTAL-PASSED" and verify["audit_ok"]
    assert 0 < verify["in_process"]["p50_ms"] <= verify["in_process"]["max_ms"]
    assert verify["audit_events"] > 0 and verify["bare_verifications_per_s_all_cores"] > 0
    capsys.readouterr()


@pytest.mark.slow
@pytest.mark.postgres
def test_bench_api_quick_writes_over_http_and_every_write_lands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.conftest import drop_postgres, postgres_url

    url = postgres_url()
    monkeypatch.setenv("SOCAI_DATABASE_URL", url)
    try:
        assert main(["bench", "api", "--quick", "--out", str(tmp_path)]) == 0
    finally:
        drop_postgres(url)
    api = json.loads((tmp_path / "bench-report.json").read_text("utf-8"))["api"]
    assert set(api["backends"]) == {"postgresql"}
    pg = api["backends"]["postgresql"]
    assert pg["workers"] == 2
    phases = pg["phases"]
    assert set(phases) == {"health", "score", "column", "verify"}
    for name, phase in phases.items():
        for level in phase["levels"]:
            assert level["ok"] > 0 and 0 < level["p50_ms"] <= level["p99_ms"], name
    for name in ("score", "column"):
        assert phases[name]["warm_up"]["errors"] == {}, name
        assert all(level["errors"] == {} for level in phases[name]["levels"]), name
    assert phases["verify"]["verdict"] == "TOTAL-PASSED"
    # Every acknowledged score is in the ledger, verified, and nothing else was written.
    landed = pg["landed"]
    assert landed["ok"] and landed["missing"] == 0 and landed["unexpected"] == 0
    # ... and the bench counted them right: warm-up rounds (no errors) plus every level.
    singles = phases["score"]["warm_up"]["requests"]
    singles += sum(lv["ok"] for lv in phases["score"]["levels"])
    columns = phases["column"]["warm_up"]["requests"]
    columns += sum(lv["ok"] for lv in phases["column"]["levels"])
    assert landed["acknowledged_scores"] == singles + 35 * columns
    assert landed["events_verified"] > landed["acknowledged_scores"]
    assert "| postgresql (2 workers) | score |" in (tmp_path / "bench-report.md").read_text("utf-8")
    capsys.readouterr()


@pytest.mark.slow
def test_bench_scale_quick_grows_a_ledger_and_plots_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SOCAI_DATABASE_URL", raising=False)
    monkeypatch.setenv("SOCAI_KEY_PASSPHRASE", "bench smoke")
    store = tmp_path / "store"
    assert main(["bench", "scale", "--quick", "--keep", str(store), "--out", str(tmp_path)]) == 0
    scale = json.loads((tmp_path / "bench-report.json").read_text("utf-8"))["scale"]
    rows = scale["backends"]["sqlite"]["rows"]
    assert len(rows) == 2 and rows[0]["events"] < rows[1]["events"]
    for row in rows:
        assert row["audit_ok"] is True and row["audit_events"] >= row["events"]
        assert row["verify_status"] == "TOTAL-PASSED"
        assert row["inclusion_hashes"] > 10 and row["bytes_per_event"] > 0
        assert row["generate_events_per_s"] > 0 and row["append_batch_per_s"] > 0
    growth = scale["backends"]["sqlite"]["growth"]
    assert {"audit_events_per_s", "inclusion_p50_us", "verify_p50_ms"} <= set(growth)
    for name in ("scale-throughput.png", "scale-latency.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    markdown = (tmp_path / "bench-report.md").read_text("utf-8")
    assert "cost growth" in markdown and "![scale-latency](scale-latency.png)" in markdown
    # The grown store was kept where --keep said (a later run resumes it).
    assert (store / "sqlite" / "data" / "province.json").is_file()
    capsys.readouterr()
