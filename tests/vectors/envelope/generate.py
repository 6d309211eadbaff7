"""Generate ``vectors.json``: test vectors for the signed event envelope, version 1.

Run from the repository root::

    python tests/vectors/envelope/generate.py           # write vectors.json
    python tests/vectors/envelope/generate.py --check   # exit 1 if vectors.json differs

The output is byte-for-byte reproducible. Every input is fixed or derived from
a label with SHA-256 (:func:`seed`):

- Ed25519: the private key is ``seed("ed25519")``.
- ECDSA P-256: the private scalar is ``seed("ecdsa-p256") mod (n - 1) + 1``; the
  batch signature and the self-signed certificate use deterministic ECDSA
  (RFC 6979), so they repeat. The ledger itself signs with a random nonce; a
  verifier cannot tell the difference and cannot reproduce a ledger signature.
- RSA-2048: two 1024-bit primes drawn from Python's ``random.Random`` seeded
  with ``seed("rsa-2048")`` (Miller-Rabin, 64 rounds), e = 65537. The same key
  and certificate serve the RSA-PSS and the PKCS#1 v1.5 suite. PKCS#1 v1.5 is
  deterministic. RSA-PSS is randomized; here the salt is fixed to
  ``seed("rsa-pss-salt")`` and the signature is computed by hand
  (RFC 8017 §9.1.1 EMSA-PSS-ENCODE, then RSASP1), so it repeats.
- Certificates: self-signed, fixed names, serial numbers and validity.
- Payloads: real ``ledger.domain`` events with fixed timestamps, encoded by
  the ledger's own :meth:`ledger.store.SigningMapper.encode_payload` with the
  JSON transcoder the application registers (UUID, Decimal, datetime).

Every hash is computed here with hashlib and struct only; the envelopes are
then checked to be identical to what :func:`signing.envelope.seal` writes for
the same signature, and every mutated case is checked to fail at the named
check (and only the happy cases to pass) before the file is written.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import struct
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID
from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, JSONTranscoder, UUIDAsHex

from ledger.domain import NAMESPACE, StudentRecord, school_id, staff_id, student_id
from ledger.store import CertificateRegistry, SigningMapper
from signing import envelope as lib_envelope
from signing.algorithms import Algorithm

HERE = Path(__file__).resolve().parent
OUT = HERE / "vectors.json"

MAGIC = b"SCE1"
EVENT_DOMAIN = b"socai/event/v1\x00"
BATCH_DOMAIN = b"socai/event-batch/v1\x00"
ZERO = bytes(32)
HEADER_SIZE = 106
MAX_BATCH = 64
#: DER of DigestInfo{sha256, NULL} without the 32-byte digest (RFC 8017 §9.2 note 1).
SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")
PSS_SALT_LENGTH = 32
CHECK_ORDER = ["envelope", "hash", "signer", "signature", "chain"]

SCHOOL_CODE = "79000999"
TIMESTAMPS = [
    datetime(2025, 9, 5, 7, 30, 0, 123456, tzinfo=UTC),
    datetime(2025, 9, 5, 7, 30, 0, 654321, tzinfo=UTC),
    # Microsecond 0: isoformat() then omits the fraction; the vector shows it.
    datetime(2025, 9, 5, 7, 31, 0, 0, tzinfo=UTC),
]


def seed(label: str) -> bytes:
    """SHA-256 of a fixed prefix and ``label``: the source of every key and salt."""
    return hashlib.sha256(b"socai/test-vectors/envelope/v1/" + label.encode()).digest()


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


# --------------------------------------------------------------------------- keys


def ed25519_key() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.from_private_bytes(seed("ed25519"))


P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def ecdsa_key() -> ec.EllipticCurvePrivateKey:
    scalar = int.from_bytes(seed("ecdsa-p256"), "big") % (P256_ORDER - 1) + 1
    return ec.derive_private_key(scalar, ec.SECP256R1())


_SMALL_PRIMES = [p for p in range(3, 2000) if all(p % q for q in range(2, int(p**0.5) + 1))]


def _probable_prime(n: int, rng: random.Random) -> bool:
    if any(n % p == 0 for p in _SMALL_PRIMES):
        return n in _SMALL_PRIMES
    d, r = n - 1, 0
    while d % 2 == 0:
        d, r = d // 2, r + 1
    for _ in range(64):
        a = rng.randrange(2, n - 2)
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def rsa_key() -> rsa.RSAPrivateKey:
    e = 65537
    rng = random.Random(int.from_bytes(seed("rsa-2048"), "big"))

    def prime() -> int:
        while True:
            # Top two bits set, so that p*q has exactly 2048 bits; odd.
            c = rng.getrandbits(1024) | (3 << 1022) | 1
            if c % e != 1 and _probable_prime(c, rng):
                return c

    p = prime()
    q = prime()
    while q == p:
        q = prime()
    p, q = max(p, q), min(p, q)
    d = pow(e, -1, (p - 1) * (q - 1))
    numbers = rsa.RSAPrivateNumbers(
        p,
        q,
        d,
        rsa.rsa_crt_dmp1(d, p),
        rsa.rsa_crt_dmq1(d, q),
        rsa.rsa_crt_iqmp(p, q),
        rsa.RSAPublicNumbers(e, p * q),
    )
    key = numbers.private_key()
    assert key.key_size == 2048
    return key


def self_signed(key: Any, label: str, serial_label: str) -> x509.Certificate:
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Sổ Cái test vectors"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"socai envelope test vector {label}"),
        ]
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(int.from_bytes(seed(serial_label)[:16], "big") >> 1)
        .not_valid_before(datetime(2025, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2035, 1, 1, tzinfo=UTC))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return builder.sign(key, None)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return builder.sign(key, hashes.SHA256(), ecdsa_deterministic=True)
    return builder.sign(key, hashes.SHA256())  # PKCS#1 v1.5: deterministic


# --------------------------------------------------------------------------- signatures


def _mgf1_sha256(mgf_seed: bytes, length: int) -> bytes:
    out = b""
    counter = 0
    while len(out) < length:
        out += sha256(mgf_seed + counter.to_bytes(4, "big"))
        counter += 1
    return out[:length]


def pss_sign(key: rsa.RSAPrivateKey, message: bytes, salt: bytes) -> tuple[bytes, bytes]:
    """RSASSA-PSS-SIGN (RFC 8017 §8.1.1) with SHA-256, MGF1-SHA-256 and a given salt.

    Returns (signature, encoded message EM).
    """
    numbers = key.private_numbers()
    n, d = numbers.public_numbers.n, numbers.d
    mod_bits = n.bit_length()
    em_bits = mod_bits - 1
    em_len = (em_bits + 7) // 8
    k = (mod_bits + 7) // 8
    # RFC 8017 §9.1.1 steps 2-12.
    m_hash = sha256(message)
    h = sha256(bytes(8) + m_hash + salt)
    db = bytes(em_len - len(salt) - 32 - 2) + b"\x01" + salt
    masked = bytes(a ^ b for a, b in zip(db, _mgf1_sha256(h, em_len - 33), strict=True))
    masked = bytes([masked[0] & (0xFF >> (8 * em_len - em_bits))]) + masked[1:]
    em = masked + h + b"\xbc"
    # RFC 8017 §8.1.1 step 2: RSASP1.
    s = pow(int.from_bytes(em, "big"), d, n)
    return s.to_bytes(k, "big"), em


def rsa_encoded_message(key: rsa.RSAPrivateKey, signature: bytes) -> bytes:
    """RSAVP1: signature^e mod n as k bytes (the EM a verifier recovers)."""
    pub = key.public_key().public_numbers()
    k = (pub.n.bit_length() + 7) // 8
    return pow(int.from_bytes(signature, "big"), pub.e, pub.n).to_bytes(k, "big")


@dataclass(frozen=True)
class Suite:
    name: str
    algorithm: Algorithm
    key: Any
    certificate: x509.Certificate
    events: int  # how many events in the batch


def sign(suite: Suite, message: bytes) -> tuple[bytes, dict[str, Any]]:
    """The batch signature and any extra values worth publishing."""
    key = suite.key
    alg = suite.algorithm
    if alg is Algorithm.ED25519:
        return key.sign(message), {}
    if alg is Algorithm.ECDSA_P256_SHA256:
        sig = key.sign(message, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
        r, s = decode_dss_signature(sig)
        return sig, {
            "nonce": "RFC 6979 (deterministic); the ledger uses a random nonce",
            "r": f"{r:064x}",
            "s": f"{s:064x}",
        }
    if alg is Algorithm.RSA_PSS_SHA256:
        salt = seed("rsa-pss-salt")
        sig, em = pss_sign(key, message, salt)
        return sig, {
            "pssSalt": salt.hex(),
            "encodedMessage": em.hex(),
            "nonce": "fixed salt; the ledger draws a random 32-byte salt",
        }
    sig = key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    return sig, {"encodedMessage": rsa_encoded_message(key, sig).hex()}


def verify_signature(cert: x509.Certificate, alg: int, signature: bytes, message: bytes) -> bool:
    """Independent check with cryptography (not signing.algorithms)."""
    pub = cert.public_key()
    try:
        if alg == 1 and isinstance(pub, ec.EllipticCurvePublicKey):
            pub.verify(signature, message, ec.ECDSA(hashes.SHA256()))
        elif alg == 2 and isinstance(pub, ed25519.Ed25519PublicKey):
            pub.verify(signature, message)
        elif alg == 3 and isinstance(pub, rsa.RSAPublicKey):
            pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=PSS_SALT_LENGTH)
            pub.verify(signature, message, pss, hashes.SHA256())
        elif alg == 4 and isinstance(pub, rsa.RSAPublicKey):
            pub.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        else:
            return False
    except (InvalidSignature, ValueError):
        return False
    return True


# --------------------------------------------------------------------------- hashing


def event_preimage(rid: bytes, version: int, topic: str, prev: bytes, payload: bytes) -> bytes:
    t = topic.encode("utf-8")
    return (
        EVENT_DOMAIN
        + struct.pack(">I", len(rid))
        + rid
        + struct.pack(">Q", version)
        + struct.pack(">I", len(t))
        + t
        + prev
        + sha256(payload)
    )


def leaf(h: bytes) -> bytes:
    return sha256(b"\x00" + h)  # RFC 9162 §2.1.1


def node(left: bytes, right: bytes) -> bytes:
    return sha256(b"\x01" + left + right)  # RFC 9162 §2.1.1


def mth(leaves: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1 MTH over leaf hashes, by the recursive split definition."""
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return node(mth(leaves[:k]), mth(leaves[k:]))


def path(leaves: list[bytes], m: int) -> list[bytes]:
    """RFC 9162 §2.1.3.1 PATH(m, D[n]) over leaf hashes, bottom-up."""
    if len(leaves) == 1:
        return []
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    if m < k:
        return [*path(leaves[:k], m), mth(leaves[k:])]
    return [*path(leaves[k:], m - k), mth(leaves[:k])]


def levels(leaves: list[bytes]) -> list[list[bytes]]:
    """Each level of the tree, pairing neighbours and carrying an odd last node up."""
    out = [leaves]
    while len(out[-1]) > 1:
        cur = out[-1]
        nxt = [node(cur[i], cur[i + 1]) for i in range(0, len(cur) - 1, 2)]
        if len(cur) % 2:
            nxt.append(cur[-1])
        out.append(nxt)
    return out


def root_from_path(h: bytes, index: int, size: int, proof: list[bytes]) -> bytes | None:
    """RFC 9162 §2.1.3.2 over one event hash; None where the algorithm fails."""
    if not 0 <= index < size:
        return None
    fn, sn, r = index, size - 1, leaf(h)
    for p in proof:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node(r, p)
        fn, sn = fn >> 1, sn >> 1
    return r if sn == 0 else None


def path_length(index: int, size: int) -> int:
    inner = (index ^ (size - 1)).bit_length()
    return inner + bin(index >> inner).count("1")


# --------------------------------------------------------------------------- envelope


def encode(
    alg: int,
    signer: bytes,
    prev: bytes,
    h: bytes,
    size: int,
    index: int,
    proof: list[bytes],
    sig: bytes,
    payload: bytes,
) -> bytes:
    return (
        MAGIC
        + bytes([alg])
        + signer
        + prev
        + h
        + struct.pack(">HHB", size, index, len(proof))
        + b"".join(proof)
        + struct.pack(">H", len(sig))
        + sig
        + payload
    )


def layout(env: bytes) -> list[dict[str, Any]]:
    plen = env[105]
    (slen,) = struct.unpack_from(">H", env, HEADER_SIZE + 32 * plen)
    fields = [
        ("magic", 0, 4),
        ("alg", 4, 1),
        ("signer", 5, 32),
        ("prev", 37, 32),
        ("hash", 69, 32),
        ("size", 101, 2),
        ("index", 103, 2),
        ("plen", 105, 1),
        *((f"path[{i}]", HEADER_SIZE + 32 * i, 32) for i in range(plen)),
        ("slen", HEADER_SIZE + 32 * plen, 2),
        ("sig", HEADER_SIZE + 32 * plen + 2, slen),
        (
            "payload",
            HEADER_SIZE + 32 * plen + 2 + slen,
            len(env) - HEADER_SIZE - 32 * plen - 2 - slen,
        ),
    ]
    return [
        {"field": f, "offset": o, "length": n, "value": env[o : o + n].hex()} for f, o, n in fields
    ]


@dataclass
class Parsed:
    alg: int
    signer: bytes
    prev: bytes
    hash: bytes
    size: int
    index: int
    path: list[bytes]
    sig: bytes
    payload: bytes


def parse(env: bytes) -> Parsed | None:
    """Independent parser; None for any defect that ``decode`` rejects."""
    if len(env) < HEADER_SIZE + 2 or env[:4] != MAGIC or env[4] not in (1, 2, 3, 4):
        return None
    size, index, plen = struct.unpack_from(">HHB", env, 101)
    if not 1 <= size <= MAX_BATCH or index >= size:
        return None
    end = HEADER_SIZE + 32 * plen
    if len(env) < end + 2:
        return None
    (slen,) = struct.unpack_from(">H", env, end)
    if slen == 0 or len(env) < end + 2 + slen:
        return None
    return Parsed(
        env[4],
        env[5:37],
        env[37:69],
        env[69:101],
        size,
        index,
        [env[i : i + 32] for i in range(HEADER_SIZE, end, 32)],
        env[end + 2 : end + 2 + slen],
        env[end + 2 + slen :],
    )


def first_failure(case: dict[str, Any], cert: x509.Certificate, fingerprint: bytes) -> str | None:
    """Run the checks in ``CHECK_ORDER`` on a case; return the first that fails."""
    p = parse(bytes.fromhex(case["envelope"]))
    if p is None:
        return "envelope"
    rid = bytes.fromhex(case["recordIdBytes"])
    h = sha256(event_preimage(rid, case["version"], case["topic"], p.prev, p.payload))
    if h != p.hash:
        return "hash"
    if p.signer != fingerprint:
        return "signer"
    r = root_from_path(p.hash, p.index, p.size, p.path)
    if r is None:
        return "signature"
    if not verify_signature(cert, p.alg, p.sig, BATCH_DOMAIN + struct.pack(">H", p.size) + r):
        return "signature"
    if p.prev != bytes.fromhex(case["expectedPrev"]):
        return "chain"
    return None


# --------------------------------------------------------------------------- events


def _transcoder() -> JSONTranscoder:
    # Exactly what eventsourcing's Application.register_transcodings registers,
    # which ledger.application.Ledger uses unchanged.
    t = JSONTranscoder()
    t.register(UUIDAsHex())
    t.register(DecimalAsStr())
    t.register(DatetimeAsISO())
    return t


MAPPER = SigningMapper(_transcoder(), CertificateRegistry())


@dataclass
class Event:
    code: str
    rid: UUID
    version: int
    domain_event: Any

    @property
    def topic(self) -> str:
        return MAPPER.topic_of(self.domain_event)

    @property
    def payload(self) -> bytes:
        return MAPPER.encode_payload(self.domain_event)


def suite_events(suite_no: int, count: int) -> list[Event]:
    """Student A enrolled and scored, student B enrolled: two records, A chained."""
    school = school_id(SCHOOL_CODE)
    principal = staff_id(SCHOOL_CODE, "HT001")
    code_a = f"{SCHOOL_CODE}{suite_no:02d}01"
    code_b = f"{SCHOOL_CODE}{suite_no:02d}02"
    a, b = student_id(code_a), student_id(code_b)
    topic = "ledger.domain:StudentRecord"
    enrol_a = StudentRecord.Enrolled(
        originator_id=a,
        originator_version=1,
        timestamp=TIMESTAMPS[0],
        originator_topic=topic,
        student_code=code_a,
        school=school,
        school_year="2025-2026",
        grade=6,
        class_name="6A",
        by=principal,
    )
    score_a = StudentRecord.ScoreRecorded(
        originator_id=a,
        originator_version=2,
        timestamp=TIMESTAMPS[1],
        subject="Toán",
        term=1,
        kind="tx",
        value=Decimal("8.5"),
        by=principal,
    )
    enrol_b = StudentRecord.Enrolled(
        originator_id=b,
        originator_version=1,
        timestamp=TIMESTAMPS[2],
        originator_topic=topic,
        student_code=code_b,
        school=school,
        school_year="2025-2026",
        grade=6,
        class_name="6A",
        by=principal,
    )
    events = [
        Event(code_a, a, 1, enrol_a),
        Event(code_a, a, 2, score_a),
        Event(code_b, b, 1, enrol_b),
    ]
    return events[:count]


# --------------------------------------------------------------------------- building


def _flip(data: bytes, offset: int, mask: int = 0x01) -> bytes:
    return data[:offset] + bytes([data[offset] ^ mask]) + data[offset + 1 :]


def _put(data: bytes, offset: int, value: bytes) -> bytes:
    return data[:offset] + value + data[offset + len(value) :]


def build_suite(suite_no: int, suite: Suite) -> dict[str, Any]:
    cert_der = suite.certificate.public_bytes(serialization.Encoding.DER)
    fingerprint = sha256(cert_der)
    alg = int(suite.algorithm)
    events = suite_events(suite_no, suite.events)

    # Event hashes, chaining each record inside the batch.
    heads: dict[UUID, bytes] = {}
    rows: list[dict[str, Any]] = []
    hashes: list[bytes] = []
    for ev in events:
        prev = heads.get(ev.rid, ZERO) if ev.version > 1 else ZERO
        assert (ev.version == 1) == (prev == ZERO)
        payload = ev.payload
        pre = event_preimage(ev.rid.bytes, ev.version, ev.topic, prev, payload)
        h = sha256(pre)
        heads[ev.rid] = h
        hashes.append(h)
        rows.append(
            {
                "recordCode": ev.code,
                "recordId": str(ev.rid),
                "recordIdBytes": ev.rid.bytes.hex(),
                "version": ev.version,
                "topic": ev.topic,
                "topicBytes": ev.topic.encode().hex(),
                "prev": prev.hex(),
                "payloadText": payload.decode("utf-8"),
                "payload": payload.hex(),
                "payloadSha256": sha256(payload).hex(),
                "preimage": pre.hex(),
                "eventHash": h.hex(),
            }
        )

    # The batch tree, its signed message and signature.
    leaves = [leaf(h) for h in hashes]
    root = mth(leaves)
    size = len(events)
    message = BATCH_DOMAIN + struct.pack(">H", size) + root
    signature, extra = sign(suite, message)
    assert verify_signature(suite.certificate, alg, signature, message)

    envelopes: list[bytes] = []
    for i, (row, ev) in enumerate(zip(rows, events, strict=True)):
        proof = path(leaves, i)
        assert root_from_path(hashes[i], i, size, proof) == root
        assert len(proof) == path_length(i, size)
        env = encode(
            alg,
            fingerprint,
            bytes.fromhex(row["prev"]),
            hashes[i],
            size,
            i,
            proof,
            signature,
            ev.payload,
        )
        envelopes.append(env)
        row.update(
            leafHash=leaves[i].hex(),
            batchIndex=i,
            path=[p.hex() for p in proof],
            envelope=env.hex(),
            layout=layout(env),
        )

    # The library writes the same bytes for the same signature.
    items = [
        lib_envelope.Unsealed(bytes.fromhex(r["prev"]), h, ev.payload)
        for r, h, ev in zip(rows, hashes, events, strict=True)
    ]
    sealed = lib_envelope.seal(items, suite.algorithm, fingerprint, lambda m: signature)
    assert sealed == envelopes, "signing.envelope.seal disagrees with this generator"

    suite_json: dict[str, Any] = {
        "name": suite.name,
        "algorithm": suite.algorithm.label,
        "algorithmId": alg,
        "signatureDeterministic": suite.algorithm
        in (Algorithm.ED25519, Algorithm.RSA_PKCS1V15_SHA256),
        "privateKeyPem": suite.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode(),
        "certificatePem": suite.certificate.public_bytes(serialization.Encoding.PEM).decode(),
        "certificateDer": cert_der.hex(),
        "fingerprint": fingerprint.hex(),
        "events": rows,
        "batch": {
            "size": size,
            "leafHashes": [x.hex() for x in leaves],
            "levels": [[x.hex() for x in lv] for lv in levels(leaves)],
            "root": root.hex(),
            "signedMessage": message.hex(),
            "signature": signature.hex(),
            **extra,
        },
    }
    suite_json["cases"] = build_cases(suite, suite_json, envelopes, fingerprint)
    return suite_json


def build_cases(
    suite: Suite,
    suite_json: dict[str, Any],
    envelopes: list[bytes],
    fingerprint: bytes,
) -> list[dict[str, Any]]:
    rows = suite_json["events"]
    size = len(rows)
    cases: list[dict[str, Any]] = []

    def expected_prev(i: int) -> bytes:
        # The hash of the record's previous event, as a verifier knows it from the chain.
        return bytes.fromhex(rows[i]["prev"])

    def add(
        desc: str,
        i: int,
        env: bytes,
        want: str | bool,
        err: str | None,
        **context: Any,
    ) -> None:
        case = {
            "desc": desc,
            "event": i,
            "recordIdBytes": context.get("rid", rows[i]["recordIdBytes"]),
            "version": context.get("version", rows[i]["version"]),
            "topic": context.get("topic", rows[i]["topic"]),
            "expectedPrev": context.get("expected_prev", expected_prev(i)).hex(),
            "envelope": env.hex(),
            "wantErr": want,
        }
        if err is not None:
            case["err"] = err
        got = first_failure(case, suite.certificate, fingerprint)
        assert got == (want or None), (suite.name, desc, got, want)
        cases.append(case)

    for i in range(size):
        add(f"happy: event {i} as stored", i, envelopes[i], False, None)

    # Mutations target the chained event (a version 2, with a non-zero prev) when the
    # batch has one, else the last event.
    chained = [i for i in range(size) if rows[i]["version"] > 1]
    last = chained[0] if chained else size - 1
    env = envelopes[last]
    plen = env[105]
    sig_off = HEADER_SIZE + 32 * plen + 2
    slen = struct.unpack_from(">H", env, sig_off - 2)[0]
    pay_off = sig_off + slen

    # envelope: structure.
    add("bad magic SCE2", last, _put(env, 0, b"SCE2"), "envelope", "MalformedEnvelope")
    add(
        "truncated to 50 bytes (inside the header)", last, env[:50], "envelope", "MalformedEnvelope"
    )
    add("truncated to 107 bytes (header plus 1)", last, env[:107], "envelope", "MalformedEnvelope")
    if plen:
        add(
            "truncated inside the path",
            last,
            env[: HEADER_SIZE + 10],
            "envelope",
            "MalformedEnvelope",
        )
    add(
        "truncated inside the signature",
        last,
        env[: sig_off + slen // 2],
        "envelope",
        "MalformedEnvelope",
    )
    add("unknown algorithm id 0", last, _put(env, 4, b"\x00"), "envelope", "MalformedEnvelope")
    add("unknown algorithm id 5", last, _put(env, 4, b"\x05"), "envelope", "MalformedEnvelope")
    add("batch size 0", last, _put(env, 101, b"\x00\x00"), "envelope", "MalformedEnvelope")
    add("batch size 65 (> 64)", last, _put(env, 101, b"\x00\x41"), "envelope", "MalformedEnvelope")
    add(
        "index equal to size",
        last,
        _put(env, 103, struct.pack(">H", size)),
        "envelope",
        "MalformedEnvelope",
    )
    add(
        "signature length 0",
        last,
        _put(env, sig_off - 2, b"\x00\x00"),
        "envelope",
        "MalformedEnvelope",
    )

    # hash: anything the event hash covers.
    add("payload byte flipped", last, _flip(env, pay_off + 5), "hash", "HashMismatch")
    add("payload last byte removed", last, env[:-1], "hash", "HashMismatch")
    add("payload byte appended", last, env + b" ", "hash", "HashMismatch")
    add("prev byte flipped", last, _flip(env, 37), "hash", "HashMismatch")
    # Another event's hash (not the record's previous one) put in place of prev.
    other = bytes.fromhex(rows[(last + 1) % size]["eventHash"]) if size > 1 else sha256(b"x")
    add(
        "wrong prev: another event's hash in place of prev"
        if size > 1
        else "wrong prev: SHA-256('x') in place of prev",
        last,
        _put(env, 37, other),
        "hash",
        "HashMismatch",
    )
    add("stored hash byte flipped", last, _flip(env, 100), "hash", "HashMismatch")
    wrong_rid = bytes.fromhex(rows[last]["recordIdBytes"])
    add(
        "row moved to another record id",
        last,
        env,
        "hash",
        "HashMismatch",
        rid=_flip(wrong_rid, 15).hex(),
    )
    add(
        "row moved to another version",
        last,
        env,
        "hash",
        "HashMismatch",
        version=rows[last]["version"] + 1,
    )
    add(
        "row given another topic",
        last,
        env,
        "hash",
        "HashMismatch",
        topic="ledger.domain:StudentRecord.ScoreCorrected",
    )

    # signer: the fingerprint names no registered certificate.
    add("signer fingerprint byte flipped", last, _flip(env, 5), "signer", None)

    # signature: the path, the batch parameters and the signature itself.
    add("signature first byte flipped", last, _flip(env, sig_off), "signature", "BadSignature")
    add("signature last byte flipped", last, _flip(env, pay_off - 1), "signature", "BadSignature")
    shorter = _put(env, sig_off - 2, struct.pack(">H", slen - 1))
    shorter = shorter[: pay_off - 1] + shorter[pay_off:]
    add("signature shortened by one byte", last, shorter, "signature", "BadSignature")
    other_alg = {1: 2, 2: 1, 3: 4, 4: 3}[int(suite.algorithm)]
    add(
        f"algorithm id changed to {other_alg}",
        last,
        _put(env, 4, bytes([other_alg])),
        "signature",
        "BadSignature",
    )
    appended = _put(env, 105, bytes([plen + 1]))
    appended = appended[: sig_off - 2] + sha256(b"extra") + appended[sig_off - 2 :]
    add("path element appended", last, appended, "signature", "MalformedProof")
    if plen:
        add("path element flipped", last, _flip(env, HEADER_SIZE + 31), "signature", "BadSignature")
        removed = _put(env, 105, bytes([plen - 1]))
        removed = removed[: sig_off - 34] + removed[sig_off - 2 :]
        add("path element removed", last, removed, "signature", "MalformedProof")
    for i in range(size if size > 1 else 0):
        # Each index moved to its neighbour: with the same path shape the root changes
        # (BadSignature); with another path length RFC 9162 §2.1.3.2 fails (MalformedProof).
        j = i + 1 if i + 1 < size else i - 1
        same_shape = path_length(j, size) == len(rows[i]["path"])
        add(
            f"index {i} changed to {j}",
            i,
            _put(envelopes[i], 103, struct.pack(">H", j)),
            "signature",
            "BadSignature" if same_shape else "MalformedProof",
        )
    for new_size in (size + 1, MAX_BATCH):
        err = (
            "BadSignature" if path_length(0, new_size) == len(rows[0]["path"]) else "MalformedProof"
        )
        add(
            f"batch size {size} changed to {new_size} (index 0)",
            0,
            _put(envelopes[0], 101, struct.pack(">H", new_size)),
            "signature",
            err,
        )

    # chain: a well-formed, correctly signed event whose prev is not the record's head.
    if chained:
        i = chained[0]
        rid = bytes.fromhex(rows[i]["recordIdBytes"])
        payload = bytes.fromhex(rows[i]["payload"])
        h = sha256(event_preimage(rid, rows[i]["version"], rows[i]["topic"], ZERO, payload))
        leaf1 = leaf(h)
        msg = BATCH_DOMAIN + struct.pack(">H", 1) + leaf1
        sig, _ = sign(suite, msg)
        forged = encode(int(suite.algorithm), fingerprint, ZERO, h, 1, 0, [], sig, payload)
        add(
            "chain broken: validly signed version 2 whose prev is zeros (version 1 deleted "
            "and replaced by a fresh genesis)",
            i,
            forged,
            "chain",
            None,
        )
    return cases


def suites() -> list[Suite]:
    ed = ed25519_key()
    ecd = ecdsa_key()
    rs = rsa_key()
    ec_cert = self_signed(ecd, "ecdsa-p256", "serial/ecdsa-p256")
    ed_cert = self_signed(ed, "ed25519", "serial/ed25519")
    rsa_cert = self_signed(rs, "rsa-2048", "serial/rsa-2048")
    return [
        Suite("ecdsa-p256-sha256", Algorithm.ECDSA_P256_SHA256, ecd, ec_cert, 3),
        Suite("ed25519", Algorithm.ED25519, ed, ed_cert, 3),
        Suite("rsa-pss-sha256", Algorithm.RSA_PSS_SHA256, rs, rsa_cert, 3),
        Suite("rsa-pkcs1v15-sha256", Algorithm.RSA_PKCS1V15_SHA256, rs, rsa_cert, 3),
        # A batch of one: the path is empty and the root is the leaf hash.
        Suite("ed25519-single", Algorithm.ED25519, ed, ed_cert, 1),
    ]


def build() -> dict[str, Any]:
    """The whole vector file as a JSON-ready dict."""
    return {
        "source": (
            "Generated by tests/vectors/envelope/generate.py in the socai repository "
            "(Apache-2.0); see tests/vectors/README.md and docs/formats.md"
        ),
        "format": "socai signed event envelope, version 1 (magic SCE1)",
        "notes": [
            "All byte strings are lowercase hex; integers in the formats are big-endian.",
            "privateKeyPem values are TEST KEYS derived from public seeds; never use them.",
            "wantErr names the first check that fails, in checkOrder; err names the "
            "signing.errors class the library raises at that check (absent for signer and "
            "chain, which are ledger-level checks).",
            "expectedPrev is the hash of the record's previous event (zeros for version 1), "
            "as the chain check knows it.",
        ],
        "constants": {
            "magic": MAGIC.hex(),
            "eventDomain": EVENT_DOMAIN.hex(),
            "batchDomain": BATCH_DOMAIN.hex(),
            "zeroHash": ZERO.hex(),
            "headerSize": HEADER_SIZE,
            "maxBatch": MAX_BATCH,
            "recordNamespace": str(NAMESPACE),
            "sha256DigestInfoPrefix": SHA256_DIGEST_INFO.hex(),
            "pssSaltLength": PSS_SALT_LENGTH,
            "seedPrefix": "socai/test-vectors/envelope/v1/",
        },
        "checkOrder": CHECK_ORDER,
        "suites": [build_suite(i + 1, s) for i, s in enumerate(suites())],
    }


def render(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with vectors.json")
    args = parser.parse_args(argv)
    text = render(build())
    if args.check:
        if OUT.read_text(encoding="utf-8") != text:
            print(f"{OUT} is out of date; run {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
