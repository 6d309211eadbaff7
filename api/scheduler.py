"""Checkpoints made by `socai serve` every N events or T seconds (``socai.json``)."""

from __future__ import annotations

import logging
import threading
import time

from api.services import Services

log = logging.getLogger("socai.checkpoints")

DEFAULT_EVERY_EVENTS = 1000
DEFAULT_EVERY_SECONDS = 60.0


class CheckpointScheduler:
    """A daemon thread: a checkpoint when the log grew by N leaves, or T seconds passed."""

    def __init__(self, services: Services, every_events: int, every_seconds: float) -> None:
        self.services = services
        self.every_events = every_events
        self.every_seconds = every_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="socai-checkpoints", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        last_size = -1
        last_time = 0.0
        while not self._stop.wait(1.0):
            try:
                checkpointer = self.services.checkpointer()
                size = checkpointer.log.catch_up()
                due = size - max(last_size, 0) >= self.every_events or (
                    size != last_size and time.monotonic() - last_time >= self.every_seconds
                )
                if due:
                    cp, outcome = checkpointer.checkpoint()
                    last_size, last_time = cp.size, time.monotonic()
                    log.info("checkpoint %d: %s", cp.size, outcome)
            except Exception:  # logged, retried next round; never kills the server
                log.exception("checkpoint failed")
