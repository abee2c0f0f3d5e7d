"""Resilience: rate limits, circuit breaker, retry policy and Bybit ``retCode`` outcomes.

All pure and clock-injected (``now`` in seconds is passed to every call), so the execution agent,
the paper exchange and the tests share one implementation and none of it sleeps.
"""

from tradestream.core.resilience.circuit_breaker import (
    CircuitBreaker,
    CircuitBreakerConfig,
    CircuitBreakerStats,
    CircuitState,
)
from tradestream.core.resilience.rate_limits import (
    BucketConfig,
    EndpointGroup,
    RateLimitConfig,
    RateLimitRegistry,
)
from tradestream.core.resilience.ret_codes import (
    RET_CODES,
    Outcome,
    RetCodeRule,
    classify_http_status,
    classify_ret_code,
    classify_transport_failure,
    describe_ret_code,
)
from tradestream.core.resilience.retry import (
    RandomSource,
    RetryDecision,
    RetryPolicy,
    RetryPolicyConfig,
)
from tradestream.core.resilience.token_bucket import (
    KeyedTokenBuckets,
    RateLimiter,
    SharedRateLimiter,
    TokenBucket,
)

__all__ = [
    "RET_CODES",
    "BucketConfig",
    "CircuitBreaker",
    "CircuitBreakerConfig",
    "CircuitBreakerStats",
    "CircuitState",
    "EndpointGroup",
    "KeyedTokenBuckets",
    "Outcome",
    "RandomSource",
    "RateLimitConfig",
    "RateLimitRegistry",
    "RateLimiter",
    "RetCodeRule",
    "RetryDecision",
    "RetryPolicy",
    "RetryPolicyConfig",
    "SharedRateLimiter",
    "TokenBucket",
    "classify_http_status",
    "classify_ret_code",
    "classify_transport_failure",
    "describe_ret_code",
]
