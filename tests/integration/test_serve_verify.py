"""``POST /api/v1/verify`` on a real ``socai serve`` over loopback: the same report as the CLI.

Raw PDF and multipart bodies; a body over the limit gets 413 before it is read whole; a
malformed PDF or a non-PDF gets a report (HTTP 200 with TOTAL-FAILED) or a 4xx, never a 5xx.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.cli import main
from bench.serve import free_port, serving
from projections.verify import trust_from_data_dir, verify_pdf
from tests.integration.web import supersede

PASS = "máy chủ kiểm tra học bạ"
LIMIT = 2 * 1024 * 1024


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    data = tmp_path_factory.mktemp("serve-verify") / "data"
    port = free_port()
    old = os.environ.get("SOCAI_KEY_PASSPHRASE")
    os.environ["SOCAI_KEY_PASSPHRASE"] = PASS
    os.environ.pop("SOCAI_DATABASE_URL", None)
    try:
        assert main(["--data", str(data), "init", "--public-url", f"http://127.0.0.1:{port}"]) == 0
        assert main(["--data", str(data), "demo", "--students", "2", "--jobs", "1"]) == 0
        conf = json.loads((data / "socai.json").read_text("utf-8"))
        conf["verify_upload_limit"] = LIMIT
        (data / "socai.json").write_text(json.dumps(conf), "utf-8")
        with serving(data, port, {"SOCAI_KEY_PASSPHRASE": PASS}) as base:
            yield data, base
    finally:
        if old is None:
            os.environ.pop("SOCAI_KEY_PASSPHRASE", None)
        else:
            os.environ["SOCAI_KEY_PASSPHRASE"] = old


def _issued(data: Path) -> bytes:
    return sorted((data / "out").glob("*.pdf"))[0].read_bytes()


def test_raw_and_multipart_give_the_cli_report(served: tuple[Path, str]) -> None:
    data, base = served
    pdf = _issued(data)
    raw = httpx.post(
        f"{base}/api/v1/verify",
        content=pdf,
        headers={"Content-Type": "application/pdf"},
        timeout=60,
    )
    assert raw.status_code == 200, raw.text
    report = raw.json()
    assert report["status"] == "TOTAL-PASSED", report
    form = httpx.post(
        f"{base}/api/v1/verify", files={"file": ("hb.pdf", pdf, "application/pdf")}, timeout=60
    )
    assert form.status_code == 200 and form.json() == report
    local = verify_pdf(pdf, trust_from_data_dir(data)).as_dict()
    assert report == local


def test_a_malformed_pdf_is_a_verdict_not_an_error(served: tuple[Path, str]) -> None:
    _, base = served
    for body in (b"", b"%PDF-1.7\n garbage", b"\x00" * 1000):
        r = httpx.post(
            f"{base}/api/v1/verify",
            content=body,
            headers={"Content-Type": "application/pdf"},
            timeout=60,
        )
        assert r.status_code == 200 and r.json()["status"] == "TOTAL-FAILED"
    wrong = httpx.post(
        f"{base}/api/v1/verify", content=b"x", headers={"Content-Type": "text/plain"}, timeout=60
    )
    assert wrong.status_code == 400
    nofile = httpx.post(f"{base}/api/v1/verify", files={"other": ("a", b"b")}, timeout=60)
    assert nofile.status_code == 400


def test_uploads_over_the_limit_get_413_before_being_read(served: tuple[Path, str]) -> None:
    _, base = served
    declared = httpx.post(
        f"{base}/api/v1/verify",
        content=b"%PDF" + b"0" * (LIMIT + 10),
        headers={"Content-Type": "application/pdf"},
        timeout=60,
    )
    assert declared.status_code == 413

    def chunks() -> Iterator[bytes]:
        yield b"%PDF-1.7\n"
        for _ in range(64):  # 4 MiB in chunks, no Content-Length
            yield b"0" * (64 * 1024)

    streamed = httpx.post(
        f"{base}/api/v1/verify",
        content=chunks(),
        headers={"Content-Type": "application/pdf"},
        timeout=60,
    )
    assert streamed.status_code == 413


def test_online_a_current_issue_passes_and_a_superseded_one_fails(
    served: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    from projections.verify import verify_online

    data, base = served
    first = sorted((data / "out").glob("HS79000701*-1.pdf"))[0]
    code = first.name.split("-")[0]
    trust = trust_from_data_dir(data)
    online = verify_online(verify_pdf(first.read_bytes(), trust), trust, base_url=base)
    assert online.status == "TOTAL-PASSED", online.as_text("en")
    assert {c.name for c in online.checks} >= {"online.status", "online.checkpoint"}
    supersede(data, code)
    stale = verify_online(verify_pdf(first.read_bytes(), trust), trust, base_url=base)
    assert stale.status == "TOTAL-FAILED"
    status = stale.check("online.status")
    assert status is not None and status.subindication == "REVOKED"
    # Offline, the superseded file is still what it was: genuine.
    assert verify_pdf(first.read_bytes(), trust).status == "TOTAL-PASSED"
    second = data / "out" / f"{code}-2.pdf"
    current = verify_online(verify_pdf(second.read_bytes(), trust), trust, base_url=base)
    assert current.status == "TOTAL-PASSED", current.as_text("en")
    assert main(["--data", str(data), "verify", str(first), "--online", "--issuer", base]) == 1
    assert "REVOKED" in capsys.readouterr().out
    unreachable = verify_online(
        verify_pdf(second.read_bytes(), trust), trust, base_url="http://127.0.0.1:9"
    )
    assert unreachable.status == "INDETERMINATE"
