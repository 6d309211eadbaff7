"""The read models as a request sees them: caught up with the ledger before they are read.

Views (:mod:`projections.views`) lag the ledger: nothing updates them when an event is
written. A read that must show the caller's own writes (read-your-writes) calls
:func:`caught_up` first, which applies whatever is new to the views it names, then reads.
Writes never catch up (the write path stays lean); a read pays for the events written since
the last read, a page of :data:`projections.runner.PAGE_SIZE` per transaction.

Concurrency. Within one process, catch-ups of one view take turns behind a lock: a view
object keeps caches that a page rewrites, so two threads must not apply pages to it at
once; the second thread then usually finds nothing left to do. Across processes (several
``socai serve`` workers on one PostgreSQL database, or on one SQLite directory),
:meth:`projections.store.ViewStore.apply` already serialises the writers of a view (an
advisory transaction lock on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite) and re-reads the
tracking position inside the transaction: events another worker applied meanwhile are
skipped, and a page that another worker completed is a no-op. So a worker that loses the
race has nothing to do, and the tracking table never sees the same position written twice.
The one conflict left is a view *rebuilt* meanwhile (``socai views rebuild``): its position
moved back and :class:`~projections.errors.ViewConflict` says so; the catch-up is simply
run again from the new position, a few times at most.

Errors of the read models (a view's store unreachable, a page that fails to apply) are
reported as :class:`ledger.errors.StorageError` (503): the API maps errors in one place
(:mod:`api.errors`), and that map knows the ledger's errors.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ledger.errors import StorageError
from projections.errors import ProjectionError, ViewConflict

if TYPE_CHECKING:
    from api.services import Services
    from projections.runner import View
    from projections.views import Views

__all__ = ["CATCH_UP_ATTEMPTS", "caught_up", "query", "view_errors"]

#: How often a catch-up is tried when the view was rebuilt under it.
CATCH_UP_ATTEMPTS = 3

_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _lock_of(name: str) -> threading.Lock:
    with _locks_guard:
        lock = _locks.get(name)
        if lock is None:
            lock = _locks[name] = threading.Lock()
        return lock


def caught_up(services: Services, chosen: Callable[[Views], Sequence[View]]) -> Views:
    """The process's views, with those ``chosen`` caught up with the ledger's head.

    ``chosen`` picks the views the read needs, e.g. ``lambda v: (v.gradebook,)``.
    """
    views = services.views()
    for view in chosen(views):
        with _lock_of(view.name):
            for attempt in range(1, CATCH_UP_ATTEMPTS + 1):
                try:
                    views.runner.catch_up(view)
                    break
                except ViewConflict:
                    if attempt == CATCH_UP_ATTEMPTS:
                        raise StorageError(
                            f"view {view.name} keeps being rebuilt; try again shortly"
                        ) from None
                except ProjectionError as e:
                    raise StorageError(f"read model {view.name} unavailable: {e}") from e
    return views


@contextmanager
def view_errors() -> Iterator[None]:
    """Report an error of the read models inside the block as :class:`StorageError`."""
    try:
        yield
    except ProjectionError as e:
        raise StorageError(f"read model unavailable: {e}") from e


def query(views: Views, view: View, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    """Rows of a read-only query on a view's tables (``?`` placeholders)."""
    with view_errors():
        return views.runner.query(view, sql, params)
