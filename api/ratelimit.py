"""Per-client rate limits (token buckets), for log-in and public verification.

Limits are per server process and per client address: with several workers a client can
reach the limit once per worker. Configured in ``socai.json`` under ``rate_limits``:
``{"login": [burst, per_minute], "verify": [burst, per_minute]}`` (defaults below); a
limit of ``0`` per minute turns that limit off (benchmarks do).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

#: name -> (burst, refill per minute)
DEFAULT_LIMITS: dict[str, tuple[int, float]] = {"login": (10, 10.0), "verify": (30, 60.0)}
#: Buckets kept before the oldest are dropped (a flood of addresses cannot grow memory).
MAX_BUCKETS = 50_000


class RateLimited(Exception):
    """Too many requests: 429 with ``Retry-After``."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"quá nhiều yêu cầu; thử lại sau {retry_after} giây")
        self.retry_after = retry_after


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    def __init__(self, limits: dict[str, tuple[int, float]] | None = None) -> None:
        self.limits = dict(DEFAULT_LIMITS)
        self.limits.update(limits or {})
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._lock = threading.Lock()

    def hit(self, name: str, client: str) -> None:
        """Take one token of ``name`` for ``client``; raise :class:`RateLimited` if none is left."""
        burst, per_minute = self.limits.get(name, (0, 0.0))
        if per_minute <= 0:
            return
        rate = per_minute / 60.0
        now = time.monotonic()
        with self._lock:
            bucket = self._buckets.get((name, client))
            if bucket is None:
                if len(self._buckets) >= MAX_BUCKETS:
                    self._buckets.clear()
                bucket = self._buckets[(name, client)] = _Bucket(float(burst), now)
            bucket.tokens = min(float(burst), bucket.tokens + (now - bucket.at) * rate)
            bucket.at = now
            if bucket.tokens < 1.0:
                raise RateLimited(int((1.0 - bucket.tokens) / rate) + 1)
            bucket.tokens -= 1.0
