"""Tests for :mod:`signing.merkle` (RFC 9162 §2.1 Merkle trees and proofs)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from signing import errors, merkle
from signing.errors import MalformedProof, RootMismatch, VerificationError
from signing.merkle import (
    consistency_proof,
    consistency_proof_from_hashes,
    inclusion_proof,
    inclusion_proof_from_hashes,
    leaf_hash,
    node_hash,
    root,
    root_from_hashes,
    verify_consistency,
    verify_inclusion,
)

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "merkle"

# The 8 leaves of the CT / transparency-dev/merkle test suites (Apache-2.0).
LEAVES: list[bytes] = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
]
# Their published roots for sizes 1..8 (same source).
KNOWN_ROOTS: dict[int, str] = {
    1: "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    2: "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    3: "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    4: "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    5: "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    6: "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    7: "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    8: "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
}
EMPTY_ROOT = bytes.fromhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")

# Proofs published in transparency-dev/merkle proof/verify_test.go (Apache-2.0),
# re-keyed to 0-based leaf indices: (index, size) -> proof, (size1, size2) -> proof.
TD_INCLUSION: dict[tuple[int, int], list[str]] = {
    (0, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (5, 8): [
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
    (2, 3): ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
    (1, 5): [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
}
TD_CONSISTENCY: dict[tuple[int, int], list[str]] = {
    (1, 1): [],
    (1, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (6, 8): [
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
    (2, 5): [
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
    (6, 7): [
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
}

LH = [leaf_hash(d) for d in LEAVES]
H32 = b"\x11" * 32


def _hexes(hs: Sequence[bytes]) -> list[str]:
    return [h.hex() for h in hs]


def _unhex(hs: Sequence[str]) -> list[bytes]:
    return [bytes.fromhex(h) for h in hs]


def _ret(fn: Callable[..., object], *args: object) -> object:
    """Call ``fn`` and return what it returned (verifiers must return None)."""
    return fn(*args)


def _flip(b: bytes, i: int, mask: int = 0x01) -> bytes:
    out = bytearray(b)
    out[i] ^= mask
    return bytes(out)


# --------------------------------------------------------------------------- reference model
# Straight transcriptions of the recursive RFC 9162 definitions, used as an
# oracle for the iterative implementation.


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(d: Sequence[bytes]) -> bytes:
    """MTH(D[n]) over leaf data, RFC 9162 §2.1.1."""
    n = len(d)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = _k(n)
    return hashlib.sha256(b"\x01" + ref_mth(d[:k]) + ref_mth(d[k:])).digest()


def ref_path(m: int, d: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]), RFC 9162 §2.1.3.1."""
    n = len(d)
    if n == 1:
        return []
    k = _k(n)
    if m < k:
        return [*ref_path(m, d[:k]), ref_mth(d[k:])]
    return [*ref_path(m - k, d[k:]), ref_mth(d[:k])]


def ref_subproof(m: int, d: Sequence[bytes], b: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b), RFC 9162 §2.1.4.1."""
    n = len(d)
    if m == n:
        return [] if b else [ref_mth(d)]
    k = _k(n)
    if m <= k:
        return [*ref_subproof(m, d[:k], b), ref_mth(d[k:])]
    return [*ref_subproof(m - k, d[k:], False), ref_mth(d[:k])]


def path_shape(m: int, n: int) -> list[str]:
    """Side of each PATH(m, D[n]) element: 'R' (right sibling) or 'L' (left sibling)."""
    if n == 1:
        return []
    k = _k(n)
    if m < k:
        return [*path_shape(m, k), "R"]
    return [*path_shape(m - k, n - k), "L"]


def proof_shape(m: int, n: int, b: bool = True) -> list[str]:
    """Shape of SUBPROOF(m, D[n], b): 'seed' for the complete old subtree, then 'R'/'L'."""
    if m == n:
        return [] if b else ["seed"]
    k = _k(n)
    if m <= k:
        return [*proof_shape(m, k, b), "R"]
    return [*proof_shape(m - k, n - k, False), "L"]


# --------------------------------------------------------------------------- hashing and roots


def test_leaf_and_node_hash_definitions() -> None:
    assert leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    assert (
        node_hash(b"L" * 32, b"R" * 32) == hashlib.sha256(b"\x01" + b"L" * 32 + b"R" * 32).digest()
    )
    assert leaf_hash(b"") == bytes.fromhex(KNOWN_ROOTS[1])


def test_empty_tree_root() -> None:
    assert root([]) == EMPTY_ROOT == hashlib.sha256(b"").digest()
    assert root_from_hashes([]) == EMPTY_ROOT


@pytest.mark.parametrize("size", sorted(KNOWN_ROOTS))
def test_known_roots(size: int) -> None:
    want = bytes.fromhex(KNOWN_ROOTS[size])
    assert root(LEAVES[:size]) == want
    assert root_from_hashes(LH[:size]) == want
    assert ref_mth(LEAVES[:size]) == want


def test_roots_json_matches_constants() -> None:
    doc = json.loads((VECTORS / "roots.json").read_text())
    assert _unhex(doc["leaves"]) == LEAVES
    assert _unhex(doc["leafHashes"]) == LH
    got = {c["size"]: c["root"] for c in doc["cases"]}
    assert got[0] == EMPTY_ROOT.hex()
    assert {s: got[s] for s in KNOWN_ROOTS} == KNOWN_ROOTS
    for size, want in got.items():
        assert root(LEAVES[:size]).hex() == want


# --------------------------------------------------------------------------- hand-derived cases


def test_hand_derived_size_2_and_3() -> None:
    a, b, c = LH[:3]
    ab = node_hash(a, b)
    assert root(LEAVES[:2]) == ab
    assert root(LEAVES[:3]) == node_hash(ab, c)
    # Inclusion, size 2: each leaf's proof is the other leaf.
    assert inclusion_proof(LEAVES[:2], 0) == [b]
    assert inclusion_proof(LEAVES[:2], 1) == [a]
    # Inclusion, size 3: tree is ((a, b), c).
    assert inclusion_proof(LEAVES[:3], 0) == [b, c]
    assert inclusion_proof(LEAVES[:3], 1) == [a, c]
    assert inclusion_proof(LEAVES[:3], 2) == [ab]
    for i, p in enumerate([[b, c], [a, c], [ab]]):
        verify_inclusion(LH[i], i, 3, p, node_hash(ab, c))
    # Consistency: 1 -> 2 is [b] (root1 = a is prepended by the verifier),
    # 2 -> 3 is [c], 1 -> 3 is [b, c].
    assert consistency_proof(LEAVES[:2], 1) == [b]
    assert consistency_proof(LEAVES[:3], 2) == [c]
    assert consistency_proof(LEAVES[:3], 1) == [b, c]
    verify_consistency(1, 2, [b], a, ab)
    verify_consistency(2, 3, [c], ab, node_hash(ab, c))
    verify_consistency(1, 3, [b, c], a, node_hash(ab, c))


def test_rfc9162_example_tree() -> None:
    """The 7-leaf example tree of RFC 9162 §2.1.5."""
    a, b, c, d, e, f, j = LH[:7]
    g, h, i = node_hash(a, b), node_hash(c, d), node_hash(e, f)
    k, l_ = node_hash(g, h), node_hash(i, j)
    top = node_hash(k, l_)
    assert root(LEAVES[:7]) == top
    assert inclusion_proof(LEAVES[:7], 0) == [b, h, l_]
    assert inclusion_proof(LEAVES[:7], 3) == [c, g, l_]
    assert inclusion_proof(LEAVES[:7], 4) == [f, j, k]
    assert inclusion_proof(LEAVES[:7], 6) == [i, k]
    assert consistency_proof(LEAVES[:7], 3) == [c, d, g, l_]
    assert consistency_proof(LEAVES[:7], 4) == [l_]
    assert consistency_proof(LEAVES[:7], 6) == [i, j, k]
    verify_consistency(3, 7, [c, d, g, l_], node_hash(g, c), top)
    verify_consistency(4, 7, [l_], k, top)
    verify_consistency(6, 7, [i, j, k], node_hash(k, i), top)


@pytest.mark.parametrize(("index", "size"), sorted(TD_INCLUSION))
def test_transparency_dev_inclusion_proofs(index: int, size: int) -> None:
    want = _unhex(TD_INCLUSION[(index, size)])
    assert inclusion_proof(LEAVES[:size], index) == want
    verify_inclusion(LH[index], index, size, want, bytes.fromhex(KNOWN_ROOTS[size]))


@pytest.mark.parametrize(("size1", "size2"), sorted(TD_CONSISTENCY))
def test_transparency_dev_consistency_proofs(size1: int, size2: int) -> None:
    want = _unhex(TD_CONSISTENCY[(size1, size2)])
    assert consistency_proof(LEAVES[:size2], size1) == want
    r1, r2 = bytes.fromhex(KNOWN_ROOTS[size1]), bytes.fromhex(KNOWN_ROOTS[size2])
    verify_consistency(size1, size2, want, r1, r2)


# --------------------------------------------------------------------------- JSON vectors


def _cases(name: str) -> list[dict[str, Any]]:
    doc = json.loads((VECTORS / f"{name}.json").read_text())
    assert _unhex(doc["leaves"]) == LEAVES
    cases: list[dict[str, Any]] = doc["cases"]
    return cases


INCLUSION_CASES = _cases("inclusion")
CONSISTENCY_CASES = _cases("consistency")


def _err_class(case: dict[str, Any]) -> type[VerificationError]:
    cls = getattr(errors, case["err"])
    assert issubclass(cls, VerificationError)
    return cls  # type: ignore[no-any-return]


@pytest.mark.parametrize("case", INCLUSION_CASES, ids=[c["desc"] for c in INCLUSION_CASES])
def test_inclusion_vector(case: dict[str, Any]) -> None:
    args = (
        bytes.fromhex(case["leafHash"]),
        case["index"],
        case["size"],
        _unhex(case["proof"]),
        bytes.fromhex(case["root"]),
    )
    if case["wantErr"]:
        with pytest.raises(_err_class(case)):
            verify_inclusion(*args)
        return
    assert _ret(verify_inclusion, *args) is None
    if case["desc"].startswith("happy"):
        size, index = case["size"], case["index"]
        assert case["root"] == root(LEAVES[:size]).hex()
        assert case["proof"] == _hexes(inclusion_proof(LEAVES[:size], index))


@pytest.mark.parametrize("case", CONSISTENCY_CASES, ids=[c["desc"] for c in CONSISTENCY_CASES])
def test_consistency_vector(case: dict[str, Any]) -> None:
    args = (
        case["size1"],
        case["size2"],
        _unhex(case["proof"]),
        bytes.fromhex(case["root1"]),
        bytes.fromhex(case["root2"]),
    )
    if case["wantErr"]:
        with pytest.raises(_err_class(case)):
            verify_consistency(*args)
        return
    assert _ret(verify_consistency, *args) is None
    if case["desc"].startswith("happy"):
        s1, s2 = case["size1"], case["size2"]
        assert case["proof"] == _hexes(consistency_proof(LEAVES[:s2], s1))


def test_vectors_cover_required_mutations() -> None:
    descs = " | ".join(c["desc"] for c in INCLUSION_CASES + CONSISTENCY_CASES)
    for needle in ("flipped byte", "index +1", "size + 1", "truncated", "extended", "wrong root"):
        assert needle in descs
    assert "31-byte" in descs
    assert sum(c["wantErr"] for c in INCLUSION_CASES) > 100
    assert sum(c["wantErr"] for c in CONSISTENCY_CASES) > 100
    origins = [c["origin"] for c in INCLUSION_CASES + CONSISTENCY_CASES]
    assert origins.count("transparency-dev") == len(TD_INCLUSION) + len(TD_CONSISTENCY) - 1


# --------------------------------------------------------------------------- malformed input


def _good_inclusion() -> tuple[bytes, int, int, list[bytes], bytes]:
    return LH[5], 5, 8, inclusion_proof(LEAVES, 5), root(LEAVES)


@pytest.mark.parametrize(
    ("desc", "mutate"),
    [
        ("leaf hash 31 bytes", lambda a: (a[0][:31], *a[1:])),
        ("leaf hash 33 bytes", lambda a: (a[0] + b"\0", *a[1:])),
        ("leaf hash empty", lambda a: (b"", *a[1:])),
        ("leaf hash str", lambda a: (a[0].hex(), *a[1:])),
        ("leaf hash bytearray", lambda a: (bytearray(a[0]), *a[1:])),
        ("leaf hash None", lambda a: (None, *a[1:])),
        ("root 31 bytes", lambda a: (*a[:4], a[4][:31])),
        ("root str", lambda a: (*a[:4], a[4].hex())),
        ("proof element 31 bytes", lambda a: (*a[:3], [a[3][0][:31], *a[3][1:]], a[4])),
        ("proof element 33 bytes", lambda a: (*a[:3], [*a[3][:2], a[3][2] + b"\0"], a[4])),
        ("proof element str", lambda a: (*a[:3], [a[3][0].hex(), *a[3][1:]], a[4])),
        ("proof not a list", lambda a: (*a[:3], None, a[4])),
        ("proof is bytes", lambda a: (*a[:3], b"".join(a[3]), a[4])),
        ("index negative", lambda a: (a[0], -1, *a[2:])),
        ("index == size", lambda a: (a[0], 8, *a[2:])),
        ("index > size", lambda a: (a[0], 9, *a[2:])),
        ("index float", lambda a: (a[0], 5.0, *a[2:])),
        ("index bool", lambda a: (a[0], True, *a[2:])),
        ("size negative", lambda a: (a[0], a[1], -8, *a[3:])),
        ("size zero", lambda a: (a[0], 0, 0, [], a[4])),
        ("size str", lambda a: (a[0], a[1], "8", *a[3:])),
        ("proof too short", lambda a: (*a[:3], a[3][:-1], a[4])),
        ("proof too long", lambda a: (*a[:3], [*a[3], a[4]], a[4])),
        ("proof empty", lambda a: (*a[:3], [], a[4])),
        ("proof with leading garbage", lambda a: (*a[:3], [H32, *a[3]], a[4])),
    ],
)
def test_inclusion_malformed(desc: str, mutate: Any) -> None:
    args = mutate(_good_inclusion())
    with pytest.raises(MalformedProof):
        verify_inclusion(*args)


def test_inclusion_root_mismatch() -> None:
    lh, i, n, p, r = _good_inclusion()
    verify_inclusion(lh, i, n, p, r)
    verify_inclusion(lh, i, n, tuple(p), r)  # type: ignore[arg-type]
    with pytest.raises(RootMismatch):
        verify_inclusion(lh, i, n, p, _flip(r, 0))
    with pytest.raises(RootMismatch):
        verify_inclusion(_flip(lh, 31), i, n, p, r)
    with pytest.raises(RootMismatch):
        verify_inclusion(lh, i, n, [p[0], _flip(p[1], 7), p[2]], r)
    with pytest.raises(RootMismatch):
        verify_inclusion(lh, i, n, list(reversed(p)), r)


def _good_consistency() -> tuple[int, int, list[bytes], bytes, bytes]:
    return 3, 7, consistency_proof(LEAVES[:7], 3), root(LEAVES[:3]), root(LEAVES[:7])


@pytest.mark.parametrize(
    ("desc", "mutate"),
    [
        ("size1 > size2", lambda a: (7, 3, *a[2:])),
        ("size1 negative", lambda a: (-3, *a[1:])),
        ("size2 negative", lambda a: (a[0], -7, *a[2:])),
        ("both negative, equal", lambda a: (-1, -1, [], a[3], a[3])),
        ("size1 float", lambda a: (3.0, *a[1:])),
        ("size2 bool", lambda a: (1, True, [], a[3], a[3])),
        ("size2 None", lambda a: (a[0], None, *a[2:])),
        ("root1 31 bytes", lambda a: (*a[:3], a[3][:31], a[4])),
        ("root2 33 bytes", lambda a: (*a[:4], a[4] + b"\0")),
        ("root1 str", lambda a: (*a[:3], a[3].hex(), a[4])),
        ("root2 bytearray", lambda a: (*a[:4], bytearray(a[4]))),
        ("proof element 31 bytes", lambda a: (a[0], a[1], [a[2][0][:31], *a[2][1:]], *a[3:])),
        ("proof element empty", lambda a: (a[0], a[1], [*a[2][:-1], b""], *a[3:])),
        ("proof element int", lambda a: (a[0], a[1], [*a[2][:-1], 0], *a[3:])),
        ("proof not a list", lambda a: (a[0], a[1], None, *a[3:])),
        ("proof is a str", lambda a: (a[0], a[1], "ab", *a[3:])),
        ("empty proof", lambda a: (a[0], a[1], [], *a[3:])),
        ("proof too short", lambda a: (a[0], a[1], a[2][:-1], *a[3:])),
        ("proof too long", lambda a: (a[0], a[1], [*a[2], a[4]], *a[3:])),
        ("proof with leading garbage", lambda a: (a[0], a[1], [H32, *a[2]], *a[3:])),
        ("size1 == size2, non-empty proof", lambda a: (7, 7, [a[4]], a[4], a[4])),
        ("size1 == 0, non-empty proof", lambda a: (0, 7, [a[4]], EMPTY_ROOT, a[4])),
        ("size1 == size2 == 0, non-empty proof", lambda a: (0, 0, [H32], EMPTY_ROOT, EMPTY_ROOT)),
        ("size1 == 0, 31-byte root2", lambda a: (0, 7, [], EMPTY_ROOT, a[4][:31])),
        ("size1 == size2, 31-byte root1", lambda a: (7, 7, [], a[4][:31], a[4])),
    ],
)
def test_consistency_malformed(desc: str, mutate: Any) -> None:
    args = mutate(_good_consistency())
    with pytest.raises(MalformedProof):
        verify_consistency(*args)


def test_consistency_edge_cases() -> None:
    r7 = root(LEAVES[:7])
    # size1 == size2: empty proof, equal roots.
    assert _ret(verify_consistency, 7, 7, [], r7, r7) is None
    with pytest.raises(RootMismatch):
        verify_consistency(7, 7, [], r7, root(LEAVES[:6]))
    # size1 == 0: empty proof, root1 must be the empty-tree root; root2 is free.
    assert _ret(verify_consistency, 0, 7, [], EMPTY_ROOT, r7) is None
    assert _ret(verify_consistency, 0, 7, [], EMPTY_ROOT, H32) is None
    assert _ret(verify_consistency, 0, 0, [], EMPTY_ROOT, EMPTY_ROOT) is None
    with pytest.raises(RootMismatch):
        verify_consistency(0, 7, [], H32, r7)
    with pytest.raises(RootMismatch):
        verify_consistency(0, 0, [], EMPTY_ROOT, H32)
    with pytest.raises(RootMismatch):
        verify_consistency(0, 0, [], H32, H32)
    # Well formed but wrong.
    s1, s2, p, r1, r2 = _good_consistency()
    for bad in ((s1, s2, p, _flip(r1, 3), r2), (s1, s2, p, r1, _flip(r2, 3)), (s1, s2, p, r2, r1)):
        with pytest.raises(RootMismatch):
            verify_consistency(*bad)


def test_errors_are_verification_errors() -> None:
    assert issubclass(MalformedProof, VerificationError)
    assert issubclass(RootMismatch, VerificationError)


# --------------------------------------------------------------------------- generator arguments


def test_generator_argument_errors() -> None:
    with pytest.raises(ValueError, match="out of range"):
        inclusion_proof([], 0)
    with pytest.raises(ValueError, match="out of range"):
        inclusion_proof(LEAVES, 8)
    with pytest.raises(ValueError, match="out of range"):
        inclusion_proof_from_hashes(LH, -1)
    with pytest.raises(ValueError, match="out of range"):
        consistency_proof(LEAVES, 9)
    with pytest.raises(ValueError, match="out of range"):
        consistency_proof_from_hashes(LH, -1)
    with pytest.raises(ValueError, match="bytes, want 32"):
        root_from_hashes([b"\0" * 31])
    with pytest.raises(TypeError):
        root_from_hashes([bytearray(32)])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        root(["abc"])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        root(b"abc")  # type: ignore[arg-type]
    assert consistency_proof(LEAVES, 0) == []
    assert consistency_proof(LEAVES, 8) == []
    assert consistency_proof([], 0) == []


def test_from_hashes_large_tree_is_fast_enough() -> None:
    hashes = [hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(1000)]
    r = root_from_hashes(hashes)
    for i in (0, 1, 511, 512, 998, 999):
        verify_inclusion(hashes[i], i, 1000, inclusion_proof_from_hashes(hashes, i), r)
    p = consistency_proof_from_hashes(hashes, 537)
    verify_consistency(537, 1000, p, root_from_hashes(hashes[:537]), r)


# --------------------------------------------------------------------------- properties

PROPS = settings(
    max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
leaf_data = st.binary(max_size=12)
# Draw the length first so that large trees (up to 300 leaves) are common.
leaf_lists = st.integers(1, 300).flatmap(lambda n: st.lists(leaf_data, min_size=n, max_size=n))
# Distinct leaves: with duplicates, "wrong index" can legitimately verify.
unique_leaf_lists = st.integers(1, 300).flatmap(
    lambda n: st.lists(leaf_data, min_size=n, max_size=n, unique=True)
)


@PROPS
@given(leaf_lists)
def test_prop_every_inclusion_proof_verifies(leaves: list[bytes]) -> None:
    hashes = [leaf_hash(d) for d in leaves]
    r = root(leaves)
    assert r == root_from_hashes(hashes)
    for i in range(len(leaves)):
        proof = inclusion_proof_from_hashes(hashes, i)
        assert _ret(verify_inclusion, hashes[i], i, len(leaves), proof, r) is None


@PROPS
@given(leaf_lists, st.data())
def test_prop_matches_rfc_reference(leaves: list[bytes], data: st.DataObject) -> None:
    n = len(leaves)
    hashes = [leaf_hash(d) for d in leaves]
    assert root(leaves) == root_from_hashes(hashes) == ref_mth(leaves)
    i = data.draw(st.integers(0, n - 1), label="index")
    assert inclusion_proof(leaves, i) == inclusion_proof_from_hashes(hashes, i)
    assert inclusion_proof(leaves, i) == ref_path(i, leaves)
    m = data.draw(st.integers(1, n), label="size1")
    assert consistency_proof(leaves, m) == consistency_proof_from_hashes(hashes, m)
    assert consistency_proof(leaves, m) == ref_subproof(m, leaves, True)


@PROPS
@given(leaf_lists, st.data())
def test_prop_every_consistency_proof_verifies(leaves: list[bytes], data: st.DataObject) -> None:
    size2 = data.draw(st.integers(0, len(leaves)), label="size2")
    size1 = data.draw(st.integers(0, size2), label="size1")
    proof = consistency_proof(leaves[:size2], size1)
    r1, r2 = root(leaves[:size1]), root(leaves[:size2])
    assert _ret(verify_consistency, size1, size2, proof, r1, r2) is None


@PROPS
@given(unique_leaf_lists, st.data())
def test_prop_inclusion_mutations_fail(leaves: list[bytes], data: st.DataObject) -> None:
    n = len(leaves)
    i = data.draw(st.integers(0, n - 1), label="index")
    lh, r = leaf_hash(leaves[i]), root(leaves)
    proof = inclusion_proof(leaves, i)
    if proof:
        j = data.draw(st.integers(0, len(proof) - 1), label="element")
        pos = data.draw(st.integers(0, 31), label="byte")
        mask = data.draw(st.integers(1, 255), label="mask")
        bad = [*proof[:j], _flip(proof[j], pos, mask), *proof[j + 1 :]]
        with pytest.raises(RootMismatch):
            verify_inclusion(lh, i, n, bad, r)
    # Index off by one: always fails (the left/right pattern encodes the index).
    for k in (i - 1, i + 1):
        with pytest.raises(VerificationError):
            verify_inclusion(lh, k, n, proof, r)
    # Size off by one fails exactly when it changes the path shape: the root
    # does not commit to the size, so an identically shaped path still verifies.
    for size in (n - 1, n + 1):
        if i < size and path_shape(i, size) == path_shape(i, n):
            verify_inclusion(lh, i, size, proof, r)
        else:
            with pytest.raises(VerificationError):
                verify_inclusion(lh, i, size, proof, r)


@PROPS
@given(unique_leaf_lists, st.data())
def test_prop_consistency_mutations_fail(leaves: list[bytes], data: st.DataObject) -> None:
    assume(len(leaves) >= 2)
    size2 = data.draw(st.integers(2, len(leaves)), label="size2")
    size1 = data.draw(st.integers(1, size2 - 1), label="size1")
    proof = consistency_proof(leaves[:size2], size1)
    r1, r2 = root(leaves[:size1]), root(leaves[:size2])
    j = data.draw(st.integers(0, len(proof) - 1), label="element")
    pos = data.draw(st.integers(0, 31), label="byte")
    mask = data.draw(st.integers(1, 255), label="mask")
    bad = [*proof[:j], _flip(proof[j], pos, mask), *proof[j + 1 :]]
    with pytest.raises(RootMismatch):
        verify_consistency(size1, size2, bad, r1, r2)
    with pytest.raises(MalformedProof):
        verify_consistency(size1, size2, proof[:-1], r1, r2)
    with pytest.raises(MalformedProof):
        verify_consistency(size1, size2, [*proof, r2], r1, r2)
    shape = proof_shape(size1, size2)
    for s1, s2 in ((size1 - 1, size2), (size1 + 1, size2), (size1, size2 - 1), (size1, size2 + 1)):
        if 0 < s1 < s2 and proof_shape(s1, s2) == shape:
            verify_consistency(s1, s2, proof, r1, r2)
        else:
            with pytest.raises(VerificationError):
                verify_consistency(s1, s2, proof, r1, r2)


def test_proof_length_helpers_match_reference() -> None:
    for n in range(1, 70):
        for i in range(n):
            assert merkle._inclusion_proof_len(i, n) == len(path_shape(i, n))
        for m in range(1, n):
            assert merkle._consistency_proof_len(m, n) == len(proof_shape(m, n))
