"""Rate limits per Bybit endpoint group."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tradestream.core.resilience import (
    BucketConfig,
    EndpointGroup,
    RateLimitConfig,
    RateLimitRegistry,
)


@pytest.mark.parametrize(
    "group", [EndpointGroup.ORDER_CREATE, EndpointGroup.ORDER_AMEND, EndpointGroup.ORDER_CANCEL]
)
def test_order_endpoints_allow_ten_per_second_by_default(group: EndpointGroup) -> None:
    registry = RateLimitRegistry()

    waits = [registry.try_acquire(group, "uid-1", now=0.0) for _ in range(11)]

    assert waits[:10] == [0.0] * 10
    assert waits[10] == pytest.approx(0.1)


def test_groups_do_not_share_a_budget() -> None:
    registry = RateLimitRegistry(RateLimitConfig(order_create=BucketConfig(rate_per_s=1, burst=1)))
    registry.try_acquire(EndpointGroup.ORDER_CREATE, "uid-1", now=0.0)

    assert registry.try_acquire(EndpointGroup.ORDER_CREATE, "uid-1", now=0.0) > 0
    assert registry.try_acquire(EndpointGroup.ORDER_CANCEL, "uid-1", now=0.0) == 0.0
    assert registry.limiter(EndpointGroup.ORDER_CREATE).try_acquire("uid-2", 0.0) == 0.0


@pytest.mark.parametrize(
    "bad",
    [
        {"order_create": {"rate_per_s": 0, "burst": 1}},
        {"order_create": {"rate_per_s": 5, "burst": 0.5}},
        {"order_create": {"rate_per_s": 5, "burst": 5, "scope": "symbol"}},
        {"order_creat": {"rate_per_s": 5, "burst": 5}},
    ],
)
def test_config_is_validated_and_closed(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        RateLimitConfig.model_validate(bad)


def test_config_is_frozen() -> None:
    with pytest.raises(ValidationError, match="frozen"):
        RateLimitConfig().order_create = BucketConfig(rate_per_s=1, burst=1)  # type: ignore[misc]
