"""The protection agent: every open position protected continuously, one event at a time.

```
md.book.top ──────┐ (keyed by symbol,
exec.positions ───┤  co-partitioned)    protect_positions ──▶ exec.orders: reduce-only market
exec.reports ─────┤                     (ProtectionDesk over     closes, SetTradingStop
protection.ticks ─┘                      protection_by_symbol) ──▶ protection.events ─▶ PostgreSQL
tick_protection (timer, every trading worker) ──▶ protection.ticks, on the partitions it owns
risk.state (trading_state) ──▶ follow_trading_state (every trading worker): halted or not
```

- Prices are the mids of valid book tops; positions come from ``exec.positions``, where the
  positions agent publishes each change keyed by symbol (``account.events`` has one partition,
  so it cannot be co-partitioned); the ends of our closes come from ``exec.reports``.
- Timed rules (close time-outs, stale prices, the aged sweep, time stops) run on ticks that go
  through the agent's own stream, one per owned partition per interval: Faust writes a table
  only from inside stream iteration, to the changelog partition of the event in hand, so a tick
  on partition p may write the state of the symbols of partition p.
- Each event has its own error boundary (bad input → dead-letter queue with the reason). A
  close that wants a price check first (a symbol silent past the emergency threshold) asks the
  exchange for the position and its mark over REST, then closes at market whatever it says.
- The kill switch: while the account is halted (the risk agent's last trading state, read from
  the compacted ``risk.state`` by every trading worker) protection sends no close of its own and
  records why; the kill switch's closes win.
"""

from __future__ import annotations

import asyncio
import logging
from functools import cache
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from tradestream.agents.boundary import dead_letter_on_error
from tradestream.agents.channels import source_topics
from tradestream.agents.protection_desk import ProtectionDesk, Step
from tradestream.agents.protection_records import count, records_of, stop_command
from tradestream.agents.resources import dead_letter_queue
from tradestream.agents.stall_watch import busy
from tradestream.agents.trading_desk import exec_orders_topic, send_json
from tradestream.agents.trading_session import session, venue
from tradestream.app import app, settings
from tradestream.config.files import PipelineConfig
from tradestream.core.clock import MarketClock, now_ms
from tradestream.core.errors import TradestreamError
from tradestream.core.protection import AgedPhase, CloseDecision
from tradestream.schemas.account import PositionChanged
from tradestream.schemas.market import book_top_decoder
from tradestream.schemas.orders import order_event_adapter
from tradestream.schemas.protection import ProtectionTick
from tradestream.streams import topics
from tradestream.tables.protection import protection_by_symbol
from tradestream.web import metrics, views

log = logging.getLogger(__name__)

protection_channel = source_topics(
    topics.BOOK_TOP, topics.POSITIONS, topics.EXEC_REPORTS, topics.PROTECTION_TICKS
)
events_topic = source_topics(topics.PROTECTION_EVENTS)
ticks_topic = source_topics(topics.PROTECTION_TICKS)
BOOK_TOP_NAME = settings.scoped(topics.BOOK_TOP.name)
POSITIONS_NAME = settings.scoped(topics.POSITIONS.name)
REPORTS_NAME = settings.scoped(topics.EXEC_REPORTS.name)
TICKS_NAME = settings.scoped(topics.PROTECTION_TICKS.name)
RISK_STATE_NAME = settings.scoped(topics.RISK_STATE.name)
OURS = b'"order_link_id":"protection-'
"""Every close protection sends has an ``orderLinkId`` with this prefix (its strategy's)."""
_RULES = ("stop_loss", "take_profit", "trailing_stop", "aged_position", "time_stop",
          "exchange_stop")  # fmt: skip
_ACTIVE_PHASES = tuple(str(p) for p in AgedPhase if p not in (AgedPhase.CLOSED, AgedPhase.ERROR))


@cache
def protection_desk() -> ProtectionDesk:
    """Return the worker's protection desk over ``protection_by_symbol``."""
    return ProtectionDesk(
        PipelineConfig.load(settings.config_dir).protection,
        protection_by_symbol,
        clock=MarketClock(
            follow=settings.protection_clock != "wall",
            behind_wall=settings.protection_clock == "replay",
        ),
        instruments=session().instrument,
        partitions=settings.partitions,
    )


async def protect_positions(events: Any) -> None:
    """Protect the open positions of this worker's partitions: decide, send, record, remember."""
    async with busy():  # waiting for the exchange's instrument rules is work, not a stall
        await session().instruments_loaded()  # a position's tick and qty step come from them
    desk = protection_desk()
    async for event in events.events():
        async with dead_letter_on_error(dead_letter_queue(), event.value, event.message.topic):
            for step in _steps(desk, event.message.topic, event.message.partition, event.value):
                await publish(step)
                desk.save(step.symbol)


async def tick_protection() -> None:
    """Put a tick on each partition of ``protection.ticks`` this worker owns."""
    now = now_ms()
    owned = sorted(tp.partition for tp in app.consumer.assignment() if tp.topic == TICKS_NAME)
    for partition in owned:
        tick = ProtectionTick(partition=partition, ts_ms=now)
        await ticks_topic.send(key=b"tick", value=tick.model_dump_json().encode(),
                               partition=partition)  # fmt: skip


async def follow_trading_state() -> None:
    """Keep protection halted exactly while the account is (read again after any failure)."""
    while True:
        try:
            await _follow_risk_state(protection_desk())
        except (KafkaError, OSError) as exc:
            log.error("cannot read %s (%s): retrying", RISK_STATE_NAME, exc)
            await asyncio.sleep(1.0)


async def publish(step: Step) -> None:
    """Send a step's closes and exchange stops, then its records; count and log it."""
    for close in step.outcome.closes:
        if close.requires_price_check:
            await _check_price(close)
        await send_json(exec_orders_topic, close.symbol, close.to_order())
        _observe_latency(step)
        log.info("%s: %s closes %s (%s)", close.symbol, close.rule, close.qty, close.reason)
    for stop in step.outcome.exchange_stops:
        await send_json(exec_orders_topic, stop.symbol, stop_command(stop))
    for record in records_of(step):
        await send_json(events_topic, step.symbol, record)
    count(step)
    for alert in step.outcome.alerts:
        log.warning("%s: price %s (%s s old)", alert.symbol, alert.freshness, alert.age_s)
    for failure in step.outcome.failures:
        log.critical("%s: CANNOT CLOSE the position: %s", failure.symbol, failure.reason)


def _steps(desk: ProtectionDesk, topic: str, partition: int, raw: bytes) -> list[Step]:
    if topic == BOOK_TOP_NAME:
        step = desk.on_book_top(book_top_decoder.decode(raw))
    elif topic == POSITIONS_NAME:
        step = desk.on_position(PositionChanged.model_validate_json(raw))
    elif topic == REPORTS_NAME:
        step = desk.on_order_event(order_event_adapter.validate_json(raw)) if OURS in raw else None
    elif topic == TICKS_NAME:
        steps = desk.on_tick(partition)
        _set_gauges(desk)
        return steps
    else:
        return []
    return [] if step is None else [step]


# The emergency close of a silent symbol: ask the exchange for the position and its mark first.
async def _check_price(close: CloseDecision) -> None:
    try:
        held = [p for p in await venue().positions(close.symbol) if p.size > 0]
    except (TradestreamError, OSError) as exc:
        log.error("%s: REST price check failed (%s): closing at market", close.symbol, exc)
        return
    marks = ", ".join(f"{p.size} at mark {p.mark_price}" for p in held) or "nothing open"
    log.warning("%s: no fresh price; the exchange holds %s: closing at market", close.symbol,
                marks)  # fmt: skip


def _observe_latency(step: Step) -> None:
    if step.price_ts_ms is None:
        return
    elapsed_ms = now_ms() - step.price_ts_ms
    if elapsed_ms >= 0:  # a test clock may run ahead of the wall
        metrics.protection_decision_latency.observe(elapsed_ms / 1000)


def _set_gauges(desk: ProtectionDesk) -> None:
    rules, phases = desk.gauges()
    for rule in _RULES:
        metrics.protection_positions.labels(rule).set(rules.get(rule, 0))
    for phase in _ACTIVE_PHASES:
        metrics.protection_aged_positions.labels(phase).set(phases.get(phase, 0))


async def _follow_risk_state(desk: ProtectionDesk) -> None:
    reader = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap,
                              enable_auto_commit=False, group_id=None)  # fmt: skip
    await reader.start()
    try:
        partition = TopicPartition(RISK_STATE_NAME, 0)
        reader.assign([partition])
        await reader.seek_to_beginning(partition)
        async for message in reader:
            if message.key == b"trading_state" and message.value is not None:
                halted = orjson.loads(message.value).get("to_state") == "halted"
                if halted != desk.halted:
                    log.warning("protection %s", "halted" if halted else "resumed")
                desk.set_halted(halted)
    finally:
        await reader.stop()


async def _forget_engines(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
    protection_desk().forget()  # partitions moved: rebuild each engine from the table


def register() -> None:
    """Add the protection agent, its timer and its kill-switch follower (the trading role)."""
    app.agent(protection_channel, name="protect_positions", concurrency=1)(protect_positions)
    app.timer(settings.protection_tick_interval_s)(tick_protection)
    app.task(follow_trading_state)
    app.on_partitions_assigned.connect(_forget_engines)
    views.health_sections["protection"] = lambda: protection_desk().health()
