"""``tradestream trade`` and ``tradestream risk``: a person's way into the trading spine.

``trade`` publishes a manual ``Signal`` on ``sig.signals``: it takes exactly the path a
strategy's signal takes (risk sizing and limits, execution, positions, protection, PostgreSQL,
audit). Its entry price is ``--price`` or the symbol's last valid book top on ``md.book.top``;
``--stop-loss`` and ``--take-profit`` are the levels protection closes the position at (without
them, the configured distances), checked against the side and that price before anything is
sent; ``--atr`` (a positive price distance, the signal's ``atr`` indicator) makes protection's
trailing distance ``atr_multiple`` ATRs. ``risk kill`` and ``risk reset`` publish the
kill-switch commands the risk agent obeys (``ops.control``).
Every id is derived from what the person typed and when, so a command retyped is a new one and
a command redelivered is the same one.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import hashlib
import sys
from decimal import Decimal
from typing import Any

from aiokafka import AIOKafkaProducer
from confluent_kafka import Consumer, TopicPartition
from pydantic import BaseModel, ValidationError

from tradestream.config.settings import Settings, get_settings
from tradestream.core.clock import now_ms
from tradestream.schemas.market import book_top_decoder
from tradestream.schemas.orders import Side
from tradestream.schemas.trading import ResetKillSwitch, Signal, TripKillSwitch
from tradestream.streams import topics
from tradestream.streams.admin import ensure_topics
from tradestream.streams.partitioning import partition_for_key

_LOOKBACK = 2_000
"""Book tops read back from the end of the symbol's partition to find its latest."""


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the trade command's arguments."""
    parser.add_argument("--symbol", required=True, help="e.g. BTCUSDT")
    parser.add_argument("--side", required=True, choices=["buy", "sell"])
    parser.add_argument("--notional", type=Decimal, required=True, help="USDT to trade")
    parser.add_argument("--price", type=Decimal, default=None, help="entry reference price")
    parser.add_argument("--reduce-only", action="store_true", help="only reduce a position")
    parser.add_argument("--stop-loss", type=Decimal, default=None,
                        help="close the position at this price (a loss)")  # fmt: skip
    parser.add_argument("--take-profit", type=Decimal, default=None,
                        help="close the position at this price (a profit)")  # fmt: skip
    parser.add_argument("--atr", type=Decimal, default=None,
                        help="the ATR (price units) protection trails the position by")  # fmt: skip
    parser.add_argument("--reason", default="manual trade", help="why (kept in the audit log)")


def configure_risk_parser(parser: argparse.ArgumentParser) -> None:
    """Add ``risk kill`` and ``risk reset``."""
    sub = parser.add_subparsers(dest="action", required=True)
    kill = sub.add_parser("kill", help="trip the kill switch: cancel all, close all, halt")
    kill.add_argument("--reason", required=True)
    reset = sub.add_parser("reset", help="end a halt episode and resume trading")
    reset.add_argument("--episode", type=int, required=True, help="the episode to end")
    reset.add_argument("--reason", required=True)


def latest_price(settings: Settings, symbol: str) -> Decimal | None:
    """Return the mid of ``symbol``'s last valid book top on ``md.book.top``, if there is one."""
    topic = settings.scoped(topics.BOOK_TOP.name)
    partition = partition_for_key(symbol.encode(), list(range(settings.partitions)))
    consumer = Consumer({"bootstrap.servers": settings.kafka_bootstrap, "group.id": "trade-cli",
                         "enable.auto.commit": False})  # fmt: skip
    try:
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
        consumer.assign([TopicPartition(topic, partition, max(low, high - _LOOKBACK))])
        return _last_mid(consumer, symbol, high)
    finally:
        consumer.close()


def _last_mid(consumer: Any, symbol: str, high: int) -> Decimal | None:
    decode = book_top_decoder.decode
    mid: Decimal | None = None
    offset = -1
    while offset < high - 1:
        message = consumer.poll(5)
        if message is None:
            break
        offset = message.offset()
        if message.error() is None and message.key() == symbol.encode():
            top = decode(message.value())
            if top.status == "valid":
                mid = (Decimal(top.bid_px) + Decimal(top.ask_px)) / 2
    return mid


def _id(*parts: object) -> str:
    return hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).hexdigest()


async def _publish(settings: Settings, spec: topics.TopicSpec, key: str, value: BaseModel) -> None:
    await ensure_topics(settings)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all",
                                enable_idempotence=True)  # fmt: skip
    await producer.start()
    try:
        await producer.send_and_wait(
            settings.scoped(spec.name), value.model_dump_json().encode(), key=key.encode()
        )
    finally:
        await producer.stop()


def manual_signal(
    symbol: str, side: str, notional: Decimal, price: Decimal, reason: str,
    *, reduce_only: bool = False, stop_loss: Decimal | None = None,
    take_profit: Decimal | None = None, atr: Decimal | None = None,
) -> Signal:  # fmt: skip
    """Build a person's signal; its id derives from what was asked and when.

    Raises ``ValueError`` when the levels do not fit the trade: a reduce-only trade opens nothing
    to protect, a buy's stop must be below ``price`` and its take-profit above (a sell's the
    other way round), and an ATR must be a positive number.
    """
    if reduce_only and (stop_loss is not None or take_profit is not None or atr is not None):
        raise ValueError("a reduce-only trade opens nothing: it takes no stop, take-profit or ATR")
    if atr is not None and not (atr.is_finite() and atr > 0):
        raise ValueError(f"an ATR is a positive price distance, got {atr}")
    at = now_ms()
    return Signal(
        signal_id=f"man-{_id(symbol, side, notional, stop_loss, take_profit, atr, at)}",
        strategy="manual",
        symbol=symbol,
        side=Side.BUY if side == "buy" else Side.SELL,
        entry_price=price,
        stop_loss=stop_loss,
        take_profit=take_profit,
        notional_usdt=notional,
        reduce_only=reduce_only,
        reason=f"{reason} (by {getpass.getuser()})",
        created_ts_ms=at,
        indicators={} if atr is None else {"atr": float(atr)},  # where strategies put theirs
    )


async def publish_signal(settings: Settings, signal: Signal) -> None:
    """Publish one signal on ``sig.signals``."""
    await _publish(settings, topics.SIGNALS, signal.symbol, signal)


def kill_command(reason: str) -> TripKillSwitch:
    """Build a person's kill-switch trip."""
    at, actor = now_ms(), getpass.getuser()
    return TripKillSwitch(command_id=f"kill-{_id(actor, at)}", reason=reason, actor=actor,
                          issued_ts_ms=at)  # fmt: skip


async def publish_control(settings: Settings, command: TripKillSwitch | ResetKillSwitch) -> None:
    """Publish one kill-switch command on ``ops.control``."""
    await _publish(settings, topics.OPS_CONTROL, "account", command)


def run(args: argparse.Namespace) -> int:
    """Publish one manual signal and say what was sent."""
    settings = get_settings()
    price = args.price or latest_price(settings, args.symbol)
    if price is None:
        print(f"trade: no valid book top for {args.symbol} on md.book.top; pass --price",
              file=sys.stderr)  # fmt: skip
        return 1
    try:
        signal = manual_signal(args.symbol, args.side, args.notional, price, args.reason,
                               reduce_only=args.reduce_only, stop_loss=args.stop_loss,
                               take_profit=args.take_profit, atr=args.atr)  # fmt: skip
    except ValueError as exc:  # pydantic's ValidationError is one
        print(f"trade: {_why(exc)}", file=sys.stderr)
        return 2
    asyncio.run(publish_signal(settings, signal))
    named = (("stop-loss", signal.stop_loss), ("take-profit", signal.take_profit),
             ("ATR", args.atr))  # fmt: skip
    levels = "".join(f", {name} {level}" for name, level in named if level is not None)
    print(f"signal {signal.signal_id}: {args.side} {args.notional} USDT of {args.symbol} "
          f"at ~{price}{levels}")  # fmt: skip
    return 0


def _why(exc: ValueError) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'signal'}: {e['msg']}"
                         for e in exc.errors())  # fmt: skip
    return str(exc)


def run_risk(args: argparse.Namespace) -> int:
    """Publish a kill-switch command."""
    settings = get_settings()
    command: TripKillSwitch | ResetKillSwitch
    if args.action == "kill":
        command = kill_command(args.reason)
    else:
        at, actor = now_ms(), getpass.getuser()
        command = ResetKillSwitch(command_id=f"reset-{_id(actor, at)}", reason=args.reason,
                                  actor=actor, issued_ts_ms=at, episode=args.episode)  # fmt: skip
    asyncio.run(publish_control(settings, command))
    print(f"{command.kind} {command.command_id} sent")
    return 0
