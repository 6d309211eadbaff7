"""The identity vault: personal data sealed per person under a key that can be destroyed.

Personal identity data (name, số định danh, date of birth, parents, address, ethnicity,
health) never enters a ledger event in clear (DESIGN.md §3 invariant 8, DOMAIN.md §6.2).
The caller seals it here and puts the :class:`Sealed` ciphertext and commitment in the
event; hashes and signatures cover the ciphertext. Shredding a person destroys their data
key and salt: the ciphertext can no longer be opened and the commitment no longer checked,
while every hash, signature and proof over the events still verifies.

Formats (byte-exact; ``‖`` is concatenation, ``person`` is the person's 16 UUID bytes):

* Canonical plaintext ``P``: ``json.dumps(fields, ensure_ascii=False, sort_keys=True,
  separators=(",", ":")).encode("utf-8")``: a non-empty JSON object of string to string,
  at most 16,384 bytes.
* Ciphertext: base64url without padding (RFC 4648 §5) of
  ``nonce(12) ‖ AES-256-GCM(data_key, nonce, P, aad)`` where the GCM output is the
  ciphertext followed by its 16-byte tag and ``aad = b"socai-identity-v1" ‖ person``.
  The nonce is 12 random bytes per seal, so sealing the same fields twice gives two
  different ciphertexts. Only the canonical base64url spelling is accepted on open.
* Commitment: lowercase hex of ``HMAC-SHA256(key=salt, msg=P)`` (64 characters); equal
  fields give equal commitments for one person, and the salt (32 random bytes per person,
  disclosed to verifiers on request) keeps the fields from being guessed from it.
* At rest the data key and the salt (32 random bytes each, made on the person's first
  seal) are each wrapped under the 32-byte master key as
  ``nonce(12) ‖ AES-256-GCM(master_key, nonce, secret, aad)`` (60 bytes) with
  ``aad = b"socai-vault-key-v1" ‖ person`` for the data key and
  ``aad = b"socai-vault-salt-v1" ‖ person`` for the salt, so a wrapped value cannot be
  moved to another person or swapped between the two columns.
* Master key: ``$SOCAI_VAULT_KEY`` (standard or URL-safe base64 of exactly 32 bytes) when
  set, else the file ``<data_dir>/secrets/vault.key`` holding exactly 32 raw bytes, created
  on first use (mode 0600 in a 0700 directory, written atomically, never replaced) and
  refused when group or others may read it. Before it stores a new person's key, a vault
  checks the master key against one stored key, so a wrong master key fails loudly
  (:class:`~ledger.errors.VaultError`) instead of mixing keys.

Storage, one row per person: ``person``, ``wrapped_key``, ``wrapped_salt``, ``shredded_at``
(UTC). Shredding sets both wrapped columns to NULL and ``shredded_at`` to now; the row stays
as a tombstone so the person cannot be sealed again. Shredding a person the vault never knew
leaves a tombstone too.

* SQLite, ``<data_dir>/vault.sqlite`` (mode 0600), table ``socai_vault`` WITHOUT ROWID:
  ``person`` TEXT (``UUID.hex``, 32 lowercase hex digits), the wrapped columns BLOB and
  ``shredded_at`` TEXT (ISO 8601 with ``+00:00``). WAL, ``synchronous=FULL`` and
  ``secure_delete=ON`` on the connection (checked when opened); after a shred
  ``PRAGMA wal_checkpoint(TRUNCATE)`` empties the write-ahead log, so the wrapped key bytes
  survive neither in the database file (zeroed by ``secure_delete``) nor in the WAL.
* PostgreSQL (``SOCAI_DATABASE_URL``), table ``socai_vault`` in the ledger's database:
  ``person`` uuid, the wrapped columns bytea, ``shredded_at`` timestamptz.
  After a shred ``VACUUM socai_vault`` removes the old row version, so no query or
  ``pg_dump`` sees it again. PostgreSQL does not zero freed space: the old wrapped
  bytes can stay in the table's data file until the space is reused, and in the WAL,
  archives and backups until they expire. They are useless without the master key; for a
  complete erasure there, keep the master key out of database backups.

Python cannot wipe key bytes from memory; the vault keeps no key cache, so an unwrapped key
lives only for the call that uses it. Errors never carry field values.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import secrets
import sqlite3
import stat
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ledger.errors import InvalidInput, PersonShredded, StorageError, VaultError
from signing.keys import write_private_file

if TYPE_CHECKING:
    from ledger.application import Settings

__all__ = [
    "IDENTITY_AAD",
    "MAX_PLAINTEXT",
    "VAULT_KEY_ENV",
    "PostgresVault",
    "SQLiteVault",
    "Sealed",
    "Vault",
    "canonical_fields",
    "load_master_key",
    "master_key_file",
    "open_vault",
    "vault_path",
]

VAULT_KEY_ENV = "SOCAI_VAULT_KEY"
"""Environment variable that, when set and non-empty, holds the master key in base64."""

IDENTITY_AAD = b"socai-identity-v1"
"""Prefix of the associated data of every sealed value (followed by the person's UUID bytes)."""

MAX_PLAINTEXT = 16 * 1024
"""Largest canonical plaintext, in bytes, that :meth:`Vault.seal` accepts."""

_T = TypeVar("_T")
_KEY_AAD = b"socai-vault-key-v1"
_SALT_AAD = b"socai-vault-salt-v1"
_SECRET_SIZE = 32
_NONCE_SIZE = 12
_TAG_SIZE = 16
_WRAPPED_SIZE = _NONCE_SIZE + _SECRET_SIZE + _TAG_SIZE
_MAX_CIPHERTEXT_CHARS = -(-(_NONCE_SIZE + MAX_PLAINTEXT + _TAG_SIZE) * 4 // 3)
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*", re.ASCII)
#: Advisory lock key serialising the vault's schema setup ("vault" in ASCII).
_SCHEMA_LOCK = 0x7661756C74
_DURABLE_COMMIT = {"on", "remote_write", "remote_apply", "local"}
_SQLITE_DDL = (
    "CREATE TABLE IF NOT EXISTS socai_vault ("
    "person TEXT PRIMARY KEY, wrapped_key BLOB NULL, wrapped_salt BLOB NULL, "
    "shredded_at TEXT NULL, "
    "CHECK ((shredded_at IS NULL) = (wrapped_key IS NOT NULL AND wrapped_salt IS NOT NULL))"
    ") WITHOUT ROWID"
)
_PG_SELECT = "SELECT wrapped_key, wrapped_salt, shredded_at FROM socai_vault WHERE person = %s"
_POSTGRES_DDL = (
    "CREATE TABLE IF NOT EXISTS socai_vault ("
    "person uuid PRIMARY KEY, wrapped_key bytea NULL, wrapped_salt bytea NULL, "
    "shredded_at timestamptz NULL, "
    "CHECK ((shredded_at IS NULL) = (wrapped_key IS NOT NULL AND wrapped_salt IS NOT NULL)))"
)


@dataclass(frozen=True)
class Sealed:
    """What a ledger event stores for a person's identity fields."""

    ciphertext: str
    """base64url, no padding, of ``nonce(12) ‖ AES-256-GCM ciphertext ‖ tag(16)``."""
    commitment: str
    """Lowercase hex HMAC-SHA256 of the canonical plaintext under the person's salt."""


@dataclass(frozen=True)
class _Row:
    wrapped_key: bytes | None
    wrapped_salt: bytes | None
    shredded_at: datetime | None


def canonical_fields(fields: Mapping[str, str]) -> bytes:
    """The canonical plaintext of ``fields``; :class:`InvalidInput` when they cannot be sealed."""
    if not isinstance(fields, Mapping) or not fields:
        raise InvalidInput("identity fields must be a non-empty mapping of str to str")
    for name, value in fields.items():
        if not isinstance(name, str):
            raise InvalidInput(f"identity field names must be str, not {type(name).__name__}")
        if not isinstance(value, str):
            raise InvalidInput(f"identity field {name!r} must be str, not {type(value).__name__}")
    try:
        data = json.dumps(
            dict(fields), ensure_ascii=False, sort_keys=True, separators=(",", ":")
        ).encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput("identity fields must be valid Unicode (no lone surrogates)") from None
    if len(data) > MAX_PLAINTEXT:
        raise InvalidInput(
            f"identity fields take {len(data)} bytes as canonical JSON; the limit is "
            f"{MAX_PLAINTEXT}"
        )
    return data


def _check_person(person: UUID) -> None:
    if not isinstance(person, UUID):
        raise InvalidInput(f"person must be a UUID, not {type(person).__name__}")


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    if len(text) > _MAX_CIPHERTEXT_CHARS:
        raise VaultError(f"ciphertext is {len(text)} characters, longer than any sealed value")
    if not _BASE64URL.fullmatch(text) or len(text) % 4 == 1:
        raise VaultError("ciphertext is not unpadded base64url")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise VaultError("ciphertext is not unpadded base64url") from None
    if _b64encode(raw) != text:
        raise VaultError("ciphertext is not canonical base64url")
    return raw


def _aes(key: bytes) -> AESGCM:
    if not isinstance(key, bytes) or len(key) != _SECRET_SIZE:
        raise VaultError("the vault master key must be exactly 32 bytes")
    return AESGCM(key)


class Vault(ABC):
    """Seals, opens and shreds personal identity data, one key and salt per person.

    Thread-safe: each implementation serialises its storage calls on one lock. Errors are
    :class:`VaultError` (crypto, master key), :class:`PersonShredded`, :class:`InvalidInput`
    (arguments) and :class:`StorageError` (database), never a driver's exception.
    """

    def __init__(self, master_key: bytes) -> None:
        self._master = _aes(master_key)
        self._master_checked = False

    # -- storage, implemented per backend -------------------------------------------------

    @abstractmethod
    def _fetch(self, person: UUID) -> _Row | None:
        """The person's row, or None when the vault has none."""

    @abstractmethod
    def _insert(self, person: UUID, wrapped_key: bytes, wrapped_salt: bytes) -> _Row:
        """Store the wrapped pair unless the person has a row already; return the stored row."""

    @abstractmethod
    def _probe(self) -> tuple[UUID, bytes] | None:
        """Any one person with a live key and their wrapped key, to check the master key."""

    @abstractmethod
    def _destroy(self, person: UUID, moment: datetime) -> bool:
        """Null the person's key and salt and leave a tombstone; then purge the old bytes."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection; later calls raise :class:`StorageError`."""

    # -- key handling ----------------------------------------------------------------------

    def _wrap(self, person: UUID, label: bytes, secret: bytes) -> bytes:
        nonce = secrets.token_bytes(_NONCE_SIZE)
        return nonce + self._master.encrypt(nonce, secret, label + person.bytes)

    def _unwrap(self, person: UUID, label: bytes, wrapped: bytes) -> bytes:
        what = "data key" if label == _KEY_AAD else "salt"
        try:
            if len(wrapped) != _WRAPPED_SIZE:
                raise InvalidTag
            secret = self._master.decrypt(
                wrapped[:_NONCE_SIZE], wrapped[_NONCE_SIZE:], label + person.bytes
            )
        except InvalidTag:
            raise VaultError(
                f"cannot unwrap the {what} of person {person}: wrong master key "
                f"(${VAULT_KEY_ENV} or secrets/vault.key) or the vault row was altered"
            ) from None
        return secret

    def _check_master(self) -> None:
        """Refuse to store new keys under a master key that does not open the stored ones."""
        if self._master_checked:
            return
        probe = self._probe()
        if probe is not None:
            try:
                self._unwrap(probe[0], _KEY_AAD, probe[1])
            except VaultError:
                raise VaultError(
                    f"the master key does not match this vault (it cannot unwrap the key of "
                    f"person {probe[0]}): check ${VAULT_KEY_ENV} or secrets/vault.key"
                ) from None
        self._master_checked = True

    def _keys(self, person: UUID, *, create: bool) -> tuple[bytes, bytes] | None:
        """The person's (data key, salt); None when they have none (shredded or unknown).

        With ``create``, a person without a row gets a new key and salt, and a shredded
        person raises :class:`PersonShredded`.
        """
        _check_person(person)
        row = self._fetch(person)
        if row is None:
            if not create:
                return None
            self._check_master()
            row = self._insert(
                person,
                self._wrap(person, _KEY_AAD, secrets.token_bytes(_SECRET_SIZE)),
                self._wrap(person, _SALT_AAD, secrets.token_bytes(_SECRET_SIZE)),
            )
        if row.shredded_at is not None or row.wrapped_key is None or row.wrapped_salt is None:
            if create:
                when = "" if row.shredded_at is None else f" on {row.shredded_at.isoformat()}"
                raise PersonShredded(f"the identity key of person {person} was destroyed{when}")
            return None
        return (
            self._unwrap(person, _KEY_AAD, row.wrapped_key),
            self._unwrap(person, _SALT_AAD, row.wrapped_salt),
        )

    # -- public API ------------------------------------------------------------------------

    def seal(self, person: UUID, fields: Mapping[str, str]) -> Sealed:
        """Encrypt ``fields`` for ``person``, making their key and salt on first use.

        Raises :class:`InvalidInput` for empty or non-string fields or more than 16 KiB,
        and :class:`PersonShredded` when the person was shredded.
        """
        _check_person(person)
        plaintext = canonical_fields(fields)
        keys = self._keys(person, create=True)
        assert keys is not None  # create=True returns keys or raises
        key, salt = keys
        nonce = secrets.token_bytes(_NONCE_SIZE)
        body = AESGCM(key).encrypt(nonce, plaintext, IDENTITY_AAD + person.bytes)
        return Sealed(
            ciphertext=_b64encode(nonce + body),
            commitment=hmac.new(salt, plaintext, hashlib.sha256).hexdigest(),
        )

    def open(self, person: UUID, ciphertext: str) -> dict[str, str] | None:
        """The fields sealed in ``ciphertext``; None when the person was shredded or unknown.

        Raises :class:`VaultError` when the ciphertext was altered, is not base64url, was
        sealed for another person or vault, or the master key is wrong.
        """
        _check_person(person)
        if not isinstance(ciphertext, str):
            raise VaultError(f"ciphertext must be str, not {type(ciphertext).__name__}")
        keys = self._keys(person, create=False)
        if keys is None:
            return None
        raw = _b64decode(ciphertext)
        if len(raw) < _NONCE_SIZE + _TAG_SIZE:
            raise VaultError("ciphertext is too short to be a sealed value")
        try:
            plaintext = AESGCM(keys[0]).decrypt(
                raw[:_NONCE_SIZE], raw[_NONCE_SIZE:], IDENTITY_AAD + person.bytes
            )
        except InvalidTag:
            raise VaultError(
                f"ciphertext does not open for person {person}: altered, or sealed for "
                "another person or by another vault"
            ) from None
        try:
            fields = json.loads(plaintext.decode("utf-8"))
        except ValueError:
            raise VaultError(f"sealed value of person {person} is not JSON") from None
        if not isinstance(fields, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in fields.items()
        ):
            raise VaultError(f"sealed value of person {person} is not an object of strings")
        return fields

    def commitment(self, person: UUID, fields: Mapping[str, str]) -> str | None:
        """The commitment :meth:`seal` gives ``fields``; None when the person has no salt."""
        _check_person(person)
        plaintext = canonical_fields(fields)
        keys = self._keys(person, create=False)
        if keys is None:
            return None
        return hmac.new(keys[1], plaintext, hashlib.sha256).hexdigest()

    def salt(self, person: UUID) -> bytes | None:
        """The person's 32-byte commitment salt; None when shredded or unknown."""
        keys = self._keys(person, create=False)
        return None if keys is None else keys[1]

    def shred(self, person: UUID) -> bool:
        """Destroy the person's key and salt and refuse them from now on.

        True when a key was destroyed; False when the person was already shredded or never
        had a key (a tombstone is left either way, so :meth:`seal` refuses the person).
        Every call also purges the old key bytes from storage (see the module docstring);
        when that purge fails, :class:`StorageError` says so and calling again retries it.
        """
        _check_person(person)
        return self._destroy(person, datetime.now(UTC))

    def is_shredded(self, person: UUID) -> bool:
        """Whether the person's identity key was destroyed."""
        _check_person(person)
        row = self._fetch(person)
        return row is not None and row.shredded_at is not None

    def __enter__(self) -> Vault:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class SQLiteVault(Vault):
    """A vault in its own SQLite file (``<data_dir>/vault.sqlite``), one locked connection."""

    def __init__(self, path: Path | str, master_key: bytes) -> None:
        from ledger.sqlite import check_durability

        super().__init__(master_key)
        self.path = Path(path)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Created 0600 before SQLite opens it; the -wal and -shm files take its mode.
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | _O_CLOEXEC, 0o600))
            conn = sqlite3.connect(
                self.path, timeout=10.0, isolation_level=None, check_same_thread=False
            )
        except (OSError, sqlite3.Error) as e:
            raise StorageError(f"cannot open the identity vault {self.path}: {e}") from e
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA secure_delete=ON")
            check_durability(conn)
            if conn.execute("PRAGMA secure_delete").fetchone()[0] != 1:
                raise StorageError("SQLite refused secure_delete=ON; refusing to run the vault")
            conn.execute(_SQLITE_DDL)
        except sqlite3.Error as e:
            conn.close()
            raise StorageError(f"cannot open the identity vault {self.path}: {e}") from e
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    @contextmanager
    def _session(self, *, write: bool = False) -> Iterator[sqlite3.Connection]:
        with self._lock:
            conn = self._conn
            if conn is None:
                raise StorageError("the identity vault is closed")
            try:
                if not write:
                    yield conn
                    return
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            except sqlite3.Error as e:
                if conn.in_transaction:
                    conn.rollback()
                raise StorageError(f"identity vault {self.path}: {e}") from e

    def _fetch(self, person: UUID) -> _Row | None:
        with self._session() as conn:
            row = conn.execute(
                "SELECT wrapped_key, wrapped_salt, shredded_at FROM socai_vault WHERE person = ?",
                (person.hex,),
            ).fetchone()
        return None if row is None else _sqlite_row(row)

    def _insert(self, person: UUID, wrapped_key: bytes, wrapped_salt: bytes) -> _Row:
        with self._session(write=True) as conn:
            conn.execute(
                "INSERT INTO socai_vault (person, wrapped_key, wrapped_salt) VALUES (?, ?, ?) "
                "ON CONFLICT (person) DO NOTHING",
                (person.hex, wrapped_key, wrapped_salt),
            )
            row = conn.execute(
                "SELECT wrapped_key, wrapped_salt, shredded_at FROM socai_vault WHERE person = ?",
                (person.hex,),
            ).fetchone()
        return _sqlite_row(row)

    def _probe(self) -> tuple[UUID, bytes] | None:
        with self._session() as conn:
            row = conn.execute(
                "SELECT person, wrapped_key FROM socai_vault WHERE wrapped_key IS NOT NULL LIMIT 1"
            ).fetchone()
        return None if row is None else (UUID(row[0]), bytes(row[1]))

    def _destroy(self, person: UUID, moment: datetime) -> bool:
        with self._session(write=True) as conn:
            destroyed = (
                conn.execute(
                    "UPDATE socai_vault SET wrapped_key = NULL, wrapped_salt = NULL, "
                    "shredded_at = ? WHERE person = ? AND shredded_at IS NULL",
                    (moment.isoformat(), person.hex),
                ).rowcount
                == 1
            )
            if not destroyed:
                conn.execute(
                    "INSERT INTO socai_vault (person, shredded_at) VALUES (?, ?) "
                    "ON CONFLICT (person) DO NOTHING",
                    (person.hex, moment.isoformat()),
                )
        with self._session() as conn:
            # secure_delete zeroed the old cell in the new page image; the WAL still holds
            # the page as it was. Copy everything back and cut the WAL to zero bytes.
            busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        if busy:
            raise StorageError(
                f"person {person} is shredded, but another connection kept the vault's "
                "write-ahead log from being emptied; old key bytes may remain in "
                f"{self.path}-wal until shred runs again while the vault is idle"
            )
        return destroyed

    def close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


def _sqlite_row(row: Any) -> _Row:
    return _Row(
        None if row[0] is None else bytes(row[0]),
        None if row[1] is None else bytes(row[1]),
        None if row[2] is None else datetime.fromisoformat(row[2]),
    )


class PostgresVault(Vault):
    """A vault in the table ``socai_vault`` of the ledger's PostgreSQL database.

    One autocommit connection (from :func:`ledger.postgres.connect`; that module is the only
    one that imports psycopg) shared under a lock. When the server drops the connection, the
    call reconnects and runs once more: every storage call is idempotent.
    """

    def __init__(self, url: str, master_key: bytes, *, read_only: bool = False) -> None:
        from ledger.postgres import connect

        super().__init__(master_key)
        self._url = url
        self._connect = connect
        self._lock = threading.Lock()
        self._closed = False
        self._conn = connect(url)
        self._read_only = read_only
        try:
            self._call(self._setup)
        except BaseException:
            self.close()
            raise

    def _setup(self, conn: Any) -> None:
        sync = conn.execute("SHOW synchronous_commit").fetchone()[0]
        if sync not in _DURABLE_COMMIT:
            raise StorageError(f"PostgreSQL synchronous_commit={sync}; refusing to run")
        if conn.execute("SHOW fsync").fetchone()[0] != "on":
            raise StorageError("PostgreSQL fsync is off; refusing to run")
        if self._read_only:
            return  # a read replica: the primary created the table
        # Concurrent CREATE TABLE IF NOT EXISTS can collide on the catalog; take turns.
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            conn.execute(_POSTGRES_DDL)

    def _call(self, work: Callable[[Any], _T]) -> _T:
        """Run ``work(connection)`` under the lock; psycopg errors become StorageError."""
        with self._lock:
            for attempt in (1, 2):
                if self._closed:
                    raise StorageError("the identity vault is closed")
                if self._conn.closed or self._conn.broken:
                    self._conn = self._connect(self._url)
                conn = self._conn
                try:
                    return work(conn)
                except conn.Error as e:
                    if attempt == 1 and conn.broken:
                        continue  # the server dropped us: reconnect and run again
                    raise StorageError(f"identity vault (PostgreSQL): {e}") from e
        raise AssertionError("unreachable")

    def _fetch(self, person: UUID) -> _Row | None:
        def work(conn: Any) -> _Row | None:
            row = conn.execute(_PG_SELECT, (person,)).fetchone()
            return None if row is None else _Row(*row)

        return self._call(work)

    def _insert(self, person: UUID, wrapped_key: bytes, wrapped_salt: bytes) -> _Row:
        def work(conn: Any) -> _Row:
            with conn.transaction():
                conn.execute(
                    "INSERT INTO socai_vault (person, wrapped_key, wrapped_salt) "
                    "VALUES (%s, %s, %s) ON CONFLICT (person) DO NOTHING",
                    (person, wrapped_key, wrapped_salt),
                )
                return _Row(*conn.execute(_PG_SELECT, (person,)).fetchone())

        return self._call(work)

    def _probe(self) -> tuple[UUID, bytes] | None:
        def work(conn: Any) -> tuple[UUID, bytes] | None:
            row = conn.execute(
                "SELECT person, wrapped_key FROM socai_vault WHERE wrapped_key IS NOT NULL LIMIT 1"
            ).fetchone()
            return None if row is None else (row[0], bytes(row[1]))

        return self._call(work)

    def _destroy(self, person: UUID, moment: datetime) -> bool:
        def work(conn: Any) -> bool:
            with conn.transaction():
                cursor = conn.execute(
                    "UPDATE socai_vault SET wrapped_key = NULL, wrapped_salt = NULL, "
                    "shredded_at = %s WHERE person = %s AND shredded_at IS NULL",
                    (moment, person),
                )
                if cursor.rowcount == 1:
                    return True
                conn.execute(
                    "INSERT INTO socai_vault (person, shredded_at) VALUES (%s, %s) "
                    "ON CONFLICT (person) DO NOTHING",
                    (person, moment),
                )
                return False

        def vacuum(conn: Any) -> None:
            # Outside any transaction block: the connection is in autocommit mode.
            conn.execute("VACUUM socai_vault")

        destroyed = self._call(work)
        try:
            self._call(vacuum)
        except StorageError as e:
            raise StorageError(
                f"person {person} is shredded, but VACUUM socai_vault failed ({e.__cause__}); "
                "the old row stays in the table's pages until a VACUUM succeeds (shred again)"
            ) from e
        return destroyed

    def close(self) -> None:
        with self._lock:
            self._closed = True
            conn = getattr(self, "_conn", None)
            if conn is not None and not conn.closed:
                conn.close()


_O_CLOEXEC: int = getattr(os, "O_CLOEXEC", 0)


def vault_path(data_dir: Path | str) -> Path:
    """The SQLite vault file under ``data_dir``."""
    return Path(data_dir) / "vault.sqlite"


def master_key_file(data_dir: Path | str) -> Path:
    """Where :func:`load_master_key` keeps the generated master key under ``data_dir``."""
    return Path(data_dir) / "secrets" / "vault.key"


def load_master_key(data_dir: Path | str) -> bytes:
    """The 32-byte master key: ``$SOCAI_VAULT_KEY``, else ``<data_dir>/secrets/vault.key``.

    A missing file is created (32 random bytes, mode 0600, directory 0700, atomically;
    when two processes race, both use the first file written). Raises :class:`VaultError`
    for a malformed variable, or a file of the wrong size, type or mode.
    """
    from_env = os.environ.get(VAULT_KEY_ENV, "").strip()
    if from_env:
        try:
            key = base64.b64decode(from_env.replace("-", "+").replace("_", "/"), validate=True)
        except (binascii.Error, ValueError):
            raise VaultError(f"${VAULT_KEY_ENV} is not base64") from None
        if len(key) != _SECRET_SIZE:
            raise VaultError(f"${VAULT_KEY_ENV} must be base64 of exactly 32 bytes")
        return key
    path = master_key_file(data_dir)
    if not path.exists():
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            write_private_file(path, secrets.token_bytes(_SECRET_SIZE))
        except FileExistsError:
            pass  # another process wrote it first: use theirs
        except OSError as e:
            raise VaultError(f"cannot create the vault master key {path}: {e.strerror}") from None
    return _read_key_file(path)


def _read_key_file(path: Path) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY | _O_CLOEXEC)
    except OSError as e:
        raise VaultError(f"cannot read the vault master key {path}: {e.strerror}") from None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise VaultError(f"vault master key {path} is not a regular file")
        if st.st_mode & 0o077:
            raise VaultError(
                f"vault master key {path} has mode {stat.S_IMODE(st.st_mode):04o}; it must "
                "not be accessible to group or others (chmod 600)"
            )
        key = f.read(_SECRET_SIZE + 1)
    if len(key) != _SECRET_SIZE:
        raise VaultError(f"vault master key {path} must hold exactly 32 bytes, not {len(key)}")
    return key


def open_vault(settings: Settings) -> Vault:
    """The vault of ``settings``: PostgreSQL when ``database_url`` is set, else SQLite.

    The master key comes from :func:`load_master_key` (``settings.data_dir``).
    """
    master = load_master_key(settings.data_dir)
    if settings.database_url:
        return PostgresVault(settings.database_url, master, read_only=settings.read_only)
    return SQLiteVault(vault_path(settings.data_dir), master)
