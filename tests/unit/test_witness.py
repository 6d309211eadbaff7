"""The witness (:mod:`signing.witness`, c2sp.org/tlog-witness ``add-checkpoint``).

(a) ``tests/vectors/note/witness.json``: a scripted conversation with fixed keys and clock,
    every answer (status, 409 body, cosignature bytes) and the stored state after each step,
    run on the in-memory store and on SQLite.
(b) The race at the end of the spec's add-checkpoint section, forced deterministically, then
    free-running races of threads and of processes on one SQLite file: the stored size never
    goes back (an audit trigger records every write; the store's own rollback guards are
    dropped for the run, so the compare-and-swap alone is tested).
(c) The SQLite store: WAL, synchronous=FULL, triggers, persistence, uint64 sizes.
(d) The HTTP app in process (exact content types, 413); the real server is in
    tests/integration/test_witness_http.py.
(e) Properties: any request body gets one of the protocol's answers, never another error.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import multiprocessing
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.witness import SIZE_MEDIA_TYPE, create_witness_app
from signing import merkle
from signing.checkpoint import (
    EMPTY_ROOT,
    MAX_TREE_SIZE,
    Checkpoint,
    CosignatureSigner,
    require_witnesses,
)
from signing.errors import (
    InconsistentCheckpoint,
    MalformedWitnessRequest,
    OldSizeConflict,
    SigningError,
    UnknownLog,
    WitnessStorageError,
)
from signing.note import NoteSigner, NoteVerifier, add_signature_lines, sign_note
from signing.witness import (
    EMPTY_STATE,
    MAX_PROOF_LINES,
    AddCheckpointRequest,
    MemoryWitnessStore,
    TreeState,
    Witness,
    WitnessStorage,
    WitnessStore,
    http_status,
    origin_hash,
    parse_size_body,
)

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parents[1] / "vectors" / "note" / "witness.json").read_text("utf-8")
)
ORIGIN = "example.com/log"
LEAVES = [b"leaf %d" % i for i in range(64)]
LOG = NoteSigner(ORIGIN, Ed25519PrivateKey.from_private_bytes(bytes([1]) * 32))
OTHER = NoteSigner(ORIGIN, Ed25519PrivateKey.from_private_bytes(bytes([2]) * 32))
WITNESS_SEED = bytes([9]) * 32


def cosigner(clock: Callable[[], float] = time.time) -> CosignatureSigner:
    return CosignatureSigner(
        "witness.example/w", Ed25519PrivateKey.from_private_bytes(WITNESS_SEED), clock=clock
    )


def note(size: int, leaves: list[bytes] = LEAVES, signer: NoteSigner = LOG) -> bytes:
    return sign_note(Checkpoint(ORIGIN, size, merkle.root(leaves[:size])).to_body(), [signer])


def request(old: int, size: int, leaves: list[bytes] = LEAVES) -> bytes:
    proof = merkle.consistency_proof(leaves[:size], old) if old <= size else []
    return AddCheckpointRequest(old, tuple(proof), note(size, leaves)).to_bytes()


def answer(witness: Witness, body: bytes) -> tuple[int, bytes]:
    """What the HTTP layer would send: (status, body)."""
    try:
        return 200, witness.add_checkpoint(body)
    except SigningError as e:
        if isinstance(e, OldSizeConflict):
            return 409, f"{e.latest_size}\n".encode()
        return http_status(e), b""


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[WitnessStorage]:
    if request.param == "memory":
        yield MemoryWitnessStore()
        return
    s = WitnessStore(tmp_path / "witness.db")
    yield s
    s.close()


def make_witness(store: WitnessStorage, clock: Callable[[], float] = time.time) -> Witness:
    return Witness(cosigner(clock), {ORIGIN: [LOG.verifier]}, store)


# --------------------------------------------------------------------------- (a) vectors


def _vector_witness(store: WitnessStorage) -> Witness:
    seed = bytes.fromhex(VECTORS["witness"]["seedHex"])
    signer = CosignatureSigner(
        VECTORS["witness"]["name"],
        Ed25519PrivateKey.from_private_bytes(seed),
        clock=lambda: VECTORS["clock"],
    )
    assert signer.vkey == VECTORS["witness"]["vkey"]
    logs = {o: [NoteVerifier.from_vkey(v) for v in vs] for o, vs in VECTORS["logs"].items()}
    return Witness(signer, logs, store)


def test_witness_vectors(store: WitnessStorage) -> None:
    witness = _vector_witness(store)
    for step in VECTORS["steps"]:
        status, body = answer(witness, step["request"].encode())
        assert status == step["wantStatus"], step["desc"]
        if "wantBody" in step:
            assert body.decode() == step["wantBody"], step["desc"]
        after = step["stateAfter"]
        want = (
            None if after is None else TreeState(int(after["size"]), bytes.fromhex(after["root"]))
        )
        assert store.latest(step["origin"]) == want, step["desc"]


def test_vectors_cover_every_status() -> None:
    assert {s["wantStatus"] for s in VECTORS["steps"]} == {200, 400, 403, 404, 409, 422}


# --------------------------------------------------------------------------- behaviour


def test_first_checkpoint_then_extensions(store: WitnessStorage) -> None:
    witness = make_witness(store)
    lines = witness.add_checkpoint(request(0, 3))
    full = add_signature_lines(note(3), lines)
    assert require_witnesses(full, LOG.verifier, [witness.signer.verifier], 1).size == 3
    witness.add_checkpoint(request(3, 10))
    witness.add_checkpoint(request(10, 10))  # Same tree again: cosigned again.
    witness.add_checkpoint(request(10, 64))
    assert store.latest(ORIGIN) == TreeState(64, merkle.root(LEAVES))


def test_rollback_and_stale_sizes_are_refused(store: WitnessStorage) -> None:
    witness = make_witness(store)
    witness.add_checkpoint(request(0, 8))
    with pytest.raises(MalformedWitnessRequest):  # Old size above the checkpoint: 400.
        witness.add_checkpoint(request(8, 5))
    for old, size in [(0, 12), (5, 12), (7, 12), (9, 12), (5, 5), (0, 3), (7, 7)]:
        # A stale old size, or a smaller checkpoint (a rollback): 409 with the latest size.
        with pytest.raises(OldSizeConflict) as caught:
            witness.add_checkpoint(request(old, size))
        assert caught.value.latest_size == 8
    assert store.latest(ORIGIN) == TreeState(8, merkle.root(LEAVES[:8]))


def test_split_view_is_422_and_kept_as_evidence(tmp_path: Path) -> None:
    store = WitnessStore(tmp_path / "w.db")
    witness = make_witness(store)
    witness.add_checkpoint(request(0, 5))
    forked = [*LEAVES[:4], b"evil"]
    with pytest.raises(InconsistentCheckpoint) as caught:
        witness.add_checkpoint(AddCheckpointRequest(5, (), note(5, forked)).to_bytes())
    assert http_status(caught.value) == 422
    assert type(caught.value).__name__ == "SplitView"
    with pytest.raises(InconsistentCheckpoint):  # A bigger fork fails the proof.
        witness.add_checkpoint(
            AddCheckpointRequest(
                5,
                tuple(merkle.consistency_proof(forked + LEAVES[5:9], 5)),
                note(9, forked + LEAVES[5:9]),
            ).to_bytes()
        )
    reasons = [reason for _, reason, _ in store.evidence()]
    assert len(reasons) == 2 and "forked" in reasons[0]
    # A request that fails the signature check is not evidence of anything.
    with pytest.raises(SigningError):
        witness.add_checkpoint(AddCheckpointRequest(5, (), note(5, forked, OTHER)).to_bytes())
    assert len(store.evidence()) == 2
    assert store.latest(ORIGIN) == TreeState(5, merkle.root(LEAVES[:5]))
    store.close()


def test_unknown_origin_and_untrusted_key() -> None:
    witness = make_witness(MemoryWitnessStore())
    stranger = NoteSigner("example.com/stranger", Ed25519PrivateKey.generate())
    body = sign_note(
        Checkpoint("example.com/stranger", 1, merkle.root(LEAVES[:1])).to_body(), [stranger]
    )
    assert answer(witness, AddCheckpointRequest(0, (), body).to_bytes())[0] == 404
    assert answer(witness, AddCheckpointRequest(0, (), note(1, signer=OTHER)).to_bytes())[0] == 403


def test_cosignature_covers_extension_lines() -> None:
    witness = make_witness(MemoryWitnessStore())
    cp = Checkpoint(ORIGIN, 2, merkle.root(LEAVES[:2]), ("ext",))
    log_note = sign_note(cp.to_body(), [LOG])
    lines = witness.add_checkpoint(AddCheckpointRequest(0, (), log_note).to_bytes())
    got = require_witnesses(
        add_signature_lines(log_note, lines), LOG.verifier, [witness.signer.verifier], 1
    )
    assert got.extensions == ("ext",)


def test_monitoring_checkpoint(store: WitnessStorage) -> None:
    witness = make_witness(store)
    with pytest.raises(UnknownLog):
        witness.checkpoint_for(origin_hash(ORIGIN))  # Never cosigned: 404.
    witness.add_checkpoint(request(0, 6))
    served = witness.checkpoint_for(origin_hash(ORIGIN))
    assert require_witnesses(served, LOG.verifier, [witness.signer.verifier], 1).size == 6
    with pytest.raises(UnknownLog):
        witness.checkpoint_for(origin_hash("example.com/nobody"))
    with pytest.raises(UnknownLog):
        witness.checkpoint_for(origin_hash(ORIGIN).upper())


def test_witness_needs_keys_per_log() -> None:
    with pytest.raises(ValueError):
        Witness(cosigner(), {ORIGIN: []}, MemoryWitnessStore())
    with pytest.raises(ValueError):
        Witness(cosigner(), {"": [LOG.verifier]}, MemoryWitnessStore())


# --------------------------------------------------------------------------- request syntax


def test_request_round_trip_and_limits() -> None:
    proof = tuple(bytes([i]) * 32 for i in range(MAX_PROOF_LINES))
    body = AddCheckpointRequest(17, proof, note(1)).to_bytes()
    assert AddCheckpointRequest.parse(body) == AddCheckpointRequest(17, proof, note(1))
    too_many = body.replace(b"old 17\n", b"old 17\n" + b"A" * 43 + b"=\n")
    with pytest.raises(MalformedWitnessRequest):
        AddCheckpointRequest.parse(too_many)
    with pytest.raises(MalformedWitnessRequest):
        AddCheckpointRequest(0, (*proof, bytes(32)), note(1)).to_bytes()
    spec_example = (
        "old 20852014\n"
        "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n"
        "jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n"
        "5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=\n"
        "/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=\n"
        "\n"
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
        "\n— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7"
        "u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
    ).encode()
    parsed = AddCheckpointRequest.parse(spec_example)
    assert (parsed.old_size, len(parsed.proof)) == (20852014, 4)
    assert parsed.checkpoint.startswith(b"example.com/behind-the-sofa\n")
    for bad in [
        b"",
        b"old 1\n",
        b"\n\nx",
        b"old 01\n\nx",
        b"old -1\n\nx",
        b"old 18446744073709551616\n\nx",
        b"old 1\nAAAA\n\nx",
        b"old 1\r\n\r\nx",
        b"OLD 1\n\nx",
        b"old 1\n\n",
        "old ١\n\nx".encode(),
    ]:
        with pytest.raises(MalformedWitnessRequest):
            AddCheckpointRequest.parse(bad)


def test_parse_size_body() -> None:
    assert parse_size_body(b"0\n") == 0
    assert parse_size_body(b"50\n") == 50
    for bad in (b"", b"50", b"050\n", b"+5\n", b"5\n\n", b"\xff\n"):
        with pytest.raises(MalformedWitnessRequest):
            parse_size_body(bad)


# --------------------------------------------------------------------------- (b) races


class StallingStore:
    """Delegates to a store; the first :meth:`swap` waits until released."""

    def __init__(self, inner: WitnessStorage) -> None:
        self.inner = inner
        self.entered = threading.Event()
        self.release = threading.Event()
        self._stalled = False

    def latest(self, origin: str) -> TreeState | None:
        return self.inner.latest(origin)

    def latest_note(self, origin: str) -> bytes | None:
        return self.inner.latest_note(origin)

    def swap(
        self, origin: str, expected: TreeState | None, new: TreeState, note: bytes
    ) -> TreeState | None:
        if not self._stalled:
            self._stalled = True
            self.entered.set()
            assert self.release.wait(10)
        return self.inner.swap(origin, expected, new, note)

    def record_evidence(self, origin: str, reason: str, request: bytes) -> None:
        self.inner.record_evidence(origin, reason, request)


def test_the_spec_race_cannot_roll_back(store: WitnessStorage) -> None:
    """c2sp.org/tlog-witness: A (size N) checked, B (size N+K) checked, stored and answered;
    then A must not store N. Here A is held between its checks and its write."""
    stalling = StallingStore(store)
    witness = make_witness(stalling)
    result: dict[str, tuple[int, bytes]] = {}
    a = threading.Thread(target=lambda: result.setdefault("a", answer(witness, request(0, 3))))
    a.start()
    assert stalling.entered.wait(10)  # A passed every check and waits to write.
    assert answer(witness, request(0, 5))[0] == 200  # B wins.
    stalling.release.set()
    a.join(10)
    assert result["a"] == (409, b"5\n")
    assert store.latest(ORIGIN) == TreeState(5, merkle.root(LEAVES[:5]))


AUDIT = """
CREATE TABLE IF NOT EXISTS audit (seq INTEGER PRIMARY KEY, size TEXT, root BLOB);
CREATE TRIGGER IF NOT EXISTS audit_insert AFTER INSERT ON checkpoint
BEGIN INSERT INTO audit (size, root) VALUES (NEW.size, NEW.root); END;
CREATE TRIGGER IF NOT EXISTS audit_update AFTER UPDATE ON checkpoint
BEGIN INSERT INTO audit (size, root) VALUES (NEW.size, NEW.root); END;
DROP TRIGGER IF EXISTS checkpoint_forward_only;
"""


def _instrument(db: Path) -> None:
    """Record every write; drop the store's rollback trigger so only the CAS protects."""
    with sqlite3.connect(db, isolation_level=None) as conn:
        conn.executescript(AUDIT)
    conn.close()


def _audited_sizes(db: Path) -> list[tuple[int, bytes]]:
    conn = sqlite3.connect(db)
    try:
        return [
            (int(s), bytes(r)) for s, r in conn.execute("SELECT size, root FROM audit ORDER BY seq")
        ]
    finally:
        conn.close()


def _hammer(witness: Witness, rng: random.Random, rounds: int) -> list[int]:
    """Submit checkpoints of random sizes, following 409 answers; return the statuses."""
    known = 0
    statuses: list[int] = []
    for _ in range(rounds):
        size = rng.randint(0, len(LEAVES))
        status, body = answer(witness, request(known, size))
        statuses.append(status)
        if status == 409:
            known = parse_size_body(body)
        elif status == 200:
            known = size
    return statuses


def _check_forward_only(history: list[tuple[int, bytes]]) -> None:
    roots = {n: merkle.root(LEAVES[:n]) for n in range(len(LEAVES) + 1)}
    for (a, _), (b, root) in itertools.pairwise(history):
        assert b >= a, f"stored size went back from {a} to {b}"
        assert root == roots[b]


@pytest.mark.slow
def test_threads_never_store_an_older_size(tmp_path: Path) -> None:
    db = tmp_path / "witness.db"
    stores = [WitnessStore(db) for _ in range(3)]  # Three connections to one file.
    _instrument(db)
    witnesses = [make_witness(stores[i % 3]) for i in range(8)]
    results: list[list[int]] = [[] for _ in witnesses]
    barrier = threading.Barrier(len(witnesses))

    def run(i: int) -> None:
        barrier.wait()
        results[i] = _hammer(witnesses[i], random.Random(i), 40)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(witnesses))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    statuses = [s for r in results for s in r]
    assert len(statuses) == 8 * 40
    # Only the answers of a correct witness: no 422 (nothing is inconsistent), no 503.
    assert set(statuses) <= {200, 400, 409} and 200 in statuses and 409 in statuses
    history = _audited_sizes(db)
    assert len(history) == statuses.count(200)
    _check_forward_only(history)
    assert stores[0].latest(ORIGIN) == TreeState(history[-1][0], history[-1][1])
    for s in stores:
        s.close()


def _process_worker(db: str, index: int, rounds: int, barrier: Any, out: Any) -> None:
    store = WitnessStore(db)
    witness = make_witness(store)
    barrier.wait()  # Everyone open; the parent drops the rollback trigger.
    barrier.wait()
    out.put(_hammer(witness, random.Random(1000 + index), rounds))
    store.close()


@pytest.mark.slow
def test_processes_never_store_an_older_size(tmp_path: Path) -> None:
    db = tmp_path / "witness.db"
    WitnessStore(db).close()
    ctx = multiprocessing.get_context("spawn")
    n, rounds = 4, 30
    barrier = ctx.Barrier(n + 1)
    out = ctx.Queue()
    procs = [
        ctx.Process(target=_process_worker, args=(str(db), i, rounds, barrier, out))
        for i in range(n)
    ]
    for p in procs:
        p.start()
    barrier.wait(60)
    _instrument(db)
    barrier.wait(60)
    statuses = [s for _ in procs for s in out.get(timeout=300)]
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert len(statuses) == n * rounds
    assert set(statuses) <= {200, 400, 409} and 200 in statuses
    history = _audited_sizes(db)
    assert len(history) == statuses.count(200)
    _check_forward_only(history)


# --------------------------------------------------------------------------- (c) SQLite store


def test_sqlite_store_settings_and_persistence(tmp_path: Path) -> None:
    db = tmp_path / "witness.db"
    store = WitnessStore(db)
    assert store._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    witness = make_witness(store)
    witness.add_checkpoint(request(0, 9))
    store.close()
    reopened = WitnessStore(db)
    assert reopened.latest(ORIGIN) == TreeState(9, merkle.root(LEAVES[:9]))
    assert reopened.latest_note(ORIGIN) is not None
    with pytest.raises(OldSizeConflict):
        make_witness(reopened).add_checkpoint(request(0, 10))
    reopened.close()


def test_sqlite_triggers_refuse_rollback_fork_and_delete(tmp_path: Path) -> None:
    db = tmp_path / "witness.db"
    store = WitnessStore(db)
    make_witness(store).add_checkpoint(request(0, 9))
    conn = sqlite3.connect(db, isolation_level=None)
    for sql in [
        "UPDATE checkpoint SET size = '00000000000000000008'",
        "UPDATE checkpoint SET root = zeroblob(32)",
        "UPDATE checkpoint SET origin = 'x'",
        "DELETE FROM checkpoint",
        "UPDATE checkpoint SET size = '9'",
    ]:
        with pytest.raises(sqlite3.DatabaseError):
            conn.execute(sql)
    conn.execute("UPDATE checkpoint SET size = '00000000000000000010'")  # Forward is fine.
    conn.close()
    store.close()


def test_swap_contract(store: WitnessStorage) -> None:
    one = TreeState(1, merkle.root(LEAVES[:1]))
    two = TreeState(2, merkle.root(LEAVES[:2]))
    top = TreeState(MAX_TREE_SIZE, bytes(32))
    assert store.latest(ORIGIN) is None
    assert store.swap(ORIGIN, one, two, b"n") == EMPTY_STATE  # Not what is stored: no change.
    assert store.swap(ORIGIN, None, two, b"n2") is None
    assert store.swap(ORIGIN, None, one, b"n1") == two
    with pytest.raises(InconsistentCheckpoint):
        store.swap(ORIGIN, two, one, b"back")
    with pytest.raises(InconsistentCheckpoint):
        store.swap(ORIGIN, two, TreeState(2, bytes(32)), b"fork")
    assert store.latest(ORIGIN) == two and store.latest_note(ORIGIN) == b"n2"
    assert store.swap(ORIGIN, two, top, b"top") is None  # uint64 sizes fit.
    assert store.latest(ORIGIN) == top
    assert store.swap(ORIGIN, None, EMPTY_STATE, b"") == top


def test_storage_errors_are_wrapped(tmp_path: Path) -> None:
    with pytest.raises(WitnessStorageError):
        WitnessStore(tmp_path / "missing-dir" / "w.db")
    store = WitnessStore(tmp_path / "w.db")
    store.close()
    with pytest.raises(WitnessStorageError):
        store.latest(ORIGIN)
    assert http_status(WitnessStorageError("x")) == 503


# --------------------------------------------------------------------------- (d) HTTP app


def test_http_app_in_process(tmp_path: Path) -> None:
    app = create_witness_app(
        tmp_path / "w.db", cosigner(), {ORIGIN: [LOG.verifier]}, body_limit=4096
    )

    async def scenario() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://witness") as client:
            ok = await client.post("/add-checkpoint", content=request(0, 4))
            assert ok.status_code == 200
            assert ok.headers["content-type"] == "text/plain; charset=utf-8"
            assert ok.content.startswith("— witness.example/w ".encode())
            conflict = await client.post("/add-checkpoint", content=request(0, 5))
            assert conflict.status_code == 409
            assert conflict.headers["content-type"] == SIZE_MEDIA_TYPE  # Exactly, no charset.
            assert conflict.content == b"4\n"
            assert (await client.post("/add-checkpoint", content=request(4, 3))).status_code == 400
            assert (await client.post("/add-checkpoint", content=b"garbage")).status_code == 400
            big = await client.post("/add-checkpoint", content=b"x" * 4097)
            assert big.status_code == 413
            assert (await client.get("/add-checkpoint")).status_code == 405
            got = await client.get(f"/{origin_hash(ORIGIN)}/checkpoint")
            assert got.status_code == 200
            cp = require_witnesses(got.content, LOG.verifier, [cosigner().verifier], 1)
            assert cp.size == 4
            assert (await client.get(f"/{origin_hash('nope')}/checkpoint")).status_code == 404

    asyncio.run(scenario())


# --------------------------------------------------------------------------- (e) properties

PROPERTY_WITNESS = make_witness(MemoryWitnessStore(), clock=lambda: 1_700_000_000)
PROPERTY_WITNESS.add_checkpoint(request(0, 4))
PROTOCOL_STATUSES = {200, 400, 403, 404, 409, 422}


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_any_body_gets_a_protocol_answer(body: bytes) -> None:
    status, _ = answer(PROPERTY_WITNESS, body)
    assert status in PROTOCOL_STATUSES
    try:
        AddCheckpointRequest.parse(body)
    except MalformedWitnessRequest:
        pass


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 8), st.integers(0, 8), st.data())
def test_mutated_requests_get_a_protocol_answer(old: int, size: int, data: st.DataObject) -> None:
    body = bytearray(request(old, size) if old <= size else request(size, size))
    for _ in range(data.draw(st.integers(0, 3))):
        i = data.draw(st.integers(0, len(body) - 1))
        body[i] = data.draw(st.integers(0, 255))
    store = MemoryWitnessStore()
    witness = make_witness(store, clock=lambda: 1_700_000_000)
    witness.add_checkpoint(request(0, 4))
    status, _ = answer(witness, bytes(body))
    assert status in PROTOCOL_STATUSES
    latest = store.latest(ORIGIN)
    assert latest is not None and latest.size >= 4  # Never rolled back.
    if status == 200:
        assert latest == TreeState(latest.size, merkle.root(LEAVES[: latest.size]))


def test_empty_root_constant() -> None:
    assert EMPTY_STATE == TreeState(0, EMPTY_ROOT) and EMPTY_ROOT == merkle.root([])
