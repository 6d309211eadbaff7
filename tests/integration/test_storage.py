"""Durability settings are checked when the store opens; weaker settings are refused."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ledger.application import Ledger, Settings
from ledger.errors import StorageError
from ledger.sqlite import check_durability
from tests.conftest import drop_postgres, postgres_url


def test_sqlite_ledger_runs_wal_full(tmp_path: Path) -> None:
    ledger = Ledger(Settings(tmp_path))
    try:
        with ledger.recorder.datastore.transaction(commit=False) as c:  # type: ignore[attr-defined]
            c.execute("PRAGMA synchronous")
            assert c.fetchone()[0] == 2
            c.execute("PRAGMA journal_mode")
            assert c.fetchone()[0].lower() == "wal"
    finally:
        ledger.close()


@pytest.mark.parametrize("sync", ["OFF", "NORMAL"])
def test_sqlite_weaker_synchronous_refused(tmp_path: Path, sync: str) -> None:
    conn = sqlite3.connect(tmp_path / "x.sqlite")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={sync}")
    with pytest.raises(StorageError, match="synchronous"):
        check_durability(conn)


def test_sqlite_rollback_journal_refused(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "x.sqlite")
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.execute("PRAGMA synchronous=FULL")
    with pytest.raises(StorageError, match="WAL"):
        check_durability(conn)


@pytest.mark.postgres
def test_postgres_synchronous_commit_off_refused(tmp_path: Path) -> None:
    url = postgres_url()
    try:
        import psycopg

        name = url.rsplit("/", 1)[1]
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
        with pytest.raises(StorageError, match="synchronous_commit"):
            Ledger(Settings(tmp_path, url))
    finally:
        drop_postgres(url)


@pytest.mark.postgres
def test_postgres_durable_by_default(tmp_path: Path) -> None:
    url = postgres_url()
    try:
        ledger = Ledger(Settings(tmp_path, url))
        ledger.close()
    finally:
        drop_postgres(url)


def test_postgres_unreachable_is_a_clear_error(tmp_path: Path) -> None:
    # Port 1 on loopback: nothing listens there.
    with pytest.raises(StorageError, match="cannot open the postgresql store"):
        Ledger(Settings(tmp_path, "postgresql://postgres@127.0.0.1:1/none"))
