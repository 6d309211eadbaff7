"""The identity vault on SQLite: sealing, opening, master keys and crypto-shredding."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import sqlite3
import stat
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.application import Settings
from ledger.errors import InvalidInput, PersonShredded, StorageError, VaultError
from ledger.vault import (
    IDENTITY_AAD,
    MAX_PLAINTEXT,
    VAULT_KEY_ENV,
    Sealed,
    SQLiteVault,
    Vault,
    canonical_fields,
    load_master_key,
    master_key_file,
    open_vault,
    vault_path,
)

FIELDS = {
    "ho_ten": "Nguyễn Thị Minh Khai",
    "so_dinh_danh": "001306012345",
    "ngay_sinh": "2011-09-05",
    "dan_toc": "Kinh",
    "cha": "Nguyễn Văn Bình",
    "me": "Trần Thị Lụa",
    "dia_chi": "Số 12 ngõ 34 phố Hàng Bạc, phường Hoàn Kiếm, Hà Nội",
    "suc_khoe": "Dị ứng đậu phộng",
}


def _raw_keys(vault: Vault, person: uuid.UUID) -> tuple[bytes, bytes]:
    """Test-only look at the person's unwrapped (data key, salt)."""
    keys = vault._keys(person, create=False)
    assert keys is not None
    return keys


def _wrapped(vault: Vault, person: uuid.UUID) -> tuple[bytes, bytes]:
    """Test-only look at the person's wrapped (data key, salt) as stored."""
    row = vault._fetch(person)
    assert row is not None and row.wrapped_key is not None and row.wrapped_salt is not None
    return row.wrapped_key, row.wrapped_salt


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv(VAULT_KEY_ENV, raising=False)
    return tmp_path / "data"


@pytest.fixture
def vault(data_dir: Path) -> Iterator[Vault]:
    v = open_vault(Settings(data_dir))
    try:
        yield v
    finally:
        v.close()


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _canonical(fields: dict[str, str]) -> bytes:
    return json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def test_round_trip_vietnamese(vault: Vault) -> None:
    person = uuid.uuid4()
    sealed = vault.seal(person, FIELDS)
    assert isinstance(sealed, Sealed)
    assert vault.open(person, sealed.ciphertext) == FIELDS
    assert vault.commitment(person, FIELDS) == sealed.commitment
    assert vault.commitment(person, {**FIELDS, "dan_toc": "Tày"}) != sealed.commitment
    again = vault.seal(person, FIELDS)
    assert again.ciphertext != sealed.ciphertext  # a fresh nonce per seal
    assert again.commitment == sealed.commitment
    assert "Nguyễn" not in sealed.ciphertext


def test_format_is_byte_exact(vault: Vault) -> None:
    person = uuid.uuid4()
    sealed = vault.seal(person, FIELDS)
    key, salt = _raw_keys(vault, person)
    assert len(key) == 32 and len(salt) == 32
    assert vault.salt(person) == salt
    assert "=" not in sealed.ciphertext
    raw = _b64url_decode(sealed.ciphertext)
    plaintext = _canonical(FIELDS)
    assert canonical_fields(FIELDS) == plaintext
    assert len(raw) == 12 + len(plaintext) + 16
    aad = b"socai-identity-v1" + person.bytes
    assert IDENTITY_AAD + person.bytes == aad
    assert AESGCM(key).decrypt(raw[:12], raw[12:], aad) == plaintext
    assert sealed.commitment == hmac.new(salt, plaintext, hashlib.sha256).hexdigest()
    # A value sealed outside the vault with the same key and format opens in it.
    nonce = os.urandom(12)
    outside = base64.urlsafe_b64encode(nonce + AESGCM(key).encrypt(nonce, plaintext, aad))
    assert vault.open(person, outside.rstrip(b"=").decode()) == FIELDS


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {1: "x"},
        {"ho_ten": 5},
        {"ho_ten": None},
        {"ho_ten": "\ud800"},
        {"ghi_chu": "a" * MAX_PLAINTEXT},
        ["ho_ten"],
    ],
    ids=["empty", "int-key", "int-value", "none-value", "surrogate", "too-big", "not-mapping"],
)
def test_seal_refuses_bad_fields(vault: Vault, fields: object) -> None:
    person = uuid.uuid4()
    with pytest.raises(InvalidInput):
        vault.seal(person, fields)  # type: ignore[arg-type]
    assert not vault.is_shredded(person)
    assert vault.salt(person) is None  # nothing was created


def test_size_limit_is_on_canonical_bytes(vault: Vault) -> None:
    overhead = len(_canonical({"g": ""}))
    fits = {"g": "a" * (MAX_PLAINTEXT - overhead)}
    sealed = vault.seal(uuid.uuid4(), fits)
    assert len(_b64url_decode(sealed.ciphertext)) == 12 + MAX_PLAINTEXT + 16
    with pytest.raises(InvalidInput, match="16384"):
        vault.seal(uuid.uuid4(), {"g": "ạ" * (MAX_PLAINTEXT // 3)})


def test_errors_do_not_leak_values(vault: Vault) -> None:
    secret = "Bệnh án mật"
    with pytest.raises(InvalidInput) as e:
        vault.seal(uuid.uuid4(), {"suc_khoe": secret * 2000})
    assert secret not in str(e.value)


def test_tampered_and_foreign_ciphertexts(vault: Vault) -> None:
    person, other = uuid.uuid4(), uuid.uuid4()
    sealed = vault.seal(person, FIELDS)
    vault.seal(other, {"ho_ten": "Lê Văn Khác"})
    raw = bytearray(_b64url_decode(sealed.ciphertext))
    for index in (0, 12, len(raw) - 1):  # nonce, body, tag
        flipped = bytearray(raw)
        flipped[index] ^= 1
        text = base64.urlsafe_b64encode(bytes(flipped)).rstrip(b"=").decode()
        with pytest.raises(VaultError, match="does not open"):
            vault.open(person, text)
    bad = [
        sealed.ciphertext[:-4],  # truncated tag
        sealed.ciphertext + "=",  # padding
        sealed.ciphertext + "A",  # impossible length
        "!!!!" + sealed.ciphertext[4:],  # not base64url
        sealed.ciphertext.replace("-", "+").replace("_", "/") + "+/",  # standard alphabet
        "",
        "AAAA",
        "A" * 10_000_000,
    ]
    for text in bad:
        with pytest.raises(VaultError):
            vault.open(person, text)
    with pytest.raises(VaultError, match="another person"):
        vault.open(other, sealed.ciphertext)
    with pytest.raises(VaultError):
        vault.open(person, b"bytes")  # type: ignore[arg-type]
    # Never had a key: nothing to open with.
    assert vault.open(uuid.uuid4(), sealed.ciphertext) is None
    assert vault.commitment(uuid.uuid4(), FIELDS) is None


def test_non_canonical_base64_is_refused(vault: Vault) -> None:
    person = uuid.uuid4()
    sealed = vault.seal(person, {"a": "b"})
    # Length ≡ 2 or 3 mod 4 leaves unused low bits in the last character; set one.
    text = sealed.ciphertext
    assert len(text) % 4 in (2, 3)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    variant = text[:-1] + alphabet[alphabet.index(text[-1]) ^ 1]
    assert _b64url_decode(variant) == _b64url_decode(text)
    with pytest.raises(VaultError, match="canonical"):
        vault.open(person, variant)


def test_person_must_be_a_uuid(vault: Vault) -> None:
    with pytest.raises(InvalidInput):
        vault.seal(str(uuid.uuid4()), FIELDS)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        vault.shred("x")  # type: ignore[arg-type]


def test_master_key_file_is_private_and_stable(data_dir: Path) -> None:
    key = load_master_key(data_dir)
    path = master_key_file(data_dir)
    assert path == data_dir / "secrets" / "vault.key"
    assert path.read_bytes() == key and len(key) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert load_master_key(data_dir) == key
    assert [p.name for p in path.parent.iterdir()] == ["vault.key"]  # no temporary left


def test_master_key_from_env(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = os.urandom(32)
    monkeypatch.setenv(VAULT_KEY_ENV, base64.b64encode(key).decode())
    assert load_master_key(data_dir) == key
    assert not master_key_file(data_dir).exists()
    monkeypatch.setenv(VAULT_KEY_ENV, base64.urlsafe_b64encode(key).decode())
    assert load_master_key(data_dir) == key
    for bad in ("not base64!", base64.b64encode(os.urandom(16)).decode()):
        monkeypatch.setenv(VAULT_KEY_ENV, bad)
        with pytest.raises(VaultError, match=VAULT_KEY_ENV):
            load_master_key(data_dir)


def test_bad_master_key_files_are_refused(data_dir: Path) -> None:
    path = master_key_file(data_dir)
    load_master_key(data_dir)
    path.chmod(0o644)
    with pytest.raises(VaultError, match="chmod 600"):
        load_master_key(data_dir)
    path.chmod(0o600)
    path.write_bytes(os.urandom(31))
    with pytest.raises(VaultError, match="exactly 32 bytes"):
        load_master_key(data_dir)


def test_wrong_master_key(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    person = uuid.uuid4()
    with open_vault(Settings(data_dir)) as v:
        sealed = v.seal(person, FIELDS)
    monkeypatch.setenv(VAULT_KEY_ENV, base64.b64encode(os.urandom(32)).decode())
    with open_vault(Settings(data_dir)) as v:
        with pytest.raises(VaultError, match="wrong master key"):
            v.open(person, sealed.ciphertext)
        with pytest.raises(VaultError, match="wrong master key"):
            v.seal(person, FIELDS)
        with pytest.raises(VaultError, match="wrong master key"):
            v.salt(person)
        # A new person's key would be wrapped under the wrong key: refused too.
        with pytest.raises(VaultError, match="master key does not match"):
            v.seal(uuid.uuid4(), FIELDS)
    monkeypatch.delenv(VAULT_KEY_ENV)
    with open_vault(Settings(data_dir)) as v:
        assert v.open(person, sealed.ciphertext) == FIELDS


def test_shred(data_dir: Path) -> None:
    person, bystander = uuid.uuid4(), uuid.uuid4()
    with open_vault(Settings(data_dir)) as v:
        sealed = v.seal(person, FIELDS)
        kept = v.seal(bystander, FIELDS)
        assert not v.is_shredded(person)
        assert v.shred(person) is True
        assert v.is_shredded(person)
        assert v.open(person, sealed.ciphertext) is None
        assert v.open(person, "garbage!") is None
        assert v.commitment(person, FIELDS) is None
        assert v.salt(person) is None
        with pytest.raises(PersonShredded):
            v.seal(person, FIELDS)
        assert v.shred(person) is False
        assert v.open(bystander, kept.ciphertext) == FIELDS
        # A person the vault never knew: nothing destroyed, but never sealed either.
        stranger = uuid.uuid4()
        assert v.shred(stranger) is False
        assert v.is_shredded(stranger)
        with pytest.raises(PersonShredded):
            v.seal(stranger, FIELDS)
    with open_vault(Settings(data_dir)) as v:  # the tombstone persists
        assert v.is_shredded(person)
        with pytest.raises(PersonShredded):
            v.seal(person, FIELDS)
        assert v.open(bystander, kept.ciphertext) == FIELDS
    with sqlite3.connect(vault_path(data_dir)) as conn:
        row = conn.execute(
            "SELECT wrapped_key, wrapped_salt, shredded_at FROM socai_vault WHERE person = ?",
            (person.hex,),
        ).fetchone()
    conn.close()
    assert row[0] is None and row[1] is None
    assert row[2].endswith("+00:00")


def test_canary_leaves_no_trace_after_shred(data_dir: Path) -> None:
    person = uuid.uuid4()
    canary = f"Nguyễn Thị Canary-{uuid.uuid4()}"
    v = open_vault(Settings(data_dir))
    # Other people's rows around the canary's, so its page holds more than one row.
    for _ in range(20):
        v.seal(uuid.uuid4(), {"ho_ten": "Người Khác"})
    sealed = v.seal(person, {"ho_ten": canary, "so_dinh_danh": "079211000001"})
    for _ in range(20):
        v.seal(uuid.uuid4(), {"ho_ten": "Người Khác"})
    key, salt = _raw_keys(v, person)
    wrapped_key, wrapped_salt = _wrapped(v, person)
    secrets_ = {
        "canary": canary.encode(),
        "data key": key,
        "salt": salt,
        "wrapped key": wrapped_key,
        "wrapped salt": wrapped_salt,
    }

    def files() -> dict[str, bytes]:
        return {str(p): p.read_bytes() for p in data_dir.rglob("*") if p.is_file()}

    # The check can see: before shredding, the wrapped key is on disk.
    assert any(wrapped_key in data for data in files().values())
    assert v.shred(person) is True
    assert v.open(person, sealed.ciphertext) is None
    found = files()
    assert any(name.endswith("vault.sqlite") for name in found)
    for name, data in found.items():
        for what, needle in secrets_.items():
            assert needle not in data, f"{what} found in {name}"
    v.close()
    for name, data in files().items():
        for what, needle in secrets_.items():
            assert needle not in data, f"{what} found in {name} after close"


def test_sqlite_durability_and_file_mode(vault: Vault, data_dir: Path) -> None:
    assert isinstance(vault, SQLiteVault)
    conn = vault._conn
    assert conn is not None
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2
    assert conn.execute("PRAGMA secure_delete").fetchone()[0] == 1
    assert stat.S_IMODE(vault_path(data_dir).stat().st_mode) == 0o600


def test_closed_vault_raises_storage_error(vault: Vault) -> None:
    vault.close()
    vault.close()  # idempotent
    with pytest.raises(StorageError, match="closed"):
        vault.seal(uuid.uuid4(), FIELDS)


def test_threads_seal_at_once(data_dir: Path) -> None:
    v = open_vault(Settings(data_dir))
    second = SQLiteVault(vault_path(data_dir), load_master_key(data_dir))
    persons = [uuid.uuid4() for _ in range(4)]
    shared = uuid.uuid4()  # every thread makes the first seal of this one at once
    barrier = threading.Barrier(4)
    results: dict[int, list[tuple[uuid.UUID, dict[str, str], Sealed]]] = {}
    errors: list[BaseException] = []

    def work(i: int) -> None:
        mine = v if i % 2 else second
        try:
            barrier.wait()
            out = []
            fields = {"ho_ten": f"Học sinh {i}", "so": str(i)}
            out.append((shared, fields, mine.seal(shared, fields)))
            for n in range(10):
                fields = {"ho_ten": f"Học sinh {i}-{n}"}
                out.append((persons[i], fields, mine.seal(persons[i], fields)))
            results[i] = out
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for out in results.values():
        for person, fields, sealed in out:
            assert v.open(person, sealed.ciphertext) == fields
            assert second.open(person, sealed.ciphertext) == fields
    second.close()
    v.close()


@pytest.fixture(scope="module")
def shared_vault(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Vault]:
    v = SQLiteVault(tmp_path_factory.mktemp("vault") / "vault.sqlite", os.urandom(32))
    try:
        yield v
    finally:
        v.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fields=st.dictionaries(st.text(), st.text(), min_size=1, max_size=8))
def test_open_seal_round_trips(shared_vault: Vault, fields: dict[str, str]) -> None:
    person = uuid.uuid4()
    sealed = shared_vault.seal(person, fields)
    assert shared_vault.open(person, sealed.ciphertext) == fields
    assert shared_vault.commitment(person, dict(reversed(fields.items()))) == sealed.commitment
