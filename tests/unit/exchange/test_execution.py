"""The execution desk: commands in, the paper exchange's order events out, each order once."""

from __future__ import annotations

import asyncio
import random
import time
from decimal import Decimal

import pytest

from tests.support.waiting import eventually
from tests.unit.exchange.conftest import SYMBOL, FakeMsClock, PlaceFactory
from tradestream.core.errors import RetryableError
from tradestream.core.resilience import (
    CircuitBreaker,
    Outcome,
    RateLimitRegistry,
    RetryPolicy,
    RetryPolicyConfig,
)
from tradestream.exchange.base import ExchangeError
from tradestream.exchange.execution import (
    ExecutionDesk,
    close_signal_id,
    stop_crossed,
)
from tradestream.exchange.idempotency import MemoryIdempotencyStore, RecordedOutcome
from tradestream.exchange.order_gateway import OrderGateway
from tradestream.exchange.paper import PaperExchange
from tradestream.schemas.exchange import PositionSnapshot
from tradestream.schemas.market import BookTop
from tradestream.schemas.orders import ClosePosition, QueryOrder, SetTradingStop, Side


@pytest.fixture
def desk(paper: PaperExchange, ms_clock: FakeMsClock) -> ExecutionDesk:
    gateway = OrderGateway(
        paper,
        MemoryIdempotencyStore(),
        limits=RateLimitRegistry(),
        breaker=CircuitBreaker(),
        retry=RetryPolicy(RetryPolicyConfig(), random.Random(0)),
        clock=time.monotonic,
        ms_clock=ms_clock,
    )
    return ExecutionDesk(paper, gateway, ms_clock)


def close(command_id: str = "ks-1-BTCUSDT", qty: str | None = None) -> ClosePosition:
    return ClosePosition(
        command_id=command_id, strategy="killswitch", symbol=SYMBOL,
        qty=None if qty is None else Decimal(qty), reason="unit", issued_at_ms=0,
    )  # fmt: skip


async def test_a_market_order_is_accepted_and_filled_and_reported(
    desk: ExecutionDesk, make_place: PlaceFactory
) -> None:
    events = await desk.execute(make_place(qty="0.01"))
    assert [e.kind for e in events] == ["order_submitted", "order_accepted", "order_filled"]
    assert events[-1].exec_price == Decimal("65000.1")  # type: ignore[union-attr]


async def test_a_redelivered_command_makes_no_second_order(
    desk: ExecutionDesk, paper: PaperExchange, make_place: PlaceFactory
) -> None:
    command = make_place(qty="0.01")
    first = await desk.execute(command)
    again = await desk.execute(command)
    # What the exchange holds is reported again (the first reports may have died with a
    # worker), with the same execution id: downstream applies it once.
    assert [e.kind for e in again] == ["order_accepted", "order_filled"]
    assert again[-1].exec_id == first[-1].exec_id  # type: ignore[union-attr]
    positions = await paper.positions(SYMBOL)
    assert positions[0].size == Decimal("0.01")


async def test_a_query_reports_what_the_exchange_holds_or_that_it_never_arrived(
    desk: ExecutionDesk, make_place: PlaceFactory
) -> None:
    placed = await desk.execute(make_place(qty="0.01"))
    link_id = placed[0].order_link_id
    query = QueryOrder(command_id="q1", symbol=SYMBOL, order_link_id=link_id,
                       reason="unit", issued_at_ms=0)  # fmt: skip
    answer = await desk.execute(query)
    assert [e.kind for e in answer] == ["order_accepted", "order_filled"]
    assert answer[-1].exec_id == placed[-1].exec_id  # type: ignore[union-attr]
    lost = query.model_copy(update={"order_link_id": "never-sent"})
    [failed] = await desk.execute(lost)
    assert failed.kind == "order_failed"
    assert "not found at the exchange" in failed.reason  # type: ignore[union-attr]


async def test_an_order_no_report_mentions_is_overdue_for_a_query(desk: ExecutionDesk) -> None:
    desk._silent["ts-abc"] = (SYMBOL, 1_000)  # sent at 1 s, nothing heard since
    assert desk.overdue(now_ms=3_000, after_ms=5_000) == []
    [query] = desk.overdue(now_ms=7_000, after_ms=5_000)
    assert (query.order_link_id, query.symbol) == ("ts-abc", SYMBOL)
    await desk.execute(query)
    assert desk.overdue(now_ms=9_000, after_ms=5_000) == []  # asked: no longer silent


async def test_close_position_sells_what_is_open_reduce_only_once(
    desk: ExecutionDesk, paper: PaperExchange, make_place: PlaceFactory
) -> None:
    await desk.execute(make_place(qty="0.02"))
    events = await desk.execute(close(qty="0.05"))  # more than open: only what is open
    fill = events[-1]
    assert (fill.kind, fill.side, fill.cum_qty) == ("order_filled", Side.SELL, Decimal("0.02"))  # type: ignore[union-attr]
    assert await desk.execute(close()) == []  # flat now: a redelivered close does nothing
    assert [p.size for p in await paper.positions(SYMBOL)] in ([], [Decimal(0)])


def test_a_valid_book_top_becomes_the_paper_book_and_an_invalid_one_is_ignored(
    desk: ExecutionDesk, paper: PaperExchange
) -> None:
    def top(status: str, bid: str) -> BookTop:
        return BookTop(symbol=SYMBOL, status=status, bid_px=bid, bid_sz="2", ask_px="70000.5",
                       ask_sz="3", u=1, seq=1, exchange_ts_ms=0, cts_ms=0, recv_ts_ms=0,
                       produced_ts_ms=0)  # fmt: skip

    desk.on_book_top(top("valid", "70000.4"))
    desk.on_book_top(top("invalid", "1"))
    book = paper._book(SYMBOL)  # what the paper exchange fills against
    assert book.bids() == ((Decimal("70000.4"), Decimal(2)),)
    assert book.asks() == ((Decimal("70000.5"), Decimal(3)),)


def test_a_long_command_id_still_makes_a_valid_signal_id() -> None:
    assert close_signal_id("x" * 10) == "x" * 10
    assert len(close_signal_id("x" * 100)) == 32


def stop(level: str, command_id: str = "xs-1") -> SetTradingStop:
    return SetTradingStop(command_id=command_id, strategy="protection", symbol=SYMBOL,
                          stop_loss=Decimal(level), reason="unit", issued_at_ms=0)  # fmt: skip


async def test_a_stop_is_set_on_the_exchange_held_again_quietly_and_reports_no_order(
    desk: ExecutionDesk, paper: PaperExchange, make_place: PlaceFactory
) -> None:
    await desk.execute(make_place(qty="0.01"))

    assert await desk.execute(stop("64000")) == []
    assert await desk.execute(stop("64000")) == []  # a redelivery: the same level, no error
    [position] = await paper.positions(SYMBOL)
    assert position.stop_loss == Decimal(64000)


async def test_a_stop_for_a_position_closed_meanwhile_is_dropped(
    desk: ExecutionDesk, make_place: PlaceFactory
) -> None:
    assert await desk.execute(stop("64000")) == []  # nothing open: nothing to protect


async def test_a_stop_the_mark_has_crossed_is_dropped_and_the_position_left_to_protection(
    desk: ExecutionDesk, paper: PaperExchange, make_place: PlaceFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    await desk.execute(make_place(qty="0.01"))  # long at about 65,000

    assert await desk.execute(stop("66000", command_id="xs-2")) == []  # above the mark: refused

    assert [p.size for p in await paper.positions(SYMBOL)] == [Decimal("0.01")]
    assert "has crossed it" in caplog.text


async def test_any_other_refusal_of_a_stop_is_raised(
    desk: ExecutionDesk, paper: PaperExchange, make_place: PlaceFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    await desk.execute(make_place(qty="0.01"))

    async def refuse(*args: object, **kwargs: object) -> None:
        raise ExchangeError(Outcome.REJECT, "10001: params error")

    monkeypatch.setattr(paper, "set_trading_stop", refuse)
    with pytest.raises(ExchangeError, match="params error"):
        await desk.execute(stop("64000", command_id="xs-3"))  # below the mark: not crossed
    assert [p.size for p in await paper.positions(SYMBOL)] == [Decimal("0.01")]


def test_a_stop_counts_as_crossed_only_beyond_a_known_mark() -> None:
    def position(side: Side | None, mark: str) -> PositionSnapshot:
        return PositionSnapshot(symbol=SYMBOL, side=side, size=Decimal(1 if side else 0),
                                entry_price=Decimal(100), leverage=Decimal(1),
                                mark_price=Decimal(mark))  # fmt: skip

    assert stop_crossed(position(Side.BUY, "95"), Decimal(95))
    assert not stop_crossed(position(Side.BUY, "96"), Decimal(95))
    assert stop_crossed(position(Side.SELL, "106"), Decimal(105))
    assert not stop_crossed(position(Side.SELL, "104"), Decimal(105))
    assert not stop_crossed(position(Side.BUY, "0"), Decimal(95))  # no mark: cannot tell
    assert not stop_crossed(position(None, "90"), Decimal(95))


class HeldRecordStore(MemoryIdempotencyStore):
    """Keeps the gateway waiting on its record of an order the exchange has already filled."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()

    async def record(self, order_link_id: str, outcome: RecordedOutcome) -> None:
        await self.release.wait()
        await super().record(order_link_id, outcome)


async def test_events_of_an_order_still_being_placed_wait_for_its_submitted_report(
    paper: PaperExchange, ms_clock: FakeMsClock, make_place: PlaceFactory
) -> None:
    store = HeldRecordStore()
    gateway = OrderGateway(
        paper, store, limits=RateLimitRegistry(), breaker=CircuitBreaker(),
        retry=RetryPolicy(RetryPolicyConfig(), random.Random(0)), clock=time.monotonic,
        ms_clock=ms_clock,
    )  # fmt: skip
    desk = ExecutionDesk(paper, gateway, ms_clock)
    placing = asyncio.create_task(desk.execute(make_place(qty="0.01")))
    await eventually(lambda: paper_filled(paper), within=2)

    assert desk.take_events() == []  # what another command or a book top would have taken

    store.release.set()
    events = await placing
    assert [e.kind for e in events] == ["order_submitted", "order_accepted", "order_filled"]


async def paper_filled(paper: PaperExchange) -> bool:
    return any(p.size for p in await paper.positions(SYMBOL))


async def test_a_close_the_exchange_rate_limits_is_retried_as_a_whole_not_dead_lettered(
    desk: ExecutionDesk, paper: PaperExchange, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def limited(symbol: str) -> list[object]:
        raise ExchangeError(Outcome.RATE_LIMITED, "Too many visits!", ret_code=10006)

    monkeypatch.setattr(paper, "positions", limited)
    with pytest.raises(RetryableError, match="close_position of BTCUSDT not done"):
        await desk.execute(close())
