"""``socai views`` and ``socai transcript`` on a seeded demo, before and after ``socai shred``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from api.cli import EX_NOINPUT, main

RESIT = "HS790007010001"  # the demo's re-sit student


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


def test_views_and_transcript(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = str(tmp_path / "data")
    assert run(capsys, "--data", data, "demo", "--students", "8")[0] == 0
    code, out = run(capsys, "--data", data, "views", "rebuild", "--json")
    assert code == 0
    rebuilt = {v["view"]: v for v in json.loads(out)["views"]}
    assert set(rebuilt) == {"transcripts", "gradebook", "staff", "dashboard"}
    assert len({v["position"] for v in rebuilt.values()}) == 1  # all at the ledger's head

    code, out = run(capsys, "--data", data, "transcript", RESIT, "--json")
    assert code == 0
    (year,) = json.loads(out)["years"]
    assert year["identity"]["ho_va_ten"]
    result = year["result"]
    assert result["promotion"] == "Lên lớp sau kiểm tra, đánh giá lại"
    assert result["regulation"] == "TT22/2021"
    code, text = run(capsys, "--data", data, "transcript", RESIT)
    assert code == 0 and year["identity"]["ho_va_ten"] in text and "kiểm tra lại" in text

    assert run(capsys, "--data", data, "shred", RESIT, "--reason", "yêu cầu xoá")[0] == 0
    code, out = run(capsys, "--data", data, "transcript", RESIT, "--json")
    (after,) = json.loads(out)["years"]
    assert after["identity"] is None and after["shredded"]
    assert after["result"] == result  # academic results stay
    code, text = run(capsys, "--data", data, "transcript", RESIT)
    assert "đã xoá dữ liệu cá nhân" in text and year["identity"]["ho_va_ten"] not in text

    assert run(capsys, "--data", data, "transcript", "HS-NOBODY")[0] == EX_NOINPUT
