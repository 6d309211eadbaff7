"""The ledger opened on a read replica: a PostgreSQL hot standby of the province's primary.

A standby (``pg_basebackup -R``, streaming replication) holds the same events, log leaves,
log nodes and certificate registry as its primary, byte for byte, in commit order. What
only reads works there unchanged: loading and replaying records (``history``), the audit
(:func:`ledger.audit.audit`, one process), the log's roots and proofs, and the views'
:class:`~projections.runner.LedgerReader` (which already opens without DDL).

:class:`ReplicaLedger` is the :class:`~ledger.application.Ledger` with one difference: it
runs no schema setup when it opens. The ordinary ledger creates its tables if missing
(``CREATE TABLE IF NOT EXISTS`` under an advisory lock) every time, and a hot standby
refuses any DDL, so ``Ledger(settings)`` on a standby fails with
:class:`~ledger.errors.StorageError` before reading anything.

Writes are not guarded here on purpose: the standby itself refuses them (every
transaction is read-only during recovery), and the store reports that as
:class:`~ledger.errors.StorageError` ("the events were not written: …"), having written
nothing. Things that write besides events stay on the primary: the identity vault
(:func:`ledger.vault.open_vault` creates its table), checkpoints (``socai log
checkpoint`` and the server's scheduler), accounts and sessions. See docs/operations.md,
"Past one machine".
"""

from __future__ import annotations

from typing import Any

from eventsourcing.utils import Environment

from ledger.application import Ledger, Settings, Trust
from ledger.errors import StorageError


class ReplicaLedger(Ledger):
    """The ledger on a PostgreSQL read replica: every read of :class:`Ledger`, no schema setup.

    ``settings.database_url`` names the standby; ``settings.data_dir`` is the data
    directory as for the ledger (nothing is written there either).
    """

    #: The same tables as the ledger's (eventsourcing names them after the application).
    name = Ledger.name

    def __init__(self, settings: Settings, trust: Trust | None = None) -> None:
        if not settings.database_url:
            raise StorageError(
                "a read replica is a PostgreSQL standby: set its postgresql:// URL "
                "(SQLite has no replicas; copy the file for a read-only snapshot)"
            )
        super().__init__(settings, trust)

    def construct_env(self, name: str, env: Any = None) -> Environment:
        base = super().construct_env(name, env)
        # The primary owns the schema; a standby refuses DDL even when nothing would change.
        base["CREATE_TABLE"] = "n"
        return base
