"""Each market-data fault, end to end: simulator → ingest → Kafka → worker, through the real broker.

One pipeline serves the whole module (starting a worker dominates a scenario's cost): a replay of
the recording copied to twelve symbols, each on a connection of its own, so every test aims its
fault at a symbol nobody else touches. A test resumes the source, injects its fault mid-stream,
watches its effect, then pauses the source and checks its symbol (``settle``):

- the worker's book re-converges to the simulator's own book;
- every ``md.book.top`` record of the run is what a correct agent publishes for the frames the
  worker consumed (``book_trace``): first record after a gap ``invalid``, no ``valid`` one until a
  snapshot repaired the book, every valid top the exchange's top at that ``u``;
- each raw topic holds exactly the frames the simulator sent for the symbol, in order, op replies
  and deliberately broken frames excepted (those must be in the DLQ instead);
- ingest is still running: its tasks alive, ``/health`` answering with every socket connected.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator

import orjson
import pytest
import pytest_asyncio

from tests.support.fault_pipeline import Pipeline
from tests.support.fault_run import (
    BOOK,
    SHARDED,
    Run,
    advance,
    book_frames_sent,
    counters,
    last_u_before_gap,
    settle,
    snapshot_us,
    start_run,
    statuses,
    symbols_config,
)
from tests.support.waiting import eventually
from tradestream.cli.demo import free_port
from tradestream.simulator import FaultKind, FaultSpec
from tradestream.streams.ingest_service import IngestService

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(120)]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def run() -> AsyncIterator[Run]:
    """One pipeline for the whole module."""
    async with start_run() as started:
        yield started


@pytest_asyncio.fixture(loop_scope="module")
async def flowing(run: Run) -> AsyncIterator[Pipeline]:
    """Let the source run for one test; leave no fault behind."""
    run.pipeline.sim.resume()
    yield run.pipeline
    run.pipeline.sim.injector.clear()


# --- one test per fault ----------------------------------------------------------------------


async def test_dropped_connection_reconnects_and_a_fresh_snapshot_rebuilds_the_book(
    run: Run, flowing: Pipeline
) -> None:
    symbol = "BTCUSDT"
    p = flowing
    client = run.client(symbol)
    await advance(p, symbol)
    before = p.live_connection(symbol)
    connects = client.connects

    reply = await p.inject(FaultSpec(fault=FaultKind.DROP, symbol=symbol))
    assert reply["dropped"] == [before.conn_id]
    await eventually(
        lambda: client.connects == connects + 1 and client.connected.is_set(),
        message="ingest reconnected",
    )
    assert p.live_connection(symbol).conn_id != before.conn_id
    await advance(p, symbol)

    tops = await settle(run, symbol)
    assert statuses(tops) == ["valid"]
    assert len(snapshot_us(p.raw(BOOK, symbol))) == 2
    assert (await counters(p, symbol))["gaps"] == 0
    assert await run.letters(symbol) == []


async def test_stalled_symbol_is_held_while_the_others_flow_then_catches_up(
    run: Run, flowing: Pipeline
) -> None:
    symbol, other = "ETHUSDT", "SOL3USDT"
    p = flowing
    await advance(p, symbol)
    await p.inject(FaultSpec(fault=FaultKind.STALL, symbol=symbol))
    sent_at_stall = book_frames_sent(p, symbol)
    await advance(p, other, 100)

    assert book_frames_sent(p, symbol) == sent_at_stall
    held = p.live_connection(symbol).stats()["held"]
    assert isinstance(held, int)
    assert held > 0
    await eventually(lambda: _stream_status(p, symbol), message=f"{symbol} reported degraded")
    assert await _stream_status(p, other) is False
    last_sent = orjson.loads(p.raw(BOOK, symbol)[-1])["data"]["u"]
    # The worker holds the last frame sent before the stall: held frames are neither lost nor
    # skipped ahead of.
    await eventually(lambda: _last_u_is(p, symbol, last_sent), message="worker caught up")

    await p.clear(FaultKind.STALL, symbol)
    await advance(p, symbol)
    assert await _stream_status(p, symbol) is False
    tops = await settle(run, symbol)
    assert statuses(tops) == ["valid"]


async def _last_u_is(p: Pipeline, symbol: str, u: int) -> bool:
    return (await counters(p, symbol))["last_u"] == u


async def _stream_status(p: Pipeline, symbol: str) -> bool:
    # Is ingest reporting the symbol's book stream as silent for too long?
    _, health = await p.ingest_health()
    (stream,) = [
        s for s in health["streams"] if s["symbol"] == symbol and s["kind"] == "orderbook.200"
    ]
    return bool(stream["status"] != "ok")


async def test_gap_marks_the_book_invalid_until_a_snapshot_repairs_it(
    run: Run, flowing: Pipeline
) -> None:
    symbol = "SOLUSDT"
    p = flowing
    await advance(p, symbol)
    conn = p.live_connection(symbol)
    await p.inject(FaultSpec(fault=FaultKind.GAP, symbol=symbol, count=3))
    await eventually(lambda: conn.log.withheld[f"orderbook.200.{symbol}"] == 3)
    await advance(p, symbol)

    tops = await settle(run, symbol)
    assert statuses(tops) == ["valid", "invalid", "valid"]
    first_invalid = next(i for i, top in enumerate(tops) if top[0] == "invalid")
    assert tops[first_invalid][1] == last_u_before_gap(p.raw(BOOK, symbol))
    repaired = tops[first_invalid + 1]
    assert repaired[1] in snapshot_us(p.raw(BOOK, symbol))[1:]
    assert (await counters(p, symbol))["gaps"] == 1


async def test_fresh_snapshot_mid_stream_keeps_the_book_valid(run: Run, flowing: Pipeline) -> None:
    symbol = "DOGEUSDT"
    p = flowing
    await advance(p, symbol)
    reply = await p.inject(FaultSpec(fault=FaultKind.SNAPSHOT, symbol=symbol))
    assert reply["snapshots"] == 1
    await advance(p, symbol)

    tops = await settle(run, symbol)
    assert statuses(tops) == ["valid"]
    assert len(snapshot_us(p.raw(BOOK, symbol))) == 2
    seen = await counters(p, symbol)
    assert (seen["snapshots"], seen["gaps"], seen["restarts"]) == (2, 0, 0)


async def test_restart_snapshot_restarts_the_sequence_at_one(run: Run, flowing: Pipeline) -> None:
    symbol = "BTC2USDT"
    p = flowing
    await advance(p, symbol, 40)
    reply = await p.inject(FaultSpec(fault=FaultKind.RESTART, symbol=symbol))
    assert reply["snapshots"] == 1
    await advance(p, symbol)

    tops = await settle(run, symbol)
    assert statuses(tops) == ["valid"]
    assert snapshot_us(p.raw(BOOK, symbol))[-1] == 1
    seen = await counters(p, symbol)
    assert (seen["restarts"], seen["gaps"]) == (1, 0)
    assert seen["last_u"] < 40


@pytest.mark.parametrize(
    ("kind", "symbol"),
    [
        (FaultKind.MALFORMED, "ETH2USDT"),
        (FaultKind.TRUNCATED, "SOL2USDT"),
        (FaultKind.NON_JSON, "DOGE2USDT"),
    ],
)
async def test_broken_frame_is_dead_lettered_and_the_stream_goes_on(
    run: Run, flowing: Pipeline, kind: FaultKind, symbol: str
) -> None:
    p = flowing
    await advance(p, symbol)
    reply = await p.inject(FaultSpec(fault=kind, symbol=symbol))
    assert reply["sent"] == [p.live_connection(symbol).conn_id]
    await advance(p, symbol)

    tops = await settle(run, symbol)
    assert statuses(tops) == ["valid"]
    broken = p.sent(symbol).broken
    assert len(broken) == 1
    letters = await eventually(lambda: run.letters(symbol), message="dead letter written")
    assert [letter.raw for letter in letters] == broken
    assert letters[0].reason.startswith("undecodable frame")


async def test_duplicated_frames_reach_kafka_twice_and_the_book_ignores_them(
    run: Run, flowing: Pipeline
) -> None:
    symbol = "BTC3USDT"
    p = flowing
    await advance(p, symbol)
    conn = p.live_connection(symbol)
    await p.inject(FaultSpec(fault=FaultKind.DUPLICATE, symbol=symbol, count=20))
    await eventually(lambda: conn.rules() == [], message="20 frames duplicated")
    await advance(p, symbol)

    tops = await settle(run, symbol)
    # Ingest stores frames as received, so the raw topics carry both copies (``settle`` compared
    # them with the sent log, duplicates included); the book drops the repeated ``u``s.
    sent = [f for f in conn.log.kept or [] if f.startswith(b'{"topic"')]
    doubled = [a for a, b in itertools.pairwise(sent) if a == b]
    assert len(doubled) == 20
    doubled_deltas = [f for f in doubled if b'"delta"' in f and b"orderbook" in f[:40]]
    assert statuses(tops) == ["valid"]
    seen = await counters(p, symbol)
    assert (seen["duplicates"], seen["gaps"]) == (len(doubled_deltas), 0)


async def test_slow_sending_falls_behind_then_catches_up(run: Run, flowing: Pipeline) -> None:
    symbol, other = "ETH3USDT", "DOGE3USDT"
    p = flowing
    await advance(p, symbol)
    conn = p.live_connection(symbol)
    await p.inject(FaultSpec(fault=FaultKind.SLOW, symbol=symbol, delay_ms=50))
    await eventually(lambda: conn.backlog > 50, message=f"{symbol} fell behind")
    await advance(p, other, 50)
    assert conn.backlog > 50

    await p.clear(FaultKind.SLOW, symbol)
    tops = await settle(run, symbol)
    assert statuses(tops) == ["valid"]
    assert (await counters(p, symbol))["gaps"] == 0


async def test_gap_is_repaired_by_a_resync_request_without_a_manual_step(
    run: Run, flowing: Pipeline
) -> None:
    symbol = "SOL3USDT"
    p = flowing
    await advance(p, symbol)
    conn = p.live_connection(symbol)
    replies_before = len(p.sent(symbol).replies)
    await p.inject(FaultSpec(fault=FaultKind.GAP, symbol=symbol, count=1))

    requests = await eventually(lambda: p.resyncs(symbol), message="worker asked for a resync")
    assert [(r.symbol, r.reason) for r in requests] == [(symbol, "gap")]
    await eventually(lambda: _resubscribed(p, symbol, replies_before), message="resubscribed")
    assert p.live_connection(symbol) is conn  # the same socket: no reconnect, no manual step
    await eventually(lambda: _book_valid(p, symbol), message="book valid again")

    await settle(run, symbol)
    assert len(p.resyncs(symbol)) == 1
    assert len(snapshot_us(p.raw(BOOK, symbol))) == 2


def _resubscribed(p: Pipeline, symbol: str, replies_before: int) -> bool:
    replies = p.sent(symbol).replies[replies_before:]
    ops = [reply["op"] for reply in replies if reply["op"] != "ping"]
    return ops[:2] == ["unsubscribe", "subscribe"]


async def _book_valid(p: Pipeline, symbol: str) -> bool:
    book = await p.worker_book(symbol, 1)
    return book is not None and book["status"] == "valid" and book["gaps"] == 1


async def test_resync_reaches_the_ingest_process_that_owns_the_symbol(
    run: Run, flowing: Pipeline
) -> None:
    # Symbols sharded over two ingest processes in one namespace: each must hear every request.
    symbol = SHARDED[0]
    p = flowing
    second = IngestService(p.settings, run.config, symbols_config(SHARDED), health_port=free_port())
    await second.start()
    try:
        await eventually(lambda: len(p.connections(symbol)) == 1, message="second ingest up")
        await advance(p, symbol)
        await p.inject(FaultSpec(fault=FaultKind.GAP, symbol=symbol, count=1))
        # Well before the worker's retry (5 s): the first request itself reached the owner.
        await eventually(lambda: _book_valid(p, symbol), within=4, message="book repaired")
        await settle(run, symbol)
        assert [r.reason for r in p.resyncs(symbol)] == ["gap"]
    finally:
        await second.stop()
