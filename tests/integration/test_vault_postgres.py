"""The identity vault on PostgreSQL: the same contract, the table, VACUUM and pg_dump."""

from __future__ import annotations

import base64
import glob
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ledger.application import Settings
from ledger.errors import PersonShredded, StorageError, VaultError
from ledger.vault import VAULT_KEY_ENV, PostgresVault, Sealed, Vault, load_master_key, open_vault
from tests.conftest import drop_postgres, postgres_url

pytestmark = pytest.mark.postgres

FIELDS = {
    "ho_ten": "Đặng Thị Ngọc Hân",
    "so_dinh_danh": "079311004567",
    "ngay_sinh": "2012-02-29",
    "dan_toc": "Ê Đê",
    "dia_chi": "Buôn Ma Thuột, Đắk Lắk",
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
def pg_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    monkeypatch.delenv(VAULT_KEY_ENV, raising=False)
    url = postgres_url()
    try:
        yield Settings(tmp_path / "data", url)
    finally:
        drop_postgres(url)


@pytest.fixture
def vault(pg_settings: Settings) -> Iterator[Vault]:
    v = open_vault(pg_settings)
    try:
        yield v
    finally:
        v.close()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _pg_dump() -> str:
    found = shutil.which("pg_dump") or next(
        iter(sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_dump"), reverse=True)), None
    )
    if found is None:
        pytest.fail("pg_dump not found on PATH or under /usr/lib/postgresql/*/bin")
    return found


def _dump(url: str) -> str:
    done = subprocess.run(
        [_pg_dump(), "--no-owner", "--table=socai_vault", url],
        capture_output=True,
        check=True,
        timeout=30,
    )
    return done.stdout.decode("utf-8")


def test_table_shape(vault: Vault, pg_settings: Settings) -> None:
    assert isinstance(vault, PostgresVault)
    assert pg_settings.database_url is not None
    with psycopg.connect(pg_settings.database_url) as conn:
        columns = conn.execute(
            "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
            "WHERE table_name = 'socai_vault' ORDER BY ordinal_position"
        ).fetchall()
    assert columns == [
        ("person", "uuid", "NO"),
        ("wrapped_key", "bytea", "YES"),
        ("wrapped_salt", "bytea", "YES"),
        ("shredded_at", "timestamp with time zone", "YES"),
    ]
    # Opening again (CREATE TABLE IF NOT EXISTS) is harmless, also from several at once.
    others: list[Vault] = []
    errors: list[BaseException] = []

    def reopen() -> None:
        try:
            others.append(open_vault(pg_settings))
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=reopen) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for other in others:
        other.close()


def test_round_trip_and_format(vault: Vault) -> None:
    person = uuid.uuid4()
    sealed = vault.seal(person, FIELDS)
    assert vault.open(person, sealed.ciphertext) == FIELDS
    assert vault.commitment(person, FIELDS) == sealed.commitment
    key, salt = _raw_keys(vault, person)
    assert vault.salt(person) == salt
    plaintext = json.dumps(
        FIELDS, ensure_ascii=False, sort_keys=True, separators=(",", ":")
    ).encode()
    raw = _unb64(sealed.ciphertext)
    aad = b"socai-identity-v1" + person.bytes
    assert AESGCM(key).decrypt(raw[:12], raw[12:], aad) == plaintext
    assert sealed.commitment == hmac.new(salt, plaintext, hashlib.sha256).hexdigest()


def test_tampered_foreign_and_wrong_master_key(
    pg_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    person, other = uuid.uuid4(), uuid.uuid4()
    with open_vault(pg_settings) as v:
        sealed = v.seal(person, FIELDS)
        v.seal(other, {"ho_ten": "Người Khác"})
        flipped = bytearray(_unb64(sealed.ciphertext))
        flipped[20] ^= 0x80
        with pytest.raises(VaultError, match="does not open"):
            v.open(person, base64.urlsafe_b64encode(bytes(flipped)).rstrip(b"=").decode())
        with pytest.raises(VaultError, match="another person"):
            v.open(other, sealed.ciphertext)
        with pytest.raises(VaultError):
            v.open(person, "not base64!")
        assert v.open(uuid.uuid4(), sealed.ciphertext) is None
    monkeypatch.setenv(VAULT_KEY_ENV, base64.b64encode(os.urandom(32)).decode())
    with open_vault(pg_settings) as v:
        with pytest.raises(VaultError, match="wrong master key"):
            v.open(person, sealed.ciphertext)
        with pytest.raises(VaultError, match="master key does not match"):
            v.seal(uuid.uuid4(), FIELDS)
    monkeypatch.delenv(VAULT_KEY_ENV)
    with open_vault(pg_settings) as v:
        assert v.open(person, sealed.ciphertext) == FIELDS


def test_shred_and_tombstone(pg_settings: Settings) -> None:
    person, bystander = uuid.uuid4(), uuid.uuid4()
    with open_vault(pg_settings) as v:
        sealed = v.seal(person, FIELDS)
        kept = v.seal(bystander, FIELDS)
        assert v.shred(person) is True
        assert v.is_shredded(person)
        assert v.open(person, sealed.ciphertext) is None
        assert v.commitment(person, FIELDS) is None
        assert v.salt(person) is None
        with pytest.raises(PersonShredded):
            v.seal(person, FIELDS)
        assert v.shred(person) is False
        stranger = uuid.uuid4()
        assert v.shred(stranger) is False
        assert v.is_shredded(stranger)
        with pytest.raises(PersonShredded):
            v.seal(stranger, FIELDS)
    with open_vault(pg_settings) as v:
        assert v.is_shredded(person)
        assert v.open(bystander, kept.ciphertext) == FIELDS
    assert pg_settings.database_url is not None
    with psycopg.connect(pg_settings.database_url) as conn:
        row = conn.execute(
            "SELECT wrapped_key, wrapped_salt, shredded_at IS NOT NULL FROM socai_vault "
            "WHERE person = %s",
            (person,),
        ).fetchone()
        vacuums = conn.execute(
            "SELECT vacuum_count FROM pg_stat_user_tables WHERE relname = 'socai_vault'"
        ).fetchone()
    assert row == (None, None, True)
    assert vacuums is not None and vacuums[0] >= 1


def test_pg_dump_holds_no_key_after_shred(vault: Vault, pg_settings: Settings) -> None:
    assert pg_settings.database_url is not None
    person = uuid.uuid4()
    canary = f"Nguyễn Thị Canary-{uuid.uuid4()}"
    for _ in range(5):
        vault.seal(uuid.uuid4(), {"ho_ten": "Người Khác"})
    vault.seal(person, {"ho_ten": canary})
    key, salt = _raw_keys(vault, person)
    wrapped_key, wrapped_salt = _wrapped(vault, person)
    needles = {
        "wrapped key": wrapped_key.hex(),
        "wrapped salt": wrapped_salt.hex(),
        "data key": key.hex(),
        "salt": salt.hex(),
    }
    before = _dump(pg_settings.database_url)
    assert "socai_vault" in before
    assert needles["wrapped key"] in before  # the check can see what it looks for
    assert vault.shred(person) is True
    after = _dump(pg_settings.database_url)
    assert str(person) in after  # the tombstone is there
    for what, needle in needles.items():
        assert needle not in after, f"{what} in pg_dump after shred"
    assert canary not in after


def test_threads_seal_at_once(pg_settings: Settings) -> None:
    v = open_vault(pg_settings)
    second = PostgresVault(pg_settings.database_url or "", load_master_key(pg_settings.data_dir))
    persons = [uuid.uuid4() for _ in range(4)]
    shared = uuid.uuid4()
    barrier = threading.Barrier(4)
    results: list[tuple[uuid.UUID, dict[str, str], Sealed]] = []
    errors: list[BaseException] = []

    def work(i: int) -> None:
        mine = v if i % 2 else second
        try:
            barrier.wait()
            fields = {"ho_ten": f"Học sinh {i}"}
            out = [(shared, fields, mine.seal(shared, fields))]
            for n in range(5):
                fields = {"ho_ten": f"Học sinh {i}-{n}"}
                out.append((persons[i], fields, mine.seal(persons[i], fields)))
            results.extend(out)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(results) == 24
    for person, fields, sealed in results:
        assert v.open(person, sealed.ciphertext) == fields
        assert second.open(person, sealed.ciphertext) == fields
    second.close()
    v.close()


def test_reconnects_after_the_server_drops_the_connection(
    vault: Vault, pg_settings: Settings
) -> None:
    assert pg_settings.database_url is not None
    person = uuid.uuid4()
    sealed = vault.seal(person, FIELDS)
    pid = vault._conn.info.backend_pid  # type: ignore[attr-defined]
    with psycopg.connect(pg_settings.database_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    assert vault.open(person, sealed.ciphertext) == FIELDS


def test_unreachable_server_is_a_storage_error(tmp_path: Path) -> None:
    with pytest.raises(StorageError):
        PostgresVault("postgresql://postgres@127.0.0.1:1/nothing", os.urandom(32))
