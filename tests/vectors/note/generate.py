"""Generate the signed-note, checkpoint, cosignature and witness test vectors.

Run from the repository root::

    python tests/vectors/note/generate.py           # write the *.json files
    python tests/vectors/note/generate.py --check   # exit 1 if a file differs

The output is byte-for-byte reproducible. Generated keys are Ed25519 with the private key
``seed(label) = SHA-256("socai/test-vectors/note/v1/" || label)``; Ed25519 is deterministic
and cosignature timestamps are fixed, so every signature repeats. Everything is computed here
with hashlib, base64 and cryptography's Ed25519 only (no ``signing`` import): key IDs, vkeys,
signature lines, the ``cosignature/v1`` message, Merkle roots and consistency proofs (RFC 9162
§2.1.1 and §2.1.4.1 by the recursive definitions). Expected errors and HTTP statuses are
written by hand from the specifications; ``README.md`` names the sources and licences of the
published vectors mixed in (golang.org/x/mod sumdb/note, transparency-dev/formats, C2SP).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

HERE = Path(__file__).resolve().parent
DASH = "\u2014"  # EM DASH, c2sp.org/signed-note "Format".
TIMESTAMP = 1751328000  # 2025-07-01T00:00:00Z, the fixed cosignature time.
EMPTY_ROOT = hashlib.sha256(b"").digest()

GO = "golang.org/x/mod sumdb/note/note_test.go (BSD-3-Clause)"
TD = "transparency-dev/formats (Apache-2.0)"
C2SP = "c2sp.org specification example (CC BY 4.0)"
GEN = "generated"


def seed(label: str) -> bytes:
    return hashlib.sha256(b"socai/test-vectors/note/v1/" + label.encode()).digest()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def kid(name: str, typed_key: bytes) -> int:
    """SHA-256(name || 0x0A || type || key)[:4] (c2sp.org/signed-note "Signatures")."""
    return int.from_bytes(hashlib.sha256(name.encode() + b"\n" + typed_key).digest()[:4], "big")


class Key:
    """A generated Ed25519 key used as a note key (type 0x01) or cosigner key (0x04)."""

    def __init__(self, name: str, label: str, typ: int) -> None:
        self.name = name
        self.typ = typ
        self.private = Ed25519PrivateKey.from_private_bytes(seed(label))
        self.public = self.private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.id = kid(name, bytes([typ]) + self.public)

    @property
    def vkey(self) -> str:
        return f"{self.name}+{self.id:08x}+{b64(bytes([self.typ]) + self.public)}"

    @property
    def skey(self) -> str:
        raw = self.private.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        return f"PRIVATE+KEY+{self.name}+{self.id:08x}+{b64(bytes([self.typ]) + raw)}"

    def line(self, text: str, timestamp: int = TIMESTAMP) -> str:
        """A signature line over ``text``: plain Ed25519, or cosignature/v1 for type 0x04."""
        if self.typ == 0x01:
            sig = self.private.sign(text.encode())
        else:
            sig = timestamp.to_bytes(8, "big") + self.private.sign(cosigned(text, timestamp))
        return raw_line(self.name, self.id, sig)


def raw_line(name: str, key_id: int, sig: bytes) -> str:
    return f"{DASH} {name} {b64(key_id.to_bytes(4, 'big') + sig)}\n"


def cosigned(text: str, timestamp: int) -> bytes:
    """c2sp.org/tlog-cosignature "Ed25519 signed message"."""
    return b"cosignature/v1\ntime %d\n" % timestamp + text.encode()


LOG = Key("example.com/log", "log", 0x01)
LOG2 = Key("example.com/log2", "log2", 0x01)
OTHER = Key("example.com/other", "other", 0x01)
W1 = Key("witness.example.com/w1", "witness1", 0x04)
W2 = Key("witness.example.com/w2", "witness2", 0x04)
W3 = Key("witness.example.com/w3", "witness3", 0x04)
# The witness-1 key used as a plain note key: same key, other type, other key ID.
W1_AS_NOTE = Key("witness.example.com/w1", "witness1", 0x01)

# golang.org/x/mod sumdb/note note_test.go (BSD-3-Clause).
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_SIG = (
    f"{DASH} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqf"
    "qdngotpRZb6KE6RyyBwJnAM=\n"
)
ENOCH_SIG = (
    f"{DASH} EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOT"
    "GwnWLox33WWd1RvMc+QQ=\n"
)
# sum.golang.org's published key (golang/go, cmd/go, BSD-3-Clause).
SUMDB_VKEY = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8"
# c2sp.org/tlog-checkpoint example: its signature is a real sum.golang.org tree head over
# the origin "go.sum database tree"; the example prints another origin and key name.
SUMDB_TEXT = "go.sum database tree\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
SUMDB_SIG_B64 = (
    "Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8="
)
# c2sp.org/signed-note "Example".
FOO_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
FOO_NOTE = (
    "This is an example message.\n\n"
    f"{DASH} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYj"
    "OBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
)


def go_bytes_insert(s: str, at: int, insert: str) -> str:
    """Go's s[:at] + insert + s[at:], on UTF-8 bytes (the em dash is three bytes)."""
    raw = s.encode()
    return (raw[:at] + insert.encode() + raw[at:]).decode()


# --------------------------------------------------------------------------- note.json


def note_vectors() -> dict[str, Any]:
    keys = {
        "peter": PETER_VKEY,
        "enoch": ENOCH_VKEY,
        "foo": FOO_VKEY,
        "sumdb": SUMDB_VKEY,
        "log": LOG.vkey,
        "other": OTHER.vkey,
        "w1": W1.vkey,
    }
    cases: list[dict[str, Any]] = []

    def ok(
        desc: str,
        note: str | bytes,
        known: list[str],
        text: str,
        verified: list[str],
        unverified: list[str] | None = None,
        origin: str = GEN,
    ) -> None:
        case: dict[str, Any] = {"desc": desc, "origin": origin}
        case.update(_note_field(note))
        case.update(
            known=known,
            wantErr=False,
            text=text,
            verified=verified,
            unverified=unverified or [],
        )
        cases.append(case)

    def bad(desc: str, note: str | bytes, known: list[str], err: str, origin: str = GEN) -> None:
        case: dict[str, Any] = {"desc": desc, "origin": origin}
        case.update(_note_field(note))
        case.update(known=known, wantErr=True, err=err)
        cases.append(case)

    peter, enoch = "PeterNeumann+c74f20a3", "EnochRoot+af0cfe78"
    note = GO_TEXT + "\n" + PETER_SIG + ENOCH_SIG
    ok("go: one known, one unknown", note, ["peter"], GO_TEXT, [peter], [enoch], GO)
    ok("go: both known", note, ["peter", "enoch"], GO_TEXT, [peter, enoch], [], GO)
    bad("go: no known key", note, [], "UnverifiedNote", GO)
    ok("go: Sign output", GO_TEXT + "\n" + PETER_SIG, ["peter"], GO_TEXT, [peter], [], GO)
    bad(
        "go: 101 signatures, known",
        GO_TEXT + "\n" + PETER_SIG * 101,
        ["peter"],
        "MalformedNote",
        GO,
    )
    bad("go: 101 signatures, unknown", GO_TEXT + "\n" + PETER_SIG * 101, [], "MalformedNote", GO)
    bad_peter = go_bytes_insert(PETER_SIG, 60, "ABCD")
    bad("go: invalid signature", GO_TEXT + "\n" + bad_peter, ["peter"], "InvalidNoteSignature", GO)
    enoch_abcd = go_bytes_insert(ENOCH_SIG, 60, "ABCD")
    ok(
        "go: duplicated verified and unverified signatures are listed once",
        GO_TEXT + "\n" + PETER_SIG + PETER_SIG + ENOCH_SIG + ENOCH_SIG + enoch_abcd,
        ["peter"],
        GO_TEXT,
        [peter],
        [enoch, enoch],  # The same key twice: two different lines (one is ABCD-mangled).
        GO,
    )
    go_bad: list[tuple[str, str | bytes]] = [
        ("text only", GO_TEXT),
        ("text and blank line", GO_TEXT + "\n"),
        ("signature without final newline", GO_TEXT + "\n" + PETER_SIG[:-1]),
        ("leading control character", "\x01" + GO_TEXT + "\n" + PETER_SIG),
        ("leading 0xff byte", b"\xff" + (GO_TEXT + "\n" + PETER_SIG).encode()),
        (
            "key name with a space",
            GO_TEXT + "\n" + f"{DASH} Bad Name " + PETER_SIG.split(" ", 2)[2],
        ),
        ("unexpected line after signatures", GO_TEXT + "\n" + PETER_SIG + "Unexpected line.\n"),
    ]
    for desc, msg in go_bad:
        bad(f"go: malformed: {desc}", msg, ["peter"], "MalformedNote", GO)

    ok(
        "c2sp signed-note example",
        FOO_NOTE,
        ["foo"],
        "This is an example message.\n",
        ["example.com/foo+530d903a"],
        [],
        C2SP,
    )
    sumdb_note = SUMDB_TEXT + "\n" + f"{DASH} sum.golang.org {SUMDB_SIG_B64}\n"
    ok(
        "c2sp tlog-checkpoint example, origin and key name as sum.golang.org signed it",
        sumdb_note,
        ["sumdb"],
        SUMDB_TEXT,
        ["sum.golang.org+033de0ae"],
        [],
        C2SP,
    )
    printed = SUMDB_TEXT.replace("go.sum database tree", "example.com/behind-the-sofa")
    bad(
        "c2sp tlog-checkpoint example as printed: key name differs, so the key is unknown",
        printed + "\n" + f"{DASH} example.com/behind-the-sofa {SUMDB_SIG_B64}\n",
        ["sumdb"],
        "UnverifiedNote",
        C2SP,
    )

    log_id = f"{LOG.name}+{LOG.id:08x}"
    other_id = f"{OTHER.name}+{OTHER.id:08x}"
    text = "socai checkpoint\n42\n" + b64(hashlib.sha256(b"x").digest()) + "\n"
    good = text + "\n" + LOG.line(text)
    ok("one known signature", good, ["log"], text, [log_id])
    ok("known and unknown", good + OTHER.line(text), ["log"], text, [log_id], [other_id])
    ok("two known", good + OTHER.line(text), ["log", "other"], text, [log_id, other_id])
    bad("unknown keys only", text + "\n" + OTHER.line(text), ["log"], "UnverifiedNote")
    bad("no known keys at all", good, [], "UnverifiedNote")
    bad("CRLF line endings", good.replace("\n", "\r\n"), ["log"], "MalformedNote")
    t_cr = "line one\rstill one\n"
    bad("CR inside the text", t_cr + "\n" + LOG.line(t_cr), ["log"], "MalformedNote")
    bad("no final newline", good[:-1], ["log"], "MalformedNote")
    bad("no blank line", text + LOG.line(text), ["log"], "MalformedNote")
    bad("blank line but no signatures", text + "\n", ["log"], "MalformedNote")
    bad("empty input", "", ["log"], "MalformedNote")
    for label, ch in [("NUL", "\x00"), ("TAB", "\t"), ("US 0x1f", "\x1f"), ("ESC", "\x1b")]:
        t = f"a{ch}b\n"
        bad(
            f"control character {label} in the text",
            t + "\n" + LOG.line(t),
            ["log"],
            "MalformedNote",
        )
    for label, ch in [("DEL 0x7f", "\x7f"), ("C1 NEL U+0085", "\x85"), ("U+2028", "\u2028")]:
        t = f"a{ch}b\n"
        ok(
            f"{label} is not an ASCII control character: allowed",
            t + "\n" + LOG.line(t),
            ["log"],
            t,
            [log_id],
        )
    for label, raw in [
        ("0xff byte", b"\xff"),
        ("overlong '/' C0 AF", b"\xc0\xaf"),
        ("surrogate ED A0 80", b"\xed\xa0\x80"),
        ("truncated sequence E2 80", b"\xe2\x80"),
    ]:
        raw_text = b"a" + raw + b"\n"
        bad(
            f"invalid UTF-8: {label}",
            raw_text + b"\n" + LOG.line("a\n").encode(),
            ["log"],
            "MalformedNote",
        )
    vi = "Sổ Cái: học bạ số, Trường THCS Kiểm Thử\n"
    ok("Vietnamese text", vi + "\n" + LOG.line(vi), ["log"], vi, [log_id])
    ok("minimal text: one newline", "\n\n" + LOG.line("\n"), ["log"], "\n", [log_id])
    t_blank = "para one\n\npara two\n"
    ok(
        "text with an empty line: the last blank line splits",
        t_blank + "\n" + LOG.line(t_blank),
        ["log"],
        t_blank,
        [log_id],
    )
    t_dash = f"{DASH} not a signature\n"
    ok(
        "text line that looks like a signature",
        t_dash + "\n" + LOG.line(t_dash),
        ["log"],
        t_dash,
        [log_id],
    )
    t_end = "ends in a blank line\n\n"
    ok("text ending in an empty line", t_end + "\n" + LOG.line(t_end), ["log"], t_end, [log_id])
    bad(
        "blank line between signature lines moves the split",
        good + "\n" + OTHER.line(text),
        ["log"],
        "UnverifiedNote",
    )
    bad(
        "blank line between known signatures",
        good + "\n" + LOG.line(text),
        ["log"],
        "InvalidNoteSignature",
    )
    sig_part = LOG.line(text).split(" ", 2)[2]
    for desc, line in [
        ("hyphen instead of em dash", f"- {LOG.name} {sig_part}"),
        ("en dash instead of em dash", f"\u2013 {LOG.name} {sig_part}"),
        ("no space after the dash", f"{DASH}{LOG.name} {sig_part}"),
        ("two spaces before the signature", f"{DASH} {LOG.name}  {sig_part}"),
        ("trailing space", f"{DASH} {LOG.name} {sig_part[:-1]} \n"),
        ("no signature", f"{DASH} {LOG.name}\n"),
        ("empty signature", f"{DASH} {LOG.name} \n"),
        ("empty key name", f"{DASH}  {sig_part}"),
        ("key name with a plus", f"{DASH} example.com+log {sig_part}"),
        ("key name with NO-BREAK SPACE", f"{DASH} example.com\u00a0log {sig_part}"),
        ("key name with IDEOGRAPHIC SPACE", f"{DASH} example\u3000log {sig_part}"),
        ("base64 without padding", f"{DASH} {LOG.name} {sig_part.rstrip(chr(10)).rstrip('=')}\n"),
        ("base64url alphabet", f"{DASH} {LOG.name} {sig_part.replace('+', '-').replace('/', '_')}"),
        ("base64 with an inner space", f"{DASH} {LOG.name} {sig_part[:8]} {sig_part[8:]}"),
        (
            "signature of 4 bytes: a key ID only",
            f"{DASH} {LOG.name} {b64(LOG.id.to_bytes(4, 'big'))}\n",
        ),
    ]:
        if "base64url" in desc and "-" not in line and "_" not in line:
            continue
        bad(f"malformed signature line: {desc}", text + "\n" + line, ["log"], "MalformedNote")
    # Non-canonical base64: the last character carries padding bits set to 1.
    enc = sig_part.rstrip("\n")
    assert enc.endswith("=") and not enc.endswith("==")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = enc[-2]
    tweaked = enc[:-2] + alphabet[alphabet.index(last) | 0b11] + "="
    assert tweaked != enc and base64.b64decode(tweaked) == base64.b64decode(enc)
    bad(
        "non-canonical base64 (padding bits set) of a valid signature",
        text + "\n" + f"{DASH} {LOG.name} {tweaked}\n",
        ["log"],
        "MalformedNote",
    )
    short = f"{DASH} {LOG.name} {b64(LOG.id.to_bytes(4, 'big') + b'x')}\n"
    bad("5-byte signature by a known key", text + "\n" + short, ["log"], "InvalidNoteSignature")
    ok(
        "5-byte signature by an unknown key is ignored",
        good + f"{DASH} {OTHER.name} {b64(b'abcde')}\n",
        ["log"],
        text,
        [log_id],
        [f"{OTHER.name}+61626364"],
    )
    same_name = raw_line(LOG.name, LOG.id ^ 1, b"\x00" * 64)
    ok(
        "known name with another key ID is unknown",
        good + same_name,
        ["log"],
        text,
        [log_id],
        [f"{LOG.name}+{LOG.id ^ 1:08x}"],
    )
    same_id = raw_line("example.com/impostor", LOG.id, b"\x00" * 64)
    ok(
        "known key ID with another name is unknown",
        good + same_id,
        ["log"],
        text,
        [log_id],
        [f"example.com/impostor+{LOG.id:08x}"],
    )
    ok(
        "the same valid signature twice is listed once",
        good + LOG.line(text),
        ["log"],
        text,
        [log_id],
    )
    bad_again = raw_line(LOG.name, LOG.id, b"\x01" * 64)
    bad(
        "a known key's second signature fails: rejected (Go skips repeats; the spec verifies)",
        good + bad_again,
        ["log"],
        "InvalidNoteSignature",
    )
    bad(
        "valid known signature, failing one by another known key",
        good + raw_line(OTHER.name, OTHER.id, b"\x02" * 64),
        ["log", "other"],
        "InvalidNoteSignature",
    )
    bad(
        "text changed after signing",
        text.replace("42", "43") + "\n" + LOG.line(text),
        ["log"],
        "InvalidNoteSignature",
    )
    unknown_lines = "".join(raw_line(f"example.com/u{i}", i, b"\x00" * 64) for i in range(99))
    ok(
        "100 signatures: the limit",
        good + unknown_lines,
        ["log"],
        text,
        [log_id],
        [f"example.com/u{i}+{i:08x}" for i in range(99)],
    )
    bad(
        "101 signatures",
        good + unknown_lines + raw_line("example.com/u99", 99, b"\x00" * 64),
        ["log"],
        "MalformedNote",
    )
    ok(
        "a cosignature by a known witness key",
        good + W1.line(text),
        ["log", "w1"],
        text,
        [
            log_id,
            f"{W1.name}+{W1.id:08x}",
        ],
    )
    return {
        "source": "c2sp.org/signed-note@v1.0.0; see README.md for the origin of each case",
        "keys": keys,
        "cases": cases,
    }


def _note_field(note: str | bytes) -> dict[str, str]:
    if isinstance(note, bytes):
        return {"noteHex": note.hex()}
    return {"note": note}


# --------------------------------------------------------------------------- vkeys.json


def vkey_vectors() -> dict[str, Any]:
    cases: list[dict[str, Any]] = []

    def ok(desc: str, vkey: str, kind: str, origin: str = GEN) -> None:
        name, id_hex, key64 = vkey.split("+", 2)
        typed = base64.b64decode(key64)
        cases.append(
            {
                "desc": desc,
                "origin": origin,
                "vkey": vkey,
                "kind": kind,
                "wantErr": False,
                "name": name,
                "keyId": id_hex,
                "type": typed[0],
                "publicKey": typed[1:].hex(),
            }
        )

    def bad(desc: str, vkey: str, kind: str, origin: str = GEN) -> None:
        cases.append(
            {
                "desc": desc,
                "origin": origin,
                "vkey": vkey,
                "kind": kind,
                "wantErr": True,
                "err": "MalformedNoteKey",
            }
        )

    ok("go PeterNeumann", PETER_VKEY, "note", GO)
    ok("go EnochRoot", ENOCH_VKEY, "note", GO)
    bad(
        "go: wrong length key, with adjusted key ID",
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
        "note",
        GO,
    )
    bad(
        "go: unknown algorithm, with adjusted key ID",
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "note",
        GO,
    )
    ok("c2sp signed-note example", FOO_VKEY, "note", C2SP)
    ok("sum.golang.org", SUMDB_VKEY, "note", "golang/go cmd/go (BSD-3-Clause)")
    ok(
        "transparency-dev: Ed25519",
        "TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6",
        "note",
        TD,
    )
    ok(
        "transparency-dev: logandmap",
        "logandmap+38581672+Ab/PCr1eCclRPRMBqw/r5An1xO71MCnImLiospEq6b4l",
        "note",
        TD,
    )
    remora = "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2"
    ok("transparency-dev: a deployed cosignature/v1 witness key", remora, "cosignature", TD)
    bad("cosignature key used as a note key", remora, "note", TD)
    bad("note key used as a cosignature key", PETER_VKEY, "cosignature", GO)
    bad("transparency-dev: wrong number of parts", "bananas.sigstore.dev+12344556", "note", TD)
    bad(
        "transparency-dev: invalid base64",
        "rekor.sigstore.dev+12345678+THIS_IS_NOT_BASE64!",
        "note",
        TD,
    )
    bad("transparency-dev: invalid algorithm", "rekor.sigstore.dev+12345678+AwEB", "note", TD)
    sigstore = (
        "AjBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABNhtmPtrWm3U1eQXBogSMdGvXwBcK5AW5i0hrZLOC96l+smGNM7n"
        "wZ4QvFK/4sueRoVj//QP22Ni4Qt9DPfkWLc="
    )
    bad(
        "transparency-dev: key ID not hex",
        "rekor.sigstore.dev+NOT_A_NUMBER+" + sigstore,
        "note",
        TD,
    )
    bad("transparency-dev: key ID zero", "rekor.sigstore.dev+00000000+" + sigstore, "note", TD)
    bad("ECDSA (type 0x02) is not supported", "rekor.sigstore.dev+c0d23d6a+" + sigstore, "note", TD)
    ok("generated log key", LOG.vkey, "note")
    ok("generated witness key", W1.vkey, "cosignature")
    name, id_hex, key64 = LOG.vkey.split("+", 2)
    bad("uppercase hex key ID", f"{name}+{id_hex.upper()}+{key64}", "note")
    bad("7 hex digits", f"{name}+{id_hex[1:]}+{key64}", "note")
    bad("9 hex digits", f"{name}+0{id_hex}+{key64}", "note")
    bad("key ID off by one", f"{name}+{(int(id_hex, 16) + 1) % 2**32:08x}+{key64}", "note")
    bad("empty name", f"+{id_hex}+{key64}", "note")
    bad("name changed", f"example.com/lag+{id_hex}+{key64}", "note")
    bad("missing key", f"{name}+{id_hex}", "note")
    bad("empty key", f"{name}+{id_hex}+", "note")
    bad("trailing newline", LOG.vkey + "\n", "note")
    bad("leading space", " " + LOG.vkey, "note")
    bad("base64 with extra padding", LOG.vkey + "=", "note")
    bad("base64 with a character dropped", LOG.vkey[:-1], "note")
    typed31 = bytes([1]) + LOG.public[:31]
    bad("31-byte Ed25519 key", f"{name}+{kid(name, typed31):08x}+{b64(typed31)}", "note")
    typed33 = bytes([1]) + LOG.public + b"\x00"
    bad("33-byte Ed25519 key", f"{name}+{kid(name, typed33):08x}+{b64(typed33)}", "note")
    spaced = "example.com/a b"
    typed = bytes([1]) + LOG.public
    bad("name with a space", f"{spaced}+{kid(spaced, typed):08x}+{b64(typed)}", "note")
    skeys = [
        {
            "desc": "go PeterNeumann",
            "origin": GO,
            "skey": PETER_SKEY,
            "wantErr": False,
            "vkey": PETER_VKEY,
        },
        {
            "desc": "transparency-dev logandmap",
            "origin": TD,
            "skey": "PRIVATE+KEY+logandmap+38581672+AXJ0FKWOcO2ch6WC8kP705Ed3Gxu7pVtZLhfHAQwp+FE",
            "wantErr": False,
            "vkey": "logandmap+38581672+Ab/PCr1eCclRPRMBqw/r5An1xO71MCnImLiospEq6b4l",
        },
        {
            "desc": "generated log key",
            "origin": GEN,
            "skey": LOG.skey,
            "wantErr": False,
            "vkey": LOG.vkey,
        },
        {
            "desc": "a vkey is not an skey",
            "origin": GO,
            "skey": PETER_VKEY,
            "wantErr": True,
            "err": "MalformedNoteKey",
        },
        {
            "desc": "key ID of another name",
            "origin": GEN,
            "skey": LOG.skey.replace(LOG.name, OTHER.name),
            "wantErr": True,
            "err": "MalformedNoteKey",
        },
        {
            "desc": "cosignature type 0x04 seed",
            "origin": GEN,
            "skey": W1.skey,
            "wantErr": True,
            "err": "MalformedNoteKey",
        },
    ]
    return {"source": 'c2sp.org/signed-note@v1.0.0 "Verifier keys"', "cases": cases, "skeys": skeys}


# --------------------------------------------------------------------------- checkpoint.json


def checkpoint_vectors() -> dict[str, Any]:
    cases: list[dict[str, Any]] = []
    root = hashlib.sha256(b"socai").digest()
    r64 = b64(root)

    def ok(
        desc: str, body: str, origin: str, size: int, root_: bytes, ext: list[str], src: str = GEN
    ) -> None:
        cases.append(
            {
                "desc": desc,
                "origin": src,
                "body": body,
                "wantErr": False,
                "checkpointOrigin": origin,
                "size": str(size),  # A string: JSON numbers lose precision above 2^53.
                "root": root_.hex(),
                "extensions": ext,
            }
        )

    def bad(desc: str, body: str, src: str = GEN) -> None:
        cases.append(
            {
                "desc": desc,
                "origin": src,
                "body": body,
                "wantErr": True,
                "err": "MalformedCheckpoint",
            }
        )

    sofa = SUMDB_TEXT.replace("go.sum database tree", "example.com/behind-the-sofa")
    ok(
        "c2sp tlog-checkpoint example",
        sofa,
        "example.com/behind-the-sofa",
        20852163,
        base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="),
        [],
        C2SP,
    )
    ok(
        "sum.golang.org tree head",
        SUMDB_TEXT,
        "go.sum database tree",
        20852163,
        base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="),
        [],
        C2SP,
    )
    ok(
        "empty tree",
        f"example.com/log\n0\n{b64(EMPTY_ROOT)}\n",
        "example.com/log",
        0,
        EMPTY_ROOT,
        [],
    )
    ok("largest size 2^64-1", f"l\n{2**64 - 1}\n{r64}\n", "l", 2**64 - 1, root, [])
    ok(
        "extension lines",
        f"l\n7\n{r64}\next one\n— ext two\n",
        "l",
        7,
        root,
        ["ext one", "— ext two"],
    )
    ok("origin with spaces and plus (only SHOULD not)", f"a b+c\n1\n{r64}\n", "a b+c", 1, root, [])
    ok("Vietnamese origin", f"sở.example/trường\n1\n{r64}\n", "sở.example/trường", 1, root, [])
    bad("size 2^64", f"l\n{2**64}\n{r64}\n")
    bad("leading zero", f"l\n01\n{r64}\n")
    bad("size 00", f"l\n00\n{r64}\n")
    bad("plus sign", f"l\n+1\n{r64}\n")
    bad("negative size", f"l\n-34\n{r64}\n", TD)
    bad("size not a number", f"l\nbananas\n{r64}\n", TD)
    bad("size far too large", f"l\n3438945738945739845734895735\n{r64}\n", TD)
    bad("size with underscore", f"l\n1_000\n{r64}\n")
    bad("size with a space", f"l\n 1\n{r64}\n")
    bad("size with a trailing space", f"l\n1 \n{r64}\n")
    bad("fullwidth digit", f"l\n\uff11\n{r64}\n")
    bad("Arabic-Indic digit", f"l\n\u0661\n{r64}\n")
    bad("hexadecimal size", f"l\n0x10\n{r64}\n")
    bad("empty size", f"l\n\n{r64}\n")
    bad("root of 7 bytes (transparency-dev accepts any length)", "Log\n123\nYmFuYW5hcw==\n", TD)
    bad("root of 31 bytes", f"l\n1\n{b64(root[:31])}\n")
    bad("root of 33 bytes", f"l\n1\n{b64(root + b'x')}\n")
    bad("root not base64", "Log\n123\nThisIsn'tBase64\n", TD)
    bad("root without padding", f"l\n1\n{r64.rstrip('=')}\n")
    bad("empty origin", f"\n9944\n{r64}\n", TD)
    bad("two lines", "Head\n9944\n", TD)
    bad("no final newline", f"Log\n123\n{r64}", TD)
    bad("trailing empty lines (empty extension lines)", f"Log\n9944\n{r64}\n\n\n\n", TD)
    bad("empty extension line in the middle", f"l\n1\n{r64}\na\n\nb\n")
    bad("CRLF", f"l\r\n1\r\n{r64}\r\n")
    bad("CR in the origin", f"l\rx\n1\n{r64}\n")
    bad("TAB in an extension line", f"l\n1\n{r64}\na\tb\n")
    bad("empty body", "")
    return {"source": 'c2sp.org/tlog-checkpoint@v1.0.0 "Note text"', "cases": cases}


# --------------------------------------------------------------------------- cosignature.json


def cosignature_vectors() -> dict[str, Any]:
    body = f"{LOG.name}\n7\n{b64(hashlib.sha256(b'seven').digest())}\n"
    message = cosigned(body, TIMESTAMP)
    sig = TIMESTAMP.to_bytes(8, "big") + W1.private.sign(message)
    line = raw_line(W1.name, W1.id, sig)
    log_line = LOG.line(body)
    note = body + "\n" + log_line
    cases: list[dict[str, Any]] = []

    def case(
        desc: str,
        n: str,
        witnesses: list[str],
        k: int,
        err: str | None = None,
        origin: str | None = None,
    ) -> None:
        c: dict[str, Any] = {
            "desc": desc,
            "note": n,
            "log": LOG.vkey,
            "witnesses": witnesses,
            "k": k,
        }
        if origin is not None:
            c["checkpointOrigin"] = origin
        c.update({"wantErr": False} if err is None else {"wantErr": True, "err": err})
        cases.append(c)

    w1, w2, w3 = W1.vkey, W2.vkey, W3.vkey
    case("log and one witness, k=1", note + line, [w1], 1)
    case("log only, k=0", note, [w1, w2], 0)
    case("log only, k=1", note, [w1], 1, "NotEnoughCosignatures")
    case("two witnesses, k=2", note + line + W2.line(body), [w1, w2], 2)
    case("two of three, k=2", note + W3.line(body) + line, [w1, w2, w3], 2)
    case("one of three, k=2", note + line, [w1, w2, w3], 2, "NotEnoughCosignatures")
    case(
        "the same cosignature twice counts once",
        note + line + line,
        [w1, w2],
        2,
        "NotEnoughCosignatures",
    )
    case(
        "two cosignatures by one witness (two times) count once",
        note + line + W1.line(body, TIMESTAMP + 60),
        [w1, w2],
        2,
        "NotEnoughCosignatures",
    )
    case("unknown witness ignored", note + line + W3.line(body), [w1, w2], 1)
    other_body = body.replace("\n7\n", "\n8\n")
    case(
        "cosignature over another checkpoint",
        note
        + raw_line(
            W1.name,
            W1.id,
            TIMESTAMP.to_bytes(8, "big") + W1.private.sign(cosigned(other_body, TIMESTAMP)),
        ),
        [w1],
        1,
        "InvalidNoteSignature",
    )
    case(
        "timestamp changed",
        note + raw_line(W1.name, W1.id, (TIMESTAMP + 1).to_bytes(8, "big") + sig[8:]),
        [w1],
        1,
        "InvalidNoteSignature",
    )
    case(
        "timestamp 2^63 (over the limit)",
        note
        + raw_line(
            W1.name, W1.id, (2**63).to_bytes(8, "big") + W1.private.sign(cosigned(body, 2**63))
        ),
        [w1],
        1,
        "InvalidNoteSignature",
    )
    case(
        "timestamp 0 verifies (only witnesses may not write it)",
        note + raw_line(W1.name, W1.id, bytes(8) + W1.private.sign(cosigned(body, 0))),
        [w1],
        1,
    )
    case(
        "71-byte cosignature",
        note + raw_line(W1.name, W1.id, sig[:-1]),
        [w1],
        1,
        "InvalidNoteSignature",
    )
    case(
        "plain Ed25519 signature (type 0x01 key ID) by the witness key is another key",
        note + W1_AS_NOTE.line(body),
        [w1],
        1,
        "NotEnoughCosignatures",
    )
    case(
        "plain Ed25519 signature under the cosignature key ID",
        note + raw_line(W1.name, W1.id, W1.private.sign(body.encode())),
        [w1],
        1,
        "InvalidNoteSignature",
    )
    case("no log signature", body + "\n" + line, [w1], 1, "UnverifiedNote")
    case("unexpected origin", note + line, [w1], 1, "OriginMismatch", origin="example.com/log-b")
    case("expected origin given", note + line, [w1], 1, origin=LOG.name)
    ext_body = body + "extension line\n"
    ext_note = ext_body + "\n" + LOG.line(ext_body) + W1.line(ext_body)
    case("extension lines are cosigned", ext_note, [w1], 1)
    tampered_body = body + "extension lime\n"
    tampered = tampered_body + "\n" + LOG.line(tampered_body) + W1.line(ext_body)
    case("extension line changed after cosigning", tampered, [w1], 1, "InvalidNoteSignature")
    not_cp = "not a checkpoint\n"
    case(
        "log-signed text that is not a checkpoint",
        not_cp + "\n" + LOG.line(not_cp),
        [w1],
        0,
        "MalformedCheckpoint",
    )
    return {
        "source": "c2sp.org/tlog-cosignature (cosignature/v1, Ed25519, type 0x04)",
        "witness": {"name": W1.name, "vkey": W1.vkey, "skeySeedHex": seed("witness1").hex()},
        "checkpoint": body,
        "timestamp": TIMESTAMP,
        "message": message.decode(),
        "signature": sig.hex(),
        "line": line,
        "example": {
            "desc": "c2sp.org/tlog-cosignature example line: framing only (key not published)",
            "line": f"{DASH} witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtP"
            "HeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n",
            "keyId": "8d66cf3f",
            "timestamp": 1679315147,
        },
        "cases": cases,
    }


# --------------------------------------------------------------------------- witness.json


def mth(leaves: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1 MTH by the recursive definition."""
    n = len(leaves)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1 << ((n - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:])).digest()


def subproof(m: int, leaves: list[bytes], b: bool) -> list[bytes]:
    """RFC 9162 §2.1.4.1 SUBPROOF."""
    n = len(leaves)
    if m == n:
        return [] if b else [mth(leaves)]
    k = 1 << ((n - 1).bit_length() - 1)
    if m <= k:
        return [*subproof(m, leaves[:k], b), mth(leaves[k:])]
    return [*subproof(m - k, leaves[k:], False), mth(leaves[:k])]


def witness_vectors() -> dict[str, Any]:
    leaves = [b"socai leaf %d" % i for i in range(16)]

    def cp(size: int, key: Key = LOG, origin: str | None = None, root: bytes | None = None) -> str:
        text = (
            f"{origin or key.name}\n{size}\n{b64(mth(leaves[:size]) if root is None else root)}\n"
        )
        return text + "\n" + key.line(text)

    def req(old: int, proof: list[bytes], note: str, old_line: str | None = None) -> str:
        head = (old_line if old_line is not None else f"old {old}") + "\n"
        return head + "".join(b64(h) + "\n" for h in proof) + "\n" + note

    def proof(m: int, n: int) -> list[bytes]:
        return subproof(m, leaves[:n], True) if 0 < m < n else []

    def cosig(size: int, origin: str = LOG.name) -> str:
        text = f"{origin}\n{size}\n{b64(mth(leaves[:size]))}\n"
        return W1.line(text)

    steps: list[dict[str, Any]] = []
    state: dict[str, tuple[int, bytes] | None] = {LOG.name: None, LOG2.name: None}

    def step(desc: str, origin: str, request: str, status: int, body: str | None = None) -> None:
        s: dict[str, Any] = {"desc": desc, "request": request, "wantStatus": status}
        if body is not None:
            s["wantBody"] = body
        if status == 409:
            s["wantContentType"] = "text/x.tlog.size"
        after = state.get(origin)
        s["origin"] = origin
        s["stateAfter"] = None if after is None else {"size": str(after[0]), "root": after[1].hex()}
        steps.append(s)

    bad_sig = cp(3).rsplit(" ", 1)[0] + " " + b64(LOG.id.to_bytes(4, "big") + bytes(64)) + "\n"
    step(
        "unknown origin",
        "example.com/unknown",
        req(0, [], cp(3, key=OTHER, origin="example.com/unknown")),
        404,
    )
    step(
        "origin known, signed by an unknown key only",
        LOG.name,
        req(0, [], cp(3, key=OTHER, origin=LOG.name)),
        403,
    )
    step("origin known, the log key's signature fails", LOG.name, req(0, [], bad_sig), 403)
    step("no old line", LOG.name, req(0, [], cp(3), old_line="0"), 400)
    step("old size with a leading zero", LOG.name, req(0, [], cp(3), old_line="old 00"), 400)
    step("old size with two spaces", LOG.name, req(0, [], cp(3), old_line="old  0"), 400)
    step("64 proof lines", LOG.name, req(0, [bytes(32)] * 64, cp(3)), 400)
    step("a 31-byte proof line", LOG.name, req(0, [bytes(31)], cp(3)), 400)
    step("no empty line", LOG.name, "old 0\n" + cp(3), 400)
    step("checkpoint with CRLF", LOG.name, req(0, [], cp(3).replace("\n", "\r\n")), 400)
    not_cp = f"{LOG.name}\nthree\n{b64(mth(leaves[:3]))}\n"
    step(
        "log-signed text that is not a checkpoint",
        LOG.name,
        req(0, [], not_cp + "\n" + LOG.line(not_cp)),
        400,
    )
    step("old size above the checkpoint size", LOG.name, req(5, [], cp(3)), 400)
    step("old 0 with a proof", LOG.name, req(0, [bytes(32)], cp(3)), 422)
    state[LOG.name] = (3, mth(leaves[:3]))
    step("first checkpoint, old 0, size 3", LOG.name, req(0, [], cp(3)), 200, cosig(3))
    step("stale old size 0", LOG.name, req(0, [], cp(5)), 409, "3\n")
    step("old size 4 is not the latest (3)", LOG.name, req(4, proof(4, 5), cp(5)), 409, "3\n")
    step("rollback: old 3, checkpoint size 2 (old above new)", LOG.name, req(3, [], cp(2)), 400)
    step("rollback: checkpoint size 2 claiming old 2", LOG.name, req(2, [], cp(2)), 409, "3\n")
    step("rollback: checkpoint size 2 from old 0", LOG.name, req(0, [], cp(2)), 409, "3\n")
    wrong = proof(3, 5)
    wrong[0] = bytes(32)
    step("bad consistency proof 3 -> 5", LOG.name, req(3, wrong, cp(5)), 422)
    step("proof too short 3 -> 5", LOG.name, req(3, proof(3, 5)[:-1], cp(5)), 422)
    step("empty proof 3 -> 5", LOG.name, req(3, [], cp(5)), 422)
    fork = hashlib.sha256(b"fork").digest()
    step("split view: size 3, another root", LOG.name, req(3, [], cp(3, root=fork)), 422)
    step("same checkpoint again: cosigned again", LOG.name, req(3, [], cp(3)), 200, cosig(3))
    step("same size with a proof line", LOG.name, req(3, [bytes(32)], cp(3)), 422)
    state[LOG.name] = (5, mth([*leaves[:3], b"forked leaf 3", b"forked leaf 4"]))
    # A fork that keeps leaves 0-2 extends the stored size 3: the witness cannot tell, and
    # cosigns it. The honest size 5 that follows is then a split view.
    forked = [*leaves[:3], b"forked leaf 3", b"forked leaf 4"]
    fork_text = f"{LOG.name}\n5\n{b64(mth(forked))}\n"
    step(
        "a forked size 5 that extends the stored size 3: consistent, cosigned",
        LOG.name,
        req(3, subproof(3, forked, True), fork_text + "\n" + LOG.line(fork_text)),
        200,
        W1.line(fork_text),
    )
    step(
        "the honest size 5 after the forked one: split view",
        LOG.name,
        req(5, [], cp(5)),
        422,
    )
    step(
        "honest 3 -> 6 after the fork: stale old size",
        LOG.name,
        req(3, proof(3, 6), cp(6)),
        409,
        "5\n",
    )
    step(
        "honest 5 -> 8 proof does not match the forked root",
        LOG.name,
        req(5, proof(5, 8), cp(8)),
        422,
    )
    step(
        "size-0 checkpoint with a non-empty root",
        LOG2.name,
        req(0, [], cp(0, key=LOG2, root=fork)),
        422,
    )
    state[LOG2.name] = (0, EMPTY_ROOT)
    empty_text = f"{LOG2.name}\n0\n{b64(EMPTY_ROOT)}\n"
    step(
        "size-0 checkpoint with the empty root",
        LOG2.name,
        req(0, [], empty_text + "\n" + LOG2.line(empty_text)),
        200,
        W1.line(empty_text),
    )
    state[LOG2.name] = (1, mth(leaves[:1]))
    one_text = f"{LOG2.name}\n1\n{b64(mth(leaves[:1]))}\n"
    step(
        "0 -> 1 needs no proof",
        LOG2.name,
        req(0, [], one_text + "\n" + LOG2.line(one_text)),
        200,
        W1.line(one_text),
    )
    state[LOG2.name] = (8, mth(leaves[:8]))
    eight_text = f"{LOG2.name}\n8\n{b64(mth(leaves[:8]))}\n"
    step(
        "1 -> 8 with a proof",
        LOG2.name,
        req(
            1,
            subproof(1, leaves[:8], True),
            eight_text + "\n" + LOG2.line(eight_text) + OTHER.line(eight_text),
        ),
        200,
        W1.line(eight_text),
    )
    return {
        "source": "c2sp.org/tlog-witness add-checkpoint (main after v1.0.0, commit 95978ca)",
        "witness": {"name": W1.name, "vkey": W1.vkey, "seedHex": seed("witness1").hex()},
        "clock": TIMESTAMP,
        "logs": {LOG.name: [LOG.vkey], LOG2.name: [LOG2.vkey]},
        "leaves": [leaf.hex() for leaf in leaves],
        "steps": steps,
    }


OUTPUTS = {
    "note.json": note_vectors,
    "vkeys.json": vkey_vectors,
    "checkpoint.json": checkpoint_vectors,
    "cosignature.json": cosignature_vectors,
    "witness.json": witness_vectors,
}


def render(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the files on disk")
    args = parser.parse_args(argv)
    status = 0
    for name, build in OUTPUTS.items():
        text = render(build())
        path = HERE / name
        if args.check:
            if not path.exists() or path.read_text("utf-8") != text:
                print(f"{path} differs from the generator's output", file=sys.stderr)
                status = 1
        else:
            path.write_text(text, "utf-8")
    return status


if __name__ == "__main__":
    sys.exit(main())
