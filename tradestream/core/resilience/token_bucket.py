"""Token buckets: a steady request rate with a bounded burst, one bucket per key.

Pure and clock-injected: every call passes ``now`` (seconds, any monotonic origin), so the same
code runs live, in the backtester and in tests driven by a fake clock. Instead of sleeping, a
refused ``try_acquire`` returns how long to wait, and the async caller decides how to wait.
"""

from __future__ import annotations

from typing import Protocol


class RateLimiter(Protocol):
    """Grant or defer one request per call, in this process."""

    def try_acquire(self, key: str, now: float) -> float:
        """Take one token for ``key``: return 0.0 if granted, else the seconds to wait."""
        ...


class SharedRateLimiter(Protocol):
    """Grant or defer one request per call across processes (e.g. a Redis-backed bucket)."""

    async def try_acquire(self, key: str, now: float) -> float:
        """Take one token for ``key``: return 0.0 if granted, else the seconds to wait."""
        ...


class TokenBucket:
    """Allow ``rate_per_s`` requests per second on average and ``burst`` at once."""

    __slots__ = ("_last", "_tokens", "burst", "rate_per_s")

    def __init__(self, rate_per_s: float, burst: float) -> None:
        if rate_per_s <= 0 or burst < 1:
            raise ValueError(f"need rate_per_s > 0 and burst >= 1, got {rate_per_s}, {burst}")
        self.rate_per_s = rate_per_s
        self.burst = burst
        self._tokens = burst
        self._last: float | None = None

    def try_acquire(self, now: float, cost: float = 1.0) -> float:
        """Take ``cost`` tokens: return 0.0 if granted, else the seconds until they exist."""
        if not 0 < cost <= self.burst:
            raise ValueError(f"cost must be in (0, burst={self.burst}], got {cost}")
        self._refill(now)
        if self._tokens >= cost:
            self._tokens -= cost
            return 0.0
        return (cost - self._tokens) / self.rate_per_s

    def available(self, now: float) -> float:
        """Return the tokens available at ``now`` without taking any."""
        self._refill(now)
        return self._tokens

    # A clock that steps backwards must not mint tokens, so time only moves forward here.
    def _refill(self, now: float) -> None:
        if self._last is None:
            self._last = now
        elif now > self._last:
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate_per_s)
            self._last = now


class KeyedTokenBuckets:
    """Keep one ``TokenBucket`` per key (account, symbol...) with the same rate and burst."""

    def __init__(self, rate_per_s: float, burst: float) -> None:
        TokenBucket(rate_per_s, burst)  # validate once, up front, not on the first key
        self.rate_per_s = rate_per_s
        self.burst = burst
        self._buckets: dict[str, TokenBucket] = {}

    def try_acquire(self, key: str, now: float) -> float:
        """Take one token from ``key``'s bucket: 0.0 if granted, else the seconds to wait."""
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(self.rate_per_s, self.burst)
        return bucket.try_acquire(now)

    def keys(self) -> tuple[str, ...]:
        """Return the keys seen so far, for metrics."""
        return tuple(self._buckets)
