"""Accounts of the HTTP surface: passwords, sessions, TOTP, signing keys, the read log.

An account is bound either to a staff file (``kind="staff"``: teachers, homeroom teachers,
principals, staff officers; what they may do is read from the ledger at each request) or to
a list of schools (``kind="inspector"``: read-only). Verifiers need no account.

Secrets at rest:

* Password: argon2id (``argon2-cffi``'s :class:`~argon2.PasswordHasher`, RFC 9106 low-memory
  parameters: t=3, m=64 MiB, p=4), PHC string in ``password``.
* The staff member's signing key (PKCS#8 DER) sealed under a key derived from the password:
  ``salt(16) ‖ nonce(12) ‖ AES-256-GCM(argon2id_raw(password, salt), nonce, der, aad)`` with
  ``aad = b"socai-account-key-v1" ‖ account id``. The server cannot sign for a person who
  has not logged in: invariant 2 (no server key signs for people) holds for the HTTP path.
* A session keeps the key sealed under a key derived (HKDF-SHA256) from the session token's
  secret, which only the client holds: ``nonce(12) ‖ AES-256-GCM(k, nonce, der, aad)`` with
  ``aad = b"socai-session-key-v1" ‖ session id``. The database holds SHA-256 of the secret.
* TOTP secrets sealed under HKDF(vault master key, ``socai-totp-v1``); a code is accepted
  once (the last accepted time step is kept).

Tokens: ``s1.<id>.<secret>`` (URL-safe base64 of 16 and 32 random bytes). Sessions end
after :data:`SESSION_HOURS` or :data:`IDLE_MINUTES` without use, or at logout. A worker
process keeps a session it has checked for :data:`SESSION_CACHE_SECONDS` (a logout in
another worker takes effect there within that time).

Log-in throttling: after :data:`LOCK_AFTER` failures in a row an account is locked for
a minute, doubling with each further failure up to 15 minutes; a success resets it.
The per-address limits are in :mod:`api.ratelimit`.

Storage: ``<data_dir>/accounts.sqlite`` (mode 0600), or the tables ``socai_accounts``,
``socai_sessions`` and ``socai_reads`` of the ledger's PostgreSQL database.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, TypeVar
from uuid import UUID

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from argon2.low_level import Type, hash_secret_raw
from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ledger.application import Settings
from ledger.errors import InvalidInput, LedgerError, StorageError
from ledger.vault import load_master_key
from signing.keys import SoftwareSigner

__all__ = [
    "Account",
    "AccountStore",
    "AuthFailed",
    "Session",
    "TotpRequired",
    "open_accounts",
]

Kind = Literal["staff", "inspector"]
KINDS: tuple[str, ...] = ("staff", "inspector")

SESSION_HOURS = 12
IDLE_MINUTES = 60
SESSION_CACHE_SECONDS = 2.0
LOCK_AFTER = 5
MAX_LOCK_SECONDS = 15 * 60
#: Touch a session's last use at most this often (a write per request would be wasted).
TOUCH_EVERY_SECONDS = 60

_HASHER = PasswordHasher()  # argon2id, RFC 9106 low-memory profile
_KEY_AAD = b"socai-account-key-v1"
_SESSION_AAD = b"socai-session-key-v1"
_TOTP_AAD = b"socai-totp-v1"
_USERNAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789._-")

_T = TypeVar("_T")


class AuthFailed(LedgerError):
    """Wrong user name, password or code, or a locked or disabled account (one message for all)."""

    def __init__(self, message: str = "sai tên đăng nhập, mật khẩu hoặc mã xác thực") -> None:
        super().__init__(message)


class TotpRequired(AuthFailed):
    """The password was right and the account needs a TOTP code too."""

    def __init__(self) -> None:
        super().__init__("cần mã xác thực hai lớp (TOTP)")


class LockedOut(AuthFailed):
    """Too many failed log-ins in a row; ``retry_after`` seconds to wait."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"tài khoản tạm khóa; thử lại sau {retry_after} giây")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Account:
    """An account, without its secrets."""

    id: UUID
    username: str
    kind: str
    #: The staff file this account acts as (``kind="staff"``).
    staff: UUID | None
    #: Schools an inspector may read (``kind="inspector"``).
    schools: tuple[UUID, ...]
    display_name: str
    totp: bool
    disabled: bool
    has_key: bool


@dataclass
class Session:
    """A logged-in account. ``signer`` exists for staff accounts with a key."""

    id: str
    account: Account
    csrf: str
    expires: datetime
    signer: SoftwareSigner | None = field(default=None, repr=False)


# -- small crypto helpers --------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _hkdf(secret: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret)


def _seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(12)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def _open(key: bytes, sealed: bytes, aad: bytes) -> bytes:
    return AESGCM(key).decrypt(sealed[:12], sealed[12:], aad)


def _password_key(password: str, salt: bytes) -> bytes:
    p = _HASHER
    return hash_secret_raw(
        password.encode("utf-8"),
        salt,
        time_cost=p.time_cost,
        memory_cost=p.memory_cost,
        parallelism=p.parallelism,
        hash_len=32,
        type=Type.ID,
    )


def _wrap_key(password: str, account: UUID, der: bytes) -> bytes:
    salt = os.urandom(16)
    return salt + _seal(_password_key(password, salt), der, _KEY_AAD + account.bytes)


def _unwrap_key(password: str, account: UUID, wrapped: bytes) -> bytes:
    return _open(_password_key(password, wrapped[:16]), wrapped[16:], _KEY_AAD + account.bytes)


def _check_password(password: object) -> str:
    if not isinstance(password, str) or not 10 <= len(password) <= 1024:
        raise InvalidInput("a password has 10 to 1024 characters")
    return password


def _check_username(username: object) -> str:
    if (
        not isinstance(username, str)
        or not 2 <= len(username) <= 64
        or not set(username) <= _USERNAME_CHARS
    ):
        raise InvalidInput("a user name has 2 to 64 characters: a-z, 0-9, '.', '_' or '-'")
    return username


# -- storage ---------------------------------------------------------------------------------

_DDL = [
    "CREATE TABLE IF NOT EXISTS socai_accounts ("
    " id TEXT PRIMARY KEY, username TEXT UNIQUE NOT NULL, kind TEXT NOT NULL,"
    " staff TEXT, schools TEXT NOT NULL, display_name TEXT NOT NULL,"
    " password TEXT NOT NULL, wrapped_key BLOB, certificate TEXT,"
    " totp_secret BLOB, totp_step BIGINT NOT NULL DEFAULT 0,"
    " failures INTEGER NOT NULL DEFAULT 0, locked_until DOUBLE PRECISION NOT NULL DEFAULT 0,"
    " disabled INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS socai_sessions ("
    " id TEXT PRIMARY KEY, account TEXT NOT NULL, secret_hash BLOB NOT NULL,"
    " sealed_key BLOB, created DOUBLE PRECISION NOT NULL, last_seen DOUBLE PRECISION NOT NULL,"
    " expires DOUBLE PRECISION NOT NULL)",
    "CREATE TABLE IF NOT EXISTS socai_reads ("
    " at TEXT NOT NULL, account TEXT NOT NULL, action TEXT NOT NULL, object TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS socai_reads_object ON socai_reads (object)",
    "CREATE INDEX IF NOT EXISTS socai_reads_account ON socai_reads (account)",
]

_COLUMNS = (
    "id, username, kind, staff, schools, display_name, totp_secret IS NOT NULL, disabled, "
    "wrapped_key IS NOT NULL"
)


class Database:
    """``?``-style statements on SQLite or PostgreSQL, one connection under a lock."""

    def __init__(self, settings: Settings) -> None:
        self._lock = threading.Lock()
        self._url = settings.database_url
        self._pg = bool(self._url)
        if self._pg:
            from ledger.postgres import connect

            self._connect: Callable[[], Any] = lambda: connect(str(self._url))
        else:
            path = Path(settings.data_dir) / "accounts.sqlite"
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))

            def sqlite() -> sqlite3.Connection:
                conn = sqlite3.connect(
                    path, timeout=30, isolation_level=None, check_same_thread=False
                )
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=FULL")
                return conn

            self._connect = sqlite
        self._conn = self._connect()
        self.script(_DDL)

    def _sql(self, statement: str) -> str:
        if not self._pg:
            return statement
        return statement.replace("?", "%s").replace("BLOB", "BYTEA")

    def _run(self, work: Callable[[Any], _T]) -> _T:
        with self._lock:
            for attempt in (1, 2):
                conn = self._conn
                try:
                    return work(conn)
                except (sqlite3.Error, LedgerError) as e:
                    raise StorageError(f"accounts: {e}") from e
                except Exception as e:  # psycopg's errors, without importing psycopg here
                    if type(e).__module__.startswith("psycopg"):
                        if attempt == 1 and getattr(conn, "broken", False):
                            self._conn = self._connect()
                            continue
                        raise StorageError(f"accounts (PostgreSQL): {e}") from e
                    raise
        raise AssertionError("unreachable")

    def script(self, statements: Sequence[str]) -> None:
        def work(conn: Any) -> None:
            if self._pg:
                with conn.transaction():
                    conn.execute("SELECT pg_advisory_xact_lock(7305161)")
                    for s in statements:
                        conn.execute(self._sql(s))
            else:
                for s in statements:
                    conn.execute(s)

        self._run(work)

    def rows(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._run(lambda c: list(c.execute(self._sql(statement), tuple(params))))

    def execute(self, statement: str, params: Sequence[Any] = ()) -> int:
        return int(self._run(lambda c: c.execute(self._sql(statement), tuple(params)).rowcount))

    def executemany(self, statement: str, rows: Iterable[Sequence[Any]]) -> None:
        def work(conn: Any) -> None:
            if self._pg:
                with conn.transaction(), conn.cursor() as cur:
                    cur.executemany(self._sql(statement), [tuple(r) for r in rows])
            else:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    conn.executemany(statement, [tuple(r) for r in rows])
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")

        self._run(work)

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _account(row: Sequence[Any]) -> Account:
    return Account(
        id=UUID(row[0]),
        username=row[1],
        kind=row[2],
        staff=UUID(row[3]) if row[3] else None,
        schools=tuple(UUID(s) for s in json.loads(row[4])),
        display_name=row[5],
        totp=bool(row[6]),
        disabled=bool(row[7]),
        has_key=bool(row[8]),
    )


class AccountStore:
    """Accounts, sessions and the read log of one deployment (see the module docstring)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._db = Database(settings)
        self._totp_key = _hkdf(load_master_key(settings.data_dir), _TOTP_AAD)
        self._cache: dict[str, tuple[float, bytes, Session]] = {}
        self._cache_lock = threading.Lock()

    def close(self) -> None:
        self._db.close()

    # -- accounts ------------------------------------------------------------------------

    def add(
        self,
        username: str,
        password: str,
        *,
        kind: str,
        display_name: str,
        staff: UUID | None = None,
        schools: Sequence[UUID] = (),
        key: PrivateKeyTypes | None = None,
        certificate: x509.Certificate | None = None,
    ) -> Account:
        """Create an account; a staff account may carry the member's key and certificate."""
        _check_username(username)
        _check_password(password)
        if kind not in KINDS:
            raise InvalidInput(f"kind must be one of {', '.join(KINDS)}")
        if kind == "staff" and staff is None:
            raise InvalidInput("a staff account names its staff file")
        if kind == "inspector" and (staff is not None or not schools or key is not None):
            raise InvalidInput("an inspector account names schools, and has no staff file or key")
        if (key is None) != (certificate is None):
            raise InvalidInput("a signing key comes with its certificate")
        if key is not None and certificate is not None:
            SoftwareSigner(key, certificate)  # refuses a key that is not the certificate's
        account = uuid.uuid4()
        der = None
        if key is not None:
            der = key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        if self.find(username) is not None:
            from ledger.errors import AlreadyExists

            raise AlreadyExists(f"the user name {username!r} is taken")
        self._db.execute(
            "INSERT INTO socai_accounts (id, username, kind, staff, schools, display_name,"
            " password, wrapped_key, certificate, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                account.hex,
                username,
                kind,
                staff.hex if staff else None,
                json.dumps(sorted(s.hex for s in schools)),
                display_name,
                _HASHER.hash(password),
                None if der is None else _wrap_key(password, account, der),
                None
                if certificate is None
                else certificate.public_bytes(serialization.Encoding.PEM).decode("ascii"),
                datetime.now(UTC).isoformat(),
            ),
        )
        found = self.find(username)
        assert found is not None
        return found

    def find(self, username: str) -> Account | None:
        rows = self._db.rows(
            f"SELECT {_COLUMNS} FROM socai_accounts WHERE username = ?",  # noqa: S608
            (username,),
        )
        return _account(rows[0]) if rows else None

    def get(self, account: UUID) -> Account | None:
        rows = self._db.rows(
            f"SELECT {_COLUMNS} FROM socai_accounts WHERE id = ?",  # noqa: S608
            (account.hex,),
        )
        return _account(rows[0]) if rows else None

    def all(self) -> list[Account]:
        return [
            _account(r)
            for r in self._db.rows(
                f"SELECT {_COLUMNS} FROM socai_accounts ORDER BY username"  # noqa: S608
            )
        ]

    def of_staff(self, staff: UUID) -> list[Account]:
        rows = self._db.rows(
            f"SELECT {_COLUMNS} FROM socai_accounts WHERE staff = ? ORDER BY username",  # noqa: S608
            (staff.hex,),
        )
        return [_account(r) for r in rows]

    def set_disabled(self, username: str, disabled: bool) -> None:
        if not self._db.execute(
            "UPDATE socai_accounts SET disabled = ? WHERE username = ?", (int(disabled), username)
        ):
            raise InvalidInput(f"no account {username!r}")
        if disabled:
            self._end_sessions(username)

    def change_password(self, username: str, old: str, new: str) -> None:
        """Replace the password (the old one is checked); the key is sealed again; sessions end."""
        _check_password(new)
        row = self._secret_row(username)
        if row is None or not self._password_ok(row[1], old):
            raise AuthFailed()
        wrapped = row[2]
        if wrapped is not None:
            wrapped = _wrap_key(new, UUID(row[0]), _unwrap_key(old, UUID(row[0]), wrapped))
        self._db.execute(
            "UPDATE socai_accounts SET password = ?, wrapped_key = ? WHERE id = ?",
            (_HASHER.hash(new), wrapped, row[0]),
        )
        self._end_sessions(username)

    def enrol_totp(self, username: str) -> str:
        """Give the account a new TOTP secret; return its ``otpauth://`` URI (shown once)."""
        account = self.find(username)
        if account is None:
            raise InvalidInput(f"no account {username!r}")
        secret = pyotp.random_base32()
        sealed = _seal(self._totp_key, secret.encode("ascii"), _TOTP_AAD + account.id.bytes)
        self._db.execute(
            "UPDATE socai_accounts SET totp_secret = ?, totp_step = 0 WHERE id = ?",
            (sealed, account.id.hex),
        )
        return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name="Sổ Cái")

    def totp_secret(self, username: str) -> str | None:
        """The TOTP secret (for the CLI's enrolment display and for tests)."""
        rows = self._db.rows(
            "SELECT id, totp_secret FROM socai_accounts WHERE username = ?", (username,)
        )
        if not rows or rows[0][1] is None:
            return None
        return _open(self._totp_key, bytes(rows[0][1]), _TOTP_AAD + UUID(rows[0][0]).bytes).decode()

    # -- log-in and sessions --------------------------------------------------------------

    def _secret_row(self, username: str) -> tuple[Any, ...] | None:
        rows = self._db.rows(
            "SELECT id, password, wrapped_key, certificate, totp_secret, totp_step, failures,"
            " locked_until, disabled FROM socai_accounts WHERE username = ?",
            (username,),
        )
        return rows[0] if rows else None

    @staticmethod
    def _password_ok(stored: str, password: str) -> bool:
        try:
            return _HASHER.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def _fail(self, account: str, failures: int) -> None:
        failures += 1
        locked = 0.0
        if failures >= LOCK_AFTER:
            locked = time.time() + min(MAX_LOCK_SECONDS, 60 * 2 ** (failures - LOCK_AFTER))
        self._db.execute(
            "UPDATE socai_accounts SET failures = ?, locked_until = ? WHERE id = ?",
            (failures, locked, account),
        )

    def login(self, username: str, password: str, totp: str | None = None) -> tuple[str, Session]:
        """Check the credentials and open a session; return its token (shown once) and it.

        Raises :class:`AuthFailed` (or :class:`TotpRequired`, :class:`LockedOut`). A user name
        that does not exist costs the same argon2 work as a wrong password.
        """
        if not isinstance(username, str) or not isinstance(password, str):
            raise AuthFailed()
        row = self._secret_row(username) if set(username) <= _USERNAME_CHARS else None
        if row is None:
            _HASHER.hash(password[:1024])  # the same cost as a real check
            raise AuthFailed()
        account_id, stored, wrapped, cert_pem, totp_sealed, totp_step = row[:6]
        failures, locked_until, disabled = int(row[6]), float(row[7]), bool(row[8])
        now = time.time()
        if locked_until > now:
            raise LockedOut(int(locked_until - now) + 1)
        if disabled or not self._password_ok(stored, password[:1024]):
            self._fail(account_id, failures)
            raise AuthFailed()
        if totp_sealed is not None:
            if not totp:
                raise TotpRequired()
            secret = _open(self._totp_key, bytes(totp_sealed), _TOTP_AAD + UUID(account_id).bytes)
            step = self._totp_step(secret.decode("ascii"), totp, int(totp_step))
            if step is None:
                self._fail(account_id, failures)
                raise AuthFailed()
            self._db.execute(
                "UPDATE socai_accounts SET totp_step = ? WHERE id = ?", (step, account_id)
            )
        if failures:
            self._db.execute(
                "UPDATE socai_accounts SET failures = 0, locked_until = 0 WHERE id = ?",
                (account_id,),
            )
        der = None if wrapped is None else _unwrap_key(password, UUID(account_id), bytes(wrapped))
        return self._open_session(UUID(account_id), der, cert_pem)

    @staticmethod
    def _totp_step(secret: str, code: str, last: int) -> int | None:
        """The time step ``code`` is valid for (±1 step), if newer than ``last``."""
        code = code.strip()
        if not (code.isascii() and code.isdigit() and len(code) == 6):
            return None
        totp = pyotp.TOTP(secret)
        now = int(time.time()) // totp.interval
        for step in (now - 1, now, now + 1):
            if step > last and hmac.compare_digest(totp.at(step * totp.interval), code):
                return step
        return None

    def _open_session(
        self, account: UUID, der: bytes | None, cert_pem: str | None
    ) -> tuple[str, Session]:
        sid = _b64(os.urandom(16))
        secret = os.urandom(32)
        now = time.time()
        sealed = None
        if der is not None:
            sealed = _seal(_hkdf(secret, _SESSION_AAD), der, _SESSION_AAD + sid.encode())
        self._db.execute(
            "INSERT INTO socai_sessions (id, account, secret_hash, sealed_key, created,"
            " last_seen, expires) VALUES (?,?,?,?,?,?,?)",
            (
                sid,
                account.hex,
                hashlib.sha256(secret).digest(),
                sealed,
                now,
                now,
                now + SESSION_HOURS * 3600,
            ),
        )
        token = f"s1.{sid}.{_b64(secret)}"
        session = self.session(token)
        assert session is not None
        return token, session

    def session(self, token: str) -> Session | None:
        """The live session of ``token``, or None (unknown, expired, idle, logged out)."""
        parts = token.split(".") if isinstance(token, str) and len(token) < 200 else []
        if len(parts) != 3 or parts[0] != "s1":
            return None
        sid = parts[1]
        try:
            secret = _unb64(parts[2])
        except (ValueError, TypeError):
            return None
        digest = hashlib.sha256(secret).digest()
        now = time.time()
        with self._cache_lock:
            cached = self._cache.get(sid)
        if cached is not None and now - cached[0] < SESSION_CACHE_SECONDS:
            return cached[2] if hmac.compare_digest(cached[1], digest) else None
        rows = self._db.rows(
            "SELECT s.account, s.secret_hash, s.sealed_key, s.last_seen, s.expires,"
            " a.certificate, a.disabled FROM socai_sessions s JOIN socai_accounts a"
            " ON a.id = s.account WHERE s.id = ?",
            (sid,),
        )
        if not rows:
            self._forget(sid)
            return None
        account_id, stored, sealed, last_seen, expires, cert_pem, disabled = rows[0]
        if not hmac.compare_digest(bytes(stored), digest):
            return None
        if disabled or now > float(expires) or now - float(last_seen) > IDLE_MINUTES * 60:
            self._db.execute("DELETE FROM socai_sessions WHERE id = ?", (sid,))
            self._forget(sid)
            return None
        if now - float(last_seen) > TOUCH_EVERY_SECONDS:
            self._db.execute("UPDATE socai_sessions SET last_seen = ? WHERE id = ?", (now, sid))
        account = self.get(UUID(account_id))
        assert account is not None
        signer = None
        if sealed is not None and cert_pem:
            try:
                der = _open(_hkdf(secret, _SESSION_AAD), bytes(sealed), _SESSION_AAD + sid.encode())
            except InvalidTag:
                return None
            key = serialization.load_der_private_key(der, None)
            signer = SoftwareSigner(key, x509.load_pem_x509_certificate(cert_pem.encode()))
        session = Session(
            id=sid,
            account=account,
            csrf=hmac.new(secret, b"socai-csrf-v1", hashlib.sha256).hexdigest(),
            expires=datetime.fromtimestamp(float(expires), UTC),
            signer=signer,
        )
        with self._cache_lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[sid] = (now, digest, session)
        return session

    def _forget(self, sid: str) -> None:
        with self._cache_lock:
            self._cache.pop(sid, None)

    def logout(self, token: str) -> None:
        session = self.session(token)
        if session is not None:
            self._db.execute("DELETE FROM socai_sessions WHERE id = ?", (session.id,))
            self._forget(session.id)

    def _end_sessions(self, username: str) -> None:
        account = self.find(username)
        if account is None:
            return
        ids = self._db.rows("SELECT id FROM socai_sessions WHERE account = ?", (account.id.hex,))
        self._db.execute("DELETE FROM socai_sessions WHERE account = ?", (account.id.hex,))
        for (sid,) in ids:
            self._forget(sid)

    def purge_sessions(self) -> int:
        """Delete expired and idle sessions; return how many."""
        now = time.time()
        return self._db.execute(
            "DELETE FROM socai_sessions WHERE expires < ? OR last_seen < ?",
            (now, now - IDLE_MINUTES * 60),
        )

    # -- the read log ---------------------------------------------------------------------

    def log_reads(self, account: Account, action: str, objects: Iterable[UUID | str]) -> None:
        """Record that ``account`` read ``objects`` (record or staff-file ids) by ``action``."""
        at = datetime.now(UTC).isoformat(timespec="milliseconds")
        rows = [(at, account.id.hex, action, str(o)) for o in objects]
        if rows:
            self._db.executemany(
                "INSERT INTO socai_reads (at, account, action, object) VALUES (?,?,?,?)", rows
            )

    def reads(
        self,
        *,
        object: UUID | str | None = None,
        objects: Sequence[UUID | str] | None = None,
        account: UUID | None = None,
        limit: int = 1000,
    ) -> list[dict[str, Any]]:
        """The read log, newest first, for one object, some objects, one account (or all)."""
        where: list[str] = []
        params: list[Any] = []
        if object is not None:
            where.append("r.object = ?")
            params.append(str(object))
        if objects is not None:
            if not objects:
                return []
            where.append("r.object IN (" + ",".join("?" * len(objects)) + ")")
            params.extend(str(o) for o in objects)
        if account is not None:
            where.append("r.account = ?")
            params.append(account.hex)
        sql = (
            "SELECT r.at, a.username, r.action, r.object FROM socai_reads r"  # noqa: S608
            " LEFT JOIN socai_accounts a ON a.id = r.account"
            + (" WHERE " + " AND ".join(where) if where else "")
            + " ORDER BY r.at DESC LIMIT ?"
        )
        return [
            {"at": at, "username": user, "action": action, "object": obj}
            for at, user, action, obj in self._db.rows(sql, (*params, int(limit)))
        ]


def open_accounts(settings: Settings) -> AccountStore:
    """The account store of ``settings`` (SQLite under the data directory, or PostgreSQL)."""
    return AccountStore(settings)


def session_expiry(session: Session) -> timedelta:
    return session.expires - datetime.now(UTC)
