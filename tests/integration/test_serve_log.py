"""The log over HTTP from a real `socai serve`, and checkpoints made by the server itself."""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.cli import main
from bench.serve import free_port, serving
from signing import merkle
from signing.checkpoint import CosignatureVerifier, require_witnesses
from signing.note import NoteVerifier

PASS = "máy chủ sổ nhật ký"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    data = tmp_path_factory.mktemp("serve-log") / "data"
    port = free_port()
    old = os.environ.get("SOCAI_KEY_PASSPHRASE")
    os.environ["SOCAI_KEY_PASSPHRASE"] = PASS
    os.environ.pop("SOCAI_DATABASE_URL", None)
    try:
        assert main(["--data", str(data), "init", "--public-url", f"http://127.0.0.1:{port}"]) == 0
        assert main(["--data", str(data), "demo", "--students", "2"]) == 0
        conf = json.loads((data / "socai.json").read_text("utf-8"))
        conf["checkpoint_every_events"] = 1  # the server checkpoints every new event
        (data / "socai.json").write_text(json.dumps(conf), "utf-8")
        with serving(data, port, {"SOCAI_KEY_PASSPHRASE": PASS}) as base:
            yield data, base
    finally:
        if old is None:
            os.environ.pop("SOCAI_KEY_PASSPHRASE", None)
        else:
            os.environ["SOCAI_KEY_PASSPHRASE"] = old


def keys(data: Path) -> tuple[NoteVerifier, list[CosignatureVerifier], int]:
    conf = json.loads((data / "socai.json").read_text("utf-8"))
    return (
        NoteVerifier.from_vkey(conf["log"]["vkey"]),
        [CosignatureVerifier.from_vkey(w["vkey"]) for w in conf["witnesses"]],
        conf["witness_quorum"],
    )


def test_checkpoint_vkey_and_proofs(served: tuple[Path, str]) -> None:
    data, base = served
    log_key, witnesses, k = keys(data)
    assert httpx.get(f"{base}/api/v1/log/vkey", timeout=10).text.strip() == log_key.vkey
    note = httpx.get(f"{base}/api/v1/log/checkpoint", timeout=10)
    assert note.status_code == 200
    cp = require_witnesses(note.content, log_key, witnesses, k)
    proof = httpx.get(
        f"{base}/api/v1/log/prove", params={"record": "HS790007010001"}, timeout=10
    ).json()
    assert proof["tree_size"] <= cp.size
    signed = require_witnesses(proof["checkpoint"].encode(), log_key, witnesses, k)
    merkle.verify_inclusion(
        base64.b64decode(proof["leaf_hash"]),
        proof["leaf_index"],
        proof["tree_size"],
        [base64.b64decode(h) for h in proof["inclusion_proof"]],
        signed.root,
    )
    answer = httpx.get(
        f"{base}/api/v1/log/consistency", params={"old": 3, "new": cp.size}, timeout=10
    ).json()
    merkle.verify_consistency(
        3,
        cp.size,
        [base64.b64decode(h) for h in answer["consistency_proof"]],
        base64.b64decode(answer["old_root"]),
        cp.root,
    )


def test_bad_log_queries_get_4xx(served: tuple[Path, str]) -> None:
    _, base = served
    assert (
        httpx.get(f"{base}/api/v1/log/consistency", params={"old": 5, "new": 2}).status_code == 422
    )
    assert (
        httpx.get(f"{base}/api/v1/log/consistency", params={"old": -1, "new": 2}).status_code == 422
    )
    assert (
        httpx.get(f"{base}/api/v1/log/prove", params={"record": "HS-KHONG-CO"}).status_code == 404
    )


def test_server_checkpoints_new_events_by_itself(served: tuple[Path, str]) -> None:
    data, base = served
    log_key, witnesses, k = keys(data)
    before = require_witnesses(
        httpx.get(f"{base}/api/v1/log/checkpoint", timeout=10).content, log_key, witnesses, k
    ).size
    assert main(["--data", str(data), "pki", "revoke", "GV003", "--reason", "superseded"]) == 0
    deadline = time.monotonic() + 20
    size = before
    while time.monotonic() < deadline and size <= before:
        time.sleep(0.5)
        note = httpx.get(f"{base}/api/v1/log/checkpoint", timeout=10).content
        size = require_witnesses(note, log_key, witnesses, k).size
    assert size == before + 1
