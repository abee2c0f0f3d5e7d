"""Decide where the signal agent runs: beside the market engine, or one broker hop after it.

Co-locating the ``SignalDesk`` with the market engine would save the ``md.features`` /
``md.candles`` hop between them, and would add the desk's work to every market message the
engine handles. This bench measures both sides in one run:

1. The desk's CPU, in process: every strategy kind of ``config/strategies.yaml`` enabled (its
   params as shipped, the order-book scalper included) on ``--symbols`` symbols, then

   - ``per_candle``: ``SignalDesk.on_candle`` per confirmed exchange bar (1 m, 5 m, 15 m, 1 h as
     ingest subscribes; the 30 m supertrend rolled up inside the desk), fed minute by minute in
     time order from the 30 recorded days of 1-minute klines (``tests/fixtures/klines``, symbol j
     replaying recorded symbol j mod 7) after ``--warm-days`` of untimed warm-up;
   - ``per_vector``: ``SignalDesk.on_features`` per real 99-feature ``md.features`` record, made
     by ``MarketBooks`` from the recorded ``orderbook.200`` frames (``harness.OB200``, looped),
     symbol j replaying recorded symbol j mod 4;
   - ``per_book_top``: ``SignalDesk.on_book_top`` (the book-validity bookkeeping).

2. The live rates per market message (an order-book or trade frame, what the engine counts):
   feature vectors per message from ``MarketBooks`` over the recorded books and trades at their
   recorded times, and at the 100 msgs/s per symbol the engine bench runs at (``paced``);
   confirmed bars per message from Bybit's bar rate (``symbols`` x (1/60 + 1/300 + 1/900 +
   1/3600) per second) over the recorded message rate scaled to ``--symbols``. Kline frames
   (forming bars, a few a second per symbol) are left out of the message count, which makes the
   per-message cost an upper bound.

3. The broker's one-hop floor through the running Kafka (the settings' default bootstrap): an
   empty record stamped with its send time every 1/``--ping-rate`` s for ``--ping-seconds``,
   producer ``linger.ms`` 0 (``trading_path.ping_floor``) → broker → a bare librdkafka consumer
   (``pipeline.consume_stamps``), on a scratch topic of a fresh namespace, deleted at the end;
   the first second of pings is dropped (the new producer's start-up, which a running engine
   does not pay).

Then it prints the decision: the hop co-location would save (p50/p99) against the desk's CPU
per market message and its share of the market engine's per-message cost
(``bench/results/engine_path.json``: the compiled engine's CPU µs per message at 100 symbols).
The desk runs interpreted (``setup.py`` does not compile the strategies).

Usage: ``.venv/bin/python bench/signal_placement.py [--symbols N] [--days N] [--ping-rate N]``
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import harness
import msgspec
import orjson
import yaml
from aiokafka.admin import AIOKafkaAdminClient
from pipeline import consume_stamps, percentiles
from trading_path import create_floor_topic, ping_floor

from tradestream.backtest.klines import read_klines
from tradestream.config.files import StrategiesConfig
from tradestream.config.settings import Settings
from tradestream.core.candles import Candle, roll_up
from tradestream.core.candles.records import trade_candle_record
from tradestream.core.market import MarketBooks
from tradestream.core.strategies.desk import DeskConfig, SignalDesk
from tradestream.schemas.market import BookTop, CandleRecord, Features

KLINES = harness.ROOT / "tests" / "fixtures" / "klines"
KLINE_SYMBOLS = ("ADAUSDT", "BNBUSDT", "BTCUSDT", "DOGEUSDT", "DOTUSDT", "ETHUSDT", "SOLUSDT")
BOOK_SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "DOGEUSDT")
TRADES = (
    harness.FIXTURES / "BTCUSDT-ETHUSDT-SOLUSDT-DOGEUSDT_2026-08-09_linear_publicTrade.ndjson.gz"
)
EXCHANGE_INTERVALS_S = (60, 300, 900, 3_600)  # ingest's default kline intervals
ROLLED_S = 1_800  # the shipped supertrend's interval: rolled up from 1 m bars inside the desk
MINUTE_MS = 60_000
DAY_MS = 86_400_000
ENGINE_PATH = harness.RESULTS / "engine_path.json"
ENGINE_RATE_PER_SYMBOL = 100  # msgs/s per symbol of engine_path.json's stream (10k/s, 100 sym.)
# The rule the decision applies: co-locate only if the desk adds at most this share of the
# engine's per-message CPU and the hop it saves is at least this share of the fastest input's
# interval (a feature vector every features_interval_ms = 100 ms).
WARM_UP_S = 1.0
"""The first second of pings is dropped: a new producer's first records wait for its
metadata and producer id (hundreds of ms), which no running engine pays."""
MAX_ENGINE_SHARE = 0.05
MIN_HOP_SHARE_OF_INTERVAL = 0.10
FASTEST_INPUT_MS = 100.0


def progress(message: str) -> None:
    """Print a timestamped progress line (stderr stays free for errors; stdout gets the JSON)."""
    print(f"[signal_placement {time.strftime('%H:%M:%S')}] {message}", flush=True)


def symbol_names(count: int) -> list[str]:
    """Return ``count`` symbol names: the recorded ones first, then synthetic ones."""
    extra = [f"S{j:03d}USDT" for j in range(count)]
    return [*KLINE_SYMBOLS, *extra][:count]


def every_strategy(symbols: list[str]) -> SignalDesk:
    """Return a desk running every instance of config/strategies.yaml, enabled, on ``symbols``."""
    raw = yaml.safe_load((harness.ROOT / "config" / "strategies.yaml").read_text())
    for entry in raw["strategies"]:
        entry.update(enabled=True, symbols=symbols, overrides={})
    config = StrategiesConfig.model_validate(raw)
    books = MarketBooks(lambda: 0)
    return SignalDesk.of(
        config.instances(),
        feature_schemas={books.names_id: books.feature_names},
        config=DeskConfig(exchange_intervals_s=frozenset(EXCHANGE_INTERVALS_S)),
    )


def exchange_record(candle: Candle) -> CandleRecord:
    """Return the md.candles record of a confirmed exchange bar, known closed at its end."""
    record = trade_candle_record(candle, candle.close_ts_ms, candle.close_ts_ms)
    return msgspec.structs.replace(record, source="exchange", trades=0)


def book_top(symbol: str, ts_ms: int) -> BookTop:
    """Return a valid book top of ``symbol`` at ``ts_ms``."""
    return BookTop(
        symbol=symbol,
        status="valid",
        bid_px="1",
        bid_sz="1",
        ask_px="1.1",
        ask_sz="1",
        u=1,
        seq=1,
        exchange_ts_ms=ts_ms,
        cts_ms=ts_ms,
        recv_ts_ms=ts_ms,
        produced_ts_ms=ts_ms,
    )


# ---- the desk's CPU ------------------------------------------------------------------------------


def bars_by_interval(minutes: list[Candle]) -> dict[int, list[Candle]]:
    """Return a recorded symbol's whole bars of every exchange interval and 30 m, from 1 m bars."""
    bars: dict[int, list[Candle]] = {60: minutes}
    for interval_s in (*EXCHANGE_INTERVALS_S[1:], ROLLED_S):
        period = interval_s * 1000
        start = -(-minutes[0].open_ts_ms // period) * period
        bars[interval_s] = roll_up([c for c in minutes if c.open_ts_ms >= start], interval_s)[:-1]
    return bars


def renamed(candle: Candle, symbol: str) -> Candle:
    """Return ``candle`` as a bar of ``symbol``."""
    return Candle(
        symbol,
        candle.interval_s,
        candle.open_ts_ms,
        candle.open,
        candle.high,
        candle.low,
        candle.close,
        candle.volume,
        candle.turnover,
        candle.trades,
    )


def time_candles(symbols: list[str], warm_days: int, days: int) -> dict[str, Any]:
    """Warm a fresh desk, then time ``on_candle`` over ``days`` of bars closing minute by minute."""
    recorded = {
        s: bars_by_interval(list(read_klines(KLINES / f"{s}_1m.csv.gz"))) for s in KLINE_SYMBOLS
    }
    first = max(series[60][0].open_ts_ms for series in recorded.values())
    warm_until = (first // DAY_MS + 1 + warm_days) * DAY_MS
    end = warm_until + days * DAY_MS
    desk = every_strategy(symbols)
    # Closing time → the (record, candle) of every symbol's bar closing then, in interval order.
    due: dict[int, list[tuple[CandleRecord, Candle]]] = {}
    for j, symbol in enumerate(symbols):
        source = recorded[KLINE_SYMBOLS[j % len(KLINE_SYMBOLS)]]
        history = {  # the strategies' intervals (no strategy takes 1 m bars)
            interval_s: [renamed(c, symbol) for c in bars if c.close_ts_ms <= warm_until]
            for interval_s, bars in source.items()
            if interval_s != 60
        }
        desk.warm(symbol, history, warm_until)
        for interval_s in EXCHANGE_INTERVALS_S:
            for bar in source[interval_s]:
                if warm_until < bar.close_ts_ms <= end:
                    mine = renamed(bar, symbol)
                    due.setdefault(bar.close_ts_ms, []).append((exchange_record(mine), mine))
    progress(f"desk warmed: {len(symbols)} symbols, {warm_days} days; timing {days} day(s)")
    clock = time.perf_counter_ns
    samples: list[int] = []
    for close_ms in sorted(due):
        for symbol in symbols:
            desk.on_book_top(book_top(symbol, close_ms))
        for record, candle in due[close_ms]:
            start = clock()
            desk.on_candle(record, candle)
            samples.append(clock() - start)
    return {**harness.summarize(samples), "counts": dict(desk.counts)}


def recorded_messages(loops: int) -> list[tuple[str, bytes]]:
    """Return the recorded order-book and trade frames, merged by exchange time, looped."""
    books = harness.looped(harness.recorded_frames(), loops)
    with gzip.open(TRADES, "rb") as lines:
        trades = [line.rstrip(b"\n") for line in lines if line.strip()]
    book_span = orjson.loads(books[-1])["ts"] - orjson.loads(books[0])["ts"]
    span = book_span // loops + 100
    shifted = []
    for k in range(loops):
        for raw in trades:
            frame = orjson.loads(raw)
            frame["ts"] += k * span
            for trade in frame["data"]:
                trade["T"] += k * span
            shifted.append(("trades", orjson.dumps(frame)))
    merged = [("book", raw) for raw in books] + shifted
    merged.sort(key=lambda item: orjson.loads(item[1])["ts"])
    return merged


def market_vectors(messages: list[tuple[str, bytes]]) -> tuple[list[Features], int]:
    """Apply ``messages`` to fresh books; return the feature vectors and the book tops made."""
    books = MarketBooks(lambda: 0)
    vectors = []
    tops = 0
    for kind, raw in messages:
        if kind == "book":
            update = books.apply(raw, 0)
        else:
            maybe = books.apply_trades(raw, 0)
            if maybe is None:
                continue
            update = maybe
        if update.features is not None:
            vectors.append(update.features)
        tops += update.book_top is not None
    return vectors, tops


def time_vectors(symbols: list[str], vectors: list[Features]) -> dict[str, Any]:
    """Time ``on_features`` on every symbol's copy of the recorded vectors, in time order."""
    desk = every_strategy(symbols)
    copies = []
    for vector in vectors:
        index = BOOK_SYMBOLS.index(vector.symbol)
        copies += [
            msgspec.structs.replace(vector, symbol=symbol)
            for j, symbol in enumerate(symbols)
            if j % len(BOOK_SYMBOLS) == index
        ]
    clock = time.perf_counter_ns
    samples = []
    for copy in copies:
        start = clock()
        desk.on_features(copy)
        samples.append(clock() - start)
    return {**harness.summarize(samples), "counts": dict(desk.counts)}


def time_book_tops(symbols: list[str], count: int) -> dict[str, Any]:
    """Time ``on_book_top`` over ``count`` tops spread over the symbols."""
    desk = every_strategy(symbols)
    tops = [book_top(symbols[i % len(symbols)], 1_000 + i) for i in range(count)]
    clock = time.perf_counter_ns
    samples = []
    for top in tops:
        start = clock()
        desk.on_book_top(top)
        samples.append(clock() - start)
    return harness.summarize(samples)


def best(repeats: int, run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run a timing ``repeats`` times and keep the result with the lowest mean."""
    return min((run() for _ in range(repeats)), key=lambda r: float(r["mean_us"]))


def rates(symbols: int, loops: int) -> tuple[dict[str, Any], list[Features]]:
    """Return the feature and bar rates per market message, and the recorded vectors."""
    messages = recorded_messages(loops)
    vectors, tops = market_vectors(messages)
    count = len(messages)
    first = orjson.loads(messages[0][1])["ts"]
    last = orjson.loads(messages[-1][1])["ts"]
    seconds = (last - first) / 1000
    per_symbol_msgs = count / seconds / len(BOOK_SYMBOLS)
    paced_count = len(BOOK_SYMBOLS) * ENGINE_RATE_PER_SYMBOL
    paced = harness.paced([raw for _, raw in messages], paced_count)
    kinds = [kind for kind, _ in messages]
    paced_vectors, paced_tops = market_vectors(list(zip(kinds, paced, strict=True)))
    bars_per_s = symbols * sum(1 / s for s in EXCHANGE_INTERVALS_S)
    live_msgs_per_s = per_symbol_msgs * symbols
    engine_msgs_per_s = ENGINE_RATE_PER_SYMBOL * symbols
    return {
        "recorded": {
            "messages": count,
            "seconds": round(seconds, 1),
            "msgs_per_s_per_symbol": round(per_symbol_msgs, 2),
            "vectors": len(vectors),
        },
        "live": {
            "msgs_per_s": round(live_msgs_per_s, 1),
            "vectors_per_msg": round(len(vectors) / count, 4),
            "book_tops_per_msg": round(tops / count, 4),
            "bars_per_s": round(bars_per_s, 4),
            "bars_per_msg": round(bars_per_s / live_msgs_per_s, 6),
        },
        "engine_bench_rate": {
            "msgs_per_s": engine_msgs_per_s,
            "vectors_per_msg": round(len(paced_vectors) / count, 4),
            "book_tops_per_msg": round(paced_tops / count, 4),
            "bars_per_s": round(bars_per_s, 4),
            "bars_per_msg": round(bars_per_s / engine_msgs_per_s, 6),
        },
    }, vectors


# ---- the broker's hop floor ----------------------------------------------------------------------


async def hop_floor(per_s: float, seconds: float) -> dict[str, Any]:
    """Ping the running broker through a scratch topic; return the one-hop latencies in ms."""
    settings = Settings(namespace=f"bench_placement_{uuid.uuid4().hex[:8]}", partitions=1)
    topic = f"{settings.namespace}.bench.floor"
    await create_floor_topic(settings, topic)
    try:
        ready, stop = threading.Event(), threading.Event()
        reading = asyncio.ensure_future(
            asyncio.to_thread(consume_stamps, settings, topic, (ready, stop), None)
        )
        await asyncio.to_thread(ready.wait, 30)
        ping_stop = threading.Event()
        ping = threading.Thread(target=ping_floor, args=(settings, topic, per_s, ping_stop))
        ping.start()
        await asyncio.sleep(seconds)
        ping_stop.set()
        await asyncio.to_thread(ping.join, 15)
        await asyncio.sleep(1.0)  # the last pings reach the consumer
        stop.set()
        latencies = (await reading)[int(per_s * WARM_UP_S) :]
    finally:
        admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
        await admin.start()
        try:
            await admin.delete_topics([topic])
        finally:
            await admin.close()
    return {
        "bootstrap": settings.kafka_bootstrap,
        "rate_per_s": per_s,
        "seconds": seconds,
        "dropped_warm_up": int(per_s * WARM_UP_S),
        "received": len(latencies),
        **percentiles(latencies, "ms"),
    }


# ---- the decision --------------------------------------------------------------------------------


def decide(desk: dict[str, Any], rate: dict[str, Any], floor: dict[str, Any]) -> dict[str, Any]:
    """Weigh the hop co-location saves against the CPU it adds to every market message."""
    engine = json.loads(ENGINE_PATH.read_text())["variants"]
    budget = {
        variant: engine[variant]["engine"]["cpu_us_per_msg"]
        for variant in ("compiled", "interpreted")
    }
    out: dict[str, Any] = {"engine_cpu_us_per_msg": budget, "source": str(ENGINE_PATH.name)}
    for name in ("live", "engine_bench_rate"):
        r = rate[name]
        extra = (
            desk["per_vector"]["mean_us"] * r["vectors_per_msg"]
            + desk["per_candle"]["mean_us"] * r["bars_per_msg"]
            + desk["per_book_top"]["mean_us"] * r["book_tops_per_msg"]
        )
        out[name] = {
            "desk_us_per_msg": round(extra, 3),
            "share_of_compiled_engine": round(extra / budget["compiled"], 4),
            "share_of_interpreted_engine": round(extra / budget["interpreted"], 4),
            "engine_core_share_added": round(extra * 1e-6 * r["msgs_per_s"], 4),
        }
    worst = max(out[n]["share_of_compiled_engine"] for n in ("live", "engine_bench_rate"))
    hop_share = floor["ms_p99"] / FASTEST_INPUT_MS
    colocate = worst <= MAX_ENGINE_SHARE and hop_share >= MIN_HOP_SHARE_OF_INTERVAL
    out["hop_saved_ms"] = {"p50": floor["ms_p50"], "p99": floor["ms_p99"]}
    out["hop_p99_share_of_100ms_vector_interval"] = round(hop_share, 4)
    out["rule"] = (
        f"co-locate only if the desk adds <= {MAX_ENGINE_SHARE:.0%} of the compiled engine's CPU "
        f"per message and the hop's p99 is >= {MIN_HOP_SHARE_OF_INTERVAL:.0%} of the "
        f"{FASTEST_INPUT_MS:g} ms between a symbol's feature vectors"
    )
    out["decision"] = (
        "co-locate with the market engine" if colocate else "keep in the trading worker"
    )
    return out


def main() -> None:
    """Measure, decide, and write bench/results/signal_placement.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=100)
    parser.add_argument("--warm-days", type=int, default=6, help="untimed warm-up of the desk")
    parser.add_argument("--days", type=int, default=1, help="days of bars timed")
    parser.add_argument("--loops", type=int, default=2, help="passes over the recorded books")
    parser.add_argument("--repeats", type=int, default=3, help="runs per timing, best kept")
    parser.add_argument("--ping-rate", type=float, default=200.0)
    parser.add_argument("--ping-seconds", type=float, default=10.0)
    args = parser.parse_args()
    symbols = symbol_names(args.symbols)
    progress("rates per market message from the recording")
    rate, vectors = rates(args.symbols, args.loops)
    progress(f"timing the desk on {len(symbols)} symbols")
    desk = {
        "per_vector": best(args.repeats, lambda: time_vectors(symbols, vectors)),
        "per_candle": best(1, lambda: time_candles(symbols, args.warm_days, args.days)),
        "per_book_top": best(args.repeats, lambda: time_book_tops(symbols, 50_000)),
    }
    progress(f"broker floor: {args.ping_rate:g}/s for {args.ping_seconds:g} s")
    floor = asyncio.run(hop_floor(args.ping_rate, args.ping_seconds))
    decision = decide(desk, rate, floor)
    harness.write_report(
        "signal_placement",
        {
            **harness.environment(),
            "what": "the signal desk's CPU per market message if it ran in the market engine "
            "(every strategy incl. the scalper, interpreted) vs the broker hop it would save",
            "symbols": args.symbols,
            "desk": desk,
            "rates": rate,
            "broker_floor": floor,
            "decision": decision,
        },
    )


if __name__ == "__main__":
    main()
