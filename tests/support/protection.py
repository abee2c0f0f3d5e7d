"""Script a market for protection tests: book tops on ``md.book.top``, the simulator's own book.

``publish_tops`` produces book tops as the market engine would, stamped with the exchange time
given (a trading worker on the ``market`` protection clock takes that as the symbol's time, so a
test moves hours in a second); ``set_sim_book`` replaces the simulator's book of a symbol with
one level a side, so its fills, marks and exchange-held stops follow the same script. The rest
opens positions and reads back what protection landed in PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
from aiokafka import AIOKafkaProducer

from tests.support.trading_spine import rows, tradestream
from tests.support.waiting import eventually
from tests.support.workers import running_worker
from tradestream.agents.stall_watch import STALL_EXIT_CODE
from tradestream.config.settings import Settings
from tradestream.core.clock import now_ms
from tradestream.schemas.market import BookTop
from tradestream.simulator import BybitSimulator
from tradestream.simulator.book import make_level
from tradestream.simulator.events import BookEvent
from tradestream.streams import topics
from tradestream.streams.lag import wait_until_consumed

CONFIG = Path(__file__).resolve().parents[2] / "config"
Quote = tuple[str, str, int]
"""A scripted book top: (bid, ask, exchange time in ms)."""


async def publish_tops(
    settings: Settings, symbol: str, quotes: Sequence[Quote], *, wait: bool = True
) -> None:
    """Produce valid book tops of ``symbol`` in order; by default wait until consumed."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await producer.start()
    topic = settings.scoped(topics.BOOK_TOP.name)
    try:
        for bid, ask, ts in quotes:
            top = BookTop(symbol=symbol, status="valid", bid_px=bid, bid_sz="1000", ask_px=ask,
                          ask_sz="1000", u=1, seq=1, exchange_ts_ms=ts, cts_ms=ts,
                          recv_ts_ms=now_ms(), produced_ts_ms=now_ms())  # fmt: skip
            await producer.send_and_wait(topic, msgspec.json.encode(top), key=symbol.encode())
    finally:
        await producer.stop()
    if wait:  # by the trading worker's consumer group
        trading = settings.model_copy(update={"roles": ("trading",)})
        await wait_until_consumed(trading, [topic], timeout_s=60)


def set_sim_book(sim: BybitSimulator, symbol: str, bid: str, ask: str, size: str = "1000") -> None:
    """Make ``bid`` / ``ask`` the simulator's whole book of ``symbol``."""
    market = sim.hub.markets[symbol]
    event = BookEvent(symbol, True, [make_level(bid, size, bid=True)],
                      [make_level(ask, size, bid=False)], 0, market.seq + 1, now_ms(),
                      now_ms())  # fmt: skip
    sim.hub.on_book(event)


def config_dir(tmp: Path, protection_yaml: str) -> Path:
    """Return a copy of ``config/`` with ``protection_yaml`` and no strategies (no signal but
    the test's)."""
    target = tmp / "config"
    shutil.copytree(CONFIG, target)
    (target / "protection.yaml").write_text(protection_yaml, encoding="utf-8")
    (target / "strategies.yaml").write_text("strategies: []\n", encoding="utf-8")
    return target


async def open_long(
    settings: Settings, pool: asyncpg.Pool, symbol: str, quote: tuple[str, str], *,
    notional: str, ts_ms: int | None = None, stop_loss: str | None = None,
    take_profit: str | None = None, atr: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Put a top on the book, buy ``notional`` at market (with the signal's levels and ATR, if
    given), return the position row."""
    bid, ask = quote
    await publish_tops(settings, symbol, [(bid, ask, ts_ms or now_ms())], wait=False)
    named = (("--stop-loss", stop_loss), ("--take-profit", take_profit), ("--atr", atr))
    levels = [arg for flag, level in named if level is not None for arg in (flag, level)]
    tradestream(settings, "trade", "--symbol", symbol, "--side", "buy", "--notional", notional,
                "--price", bid, "--reason", "protection itest", *levels)  # fmt: skip
    held = f"SELECT * FROM positions WHERE symbol = '{symbol}' AND size > 0"  # noqa: S608
    [row] = await eventually(lambda: rows(pool, held), within=30)
    assert row["avg_entry"] == Decimal(ask)
    return row


async def size_is(pool: asyncpg.Pool, symbol: str, size: str) -> bool:
    """Tell whether PostgreSQL holds ``symbol``'s position at ``size``."""
    found = await rows(pool, f"SELECT size FROM positions WHERE symbol = '{symbol}'")  # noqa: S608
    return bool(found) and found[0]["size"] == Decimal(size)


async def closes_of(pool: asyncpg.Pool, symbol: str) -> list[dict[str, Any]]:
    """Return protection's closes of ``symbol``, oldest first."""
    sql = f"SELECT * FROM protection_closes WHERE symbol = '{symbol}' ORDER BY decided_ms"  # noqa: S608
    return await rows(pool, sql)


async def ended(pool: asyncpg.Pool, symbol: str, count: int) -> list[dict[str, Any]]:
    """Wait until ``count`` closes of ``symbol`` have ended; return them all."""

    async def done() -> list[dict[str, Any]]:
        found = await closes_of(pool, symbol)
        return found if sum(c["ended_ms"] is not None for c in found) >= count else []

    return await eventually(done, within=30)


async def phase_is(pool: asyncpg.Pool, phase: str) -> bool:
    """Tell whether the (one) aged position is in ``phase``."""
    found = await rows(pool, "SELECT phase FROM aged_positions")
    return [r["phase"] for r in found] == [phase]


@asynccontextmanager
async def supervised_worker(settings: Settings, **env: str) -> AsyncIterator[None]:
    """Run a worker as its supervisor would: started again whenever it exits on a stall.

    A restarted Faust worker sometimes stops being fed a partition (faust-streaming #175, #629;
    ``agents/stall_watch.py``); the worker then exits with ``STALL_EXIT_CODE`` (here after 5 s)
    and, as under systemd, is started again.
    """
    env = {"TRADESTREAM_STALL_EXIT_AFTER_S": "5", "TRADESTREAM_STALL_CHECK_INTERVAL_S": "1",
           **env}  # fmt: skip
    ready = asyncio.Event()
    done = asyncio.Event()

    async def supervise() -> None:
        while not done.is_set():
            async with running_worker(settings, **env) as proc:
                ready.set()
                while proc.exit_code() is None and not done.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(done.wait(), timeout=0.2)
                if proc.exit_code() not in (None, STALL_EXIT_CODE):
                    raise RuntimeError(f"worker exited with {proc.exit_code()}")

    task = asyncio.create_task(supervise())
    waiting = asyncio.create_task(ready.wait())
    await asyncio.wait({task, waiting}, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        waiting.cancel()
        await task  # raises why it could not start
    try:
        yield
    finally:
        done.set()
        with contextlib.suppress(asyncio.CancelledError):
            await task
