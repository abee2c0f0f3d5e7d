"""Rate limits per Bybit endpoint group, so we back off before the exchange answers 10006.

Bybit v5 counts its API limits per UID, per endpoint, in a rolling one-second window; the default
for USDT-perpetual order create / amend / cancel is 10/s. Each group here gets its own keyed
token buckets and the caller picks the key. Use the account UID (or any constant) to match
Bybit's accounting: keying by symbol lets N symbols together send N times the rate and earn
retCode 10006, so do that only with a per-symbol rate that adds up to the account's. A
Redis-backed ``RateLimiter`` can replace the in-process buckets when several workers share one
account.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field, PositiveFloat

from tradestream.core.resilience.token_bucket import KeyedTokenBuckets, RateLimiter


class EndpointGroup(StrEnum):
    """Bybit endpoints that share one limit."""

    ORDER_CREATE = "order_create"
    ORDER_AMEND = "order_amend"
    ORDER_CANCEL = "order_cancel"
    ORDER_QUERY = "order_query"
    POSITION_QUERY = "position_query"
    ACCOUNT_QUERY = "account_query"


class BucketConfig(BaseModel, frozen=True, extra="forbid"):
    """A steady rate and the burst allowed on top of it."""

    rate_per_s: PositiveFloat
    burst: float = Field(ge=1)


class RateLimitConfig(BaseModel, frozen=True, extra="forbid"):
    """How fast each endpoint group may be called (Bybit v5 defaults for a regular account)."""

    order_create: BucketConfig = BucketConfig(rate_per_s=10, burst=10)
    order_amend: BucketConfig = BucketConfig(rate_per_s=10, burst=10)
    order_cancel: BucketConfig = BucketConfig(rate_per_s=10, burst=10)
    order_query: BucketConfig = BucketConfig(rate_per_s=50, burst=50)
    position_query: BucketConfig = BucketConfig(rate_per_s=50, burst=50)
    account_query: BucketConfig = BucketConfig(rate_per_s=50, burst=50)

    def for_group(self, group: EndpointGroup) -> BucketConfig:
        """Return the bucket settings of one endpoint group."""
        config: BucketConfig = getattr(self, group.value)
        return config


class RateLimitRegistry:
    """Hold one ``RateLimiter`` per endpoint group."""

    def __init__(self, config: RateLimitConfig | None = None) -> None:
        self.config = config or RateLimitConfig()
        self._limiters: dict[EndpointGroup, RateLimiter] = {}
        for group in EndpointGroup:
            bucket = self.config.for_group(group)
            self._limiters[group] = KeyedTokenBuckets(bucket.rate_per_s, bucket.burst)

    def limiter(self, group: EndpointGroup) -> RateLimiter:
        """Return the limiter of one endpoint group."""
        return self._limiters[group]

    def try_acquire(self, group: EndpointGroup, key: str, now: float) -> float:
        """Take one request of ``group`` for ``key``: 0.0 if granted, else the seconds to wait."""
        return self._limiters[group].try_acquire(key, now)
