"""Signed notes and note keys (:mod:`signing.note`, c2sp.org/signed-note@v1.0.0).

(a) The shared vectors in ``tests/vectors/note`` (``note.json``, ``vkeys.json``): the Go
    sumdb/note test cases, the C2SP examples, a real sum.golang.org tree head and generated
    mutations, each naming the error class expected.
(b) Go's manglings of a vkey and an skey (every substring, every byte + 1) all fail.
(c) Key IDs, vkeys and skeys are derived as the specification says.
(d) Properties: the parsers raise only ``signing.errors`` on any input; a signed note opens
    to its text; every single-byte change of a signed note is rejected.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signing import errors
from signing.checkpoint import CosignatureVerifier
from signing.errors import (
    AmbiguousKey,
    InvalidNoteSignature,
    MalformedNote,
    MalformedNoteKey,
    SigningError,
    UnverifiedNote,
    VerificationError,
)
from signing.note import (
    MAX_SIGNATURES,
    NoteSigner,
    NoteVerifier,
    Signature,
    Verifier,
    add_signature_lines,
    b64decode_strict,
    check_note_text,
    format_note,
    is_valid_key_name,
    key_id,
    new_signing_key,
    open_note,
    parse_note,
    parse_vkey,
    sign_note,
    signature_lines,
)

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "note"
NOTE_VECTORS: dict[str, Any] = json.loads((VECTORS / "note.json").read_text("utf-8"))
VKEY_VECTORS: dict[str, Any] = json.loads((VECTORS / "vkeys.json").read_text("utf-8"))

# golang.org/x/mod sumdb/note note_test.go (BSD-3-Clause).
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_SIGNED = (
    GO_TEXT + "\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNX"
    "gKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)


def _known(case: dict[str, Any]) -> list[Verifier]:
    out: list[Verifier] = []
    for alias in case["known"]:
        vkey = NOTE_VECTORS["keys"][alias]
        kind = parse_vkey(vkey).type
        out.append(
            NoteVerifier.from_vkey(vkey) if kind == 1 else CosignatureVerifier.from_vkey(vkey)
        )
    return out


def _note_bytes(case: dict[str, Any]) -> bytes:
    if "noteHex" in case:
        return bytes.fromhex(case["noteHex"])
    return str(case["note"]).encode("utf-8")


def _ids(sigs: tuple[Signature, ...]) -> list[str]:
    return [f"{s.name}+{s.key_id:08x}" for s in sigs]


# --------------------------------------------------------------------------- (a) vectors


@pytest.mark.parametrize("case", NOTE_VECTORS["cases"], ids=lambda c: c["desc"])
def test_note_vectors(case: dict[str, Any]) -> None:
    data, known = _note_bytes(case), _known(case)
    if case["wantErr"]:
        with pytest.raises(getattr(errors, case["err"])):
            open_note(data, known)
        return
    note = open_note(data, known)
    assert note.text == case["text"]
    assert _ids(note.verified) == case["verified"]
    assert _ids(note.unverified) == case["unverified"]
    # Unpacks as (text, verified, unverified), and re-encodes to the same bytes.
    text, verified, unverified = note
    assert (text, verified, unverified) == (note.text, note.verified, note.unverified)
    assert format_note(text, parse_note(data).signatures) == data


def test_vectors_cover_every_rule() -> None:
    errs = {c.get("err") for c in NOTE_VECTORS["cases"]}
    assert {"MalformedNote", "UnverifiedNote", "InvalidNoteSignature", None} <= errs
    descs = " ".join(c["desc"] for c in NOTE_VECTORS["cases"])
    for rule in ("CRLF", "no final newline", "unknown keys only", "101 signatures", "base64"):
        assert rule in descs


def test_vectors_are_reproducible() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("note_generate", VECTORS / "generate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--check"]) == 0


@pytest.mark.parametrize(
    "case", [c for c in VKEY_VECTORS["cases"] if c["kind"] == "note"], ids=lambda c: c["desc"]
)
def test_vkey_vectors(case: dict[str, Any]) -> None:
    if case["wantErr"]:
        with pytest.raises(MalformedNoteKey):
            NoteVerifier.from_vkey(case["vkey"])
        return
    v = NoteVerifier.from_vkey(case["vkey"])
    assert (v.name, f"{v.key_id:08x}", v.public_key.hex()) == (
        case["name"],
        case["keyId"],
        case["publicKey"],
    )
    assert v.vkey == case["vkey"]


@pytest.mark.parametrize("case", VKEY_VECTORS["skeys"], ids=lambda c: c["desc"])
def test_skey_vectors(case: dict[str, Any]) -> None:
    if case["wantErr"]:
        with pytest.raises(MalformedNoteKey):
            NoteSigner.from_skey(case["skey"])
        return
    signer = NoteSigner.from_skey(case["skey"])
    assert signer.vkey == case["vkey"]
    assert signer.skey == case["skey"]


# --------------------------------------------------------------------------- (b) Go manglings


def test_go_vkey_manglings_fail() -> None:
    """Port of TestNewVerifier: every proper substring and every byte + 1 is refused."""
    NoteVerifier.from_vkey(PETER_VKEY)
    n = len(PETER_VKEY)
    for i in range(n + 1):
        for j in range(i + 1, n + 1):
            if (i, j) != (0, n):
                with pytest.raises(MalformedNoteKey):
                    NoteVerifier.from_vkey(PETER_VKEY[i:j])
    for i in range(n):
        mangled = PETER_VKEY[:i] + chr(ord(PETER_VKEY[i]) + 1) + PETER_VKEY[i + 1 :]
        with pytest.raises(MalformedNoteKey):
            NoteVerifier.from_vkey(mangled)


def test_go_skey_manglings_fail() -> None:
    """Port of TestNewSigner."""
    NoteSigner.from_skey(PETER_SKEY)
    n = len(PETER_SKEY)
    for i in range(n + 1):
        for j in range(i + 1, n + 1):
            if (i, j) != (0, n):
                with pytest.raises(MalformedNoteKey):
                    NoteSigner.from_skey(PETER_SKEY[i:j])
    for i in range(n):
        mangled = PETER_SKEY[:i] + chr(ord(PETER_SKEY[i]) + 1) + PETER_SKEY[i + 1 :]
        with pytest.raises(MalformedNoteKey):
            NoteSigner.from_skey(mangled)


def test_go_sign_output_is_byte_exact() -> None:
    """Port of TestSign: Ed25519 is deterministic, so Go's expected note is reproduced."""
    signer = NoteSigner.from_skey(PETER_SKEY)
    assert sign_note(GO_TEXT, [signer]) == GO_SIGNED.encode()
    with pytest.raises(MalformedNote):
        sign_note("abc", [signer])  # No final newline.


# --------------------------------------------------------------------------- (c) keys


def test_key_id_is_sha256_of_name_newline_type_key() -> None:
    signer = NoteSigner("example.com/log", Ed25519PrivateKey.generate())
    public = signer.verifier.public_key
    digest = hashlib.sha256(b"example.com/log\n\x01" + public).digest()
    assert signer.key_id == int.from_bytes(digest[:4], "big")
    assert key_id("example.com/log", b"\x01" + public) == signer.key_id
    name, id_hex, key64 = signer.vkey.split("+", 2)
    assert (name, id_hex, base64.b64decode(key64)) == (
        "example.com/log",
        digest[:4].hex(),
        b"\x01" + public,
    )


def test_new_signing_key_round_trip() -> None:
    skey, vkey = new_signing_key("sở.example/trường")
    signer = NoteSigner.from_skey(skey)
    verifier = NoteVerifier.from_vkey(vkey)
    assert signer.vkey == vkey and signer.verifier == verifier
    assert skey.startswith("PRIVATE+KEY+sở.example/trường+")
    note = sign_note("hello\n", [signer])
    assert open_note(note, [verifier]).text == "hello\n"
    with pytest.raises(MalformedNoteKey):
        new_signing_key("bad name")
    with pytest.raises(MalformedNoteKey):
        new_signing_key("a+b")


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("example.com/log", True),
        ("PeterNeumann", True),
        ("sở.example", True),
        ("", False),
        ("a+b", False),
        ("a b", False),
        ("a\u00a0b", False),
        ("a\u2003b", False),
        ("a\u3000b", False),
        ("a\x85b", False),
        ("a\x01b", False),
        ("a\ud800b", False),
        ("a\x7fb", True),  # DEL is not a space nor an ASCII control below U+0020.
        ("a\u200bb", True),  # ZERO WIDTH SPACE is not White_Space (Go agrees).
    ],
)
def test_key_names(name: str, ok: bool) -> None:
    assert is_valid_key_name(name) is ok


def test_ambiguous_known_keys() -> None:
    """Two different known keys with the same (name, key ID): refuse to guess (Go does too)."""

    class Fake:
        def __init__(self, name: str, kid: int) -> None:
            self.name, self.key_id = name, kid

        def verify(self, message: bytes, signature: bytes) -> None:
            return None

    note = b"t\n\n- x\n".replace(b"- x", "— k AAAAAQE=".encode())
    assert len(parse_note(note).signatures) == 1
    with pytest.raises(AmbiguousKey):
        open_note(note, [Fake("k", 1), Fake("k", 1)])
    assert open_note(note, [Fake("k", 1)]).text == "t\n"


def test_verifier_equality_deduplicates_known_keys() -> None:
    signer = NoteSigner("example.com/log", Ed25519PrivateKey.generate())
    twin = NoteVerifier.from_vkey(signer.vkey)
    assert twin == signer.verifier and hash(twin) == hash(signer.verifier)
    note = sign_note("x\n", [signer])
    assert open_note(note, [signer.verifier, twin]).text == "x\n"


# --------------------------------------------------------------------------- writing notes


def test_sign_note_refuses_what_open_note_would_refuse() -> None:
    signer = NoteSigner("example.com/log", Ed25519PrivateKey.generate())
    for text in ["no newline", "crlf\r\n", "nul\x00\n", "tab\t\n", "lone \ud800\n"]:
        with pytest.raises(MalformedNote):
            sign_note(text, [signer])
    with pytest.raises(MalformedNote):
        sign_note("x\n", [])
    with pytest.raises(MalformedNote):
        sign_note("x\n", [signer] * (MAX_SIGNATURES + 1))

    class BadName:
        name, key_id = "bad name", 1

        def sign(self, message: bytes) -> bytes:
            return b"x"

    with pytest.raises(MalformedNoteKey):
        sign_note("x\n", [BadName()])


def test_check_note_text() -> None:
    assert check_note_text("Sổ\n") == "Sổ\n".encode()
    with pytest.raises(MalformedNote):
        check_note_text(b"bytes\n")  # type: ignore[arg-type]


def test_add_signature_lines() -> None:
    log = NoteSigner("example.com/log", Ed25519PrivateKey.generate())
    other = NoteSigner("example.com/other", Ed25519PrivateKey.generate())
    text = "checkpoint\n"
    note = sign_note(text, [log])
    joined = add_signature_lines(note, signature_lines(text, [other]))
    opened = open_note(joined, [log.verifier, other.verifier])
    assert _ids(opened.verified) == [
        f"example.com/log+{log.key_id:08x}",
        f"example.com/other+{other.key_id:08x}",
    ]
    # A leading blank line would move the text/signature boundary: refused.
    for bad in [
        b"\n" + signature_lines(text, [other]),
        signature_lines(text, [other])[:-1],
        b"not a signature\n",
        b"",
        "— a AAAAAQE=\r\n".encode(),
    ]:
        with pytest.raises(MalformedNote):
            add_signature_lines(note, bad)


def test_unverified_note_carries_the_ignored_signatures() -> None:
    other = NoteSigner("example.com/other", Ed25519PrivateKey.generate())
    note = sign_note("x\n", [other])
    with pytest.raises(UnverifiedNote) as caught:
        open_note(note, [])
    assert [s.name for s in caught.value.unverified] == ["example.com/other"]  # type: ignore[attr-defined]


def test_invalid_signature_names_the_key() -> None:
    log = NoteSigner("example.com/log", Ed25519PrivateKey.generate())
    note = sign_note("x\n", [log]).replace(b"x\n\n", b"y\n\n")
    with pytest.raises(InvalidNoteSignature) as caught:
        open_note(note, [log.verifier])
    assert (caught.value.name, caught.value.key_id) == ("example.com/log", log.key_id)


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("AAAA", b"\x00\x00\x00"),
        ("AA==", b"\x00"),
        ("AB==", None),  # Non-zero padding bits.
        ("AA=", None),
        ("AA", None),
        ("A===", None),
        ("AA==AA==", None),
        ("-_-_", None),
        ("AA A", None),
        ("", b""),
    ],
)
def test_b64decode_strict(text: str, want: bytes | None) -> None:
    assert b64decode_strict(text) == want


# --------------------------------------------------------------------------- (d) properties

LOG = NoteSigner("example.com/log", Ed25519PrivateKey.from_private_bytes(bytes(range(32))))
note_text = st.text(
    alphabet=st.characters(
        blacklist_categories=["Cs"], blacklist_characters=[chr(c) for c in range(32)]
    )
    | st.just("\n"),
    max_size=200,
).map(lambda t: t + "\n")


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_parsers_raise_only_package_errors_on_bytes(data: bytes) -> None:
    for parse in (parse_note, lambda d: open_note(d, [LOG.verifier])):
        try:
            parse(data)
        except VerificationError:
            pass


@settings(max_examples=300)
@given(
    st.lists(
        st.sampled_from(["— ", "example.com/log ", "\n", "\n\n", "A", "=", "+", "x", "\r", " "]),
        max_size=30,
    ).map("".join)
)
def test_parsers_raise_only_package_errors_on_note_like_text(text: str) -> None:
    try:
        open_note(text.encode(), [LOG.verifier])
    except VerificationError:
        pass


@settings(max_examples=300)
@given(st.text(max_size=120))
def test_key_parsers_raise_only_package_errors(text: str) -> None:
    for parse in (NoteVerifier.from_vkey, NoteSigner.from_skey, parse_vkey):
        try:
            parse(text)
        except MalformedNoteKey:
            pass
    for candidate in (text, "PRIVATE+KEY+" + text, "a+" + text, "a+00000000+" + text):
        try:
            NoteVerifier.from_vkey(candidate)
            NoteSigner.from_skey(candidate)
        except SigningError as e:
            assert isinstance(e, MalformedNoteKey)


@settings(max_examples=200)
@given(note_text)
def test_signed_notes_open_to_their_text(text: str) -> None:
    note = sign_note(text, [LOG])
    opened = open_note(note, [LOG.verifier])
    assert opened.text == text
    assert _ids(opened.verified) == [f"example.com/log+{LOG.key_id:08x}"]


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(note_text, st.data())
def test_every_single_byte_change_is_rejected(text: str, data: st.DataObject) -> None:
    note = sign_note(text, [LOG])
    i = data.draw(st.integers(0, len(note) - 1))
    value = data.draw(st.integers(0, 255).filter(lambda v: v != note[i]))
    mutated = note[:i] + bytes([value]) + note[i + 1 :]
    with pytest.raises(VerificationError):
        open_note(mutated, [LOG.verifier])
