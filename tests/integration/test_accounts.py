"""Accounts: argon2id passwords, sealed signing keys, sessions, TOTP, lockout, the read log.

On both engines (the ``settings`` fixture). Secrets are looked for, byte for byte, in the
stored rows: none may be there in clear.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any

import pyotp
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from api import accounts as accounts_module
from api.accounts import AccountStore, AuthFailed, LockedOut, TotpRequired
from api.ratelimit import RateLimited, RateLimiter
from ledger.application import Settings
from ledger.errors import AlreadyExists, InvalidInput
from signing import algorithms
from signing.pki import DemoPKI
from tests.conftest import STAFF

PASSWORD = "một mật khẩu đủ dài"


@pytest.fixture
def store(settings: Settings) -> Any:
    s = AccountStore(settings)
    yield s
    s.close()


def _staff_account(store: AccountStore, pki: DemoPKI, code: str = "GV001") -> Any:
    from signing.keys import load_private_key

    key = load_private_key(pki.staff_key_path(code), pki.passphrase)
    return store.add(
        code.lower(),
        PASSWORD,
        kind="staff",
        display_name=STAFF[code][0],
        staff=uuid.uuid4(),
        key=key,
        certificate=pki.staff[code],
    ), key


def _all_bytes(store: AccountStore) -> bytes:
    """Every stored value of the account tables, concatenated."""
    out = []
    for table in ("socai_accounts", "socai_sessions"):
        for row in store._db.rows(f"SELECT * FROM {table}"):
            for value in row:
                if isinstance(value, bytes | bytearray | memoryview):
                    out.append(bytes(value))
                elif value is not None:
                    out.append(str(value).encode())
    return b"\x00".join(out)


def test_nothing_secret_is_stored_in_clear(store: AccountStore, pki: DemoPKI) -> None:
    account, key = _staff_account(store, pki)
    token, session = store.login("gv001", PASSWORD)
    stored = _all_bytes(store)
    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    assert PASSWORD.encode() not in stored
    assert der not in stored and der[-32:] not in stored
    secret = token.split(".")[2]
    assert secret.encode() not in stored
    # The password is an argon2id PHC string.
    (phc,) = store._db.rows("SELECT password FROM socai_accounts")[0]
    assert phc.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    # The session signs with the member's own key and certificate.
    assert session.signer is not None
    message = b"sign me"
    signature = session.signer.sign(message)
    algorithms.verify(pki.staff["GV001"].public_key(), session.signer.algorithm, signature, message)
    assert account.has_key and account.kind == "staff"


def test_login_failures_lock_the_account(
    store: AccountStore, pki: DemoPKI, monkeypatch: pytest.MonkeyPatch
) -> None:
    _staff_account(store, pki)
    for _ in range(accounts_module.LOCK_AFTER):
        with pytest.raises(AuthFailed):
            store.login("gv001", "not the password at all")
    with pytest.raises(LockedOut) as locked:
        store.login("gv001", PASSWORD)  # even the right password waits
    assert 0 < locked.value.retry_after <= 61
    # When the lock has passed, the right password works and resets the count.
    real = time.time
    monkeypatch.setattr(accounts_module.time, "time", lambda: real() + 61)
    token, _ = store.login("gv001", PASSWORD)
    assert store.session(token) is not None
    (failures,) = store._db.rows("SELECT failures FROM socai_accounts")[0]
    assert failures == 0


def test_unknown_users_and_bad_input_get_the_same_refusal(store: AccountStore) -> None:
    for username, password in (("nobody", PASSWORD), ("Ünïcode", PASSWORD), ("x" * 5000, "")):
        with pytest.raises(AuthFailed) as e:
            store.login(username, password)
        assert type(e.value) is AuthFailed
    assert store.session("s1.forged.token") is None
    assert store.session("garbage") is None
    assert store.session("s1." + "A" * 300) is None


def test_totp_is_required_once_enrolled_and_codes_are_single_use(
    store: AccountStore, pki: DemoPKI
) -> None:
    _staff_account(store, pki, "HT001")
    uri = store.enrol_totp("ht001")
    assert uri.startswith("otpauth://totp/")
    secret = store.totp_secret("ht001")
    assert secret is not None
    assert secret.encode() not in _all_bytes(store)  # sealed at rest
    with pytest.raises(TotpRequired):
        store.login("ht001", PASSWORD)
    with pytest.raises(AuthFailed):
        store.login("ht001", PASSWORD, "000000" if pyotp.TOTP(secret).now() != "000000" else "1")
    code = pyotp.TOTP(secret).now()
    store.login("ht001", PASSWORD, code)
    with pytest.raises(AuthFailed):
        store.login("ht001", PASSWORD, code)  # replayed


def test_sessions_end_at_logout_expiry_idleness_and_disable(
    store: AccountStore, pki: DemoPKI, monkeypatch: pytest.MonkeyPatch
) -> None:
    _staff_account(store, pki)
    token, _ = store.login("gv001", PASSWORD)
    store.logout(token)
    assert store.session(token) is None
    token, _ = store.login("gv001", PASSWORD)
    store.set_disabled("gv001", True)
    store._cache.clear()
    assert store.session(token) is None
    with pytest.raises(AuthFailed):
        store.login("gv001", PASSWORD)
    store.set_disabled("gv001", False)
    token, _ = store.login("gv001", PASSWORD)
    real = time.time
    monkeypatch.setattr(accounts_module.time, "time", lambda: real() + 3601)
    store._cache.clear()
    assert store.session(token) is None  # idle for over an hour
    assert store.purge_sessions() >= 0


def test_a_tampered_session_secret_or_sealed_key_opens_nothing(
    store: AccountStore, pki: DemoPKI
) -> None:
    _staff_account(store, pki)
    token, _ = store.login("gv001", PASSWORD)
    prefix, sid, secret = token.split(".")
    flipped = ("B" if secret[0] != "B" else "C") + secret[1:]
    store._cache.clear()
    assert store.session(f"{prefix}.{sid}.{flipped}") is None
    # A sealed key moved to another session does not open there.
    other, _ = store.login("gv001", PASSWORD)
    sealed = store._db.rows("SELECT sealed_key FROM socai_sessions WHERE id = ?", (sid,))[0][0]
    other_sid = other.split(".")[1]
    store._db.execute(
        "UPDATE socai_sessions SET sealed_key = ? WHERE id = ?", (bytes(sealed), other_sid)
    )
    store._cache.clear()
    assert store.session(other) is None


def test_password_change_reseals_the_key_and_ends_sessions(
    store: AccountStore, pki: DemoPKI
) -> None:
    _staff_account(store, pki)
    token, _ = store.login("gv001", PASSWORD)
    with pytest.raises(AuthFailed):
        store.change_password("gv001", "wrong old password", "a new long password")
    with pytest.raises(InvalidInput):
        store.change_password("gv001", PASSWORD, "short")
    store.change_password("gv001", PASSWORD, "a new long password")
    store._cache.clear()
    assert store.session(token) is None
    with pytest.raises(AuthFailed):
        store.login("gv001", PASSWORD)
    _, session = store.login("gv001", "a new long password")
    assert session.signer is not None
    assert session.signer.certificate == pki.staff["GV001"]


def test_account_input_is_checked(store: AccountStore, pki: DemoPKI) -> None:
    _staff_account(store, pki)
    with pytest.raises(AlreadyExists):
        _staff_account(store, pki)
    with pytest.raises(InvalidInput):
        store.add("Bad Name", PASSWORD, kind="staff", display_name="x", staff=uuid.uuid4())
    with pytest.raises(InvalidInput):
        store.add("ok", "short", kind="staff", display_name="x", staff=uuid.uuid4())
    with pytest.raises(InvalidInput):
        store.add("ok", PASSWORD, kind="admin", display_name="x")
    with pytest.raises(InvalidInput):
        store.add("ok", PASSWORD, kind="inspector", display_name="x")  # no schools
    # A key that is not the certificate's is refused.
    from signing.errors import SigningError

    with pytest.raises((InvalidInput, SigningError)):
        store.add(
            "ok",
            PASSWORD,
            kind="staff",
            display_name="x",
            staff=uuid.uuid4(),
            key=ec.generate_private_key(ec.SECP256R1()),
            certificate=pki.staff["GV001"],
        )
    assert [a.username for a in store.all()] == ["gv001"]


def test_the_read_log(store: AccountStore) -> None:
    inspector = store.add(
        "thanhtra", PASSWORD, kind="inspector", display_name="Thanh tra", schools=[uuid.uuid4()]
    )
    records = [uuid.uuid4() for _ in range(3)]
    store.log_reads(inspector, "record.read", records)
    store.log_reads(inspector, "gradebook.read", records[:1])
    assert len(store.reads(account=inspector.id)) == 4
    rows = store.reads(object=records[0])
    assert {r["action"] for r in rows} == {"record.read", "gradebook.read"}
    assert all(r["username"] == "thanhtra" for r in rows)


def test_the_sqlite_store_file_is_private(tmp_path: Path) -> None:
    store = AccountStore(Settings(tmp_path / "data"))
    store.close()
    path = tmp_path / "data" / "accounts.sqlite"
    assert path.stat().st_mode & 0o077 == 0
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_rate_limiter_buckets() -> None:
    limiter = RateLimiter({"login": (3, 60.0), "off": (0, 0.0)})
    for _ in range(3):
        limiter.hit("login", "10.0.0.1")
    with pytest.raises(RateLimited) as e:
        limiter.hit("login", "10.0.0.1")
    assert e.value.retry_after >= 1
    limiter.hit("login", "10.0.0.2")  # another address has its own bucket
    for _ in range(1000):
        limiter.hit("off", "10.0.0.1")
