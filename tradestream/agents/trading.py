"""The trading agents: risk, execution and positions, thin drivers of ``core`` and the gateway.

```
sig.signals ─┐
account.events ─┼─▶ RiskLoop (ONE partition each: RiskDesk) ──▶ risk.decisions, exec.orders,
ops.control ─┘     (librdkafka, agents/risk_loop.py)           account.events, risk.state
exec.orders ──▶ execute_orders (per symbol: ExecutionDesk → paper | Bybit) ──▶ exec.reports
md.book.top ──▶ follow_book_tops (paper fills, position marks) ──▶ exec.reports, account.events
exec.reports ─┬▶ track_positions (per symbol: Portfolio, positions_by_symbol) ──▶ account.events
exec.reconcile ┘   (reconciliation: corrections, QueryOrder ──▶ exec.orders)
run_session (task: reconcile every interval) ──▶ exec.reconcile;  forward_reports ──▶ exec.reports
```

Each event is handled inside its own error boundary: bad input goes to the dead-letter queue
with the reason and the agent goes on. Delivery is at-least-once and every effect is idempotent:
the risk engine answers a signal id once (the same decision again on a redelivery), an order's
``orderLinkId`` derives from its signal and is reserved in Redis before the exchange is called,
positions apply an execution id once (the ids applied are kept in the table). The PostgreSQL
records are landed by ``agents/trading_records.py`` from these topics.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from functools import partial
from typing import Any

from tradestream.agents import stall_watch
from tradestream.agents.boundary import dead_letter_on_error, until_done
from tradestream.agents.lanes import KeyedLanes
from tradestream.agents.resources import dead_letter_queue
from tradestream.agents.risk_loop import RiskLoop, risk_consumer
from tradestream.agents.trading_desk import (
    account_topic,
    book_tops_channel,
    exec_orders_topic,
    positions,
    send_json,
)
from tradestream.agents.trading_session import (
    desk,
    publish_reports,
    save_paper_account,
    session,
)
from tradestream.app import app, settings
from tradestream.core.clock import now_ms, now_us
from tradestream.core.orders import order_link_id_for
from tradestream.exchange.order_gateway import request_sent_us
from tradestream.schemas.market import book_top_decoder
from tradestream.schemas.orders import OrderCommand, PlaceOrder, order_command_adapter
from tradestream.streams.rdkafka import Outputs
from tradestream.streams.stage_times import with_stage

log = logging.getLogger(__name__)

_MARK_EVERY_MS = 1_000


async def execute_orders(commands: Any) -> None:
    """Carry out each order command once and report what the exchange did.

    Each symbol's commands run in order in its lane, up to ``execution_concurrency`` at once
    across symbols (``agents/lanes.py``); an event is acknowledged when its command is done,
    so a crash redelivers what was not. While Redis (where each ``orderLinkId`` is reserved
    before the exchange is called) is unreachable nothing is sent: the command waits, is retried
    with back-off, and goes out once Redis answers again; the commands behind it wait too.
    """
    await session().exchange_ready()
    stream = commands.noack()
    lanes = KeyedLanes(settings.execution_concurrency, name="execute_orders")
    try:
        async for event in stream.events():
            await lanes.submit(event.key, partial(_execute_one, stream, event, now_us()))
    finally:
        await lanes.close()


async def _execute_one(stream: Any, event: Any, taken_us: int) -> None:
    async with dead_letter_on_error(dead_letter_queue(), event.value, "exec.orders"):
        command = order_command_adapter.validate_json(event.value)
        if isinstance(command, PlaceOrder) and not command.reduce_only:
            await session().wait_until_reconciled()
        request_sent_us.set(0)
        reports = await until_done("exec.orders", partial(desk().execute, command))
        await save_paper_account()  # what exec.reports says the exchange did outlives us
        sent_us = request_sent_us.get()  # 0: this command sent no request
        spent = with_stage(event.headers, "execution", sent_us - taken_us)
        publish_reports(reports, spent if sent_us >= taken_us else None, _link_id(command))
    await stream.ack(event)


def _link_id(command: OrderCommand) -> str | None:
    return order_link_id_for(command) if isinstance(command, PlaceOrder) else None


async def follow_book_tops(tops: Any) -> None:
    """Fill paper orders against each valid book top; mark open positions at most every 1 s.

    Each worker does what its parts need: the execution part fills its paper orders, the
    positions part marks its positions (``register`` adds the agent only where one is needed).
    """
    decode = book_top_decoder.decode
    fill_paper = "execution" in settings.trading_parts
    marks = "positions" in settings.trading_parts
    marked: dict[str, int] = {}
    if fill_paper:
        await session().exchange_ready()  # the paper account restored before it fills
    async for event in tops.events():
        async with dead_letter_on_error(dead_letter_queue(), event.value, "md.book.top"):
            top = decode(event.value)
            if fill_paper:
                fills = desk().on_book_top(top)
                await save_paper_account()
                publish_reports(fills)
            now = now_ms()
            due = now - marked.get(top.symbol, 0) >= _MARK_EVERY_MS
            if marks and top.status == "valid" and due:
                marked[top.symbol] = now
                mid = (Decimal(top.bid_px) + Decimal(top.ask_px)) / 2
                change = positions().mark(top.symbol, mid, top.exchange_ts_ms)
                if change is not None:
                    await send_json(account_topic, top.symbol, change)


async def run_session() -> None:
    """Reconcile with the exchange at start and every interval (the execution part).

    Beside the symbols of the universe and those the exchange names, reconciliation looks at
    every symbol the positions table holds, when the positions part runs in this worker.
    """
    await session().run(_symbols_held)


def _symbols_held() -> list[str]:
    table: Any = app.tables.get("positions_by_symbol")  # there only with the positions part
    return list(table.keys()) if table is not None else []


async def load_instruments() -> None:
    """Learn every symbol's instrument rules (live: from the exchange) for sizing and stops."""
    await session().load_instruments()


async def forward_reports() -> None:
    """Publish order events that arrive between commands (pushes, resting paper fills)."""
    await session().forward()


async def run_risk_loop() -> None:
    """Start the risk agent (``agents/risk_loop.py``) once instrument rules are known."""
    await session().instruments_loaded()  # sizing needs each symbol's lot step and tick
    loop = RiskLoop(
        settings,
        consumer=risk_consumer(settings),
        outputs=Outputs.connect(settings),
        dlq=dead_letter_queue(),
    )
    await app.add_runtime_dependency(loop)


async def watch_for_stalls() -> None:
    """Exit for a restart if Faust stops feeding an input partition (``agents/stall_watch.py``)."""
    if settings.stall_exit_after_s > 0:
        await stall_watch.watch(
            app,
            interval_s=settings.stall_check_interval_s,
            stall_after_s=settings.stall_exit_after_s,
        )


def register(parts: frozenset[str]) -> None:
    """Add the agents of this worker's trading parts (``Settings.trading_parts``).

    All of them together are the ``trading`` role; each part can also run in a worker of its
    own (its own Faust app and consumer group), to fail, restart and use a core on its own.
    The positions part's agents are added by ``trading_positions.register``.
    """
    if "execution" in parts:
        app.agent(exec_orders_topic, name="execute_orders")(execute_orders)
        app.task(run_session)
        app.task(forward_reports)
    paper_fills = "execution" in parts and settings.trading_mode == "paper"
    if paper_fills or "positions" in parts:
        app.agent(book_tops_channel, name="follow_book_tops")(follow_book_tops)
    if "risk" in parts:
        app.task(run_risk_loop)
    app.task(load_instruments)
    app.task(watch_for_stalls)
