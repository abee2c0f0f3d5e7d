"""How the execution agent calls the exchange: ``ExecutionConfig``, from ``config/execution.yaml``.

The defaults are Bybit v5's limits for a regular account (10 order creates a second per UID on
linear); an account with raised limits says so here instead of the gateway throttling it to the
regular rate.
"""

from __future__ import annotations

from pydantic import BaseModel

from tradestream.core.resilience.circuit_breaker import CircuitBreakerConfig
from tradestream.core.resilience.rate_limits import RateLimitConfig
from tradestream.core.resilience.retry import RetryPolicyConfig
from tradestream.exchange.order_gateway import OrderGatewayConfig


class ExecutionConfig(BaseModel, frozen=True, extra="forbid"):
    """Rate limits, circuit breaker, retries and duplicate handling of the order gateway."""

    rate_limits: RateLimitConfig = RateLimitConfig()
    circuit_breaker: CircuitBreakerConfig = CircuitBreakerConfig()
    retry: RetryPolicyConfig = RetryPolicyConfig()
    gateway: OrderGatewayConfig = OrderGatewayConfig()
