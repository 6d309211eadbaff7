"""Structured logs of ``socai serve``: one JSON (or text) line per event, no personal data.

Loggers: ``socai.http`` (one access line per request, written by :mod:`api.middleware`),
``socai.errors`` (unexpected exceptions: the exception's type and the stack's frames, never
its message, which may quote request data), the other ``socai.*`` loggers and uvicorn's.

An access line holds the method, the route *template* (``/api/v1/records/{record}``: never
the concrete path, the query string or the body, which may carry names, ids or tokens), the
status, the duration, the account's opaque id (never the user name) and the request id (also
sent back as ``X-Request-ID``). Client addresses are not logged (personal data).

Log output never stalls serving: lines go through a bounded queue to a writer thread, and
are dropped (and counted) when the sink does not keep up (a full pipe, a stuck journald).
The queue is drained for at most :data:`DRAIN_SECONDS` when the process ends.
"""

from __future__ import annotations

import contextvars
import json
import logging
import multiprocessing.util
import os
import queue
import signal
import sys
import threading
import time
import traceback
from datetime import UTC, datetime
from typing import IO, Any

__all__ = [
    "ACCESS",
    "ERRORS",
    "JsonFormatter",
    "QueueStreamHandler",
    "TextFormatter",
    "exit_cleanly_on_sigterm",
    "log_config",
    "log_exception",
    "request_id",
    "serve_handler",
]

ACCESS = logging.getLogger("socai.http")
ERRORS = logging.getLogger("socai.errors")

#: The id of the request being served (set by the middleware, read by every log line).
request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "socai_request_id", default=None
)

#: Lines waiting for the writer before new ones are dropped.
QUEUE_LINES = 10_000
#: How long the end of the process waits for queued lines to be written.
DRAIN_SECONDS = 2.0


def _timestamp(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    """The structured fields a caller passed with ``extra={"fields": {...}}``."""
    fields = getattr(record, "fields", None)
    return dict(fields) if isinstance(fields, dict) else {}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``ts``, ``level``, ``logger``, ``msg`` and the fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": _timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        fields = _fields(record)
        if not fields or record.name != ACCESS.name:
            line["msg"] = record.getMessage()
        line.update(fields)
        rid = request_id.get()
        if rid is not None:
            line.setdefault("request_id", rid)
        if record.exc_info and record.exc_info[1] is not None:
            # Frames and types only: the messages may quote what the client sent.
            line["trace"] = safe_trace(record.exc_info[1])
        return json.dumps(line, ensure_ascii=False, separators=(",", ":"), default=str)


class TextFormatter(logging.Formatter):
    """A human-readable line: time, level, logger, message, then ``key=value`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        fields = _fields(record)
        rid = request_id.get()
        if rid is not None:
            fields.setdefault("request_id", rid)
        parts = [_timestamp(record), record.levelname, record.name, record.getMessage()]
        parts += [f"{k}={v}" for k, v in fields.items()]
        text = " ".join(p for p in parts if p)
        if record.exc_info and record.exc_info[1] is not None:
            text += "\n" + safe_trace(record.exc_info[1])
        return text


def safe_trace(exc: BaseException) -> str:
    """The exception chain's types and frames (file, line, function), without messages."""
    lines: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        lines.append(f"{type(current).__module__}.{type(current).__qualname__}")
        for frame in traceback.extract_tb(current.__traceback__):
            lines.append(f'  File "{frame.filename}", line {frame.lineno}, in {frame.name}')
        current = current.__cause__ or current.__context__
        if current is not None:
            lines.append("caused by:")
    return "\n".join(lines)


def log_exception(exc: BaseException, route: str) -> None:
    """Log an unexpected exception of a request (no request data, only the code's frames)."""
    ERRORS.error(
        "unexpected %s", type(exc).__name__, exc_info=exc, extra={"fields": {"route": route}}
    )


class QueueStreamHandler(logging.Handler):
    """Write formatted lines to a stream from a daemon thread; never block the caller.

    When :data:`QUEUE_LINES` lines wait, new ones are dropped and counted; the count is
    written as a line of its own once the writer catches up.
    """

    def __init__(self, stream: IO[str] | None = None, lines: int = QUEUE_LINES) -> None:
        super().__init__()
        self.stream = stream if stream is not None else sys.stderr
        self.dropped = 0
        self._queue: queue.Queue[str | None] = queue.Queue(maxsize=lines)
        self._thread = threading.Thread(target=self._write, name="socai-log", daemon=True)
        self._pid = os.getpid()
        self._thread.start()
        # Worker processes of the multiprocessing module end without running atexit (so
        # without logging.shutdown): drain the queue from its exit finalizers too.
        multiprocessing.util.Finalize(None, self.close, exitpriority=100)
        # Python's warnings go through the logs too (a direct write to a stuck stderr would
        # block like any other).
        logging.captureWarnings(True)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:
            self.handleError(record)
            return
        try:
            self._queue.put_nowait(line)
        except queue.Full:
            self.dropped += 1

    def _write(self) -> None:
        while True:
            line = self._queue.get()
            if line is None:
                return
            try:
                if self.dropped:
                    dropped, self.dropped = self.dropped, 0
                    self.stream.write(
                        json.dumps({"level": "warning", "logger": "socai.log", "dropped": dropped})
                        + "\n"
                    )
                self.stream.write(line + "\n")
                self.stream.flush()
            except (OSError, ValueError):
                pass  # a closed or broken sink: nothing useful to do with the line

    def close(self) -> None:
        """Let the writer drain the queue, for at most :data:`DRAIN_SECONDS`."""
        if os.getpid() == self._pid and self._thread.is_alive():
            deadline = time.monotonic() + DRAIN_SECONDS
            try:
                self._queue.put(None, timeout=DRAIN_SECONDS)
            except queue.Full:
                pass
            self._thread.join(max(0.0, deadline - time.monotonic()))
        super().close()


def exit_cleanly_on_sigterm() -> None:
    """After uvicorn's graceful shutdown on SIGTERM, exit 0 rather than die by the signal.

    uvicorn restores the handler it found and raises the signal again once it has shut down;
    with this handler that ends the process by :class:`SystemExit`, so exit handlers run (the
    log queue drains) and the status is 0, in the supervisor and in every worker alike.
    """
    if threading.current_thread() is not threading.main_thread():
        return

    def stopped(signum: int, frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stopped)


def serve_handler() -> QueueStreamHandler:
    """The log handler of ``socai serve`` (built by :func:`log_config` in every process).

    uvicorn configures logging first thing in each worker process, before it serves: that
    is where a worker also gets :func:`exit_cleanly_on_sigterm`.
    """
    exit_cleanly_on_sigterm()
    return QueueStreamHandler()


def log_config(fmt: str = "json", level: str = "info") -> dict[str, Any]:
    """The :func:`logging.config.dictConfig` of ``socai serve`` (also applied in each worker).

    ``fmt`` is ``json`` or ``text``; ``level`` applies to ``socai.*`` and uvicorn's loggers.
    uvicorn's own access log is off: :mod:`api.middleware` writes the access lines.
    """
    if fmt not in ("json", "text"):
        raise ValueError(f"unknown log format {fmt!r}")
    formatter = JsonFormatter if fmt == "json" else TextFormatter
    level = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"socai": {"()": f"{__name__}.{formatter.__name__}"}},
        "handlers": {"socai": {"()": f"{__name__}.{serve_handler.__name__}", "formatter": "socai"}},
        "loggers": {
            "socai": {"handlers": ["socai"], "level": level, "propagate": False},
            "uvicorn": {"handlers": ["socai"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
            "py.warnings": {"handlers": ["socai"], "level": "WARNING", "propagate": False},
        },
    }
