"""One scenario through ``PaperExchange`` and through ``BybitExchange`` → simulator: same result.

Both sides fill with ``MatchingEngine`` over the same book (the simulator's, handed to the paper
exchange with ``on_book``) under the same instrument rules, so every order must end in the same
status with the same executions, and the account in the same position and balance.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from tradestream.core.matching import best_ask, best_bid
from tradestream.exchange.base import Exchange, ExchangeError
from tradestream.exchange.bybit import BybitExchange
from tradestream.exchange.paper import RECORDED_INSTRUMENTS, PaperExchange
from tradestream.schemas.orders import (
    AmendOrder,
    CancelOrder,
    OrderType,
    PlaceOrder,
    Side,
    TimeInForce,
)
from tradestream.simulator import BybitSimulator, ReplaySourceConfig, SimulatorConfig
from tradestream.simulator.exchange_config import ExchangeSideConfig, InstrumentSpec

from .conftest import RECORDING, SYMBOL

pytestmark = pytest.mark.timeout(60)

Outcomes = dict[str, object]


@pytest.fixture
async def sim() -> AsyncIterator[BybitSimulator]:
    """The replayed simulator, enforcing the paper exchange's BTCUSDT rules."""
    rules = RECORDED_INSTRUMENTS[SYMBOL].model_dump(exclude_none=True)
    exchange = ExchangeSideConfig(instruments={SYMBOL: InstrumentSpec.model_validate(rules)})
    source = ReplaySourceConfig(recording=(RECORDING,), speed=0.0, loops=1)
    simulator = BybitSimulator(SimulatorConfig(port=0, source=source, exchange=exchange))
    await simulator.start()
    try:
        await simulator.source_done()
        yield simulator
    finally:
        await simulator.stop()


def _limit(signal: str, side: Side, qty: str, price: Decimal, tif: TimeInForce) -> PlaceOrder:
    return PlaceOrder(
        command_id=f"cmd-{signal}",
        strategy="parity",
        signal_id=signal,
        symbol=SYMBOL,
        side=side,
        order_type=OrderType.LIMIT,
        qty=Decimal(qty),
        price=price,
        time_in_force=tif,
        issued_at_ms=0,
    )


def _market(signal: str, side: Side, qty: str) -> PlaceOrder:
    return PlaceOrder(
        command_id=f"cmd-{signal}",
        strategy="parity",
        signal_id=signal,
        symbol=SYMBOL,
        side=side,
        order_type=OrderType.MARKET,
        qty=Decimal(qty),
        issued_at_ms=0,
    )


async def _scenario(exchange: Exchange, bid: Decimal, ask: Decimal) -> Outcomes:
    # Run every kind of request once and describe what the exchange then holds.
    far_below = bid * Decimal("0.95")
    commands = [
        _market("mkt", Side.BUY, "0.0529"),
        _limit("rest", Side.BUY, "0.02", far_below + Decimal("0.07"), TimeInForce.GTC),
        _limit("ioc", Side.SELL, "0.03", bid - Decimal(1), TimeInForce.IOC),
        _limit("amend", Side.BUY, "0.01", far_below, TimeInForce.GTC),
        _limit("cross", Side.BUY, "0.01", ask + Decimal(1), TimeInForce.GTC),
    ]
    acks = [await exchange.place(command) for command in commands]
    pairs = zip(commands, acks, strict=True)
    links = {command.signal_id: ack.order_link_id for command, ack in pairs}
    await exchange.cancel(
        CancelOrder(
            command_id="cancel",
            strategy="parity",
            symbol=SYMBOL,
            order_link_id=links["rest"],
            reason="parity",
            issued_at_ms=0,
        )
    )
    await exchange.amend(
        AmendOrder(
            command_id="amend",
            strategy="parity",
            symbol=SYMBOL,
            order_link_id=links["amend"],
            qty=Decimal("0.015"),
            issued_at_ms=0,
        )
    )
    try:
        await exchange.place(commands[0])
        duplicate: int | None = 0
    except ExchangeError as exc:
        duplicate = exc.ret_code
    return await _describe(exchange, links) | {"duplicate": duplicate}


async def _describe(exchange: Exchange, links: dict[str, str]) -> Outcomes:
    described: Outcomes = {}
    for name, link in links.items():
        snapshot = await exchange.order(SYMBOL, link)
        assert snapshot is not None
        fills = await exchange.executions(SYMBOL, link)
        described[name] = (
            snapshot.order_status,
            snapshot.qty,
            snapshot.price,
            snapshot.cum_exec_qty,
            snapshot.avg_price,
            snapshot.leaves_qty,
            [(f.exec_qty, f.exec_price, f.exec_fee, f.is_maker) for f in fills],
        )
    [position] = await exchange.positions(SYMBOL)
    described["position"] = (position.side, position.size, position.entry_price)
    described["balance"] = (await exchange.wallet_balance()).wallet_balance
    described["open"] = sorted(o.order_link_id for o in await exchange.open_orders(SYMBOL))
    return described


async def test_paper_and_simulator_agree_on_orders_fills_and_account(
    sim: BybitSimulator, exchange: BybitExchange
) -> None:
    book = sim.exchange.venue.book(SYMBOL)
    bid, ask = best_bid(book), best_ask(book)
    assert bid is not None
    assert ask is not None
    paper = PaperExchange()
    paper.on_book(SYMBOL, book)

    expected = await _scenario(paper, bid, ask)
    actual = await _scenario(exchange, bid, ask)

    assert actual == expected, expected
    assert expected["duplicate"] == 110072
    assert len(expected["open"]) == 1  # type: ignore[arg-type]
