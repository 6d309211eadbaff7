"""Checkpoints and cosignatures (:mod:`signing.checkpoint`).

c2sp.org/tlog-checkpoint@v1.0.0 bodies and c2sp.org/tlog-cosignature ``cosignature/v1``
(Ed25519, type 0x04), against ``tests/vectors/note/checkpoint.json``, ``cosignature.json``
and ``vkeys.json``; the client check :func:`require_witnesses`; split views and rollbacks in
:func:`verify_checkpoint_consistency`; property tests of the parsers.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from signing import errors, merkle
from signing.checkpoint import (
    EMPTY_ROOT,
    MAX_TREE_SIZE,
    Checkpoint,
    CosignatureSigner,
    CosignatureVerifier,
    cosignature_timestamp,
    cosigned_message,
    open_checkpoint,
    parse_decimal,
    require_witnesses,
    verify_checkpoint_consistency,
    verify_cosignature,
)
from signing.errors import (
    InconsistentCheckpoint,
    InvalidNoteSignature,
    MalformedCheckpoint,
    MalformedNoteKey,
    NotEnoughCosignatures,
    OriginMismatch,
    SplitView,
    VerificationError,
)
from signing.note import (
    NoteSigner,
    NoteVerifier,
    Signature,
    add_signature_lines,
    open_note,
    parse_note,
    sign_note,
    signature_lines,
)

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "note"
CHECKPOINTS: dict[str, Any] = json.loads((VECTORS / "checkpoint.json").read_text("utf-8"))
COSIG: dict[str, Any] = json.loads((VECTORS / "cosignature.json").read_text("utf-8"))
VKEYS: dict[str, Any] = json.loads((VECTORS / "vkeys.json").read_text("utf-8"))

ORIGIN = "example.com/log"
LEAVES = [b"leaf %d" % i for i in range(16)]


def _signer(name: str, seed: int) -> NoteSigner:
    return NoteSigner(name, Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32))


def _witness(name: str, seed: int, clock: float = 1_700_000_000) -> CosignatureSigner:
    return CosignatureSigner(
        name, Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32), clock=lambda: clock
    )


LOG = _signer(ORIGIN, 1)
W1 = _witness("witness.example/w1", 11)
W2 = _witness("witness.example/w2", 12)
W3 = _witness("witness.example/w3", 13)


def checkpoint(size: int, leaves: list[bytes] = LEAVES) -> Checkpoint:
    return Checkpoint(ORIGIN, size, merkle.root(leaves[:size]))


# --------------------------------------------------------------------------- bodies


@pytest.mark.parametrize("case", CHECKPOINTS["cases"], ids=lambda c: c["desc"])
def test_checkpoint_vectors(case: dict[str, Any]) -> None:
    if case["wantErr"]:
        with pytest.raises(MalformedCheckpoint):
            Checkpoint.parse_body(case["body"])
        return
    cp = Checkpoint.parse_body(case["body"])
    assert cp == Checkpoint(
        case["checkpointOrigin"],
        int(case["size"]),
        bytes.fromhex(case["root"]),
        tuple(case["extensions"]),
    )
    assert cp.to_body() == case["body"]


@pytest.mark.parametrize(
    "fields",
    [
        ("", 1, EMPTY_ROOT, ()),
        ("a\nb", 1, EMPTY_ROOT, ()),
        ("a", -1, EMPTY_ROOT, ()),
        ("a", MAX_TREE_SIZE + 1, EMPTY_ROOT, ()),
        ("a", True, EMPTY_ROOT, ()),
        ("a", 1, EMPTY_ROOT[:31], ()),
        ("a", 1, EMPTY_ROOT, ("",)),
        ("a", 1, EMPTY_ROOT, ("x\ny",)),
        ("a", 1, EMPTY_ROOT, ["x"]),
        ("a\ud800", 1, EMPTY_ROOT, ()),
    ],
)
def test_checkpoint_fields_are_checked(fields: tuple[Any, ...]) -> None:
    with pytest.raises(MalformedCheckpoint):
        Checkpoint(*fields)


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("0", 0),
        ("20852163", 20852163),
        (str(MAX_TREE_SIZE), MAX_TREE_SIZE),
        (str(MAX_TREE_SIZE + 1), None),
        ("00", None),
        ("01", None),
        ("+1", None),
        ("-0", None),
        ("1_0", None),
        (" 1", None),
        ("1\n", None),
        ("\u0661", None),
        ("", None),
    ],
)
def test_parse_decimal(text: str, want: int | None) -> None:
    assert parse_decimal(text) == want


# --------------------------------------------------------------------------- cosignatures


def _vector_witness() -> CosignatureSigner:
    key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(COSIG["witness"]["skeySeedHex"]))
    return CosignatureSigner(COSIG["witness"]["name"], key, clock=lambda: COSIG["timestamp"])


def test_cosignature_vector_is_reproduced() -> None:
    """Key ID, vkey, signed message and the 72-byte signature, byte for byte."""
    witness = _vector_witness()
    assert witness.vkey == COSIG["witness"]["vkey"]
    body = COSIG["checkpoint"]
    assert cosigned_message(body, COSIG["timestamp"]) == COSIG["message"].encode()
    assert COSIG["message"] == f"cosignature/v1\ntime {COSIG['timestamp']}\n{body}"
    assert witness.sign(body.encode()).hex() == COSIG["signature"]
    assert signature_lines(body, [witness]).decode() == COSIG["line"]
    sig = parse_note(b"x\n\n" + COSIG["line"].encode()).signatures[0]
    assert verify_cosignature(witness.verifier, body, sig) == COSIG["timestamp"]
    assert verify_cosignature(witness.verifier, Checkpoint.parse_body(body), sig) > 0


def test_cosignature_key_id_uses_type_0x04() -> None:
    public = W1.verifier.public_key
    digest = hashlib.sha256(b"witness.example/w1\n\x04" + public).digest()
    assert W1.key_id == int.from_bytes(digest[:4], "big")
    assert W1.vkey.split("+")[1] == digest[:4].hex()
    # The same key as a plain note key has another key ID.
    assert NoteVerifier("witness.example/w1", public).key_id != W1.key_id


def test_c2sp_example_cosignature_framing() -> None:
    """The spec's example line: key ID, then the example message's timestamp, then 64 bytes."""
    example = COSIG["example"]
    sig = parse_note(b"x\n\n" + example["line"].encode()).signatures[0]
    assert f"{sig.key_id:08x}" == example["keyId"]
    assert len(sig.signature) == 72
    assert cosignature_timestamp(sig) == example["timestamp"] == 1679315147


@pytest.mark.parametrize("case", COSIG["cases"], ids=lambda c: c["desc"])
def test_cosignature_vectors(case: dict[str, Any]) -> None:
    log = NoteVerifier.from_vkey(case["log"])
    witnesses = [CosignatureVerifier.from_vkey(v) for v in case["witnesses"]]
    kwargs = {"origin": case["checkpointOrigin"]} if "checkpointOrigin" in case else {}
    if case["wantErr"]:
        with pytest.raises(getattr(errors, case["err"])):
            require_witnesses(case["note"].encode(), log, witnesses, case["k"], **kwargs)
        return
    cp = require_witnesses(case["note"].encode(), log, witnesses, case["k"], **kwargs)
    assert cp.to_body() == parse_note(case["note"].encode()).text


@pytest.mark.parametrize(
    "case", [c for c in VKEYS["cases"] if c["kind"] == "cosignature"], ids=lambda c: c["desc"]
)
def test_cosignature_vkey_vectors(case: dict[str, Any]) -> None:
    if case["wantErr"]:
        with pytest.raises(MalformedNoteKey):
            CosignatureVerifier.from_vkey(case["vkey"])
        return
    v = CosignatureVerifier.from_vkey(case["vkey"])
    assert (v.name, f"{v.key_id:08x}", v.public_key.hex(), v.vkey) == (
        case["name"],
        case["keyId"],
        case["publicKey"],
        case["vkey"],
    )


def test_signer_refuses_a_zero_or_negative_clock_and_non_checkpoints() -> None:
    key = Ed25519PrivateKey.generate()
    for t in (0.0, -5.0):

        def clock(t: float = t) -> float:
            return t

        with pytest.raises(MalformedCheckpoint):
            CosignatureSigner("w", key, clock=clock).sign(checkpoint(1).to_body().encode())
    with pytest.raises(MalformedCheckpoint):
        W1.sign(b"not a checkpoint\n")
    with pytest.raises(MalformedCheckpoint):
        W1.sign(b"\xff\n")
    with pytest.raises(MalformedCheckpoint):
        cosigned_message(checkpoint(1).to_body(), 2**63)


def test_cosignature_verifier_rejects_bad_lengths_and_other_keys() -> None:
    body = checkpoint(3).to_body()
    sig = W1.sign(body.encode())
    W1.verifier.verify(body.encode(), sig)
    for bad in (sig[:-1], sig + b"\x00", b"", (2**63).to_bytes(8, "big") + sig[8:]):
        with pytest.raises(InvalidNoteSignature):
            W1.verifier.verify(body.encode(), bad)
    with pytest.raises(InvalidNoteSignature):
        W2.verifier.verify(body.encode(), sig)
    with pytest.raises(InvalidNoteSignature):
        verify_cosignature(W2.verifier, body, Signature(W1.name, W1.key_id, sig))


def test_cosigner_is_a_note_signer() -> None:
    """A witness's answer lines appended to the log's note open with the witness key."""
    body = checkpoint(5).to_body()
    note = add_signature_lines(sign_note(body, [LOG]), signature_lines(body, [W1, W2]))
    opened = open_note(note, [LOG.verifier, W1.verifier, W2.verifier])
    assert len(opened.verified) == 3
    assert require_witnesses(note, LOG.verifier, [W1.verifier, W2.verifier, W3.verifier], 2)


# --------------------------------------------------------------------------- clients


def test_require_witnesses_k_must_be_satisfiable() -> None:
    note = sign_note(checkpoint(1).to_body(), [LOG])
    for k in (-1, 3, True):
        with pytest.raises(ValueError):
            require_witnesses(note, LOG.verifier, [W1.verifier, W2.verifier], k)
    # Listing a witness twice does not raise n.
    with pytest.raises(ValueError):
        require_witnesses(note, LOG.verifier, [W1.verifier, W1.verifier], 2)


def test_open_checkpoint_checks_origin_and_log_signature() -> None:
    cp = checkpoint(4)
    note = sign_note(cp.to_body(), [LOG])
    assert open_checkpoint(note, LOG.verifier)[0] == cp
    with pytest.raises(OriginMismatch):
        open_checkpoint(note, LOG.verifier, origin="example.com/another")
    renamed = _signer("example.com/log-key", 1)
    with pytest.raises(OriginMismatch):  # Default: the origin is the log key's name.
        open_checkpoint(sign_note(cp.to_body(), [renamed]), renamed.verifier)
    assert open_checkpoint(sign_note(cp.to_body(), [renamed]), renamed.verifier, origin=ORIGIN)


def test_split_view_is_rejected_by_clients() -> None:
    """A log that signs two roots for one size cannot reuse the honest cosignatures, cannot get
    new ones (the witness answers 422, see test_witness), and is named a split view."""
    honest = checkpoint(5)
    forked = Checkpoint(ORIGIN, 5, merkle.root([*LEAVES[:4], b"evil"]))
    cosigs = signature_lines(honest.to_body(), [W1, W2])
    honest_note = add_signature_lines(sign_note(honest.to_body(), [LOG]), cosigs)
    assert require_witnesses(honest_note, LOG.verifier, [W1.verifier, W2.verifier], 2) == honest
    forked_note = sign_note(forked.to_body(), [LOG])
    with pytest.raises(NotEnoughCosignatures):
        require_witnesses(forked_note, LOG.verifier, [W1.verifier, W2.verifier], 1)
    with pytest.raises(InvalidNoteSignature):  # Honest cosignatures do not fit the fork.
        require_witnesses(
            add_signature_lines(forked_note, cosigs), LOG.verifier, [W1.verifier, W2.verifier], 1
        )
    with pytest.raises(SplitView):
        verify_checkpoint_consistency(honest, forked, [])


def test_verify_checkpoint_consistency() -> None:
    for m in range(0, 9):
        for n in range(m, 9):
            proof = merkle.consistency_proof(LEAVES[:n], m)
            verify_checkpoint_consistency(checkpoint(m), checkpoint(n), proof)
    with pytest.raises(InconsistentCheckpoint):  # Rollback.
        verify_checkpoint_consistency(checkpoint(5), checkpoint(3), [])
    with pytest.raises(InconsistentCheckpoint):  # Bad proof.
        verify_checkpoint_consistency(checkpoint(3), checkpoint(5), [bytes(32)] * 3)
    with pytest.raises(InconsistentCheckpoint):  # A proof from the empty tree.
        verify_checkpoint_consistency(checkpoint(0), checkpoint(5), [bytes(32)])
    with pytest.raises(InconsistentCheckpoint):  # Size 0 must have the empty root.
        verify_checkpoint_consistency(checkpoint(0), Checkpoint(ORIGIN, 0, bytes(32)), [])
    with pytest.raises(OriginMismatch):
        verify_checkpoint_consistency(checkpoint(1), Checkpoint("other", 2, bytes(32)), [])
    forked = [*LEAVES[:3], b"x", b"y"]
    with pytest.raises(InconsistentCheckpoint):  # The fork diverges before size 4.
        verify_checkpoint_consistency(
            checkpoint(4), checkpoint(5, forked), merkle.consistency_proof(forked, 4)
        )
    assert not issubclass(SplitView, MalformedCheckpoint)
    assert issubclass(SplitView, InconsistentCheckpoint)


# --------------------------------------------------------------------------- properties


@settings(max_examples=400)
@given(st.text(max_size=200))
def test_parse_body_raises_only_malformed_checkpoint(text: str) -> None:
    try:
        Checkpoint.parse_body(text)
    except MalformedCheckpoint:
        pass


@settings(max_examples=300)
@given(
    st.lists(
        st.sampled_from(
            [
                "l",
                "\n",
                "0",
                "1",
                "01",
                "+",
                "-",
                "=",
                "A",
                "4",
                "\r",
                " ",
                base64.b64encode(EMPTY_ROOT).decode(),
            ]
        ),
        max_size=20,
    ).map("".join)
)
def test_parse_body_on_checkpoint_like_text(text: str) -> None:
    try:
        cp = Checkpoint.parse_body(text)
    except MalformedCheckpoint:
        return
    assert cp.to_body() == text  # Whatever parses is canonical.


line = st.text(
    alphabet=st.characters(
        blacklist_categories=["Cs"], blacklist_characters=[chr(c) for c in range(32)]
    ),
    min_size=1,
    max_size=30,
)


@settings(max_examples=300)
@given(
    line,
    st.integers(0, MAX_TREE_SIZE),
    st.binary(min_size=32, max_size=32),
    st.lists(line, max_size=3),
)
def test_checkpoint_round_trip(origin: str, size: int, root: bytes, ext: list[str]) -> None:
    cp = Checkpoint(origin, size, root, tuple(ext))
    assert Checkpoint.parse_body(cp.to_body()) == cp


@settings(max_examples=300)
@given(st.text(max_size=120))
def test_cosignature_vkey_parser_raises_only_malformed_key(text: str) -> None:
    try:
        CosignatureVerifier.from_vkey(text)
    except MalformedNoteKey:
        pass


@settings(max_examples=200)
@given(st.binary(max_size=300), st.integers(0, 3))
def test_require_witnesses_raises_only_verification_errors(data: bytes, k: int) -> None:
    try:
        require_witnesses(data, LOG.verifier, [W1.verifier, W2.verifier, W3.verifier], k)
    except VerificationError:
        pass
