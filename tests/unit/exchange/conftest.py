"""Factories for exchange unit tests: a paper exchange on a fake clock, books and commands."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from decimal import Decimal

import pytest

from tradestream.core.matching import StaticBook
from tradestream.exchange.paper import PaperExchange, PaperExchangeConfig
from tradestream.schemas.orders import OrderEvent, OrderType, PlaceOrder, Side, TimeInForce

SYMBOL = "BTCUSDT"
PlaceFactory = Callable[..., PlaceOrder]


class FakeMsClock:
    """A millisecond clock the test moves by hand."""

    def __init__(self, start_ms: int = 1_700_000_000_000) -> None:
        self.now_ms = start_ms

    def __call__(self) -> int:
        return self.now_ms


def btc_book(bid: str = "65000.0", ask: str = "65000.1", size: str = "1") -> StaticBook:
    """Two levels a side around ``bid``/``ask`` with ``size`` on each."""
    step = Decimal("0.1")
    b, a, s = Decimal(bid), Decimal(ask), Decimal(size)
    return StaticBook(bids=[(b, s), (b - step, s)], asks=[(a, s), (a + step, s)])


@pytest.fixture
def ms_clock() -> FakeMsClock:
    return FakeMsClock()


@pytest.fixture
def paper(ms_clock: FakeMsClock) -> PaperExchange:
    """A paper exchange with the default rules and a BTCUSDT book at 65000.0 / 65000.1."""
    exchange = PaperExchange(PaperExchangeConfig(), clock=ms_clock)
    exchange.on_book(SYMBOL, btc_book())
    return exchange


@pytest.fixture
def events(paper: PaperExchange) -> list[OrderEvent]:
    """Every order event the paper exchange hands to subscribers."""
    received: list[OrderEvent] = []
    paper.subscribe(received.append)
    return received


@pytest.fixture(scope="session")
def make_place() -> PlaceFactory:
    """Build a BTCUSDT ``PlaceOrder`` with a fresh signal id; limit when a price is given."""
    counter = itertools.count()

    def build(
        side: Side = Side.BUY,
        qty: str = "0.01",
        price: str | None = None,
        tif: TimeInForce = TimeInForce.GTC,
        *,
        reduce_only: bool = False,
        signal_id: str | None = None,
    ) -> PlaceOrder:
        n = next(counter)
        return PlaceOrder(
            command_id=f"cmd-{n}",
            strategy="unit",
            signal_id=signal_id or f"sig-{n}",
            symbol=SYMBOL,
            side=side,
            order_type=OrderType.MARKET if price is None else OrderType.LIMIT,
            qty=Decimal(qty),
            price=None if price is None else Decimal(price),
            time_in_force=tif,
            reduce_only=reduce_only,
            issued_at_ms=0,
        )

    return build
