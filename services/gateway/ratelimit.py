"""Per-credential rate limits: a token bucket for each API key.

A bucket holds ``burst`` tokens and refills at ``per_minute`` tokens a
minute; each request takes one. The buckets live in the gateway process:
with several gateway instances behind a balancer, a credential may send up
to the limit to each of them, so set the limit per instance accordingly.
"""

import threading
import time
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    def __init__(self, per_minute, burst, clock=time.monotonic, max_buckets=100_000):
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.clock = clock
        self.max_buckets = max_buckets
        self._buckets = {}
        self._lock = threading.Lock()

    def take(self, key):
        """Take a token for ``key``; returns 0 when allowed, else the seconds
        to wait before the next request would be allowed."""
        now = self.clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= self.max_buckets:
                    self._forget_full(now)
                bucket = self._buckets[key] = _Bucket(self.burst, now)
            bucket.tokens = min(
                self.burst, bucket.tokens + (now - bucket.updated) * self.rate
            )
            bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            if self.rate <= 0:
                return 60.0
            return (1.0 - bucket.tokens) / self.rate

    def _forget_full(self, now):
        # A bucket that refilled completely carries no state worth keeping.
        for key in [
            key
            for key, bucket in self._buckets.items()
            if bucket.tokens + (now - bucket.updated) * self.rate >= self.burst
        ]:
            del self._buckets[key]
