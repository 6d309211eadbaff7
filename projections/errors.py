"""Errors raised by :mod:`projections`: one root, one leaf per way to fail."""

from __future__ import annotations


class ProjectionError(Exception):
    """Root of every error raised by the ``projections`` package."""


class InvalidView(ProjectionError):
    """A view is declared wrongly: bad name, reserved table, malformed SQL helper input."""


class ViewStorageError(ProjectionError):
    """A view's store, or the ledger it reads, cannot be opened, read or written."""


class ViewApplyFailed(ProjectionError):
    """A view's ``apply`` raised; the page was rolled back and the position kept.

    ``view`` names the view; ``first`` and ``last`` are the notification ids of
    the page that failed. The view's own exception is the ``__cause__``.
    """

    def __init__(self, view: str, first: int, last: int, detail: str) -> None:
        super().__init__(f"view {view}: applying notifications {first}–{last} failed: {detail}")
        self.view = view
        self.first = first
        self.last = last


class ViewConflict(ProjectionError):
    """A view's position moved back under a writer (the view was rebuilt); nothing was written."""


class ViewTimeout(ProjectionError, TimeoutError):
    """A live view did not reach the awaited notification in time."""


class ViewStopped(ProjectionError):
    """A live view was stopped, or stopped itself after an error (the ``__cause__``)."""


class TranscriptIncomplete(ProjectionError):
    """A transcript lacks data its page or format needs; the message names what is missing."""
