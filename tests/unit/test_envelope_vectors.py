"""The signed event envelope against its test vectors (``tests/vectors/envelope``).

(a) An independent re-implementation, with hashlib and struct only, of the event
    hash, the batch tree, the envelope layout and the signature encodings,
    checked against every vector (nothing from ``signing.envelope`` is used there).
(b) ``signing.envelope`` and ``signing.algorithms`` agree with every vector and
    raise the named ``signing.errors`` class on every mutated case.
(c) ``encode(decode(x)) == x``.
(d) Properties: sealed batches verify; every single-byte change of a stored
    envelope is caught; ``decode`` raises nothing but ``MalformedEnvelope``.

The byte-exact specification is ``docs/formats.md``.
"""

from __future__ import annotations

import hashlib
import json
import struct
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from eventsourcing.persistence import Mapper, StoredEvent
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signing import algorithms, envelope, errors
from signing.algorithms import Algorithm
from signing.envelope import Envelope, Unsealed, decode, seal
from signing.errors import HashMismatch, MalformedEnvelope, VerificationError
from signing.keys import certificate_fingerprint

VECTOR_FILE = Path(__file__).resolve().parents[1] / "vectors" / "envelope" / "vectors.json"
VECTORS: dict[str, Any] = json.loads(VECTOR_FILE.read_text(encoding="utf-8"))
SUITES: list[dict[str, Any]] = VECTORS["suites"]
EVENTS = [(s, e) for s in SUITES for e in s["events"]]
CASES = [(s, c) for s in SUITES for c in s["cases"]]
H = bytes.fromhex


def _event_id(item: tuple[dict[str, Any], dict[str, Any]]) -> str:
    suite, event = item
    return f"{suite['name']}-{event['batchIndex']}"


def _case_id(item: tuple[dict[str, Any], dict[str, Any]]) -> str:
    suite, case = item
    return f"{suite['name']}-{case['desc'][:48]}"


def _cert(suite: dict[str, Any]) -> x509.Certificate:
    return x509.load_pem_x509_certificate(suite["certificatePem"].encode())


def _key(suite: dict[str, Any]) -> Any:
    return serialization.load_pem_private_key(suite["privateKeyPem"].encode(), None)


# =========================================================================== (a) independent

# The constants, spelled out as docs/formats.md gives them.
EVENT_DOMAIN = b"socai/event/v1\x00"
BATCH_DOMAIN = b"socai/event-batch/v1\x00"
MAGIC = b"SCE1"
HEADER = 106  # 4 + 1 + 32 + 32 + 32 + 2 + 2 + 1


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def indep_preimage(rid: bytes, version: int, topic: str, prev: bytes, payload: bytes) -> bytes:
    t = topic.encode("utf-8")
    return b"".join(
        (
            EVENT_DOMAIN,
            struct.pack(">I", len(rid)),
            rid,
            struct.pack(">Q", version),
            struct.pack(">I", len(t)),
            t,
            prev,
            _sha256(payload),
        )
    )


def indep_leaf(h: bytes) -> bytes:
    return _sha256(b"\x00" + h)


def indep_mth(leaves: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1, recursively: split at the largest power of two below n."""
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return _sha256(b"\x01" + indep_mth(leaves[:k]) + indep_mth(leaves[k:]))


def indep_path(leaves: list[bytes], m: int) -> list[bytes]:
    """RFC 9162 §2.1.3.1 PATH(m, D[n]), bottom-up."""
    if len(leaves) == 1:
        return []
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    if m < k:
        return [*indep_path(leaves[:k], m), indep_mth(leaves[k:])]
    return [*indep_path(leaves[k:], m - k), indep_mth(leaves[:k])]


def indep_parse(env: bytes) -> dict[str, Any] | None:
    """Parse by the offsets of docs/formats.md; None where a verifier must reject."""
    if len(env) < HEADER + 2 or env[0:4] != MAGIC or env[4] not in (1, 2, 3, 4):
        return None
    size, index, plen = struct.unpack(">HHB", env[101:106])
    if not 1 <= size <= 64 or index >= size or len(env) < HEADER + 32 * plen + 2:
        return None
    (slen,) = struct.unpack(">H", env[HEADER + 32 * plen : HEADER + 32 * plen + 2])
    sig_at = HEADER + 32 * plen + 2
    if slen == 0 or len(env) < sig_at + slen:
        return None
    return {
        "alg": env[4],
        "signer": env[5:37],
        "prev": env[37:69],
        "hash": env[69:101],
        "size": size,
        "index": index,
        "path": [env[HEADER + 32 * i : HEADER + 32 * i + 32] for i in range(plen)],
        "sig": env[sig_at : sig_at + slen],
        "payload": env[sig_at + slen :],
    }


def indep_root_from_path(h: bytes, index: int, size: int, path: list[bytes]) -> bytes | None:
    """RFC 9162 §2.1.3.2 steps 2-5; None where it fails."""
    fn, sn, r = index, size - 1, indep_leaf(h)
    for p in path:
        if sn == 0:
            return None
        if fn % 2 == 1 or fn == sn:
            r = _sha256(b"\x01" + p + r)
            while fn % 2 == 0 and fn != 0:
                fn //= 2
                sn //= 2
        else:
            r = _sha256(b"\x01" + r + p)
        fn //= 2
        sn //= 2
    return r if sn == 0 else None


def test_constants() -> None:
    c = VECTORS["constants"]
    assert H(c["magic"]) == MAGIC
    assert H(c["eventDomain"]) == EVENT_DOMAIN
    assert H(c["batchDomain"]) == BATCH_DOMAIN
    assert H(c["zeroHash"]) == bytes(32)
    assert c["headerSize"] == HEADER
    assert c["maxBatch"] == 64
    # The record-id namespace: uuid5(NAMESPACE_URL, "https://socai.invalid/records").
    assert c["recordNamespace"] == str(
        uuid.uuid5(uuid.NAMESPACE_URL, "https://socai.invalid/records")
    )
    assert VECTORS["checkOrder"] == ["envelope", "hash", "signer", "signature", "chain"]


@pytest.mark.parametrize("item", EVENTS, ids=_event_id)
def test_indep_event_hash(item: tuple[dict[str, Any], dict[str, Any]]) -> None:
    _suite, ev = item
    ns = uuid.UUID(VECTORS["constants"]["recordNamespace"])
    rid = uuid.uuid5(ns, f"student/{ev['recordCode']}")
    assert str(rid) == ev["recordId"]
    assert rid.bytes.hex() == ev["recordIdBytes"]
    assert ev["topic"].encode("utf-8").hex() == ev["topicBytes"]
    payload = H(ev["payload"])
    assert payload.decode("utf-8") == ev["payloadText"]
    assert _sha256(payload).hex() == ev["payloadSha256"]
    if ev["version"] == 1:
        assert ev["prev"] == "00" * 32
    pre = indep_preimage(H(ev["recordIdBytes"]), ev["version"], ev["topic"], H(ev["prev"]), payload)
    assert pre.hex() == ev["preimage"]
    assert _sha256(pre).hex() == ev["eventHash"]
    assert indep_leaf(H(ev["eventHash"])).hex() == ev["leafHash"]


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s["name"])
def test_indep_chain_and_batch_tree(suite: dict[str, Any]) -> None:
    events = suite["events"]
    batch = suite["batch"]
    # prev is the hash of the same record's previous event in the batch.
    heads: dict[str, str] = {}
    for ev in events:
        assert ev["prev"] == heads.get(ev["recordId"], "00" * 32)
        heads[ev["recordId"]] = ev["eventHash"]
    leaves = [indep_leaf(H(e["eventHash"])) for e in events]
    assert [x.hex() for x in leaves] == batch["leafHashes"]
    assert batch["levels"][0] == batch["leafHashes"]
    assert batch["levels"][-1] == [batch["root"]]
    root = indep_mth(leaves)
    assert root.hex() == batch["root"]
    assert batch["size"] == len(events)
    message = BATCH_DOMAIN + struct.pack(">H", len(events)) + root
    assert message.hex() == batch["signedMessage"]
    for i, ev in enumerate(events):
        assert ev["batchIndex"] == i
        assert [p.hex() for p in indep_path(leaves, i)] == ev["path"]
        got = indep_root_from_path(H(ev["eventHash"]), i, len(events), [H(p) for p in ev["path"]])
        assert got == root


@pytest.mark.parametrize("item", EVENTS, ids=_event_id)
def test_indep_envelope_layout(item: tuple[dict[str, Any], dict[str, Any]]) -> None:
    suite, ev = item
    env = H(ev["envelope"])
    p = indep_parse(env)
    assert p is not None
    assert p["alg"] == suite["algorithmId"]
    assert p["signer"].hex() == suite["fingerprint"]
    assert p["prev"].hex() == ev["prev"]
    assert p["hash"].hex() == ev["eventHash"]
    assert (p["size"], p["index"]) == (suite["batch"]["size"], ev["batchIndex"])
    assert [x.hex() for x in p["path"]] == ev["path"]
    assert p["sig"].hex() == suite["batch"]["signature"]
    assert p["payload"].hex() == ev["payload"]
    # The layout table is contiguous, starts at 0 and covers every byte.
    offset = 0
    for field in ev["layout"]:
        assert field["offset"] == offset
        assert env[offset : offset + field["length"]].hex() == field["value"]
        offset += field["length"]
    assert offset == len(env)


def _der_integer(data: bytes, at: int) -> tuple[int, int]:
    assert data[at] == 0x02
    n = data[at + 1]
    assert n < 0x80
    body = data[at + 2 : at + 2 + n]
    # Minimal, positive: no leading 0x00 unless the next byte has its top bit set.
    assert body[0] & 0x80 == 0
    assert not (body[0] == 0 and len(body) > 1 and body[1] & 0x80 == 0)
    return int.from_bytes(body, "big"), at + 2 + n


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s["name"])
def test_indep_signature_encoding(suite: dict[str, Any]) -> None:
    batch = suite["batch"]
    sig = H(batch["signature"])
    message = H(batch["signedMessage"])
    pub = _cert(suite).public_key()
    alg = suite["algorithmId"]
    if alg == 1:
        # ECDSA: DER SEQUENCE { INTEGER r, INTEGER s } (RFC 3279 §2.2.3).
        assert sig[0] == 0x30 and sig[1] == len(sig) - 2
        r, at = _der_integer(sig, 2)
        s, at = _der_integer(sig, at)
        assert at == len(sig)
        assert (f"{r:064x}", f"{s:064x}") == (batch["r"], batch["s"])
        assert isinstance(pub, ec.EllipticCurvePublicKey)
        pub.verify(sig, message, ec.ECDSA(hashes.SHA256()))
    elif alg == 2:
        assert len(sig) == 64  # RFC 8032 §5.1.6: R || S, 32 bytes each.
        assert isinstance(pub, ed25519.Ed25519PublicKey)
        pub.verify(sig, message)
    else:
        assert isinstance(pub, rsa.RSAPublicKey)
        nums = pub.public_numbers()
        k = (nums.n.bit_length() + 7) // 8
        assert len(sig) == k == 256
        em = pow(int.from_bytes(sig, "big"), nums.e, nums.n).to_bytes(k, "big")
        assert em.hex() == batch["encodedMessage"]
        digest = _sha256(message)
        if alg == 4:
            # RFC 8017 §9.2 EMSA-PKCS1-v1_5: 00 01 FF.. 00 DigestInfo(SHA-256) H.
            t = H(VECTORS["constants"]["sha256DigestInfoPrefix"]) + digest
            assert em == b"\x00\x01" + b"\xff" * (k - len(t) - 3) + b"\x00" + t
        else:
            # RFC 8017 §9.1.2 EMSA-PSS-VERIFY: emBits = modBits - 1 = 2047, so emLen = 256
            # and the top bit of EM is zero; MGF1-SHA-256; sLen = 32; trailer 0xbc.
            em_bits = nums.n.bit_length() - 1
            em_len = (em_bits + 7) // 8
            zero_bits = 8 * em_len - em_bits
            assert em_len == k
            assert em[-1] == 0xBC
            assert em[0] >> (8 - zero_bits) == 0
            masked, h = em[: em_len - 33], em[em_len - 33 : em_len - 1]
            mask = b""
            counter = 0
            while len(mask) < len(masked):
                mask += _sha256(h + counter.to_bytes(4, "big"))
                counter += 1
            db = bytes(a ^ b for a, b in zip(masked, mask, strict=False))
            db = bytes([db[0] & (0xFF >> zero_bits)]) + db[1:]
            # DB = PS (zeros) || 0x01 || salt.
            assert db[:-33] == bytes(len(db) - 33)
            assert db[-33] == 0x01
            salt = db[-32:]
            assert salt.hex() == batch["pssSalt"]
            assert _sha256(bytes(8) + digest + salt) == h


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s["name"])
def test_indep_fingerprint(suite: dict[str, Any]) -> None:
    der = _cert(suite).public_bytes(serialization.Encoding.DER)
    assert der.hex() == suite["certificateDer"]
    assert _sha256(der).hex() == suite["fingerprint"]


def _indep_verify(cert: x509.Certificate, alg: int, sig: bytes, message: bytes) -> bool:
    pub = cert.public_key()
    try:
        if alg == 1 and isinstance(pub, ec.EllipticCurvePublicKey):
            pub.verify(sig, message, ec.ECDSA(hashes.SHA256()))
        elif alg == 2 and isinstance(pub, ed25519.Ed25519PublicKey):
            pub.verify(sig, message)
        elif alg == 3 and isinstance(pub, rsa.RSAPublicKey):
            pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
            pub.verify(sig, message, pss, hashes.SHA256())
        elif alg == 4 and isinstance(pub, rsa.RSAPublicKey):
            pub.verify(sig, message, padding.PKCS1v15(), hashes.SHA256())
        else:
            return False
    except (InvalidSignature, ValueError):
        return False
    return True


@pytest.mark.parametrize("item", CASES, ids=_case_id)
def test_indep_cases(item: tuple[dict[str, Any], dict[str, Any]]) -> None:
    suite, case = item
    got: str | None = None
    p = indep_parse(H(case["envelope"]))
    if p is None:
        got = "envelope"
    elif (
        _sha256(
            indep_preimage(
                H(case["recordIdBytes"]), case["version"], case["topic"], p["prev"], p["payload"]
            )
        )
        != p["hash"]
    ):
        got = "hash"
    elif p["signer"].hex() != suite["fingerprint"]:
        got = "signer"
    else:
        root = indep_root_from_path(p["hash"], p["index"], p["size"], p["path"])
        message = BATCH_DOMAIN + struct.pack(">H", p["size"]) + (root or b"")
        if root is None or not _indep_verify(_cert(suite), p["alg"], p["sig"], message):
            got = "signature"
        elif p["prev"].hex() != case["expectedPrev"]:
            got = "chain"
    assert got == (case["wantErr"] or None)


# =========================================================================== (b) the library


def test_library_constants() -> None:
    assert envelope.MAGIC == MAGIC
    assert envelope.EVENT_DOMAIN == EVENT_DOMAIN
    assert envelope.BATCH_DOMAIN == BATCH_DOMAIN
    assert envelope.MAX_BATCH == VECTORS["constants"]["maxBatch"]
    assert envelope.ZERO_HASH == bytes(32)
    assert algorithms.PSS_SALT_LENGTH == VECTORS["constants"]["pssSaltLength"]
    assert {a.label: int(a) for a in Algorithm} == {
        s["algorithm"]: s["algorithmId"] for s in SUITES
    }


@pytest.mark.parametrize("item", EVENTS, ids=_event_id)
def test_library_agrees_with_event_vector(item: tuple[dict[str, Any], dict[str, Any]]) -> None:
    suite, ev = item
    rid = envelope.record_id_bytes(uuid.UUID(ev["recordId"]))
    assert rid.hex() == ev["recordIdBytes"]
    h = envelope.event_hash(rid, ev["version"], ev["topic"], H(ev["prev"]), H(ev["payload"]))
    assert h.hex() == ev["eventHash"]
    env = decode(H(ev["envelope"]))
    assert env.algorithm == Algorithm(suite["algorithmId"])
    assert env.signer.hex() == suite["fingerprint"]
    assert env.prev.hex() == ev["prev"]
    assert env.hash.hex() == ev["eventHash"]
    assert (env.batch_size, env.batch_index) == (suite["batch"]["size"], ev["batchIndex"])
    assert [p.hex() for p in env.path] == ev["path"]
    assert env.signature.hex() == suite["batch"]["signature"]
    assert env.payload.hex() == ev["payload"]
    env.verify_hash(rid, ev["version"], ev["topic"])
    assert env.batch_root().hex() == suite["batch"]["root"]
    assert env.signed_message().hex() == suite["batch"]["signedMessage"]
    cert = _cert(suite)
    assert certificate_fingerprint(cert).hex() == suite["fingerprint"]
    algorithms.verify(cert.public_key(), env.algorithm, env.signature, env.signed_message())


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s["name"])
def test_library_batch_tree_and_seal(suite: dict[str, Any]) -> None:
    events = suite["events"]
    root, paths = envelope.batch_tree([H(e["eventHash"]) for e in events])
    assert root.hex() == suite["batch"]["root"]
    assert [[p.hex() for p in path] for path in paths] == [e["path"] for e in events]
    message = envelope.batch_message(len(events), root)
    assert message.hex() == suite["batch"]["signedMessage"]
    items = [Unsealed(H(e["prev"]), H(e["eventHash"]), H(e["payload"])) for e in events]
    signature = H(suite["batch"]["signature"])
    sealed = seal(
        items, Algorithm(suite["algorithmId"]), H(suite["fingerprint"]), lambda m: signature
    )
    assert [s.hex() for s in sealed] == [e["envelope"] for e in events]


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s["name"])
def test_library_signs(suite: dict[str, Any]) -> None:
    alg = Algorithm(suite["algorithmId"])
    message = H(suite["batch"]["signedMessage"])
    fresh = algorithms.sign(_key(suite), alg, message)
    if suite["signatureDeterministic"]:
        # Ed25519 and PKCS#1 v1.5 reproduce the vector byte for byte.
        assert fresh.hex() == suite["batch"]["signature"]
    else:
        # ECDSA (random nonce) and RSA-PSS (random salt) cannot; they must verify.
        algorithms.verify(_cert(suite).public_key(), alg, fresh, message)


def library_check(
    env_bytes: bytes,
    rid: bytes,
    version: int,
    topic: str,
    expected_prev: bytes | None,
    registry: dict[bytes, x509.Certificate],
) -> tuple[str, type[Exception] | None] | None:
    """The checks of ledger/audit.py in order, on the library; the first failure."""
    try:
        env = decode(env_bytes)
    except MalformedEnvelope as e:
        return "envelope", type(e)
    try:
        env.verify_hash(rid, version, topic)
    except HashMismatch as e:
        return "hash", type(e)
    cert = registry.get(env.signer)
    if cert is None:
        return "signer", None
    try:
        root = env.batch_root()
        algorithms.verify(
            cert.public_key(),
            env.algorithm,
            env.signature,
            envelope.batch_message(env.batch_size, root),
        )
    except VerificationError as e:
        return "signature", type(e)
    if expected_prev is not None and env.prev != expected_prev:
        return "chain", None
    return None


@pytest.mark.parametrize("item", CASES, ids=_case_id)
def test_library_cases(item: tuple[dict[str, Any], dict[str, Any]]) -> None:
    suite, case = item
    cert = _cert(suite)
    got = library_check(
        H(case["envelope"]),
        H(case["recordIdBytes"]),
        case["version"],
        case["topic"],
        H(case["expectedPrev"]),
        {certificate_fingerprint(cert): cert},
    )
    if not case["wantErr"]:
        assert got is None
        return
    assert got is not None
    check, err = got
    assert check == case["wantErr"]
    want_err = getattr(errors, case["err"]) if "err" in case else None
    assert err is want_err
    if err is not None:
        assert issubclass(err, VerificationError)


def test_payloads_are_what_the_ledger_writes(tmp_path: Path) -> None:
    """The vector payloads are the bytes the ledger's own mapper writes for those events."""
    from ledger.application import Ledger, Settings

    ledger = Ledger(Settings(tmp_path / "data"))
    try:
        for _suite, ev in EVENTS:
            plain = StoredEvent(
                uuid.UUID(ev["recordId"]), ev["version"], ev["topic"], H(ev["payload"])
            )
            # eventsourcing's own decoding with the ledger's transcoder (the vector signers
            # are not registered in this ledger, so its verifying read path would refuse).
            domain_event = Mapper.to_domain_event(ledger.mapper, plain)
            assert ledger.mapper.topic_of(domain_event) == ev["topic"]
            assert ledger.mapper.encode_payload(domain_event) == H(ev["payload"])
    finally:
        ledger.close()


def test_vectors_are_reproducible() -> None:
    """generate.py rebuilds vectors.json byte for byte (no randomness leaks in)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "envelope_vectors_generate", VECTOR_FILE.parent / "generate.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Registered first: its dataclasses look their module up while being defined.
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    assert module.render(module.build()) == VECTOR_FILE.read_text(encoding="utf-8")


# =========================================================================== (c) round trip


@pytest.mark.parametrize("item", CASES, ids=_case_id)
def test_round_trip(item: tuple[dict[str, Any], dict[str, Any]]) -> None:
    _suite, case = item
    data = H(case["envelope"])
    try:
        env = decode(data)
    except MalformedEnvelope:
        assert case["wantErr"] == "envelope"
        return
    assert env.encode() == data
    assert (
        envelope.encode(
            env.algorithm,
            env.signer,
            env.prev,
            env.hash,
            env.batch_size,
            env.batch_index,
            env.path,
            env.signature,
            env.payload,
        )
        == data
    )


# =========================================================================== (d) properties

PROPS = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
REGISTRY = {H(s["fingerprint"]): _cert(s) for s in SUITES}
HAPPY = EVENTS


def _field_at(env: bytes, pos: int) -> str:
    plen = env[105]
    (slen,) = struct.unpack_from(">H", env, HEADER + 32 * plen)
    bounds = [
        ("magic", 4),
        ("alg", 5),
        ("signer", 37),
        ("prev", 69),
        ("hash", 101),
        ("size", 103),
        ("index", 105),
        ("plen", 106),
        ("path", HEADER + 32 * plen),
        ("slen", HEADER + 32 * plen + 2),
        ("sig", HEADER + 32 * plen + 2 + slen),
    ]
    for name, end in bounds:
        if pos < end:
            return name
    return "payload"


#: Where a single-byte change must be caught, by the field it lands in.
EXPECTED_CHECKS = {
    "magic": {"envelope"},
    "alg": {"envelope", "signature"},
    "signer": {"signer"},
    "prev": {"hash"},
    "hash": {"hash"},
    "size": {"envelope", "signature"},
    "index": {"envelope", "signature"},
    "plen": {"envelope", "hash", "signature"},
    "path": {"signature"},
    "slen": {"envelope", "hash", "signature"},
    "sig": {"signature"},
    "payload": {"hash"},
}


def _assert_mutation_caught(suite: dict[str, Any], ev: dict[str, Any], pos: int, mask: int) -> None:
    env = H(ev["envelope"])
    mutated = env[:pos] + bytes([env[pos] ^ mask]) + env[pos + 1 :]
    got = library_check(
        mutated, H(ev["recordIdBytes"]), ev["version"], ev["topic"], H(ev["prev"]), REGISTRY
    )
    field = _field_at(env, pos)
    assert got is not None, f"{suite['name']} event {ev['batchIndex']}: {field}@{pos}^{mask:#x}"
    check, err = got
    assert check in EXPECTED_CHECKS[field], (field, pos, mask, got)
    if check != "signer":
        assert err is not None and issubclass(err, VerificationError)


@pytest.mark.parametrize("item", HAPPY, ids=_event_id)
def test_every_single_bit_flip_is_caught(item: tuple[dict[str, Any], dict[str, Any]]) -> None:
    """Exhaustive: every byte of every vector envelope, lowest and highest bit flipped."""
    suite, ev = item
    for pos in range(len(H(ev["envelope"]))):
        for mask in (0x01, 0x80):
            _assert_mutation_caught(suite, ev, pos, mask)


@PROPS
@given(st.sampled_from(HAPPY), st.data())
def test_prop_any_single_byte_change_is_caught(
    item: tuple[dict[str, Any], dict[str, Any]], data: st.DataObject
) -> None:
    suite, ev = item
    pos = data.draw(st.integers(0, len(ev["envelope"]) // 2 - 1), label="position")
    mask = data.draw(st.integers(1, 255), label="xor")
    _assert_mutation_caught(suite, ev, pos, mask)


_SIGNERS = {
    s["algorithm"]: (Algorithm(s["algorithmId"]), _key(s), H(s["fingerprint"]), _cert(s))
    for s in SUITES
}
TOPICS = [
    "ledger.domain:StudentRecord.Enrolled",
    "ledger.domain:StudentRecord.ScoreRecorded",
    "ledger.domain:StudentRecord.ScoreCorrected",
]


@PROPS
@given(
    st.sampled_from(sorted(_SIGNERS)),
    # Draw the length first, so that batches over 64 events (two chunks) are common.
    st.integers(1, 140).flatmap(
        lambda n: st.lists(
            st.tuples(st.integers(0, 3), st.sampled_from(TOPICS), st.binary(max_size=80)),
            min_size=n,
            max_size=n,
        )
    ),
)
def test_prop_sealed_batches_decode_and_verify(
    label: str, events: list[tuple[int, str, bytes]]
) -> None:
    alg, key, fingerprint, cert = _SIGNERS[label]
    heads: dict[int, tuple[int, bytes]] = {}
    items: list[Unsealed] = []
    context: list[tuple[bytes, int, str]] = []
    for record, topic, payload in events:
        rid = uuid.uuid5(uuid.NAMESPACE_OID, str(record)).bytes
        version, prev = heads.get(record, (0, bytes(32)))
        version += 1
        h = envelope.event_hash(rid, version, topic, prev, payload)
        assert h == _sha256(indep_preimage(rid, version, topic, prev, payload))
        heads[record] = (version, h)
        items.append(Unsealed(prev, h, payload))
        context.append((rid, version, topic))
    sealed = seal(items, alg, fingerprint, lambda m: algorithms.sign(key, alg, m))
    assert len(sealed) == len(items)
    n = len(items)
    for k, (data, item, (rid, version, topic)) in enumerate(
        zip(sealed, items, context, strict=True)
    ):
        env = decode(data)
        assert env.encode() == data
        chunk = k // 64
        size = min(64, n - 64 * chunk)
        assert (env.batch_size, env.batch_index) == (size, k % 64)
        assert (env.prev, env.hash, env.payload) == (item.prev, item.hash, item.payload)
        env.verify_hash(rid, version, topic)
        root = env.batch_root()
        chunk_leaves = [indep_leaf(i.hash) for i in items[64 * chunk : 64 * chunk + size]]
        assert root == indep_mth(chunk_leaves)
        algorithms.verify(cert.public_key(), env.algorithm, env.signature, env.signed_message())


_HEADER_PARTS = st.tuples(
    st.sampled_from([MAGIC, b"SCE0", b"\x00\x00\x00\x00"]),
    st.integers(0, 6),
    st.binary(min_size=96, max_size=96),
    st.integers(0, 70),
    st.integers(0, 70),
    st.integers(0, 8),
)


def _assert_decode_contract(data: bytes) -> None:
    try:
        env = decode(data)
    except MalformedEnvelope:
        return
    # Accepted bytes re-encode to themselves, and every later check raises only
    # VerificationError subclasses, whatever the bytes.
    assert isinstance(env, Envelope)
    assert env.encode() == data
    try:
        env.verify_hash(b"\x00" * 16, 1, "t")
    except VerificationError:
        pass
    try:
        root = env.batch_root()
        assert len(root) == 32
        algorithms.verify(
            REGISTRY[next(iter(REGISTRY))].public_key(),
            env.algorithm,
            env.signature,
            envelope.batch_message(env.batch_size, root),
        )
    except VerificationError:
        pass


@settings(max_examples=400, deadline=None, database=None)
@given(st.binary(max_size=700))
def test_prop_decode_arbitrary_bytes(data: bytes) -> None:
    _assert_decode_contract(data)


@settings(max_examples=400, deadline=None, database=None)
@given(_HEADER_PARTS, st.integers(0, 300), st.binary(max_size=600))
def test_prop_decode_structured_bytes(
    header: tuple[bytes, int, bytes, int, int, int], slen: int, tail: bytes
) -> None:
    """Headers that get past the magic, so the deeper length checks are exercised."""
    magic, alg, hashes_, size, index, plen = header
    data = magic + bytes([alg]) + hashes_ + struct.pack(">HHB", size, index, plen)
    data += tail[: 32 * plen] + struct.pack(">H", slen) + tail[32 * plen :]
    _assert_decode_contract(data)


@PROPS
@given(st.sampled_from(HAPPY), st.data())
def test_prop_decode_cut_and_spliced_envelopes(
    item: tuple[dict[str, Any], dict[str, Any]], data: st.DataObject
) -> None:
    env = H(item[1]["envelope"])
    start = data.draw(st.integers(0, len(env)))
    stop = data.draw(st.integers(start, len(env)))
    insert = data.draw(st.binary(max_size=40))
    _assert_decode_contract(env[:start] + insert + env[stop:])
