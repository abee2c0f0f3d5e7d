"""Factories for order tests: a clock the test drives and orders built on it."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from tradestream.core.orders import Order
from tradestream.schemas.orders import Side


class FakeClock:
    """Return a time in ms that only moves when the test says so."""

    def __init__(self, start_ms: int = 1_000) -> None:
        self.now = start_ms

    def __call__(self) -> int:
        return self.now

    def advance(self, ms: int) -> None:
        self.now += ms


OrderFactory = Callable[..., Order]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def order_factory() -> Callable[..., Order]:
    """Build an order with a fresh fake clock unless one is given."""

    def build(qty: str = "2", clock: Callable[[], int] | None = None, **overrides: object) -> Order:
        fields: dict[str, object] = {
            "order_link_id": "test-0123456789abcdef",
            "symbol": "BTCUSDT",
            "side": Side.BUY,
            "price": Decimal(100),
        }
        fields.update(overrides)
        return Order(qty=Decimal(qty), clock=clock or FakeClock(), **fields)  # type: ignore[arg-type]

    return build


@pytest.fixture
def make_order(order_factory: OrderFactory, clock: FakeClock) -> OrderFactory:
    """Build an order on this test's clock."""

    def build(qty: str = "2", **overrides: object) -> Order:
        return order_factory(qty, clock=clock, **overrides)

    return build
