"""Factories for matching-engine tests: books, order commands and engines."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from decimal import Decimal

import pytest

from tradestream.core.matching import MatchingEngine, MatchingEngineConfig, StaticBook
from tradestream.schemas.orders import OrderType, PlaceOrder, Side, TimeInForce

Number = str | int | Decimal
BookFactory = Callable[..., StaticBook]
PlaceFactory = Callable[..., PlaceOrder]
EngineFactory = Callable[..., MatchingEngine]


@pytest.fixture(scope="session")
def make_book() -> BookFactory:
    """Build a book from ``(price, size)`` pairs written as strings or ints."""

    def levels(pairs: Iterable[tuple[Number, Number]]) -> list[tuple[Decimal, Decimal]]:
        return [(Decimal(str(price)), Decimal(str(size))) for price, size in pairs]

    def build(
        bids: Iterable[tuple[Number, Number]] = (), asks: Iterable[tuple[Number, Number]] = ()
    ) -> StaticBook:
        return StaticBook(bids=levels(bids), asks=levels(asks))

    return build


@pytest.fixture(scope="session")
def make_place() -> PlaceFactory:
    """Build a ``PlaceOrder`` with a fresh signal id: a limit order when a price is given."""
    counter = itertools.count()

    def build(
        side: Side = Side.BUY,
        qty: Number = 1,
        price: Number | None = None,
        tif: TimeInForce = TimeInForce.GTC,
        *,
        reduce_only: bool = False,
        symbol: str = "BTCUSDT",
        signal_id: str | None = None,
    ) -> PlaceOrder:
        n = next(counter)
        return PlaceOrder(
            command_id=f"cmd-{n}",
            strategy="test",
            signal_id=signal_id or f"sig-{n}",
            symbol=symbol,
            side=side,
            order_type=OrderType.MARKET if price is None else OrderType.LIMIT,
            qty=Decimal(str(qty)),
            price=None if price is None else Decimal(str(price)),
            time_in_force=tif,
            reduce_only=reduce_only,
            issued_at_ms=0,
        )

    return build


@pytest.fixture(scope="session")
def make_engine() -> EngineFactory:
    """Build an engine with a generous balance unless told otherwise."""

    def build(balance: Number = 100_000, **config: object) -> MatchingEngine:
        return MatchingEngine(Decimal(str(balance)), MatchingEngineConfig.model_validate(config))

    return build


@pytest.fixture
def engine(make_engine: EngineFactory) -> MatchingEngine:
    return make_engine()
