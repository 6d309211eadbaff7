"""The witness as a real HTTP server (uvicorn on loopback, in its own process).

A witness directory is made with :func:`api.witness.init_witness` and
:func:`api.witness.add_log`, then served by :func:`api.witness.serve_witness`. The scripted
conversation of ``tests/vectors/note/witness.json`` is replayed over HTTP (statuses, 409
bodies and content types; 200 bodies are checked as cosignatures, since this witness key is
fresh), then concurrent clients race, the server restarts on the same state, and the
monitoring endpoint serves the latest cosigned checkpoint.
"""

from __future__ import annotations

import json
import os
import random
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from api.witness import (
    DB_FILE,
    LOGS_FILE,
    SIZE_MEDIA_TYPE,
    WitnessConfigError,
    add_log,
    init_witness,
    load_logs,
    load_witness_signer,
)
from bench.serve import free_port, process_serving
from signing import merkle
from signing.checkpoint import Checkpoint, CosignatureVerifier, require_witnesses
from signing.errors import KeyUnusable
from signing.note import NoteSigner, NoteVerifier, add_signature_lines, sign_note
from signing.witness import AddCheckpointRequest, origin_hash, parse_size_body

ROOT = Path(__file__).resolve().parents[2]
VECTORS: dict[str, Any] = json.loads(
    (ROOT / "tests" / "vectors" / "note" / "witness.json").read_text("utf-8")
)
PASSPHRASE = b"witness test passphrase, not a secret"
PASS_ENV = "SOCAI_TEST_WITNESS_PASSPHRASE"
RACE_ORIGIN = "example.com/race-log"
RACE_LOG = NoteSigner(RACE_ORIGIN, Ed25519PrivateKey.from_private_bytes(bytes([7]) * 32))
LEAVES = [b"race leaf %d" % i for i in range(40)]

SERVE = (
    "import os, sys\n"
    "from api.witness import serve_witness\n"
    f"serve_witness(sys.argv[1], '127.0.0.1', int(sys.argv[2]), os.environb[b'{PASS_ENV}'])\n"
)


@contextmanager
def serving(directory: Path) -> Iterator[str]:
    """Run the witness of ``directory`` in a subprocess; yield its base URL; stop it."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, PASS_ENV: PASSPHRASE.decode()}
    argv = [sys.executable, "-c", SERVE, str(directory), str(port)]
    with process_serving(argv, f"{base}/{origin_hash('probe')}/checkpoint", env, "witness"):
        yield base


@pytest.fixture(scope="module")
def witness_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    directory = tmp_path_factory.mktemp("witness")
    vkey = init_witness(directory, "witness.socai.example/w1", PASSPHRASE)
    for origin, vkeys in VECTORS["logs"].items():
        for v in vkeys:
            add_log(directory, origin, v)
    add_log(directory, RACE_ORIGIN, RACE_LOG.vkey)
    return directory, vkey


def _log_verifier(origin: str) -> NoteVerifier:
    return NoteVerifier.from_vkey(VECTORS["logs"][origin][0])


def race_request(old: int, size: int) -> bytes:
    cp = Checkpoint(RACE_ORIGIN, size, merkle.root(LEAVES[:size]))
    proof = merkle.consistency_proof(LEAVES[:size], old) if old <= size else []
    return AddCheckpointRequest(old, tuple(proof), sign_note(cp.to_body(), [RACE_LOG])).to_bytes()


def test_witness_over_http(witness_dir: tuple[Path, str]) -> None:
    directory, vkey = witness_dir
    witness_key = CosignatureVerifier.from_vkey(vkey)
    with serving(directory) as base, httpx.Client(base_url=base, timeout=30) as client:
        # 1. The scripted conversation: every status of the protocol.
        for step in VECTORS["steps"]:
            got = client.post("/add-checkpoint", content=step["request"].encode())
            assert got.status_code == step["wantStatus"], step["desc"]
            if got.status_code == 409:
                assert got.headers["content-type"] == SIZE_MEDIA_TYPE, step["desc"]
                assert got.content.decode() == step["wantBody"], step["desc"]
            if got.status_code == 200:
                sent = AddCheckpointRequest.parse(step["request"].encode()).checkpoint
                cosigned = add_signature_lines(sent, got.content)
                require_witnesses(cosigned, _log_verifier(step["origin"]), [witness_key], 1)
        # 2. Monitoring: the latest cosigned checkpoint of each log, with both signatures.
        for origin in VECTORS["logs"]:
            served = client.get(f"/{origin_hash(origin)}/checkpoint")
            assert served.status_code == 200
            cp = require_witnesses(served.content, _log_verifier(origin), [witness_key], 1)
            final = [s for s in VECTORS["steps"] if s["origin"] == origin][-1]["stateAfter"]
            assert (cp.size, cp.root.hex()) == (int(final["size"]), final["root"])
        assert client.get(f"/{origin_hash(RACE_ORIGIN)}/checkpoint").status_code == 404
        # 3. Bodies over the limit are refused before they are read whole.
        assert client.post("/add-checkpoint", content=b"x" * ((1 << 20) + 1)).status_code == 413
        # 4. A race of clients on one log.
        sizes = _race(base)
    assert sizes == sorted(sizes), "the served size went back"
    # 5. A restart keeps the state (the witness persisted before answering).
    with serving(directory) as base, httpx.Client(base_url=base, timeout=30) as client:
        stale = client.post("/add-checkpoint", content=race_request(0, len(LEAVES)))
        assert stale.status_code == 409
        latest = parse_size_body(stale.content)
        assert latest == sizes[-1]
        assert (
            client.post("/add-checkpoint", content=race_request(latest, len(LEAVES))).status_code
            == 200
        )


def _race(base: str) -> list[int]:
    """Six clients submit random sizes and follow 409s while a monitor polls the served size."""
    statuses: list[int] = []
    seen: list[int] = []
    stop = threading.Event()
    lock = threading.Lock()

    def client_loop(seed: int) -> None:
        rng = random.Random(seed)
        known = 0
        with httpx.Client(base_url=base, timeout=30) as client:
            for _ in range(12):
                size = rng.randint(1, len(LEAVES))
                got = client.post("/add-checkpoint", content=race_request(known, size))
                with lock:
                    statuses.append(got.status_code)
                if got.status_code == 409:
                    known = parse_size_body(got.content)
                elif got.status_code == 200:
                    known = size

    def monitor() -> None:
        with httpx.Client(base_url=base, timeout=30) as client:
            while not stop.is_set():
                got = client.get(f"/{origin_hash(RACE_ORIGIN)}/checkpoint")
                if got.status_code == 200:
                    cp = require_witnesses(got.content, RACE_LOG.verifier, [], 0)
                    seen.append(cp.size)

    watcher = threading.Thread(target=monitor)
    watcher.start()
    clients = [threading.Thread(target=client_loop, args=(i,)) for i in range(6)]
    for t in clients:
        t.start()
    for t in clients:
        t.join(120)
    stop.set()
    watcher.join(30)
    assert set(statuses) <= {200, 400, 409} and 200 in statuses, statuses
    with httpx.Client(base_url=base, timeout=30) as client:
        final = client.get(f"/{origin_hash(RACE_ORIGIN)}/checkpoint")
        seen.append(require_witnesses(final.content, RACE_LOG.verifier, [], 0).size)
    return seen


# --------------------------------------------------------------------------- the directory


def test_witness_directory(tmp_path: Path) -> None:
    directory = tmp_path / "w"
    vkey = init_witness(directory, "witness.socai.example/w2", PASSPHRASE)
    assert CosignatureVerifier.from_vkey(vkey).name == "witness.socai.example/w2"
    assert load_witness_signer(directory, PASSPHRASE).vkey == vkey
    with pytest.raises(KeyUnusable):
        load_witness_signer(directory, b"wrong passphrase")
    with pytest.raises(WitnessConfigError):
        init_witness(directory, "witness.socai.example/w2", PASSPHRASE)  # Never overwrite.
    with pytest.raises(WitnessConfigError):
        init_witness(tmp_path / "other", "bad name", PASSPHRASE)
    log = NoteSigner("example.com/log", Ed25519PrivateKey.generate())
    rotated = NoteSigner("example.com/log", Ed25519PrivateKey.generate())
    add_log(directory, "example.com/log", log.vkey)
    add_log(directory, "example.com/log", log.vkey)  # Idempotent.
    add_log(directory, "example.com/log", rotated.vkey)  # Key rotation: both trusted.
    assert load_logs(directory) == {"example.com/log": [log.verifier, rotated.verifier]}
    stored = json.loads((directory / LOGS_FILE).read_text("utf-8"))
    assert stored == {
        "version": 1,
        "logs": [{"origin": "example.com/log", "vkeys": [log.vkey, rotated.vkey]}],
    }
    for origin, bad in [
        ("example.com/log", vkey),  # A cosignature key is not a log key.
        ("example.com/log", "garbage"),
        ("", log.vkey),
        ("a\nb", log.vkey),
    ]:
        with pytest.raises(WitnessConfigError):
            add_log(directory, origin, bad)
    with pytest.raises(WitnessConfigError):
        add_log(tmp_path / "nowhere", "example.com/log", log.vkey)
    assert not (directory / DB_FILE).exists()  # Created by the server, not by init.
