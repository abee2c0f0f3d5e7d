"""Real feature vectors in, order-book scalper signals out: through the real broker.

The recorded 44 s of Bybit order books and trades go to the raw topics; a market worker turns
them into the 99-feature vectors of ``md.features``; a trading worker runs the signal agent with
an order-book scalper on the four recorded symbols, and its signals come out on ``sig.signals``.
Until the signal agent knew the published layout (``feature_names(MarketConfig())``) it skipped
every vector as an unknown schema; the candle test (``test_signals.py``) could not see that.

The recording is a quiet market, so the shipped ``obscalp`` params (``config/strategies.yaml``)
never fire on it: no vector has a cluster breakout or an absorption (the trigger), BTC's mid
never moves (realized volatility 0) and ETH's moves once (0.45 bps, under the 0.5 bps floor),
and no depth-5 imbalance but ETH's passes 0.7. This test's instance waives the trigger and the
volatility floor and reads the touch imbalance (``imbalance_1``) at the shipped 0.7 threshold;
replayed in receive order that makes 4 signals (ETH 1, SOL 1, DOGE 2), the rest stopped mostly
by imbalance, spoofing/layering, OFI and the 5 s cooldown.
"""

from __future__ import annotations

import shutil
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
import orjson
from aiokafka import AIOKafkaProducer

from tests.support.recordings import ALL_TOPICS, frames
from tests.support.trading_spine import read_topic
from tests.support.waiting import eventually
from tests.support.workers import running_worker
from tradestream.cli.demo import free_port
from tradestream.config.settings import Settings
from tradestream.core.market import MarketBooks, feature_names, names_id
from tradestream.core.market_config import MarketConfig
from tradestream.core.strategies.desk import DeskConfig, Instance, SignalDesk
from tradestream.schemas.market import Features
from tradestream.schemas.trading import Signal
from tradestream.streams import topics
from tradestream.streams.admin import ensure_topics
from tradestream.streams.lag import wait_until_consumed

CONFIG = Path(__file__).resolve().parents[2] / "config"
NAME = "obscalp"
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "DOGEUSDT")
SHIPPED = {"imbalance_depth": 5, "imbalance_threshold": 0.7}  # config/strategies.yaml
PARAMS = {"imbalance_depth": 1, "imbalance_threshold": 0.7, "require_trigger": False,
          "min_volatility_bps": 0.0}  # fmt: skip
STRATEGIES = """strategies:
  - name: obscalp
    kind: order_book_scalper
    symbols: [BTCUSDT, ETHUSDT, SOLUSDT, DOGEUSDT]
    params: {imbalance_depth: 1, imbalance_threshold: 0.7, require_trigger: false,
             min_volatility_bps: 0.0}
"""
# Receive-order replay of the recording with PARAMS (MarketBooks, then a SignalDesk).
RECORDED_ORDER_IDS = [
    "obscalp-ETHUSDT-1786310818731",
    "obscalp-DOGEUSDT-1786310850380",
    "obscalp-SOLUSDT-1786310853453",
    "obscalp-DOGEUSDT-1786310857481",
]
RAW_TOPIC = {"orderbook": topics.ORDERBOOK_RAW, "publicTrade": topics.TRADES_RAW}


def recorded_frames() -> list[tuple[topics.TopicSpec, str, bytes]]:
    """Return the recording's book and trade frames in receive order: (raw topic, symbol, frame)."""
    out = []
    for raw in frames(ALL_TOPICS):
        topic = str(orjson.loads(raw).get("topic", ""))
        family, _, symbol = topic.partition(".")
        if family in RAW_TOPIC:
            out.append((RAW_TOPIC[family], symbol.rsplit(".", 1)[-1], raw))
    return out


def engine_vectors(recorded: Iterable[tuple[topics.TopicSpec, str, bytes]]) -> list[Features]:
    """Return the vectors the market engine makes of frames taken in this order."""
    books = MarketBooks(lambda: 0)
    vectors = []
    for spec, _, raw in recorded:
        ts = int(orjson.loads(raw)["ts"])
        update = (
            books.apply(raw, ts) if spec is topics.ORDERBOOK_RAW else books.apply_trades(raw, ts)
        )
        if update is not None and update.features is not None:
            vectors.append(update.features)
    return vectors


def desk_signals(
    vectors: Iterable[Features], params: Mapping[str, object], settings: Settings | None = None
) -> list[Signal]:
    """Return the signals a desk like the trading worker's makes of ``vectors``, in order."""
    names = feature_names(MarketConfig())
    instances: list[Instance] = [("order_book_scalper", NAME, s, params) for s in SYMBOLS]
    config = DeskConfig()
    if settings is not None:
        config = DeskConfig(book_stale_after_ms=settings.book_stale_after_ms)
    desk = SignalDesk.of(instances, feature_schemas={names_id(names): names}, config=config)
    return [s for v in vectors for s in desk.on_features(v).signals]


def ids_by_symbol(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """Group (symbol, signal id) pairs by symbol, in order (a symbol keeps its partition's)."""
    grouped: dict[str, list[str]] = defaultdict(list)
    for symbol, signal_id in pairs:
        grouped[symbol].append(signal_id)
    return dict(grouped)


async def produce(
    settings: Settings, recorded: Sequence[tuple[topics.TopicSpec, str, bytes]]
) -> None:
    """Send the frames to their raw topics, keyed by symbol as the ingest does, in order."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for spec, symbol, raw in recorded:
            await producer.send(settings.scoped(spec.name), raw, key=symbol.encode())
        await producer.flush()
    finally:
        await producer.stop()


def test_the_recording_fires_the_scalper_only_with_the_waived_trigger_and_floor() -> None:
    vectors = engine_vectors(recorded_frames())

    assert {v.symbol for v in vectors} == set(SYMBOLS)
    assert desk_signals(vectors, SHIPPED) == []
    assert [s.signal_id for s in desk_signals(vectors, PARAMS)] == RECORDED_ORDER_IDS


async def test_recorded_frames_become_scalper_signals_through_the_market_and_trading_workers(
    settings: Settings,
    kafka_cleanup: None,
    pool: asyncpg.Pool,  # the trading worker's PostgreSQL schema, dropped afterwards
    tmp_path: Path,
) -> None:
    for name in ("symbols.yaml", "risk.yaml", "execution.yaml", "protection.yaml"):
        shutil.copy(CONFIG / name, tmp_path / name)
    (tmp_path / "strategies.yaml").write_text(STRATEGIES)
    await ensure_topics(settings)
    common = {"TRADESTREAM_CONFIG_DIR": str(tmp_path)}
    market = settings.model_copy(update={"roles": ("market",)})
    trading = settings.model_copy(update={"roles": ("trading",), "web_port": free_port()})
    raw_topics = [settings.scoped(spec.name) for spec in RAW_TOPIC.values()]
    features_topic = settings.scoped(topics.FEATURES.name)
    async with (
        running_worker(market, TRADESTREAM_ROLES="market", **common),
        running_worker(trading, TRADESTREAM_ROLES="trading",
                       TRADESTREAM_BYBIT_REST_URL=f"http://127.0.0.1:{free_port()}", **common),
    ):  # fmt: skip
        await produce(settings, recorded_frames())
        await wait_until_consumed(market, raw_topics, 30)
        await wait_until_consumed(trading, [features_topic], 30)
        vectors = [
            msgspec.convert(v, Features) for v in await read_topic(settings, topics.FEATURES.name)
        ]
        # The engine reads books and trades off two topics, so how they interleave (and with it
        # which vectors pass the 100 ms throttle and what the trade-fed analytics saw) is up to
        # the fetches: the ids cannot be pinned to RECORDED_ORDER_IDS (offline merges of the two
        # streams give 3 to 4 signals, mostly the same). What is exact is the agent's work on the
        # vectors it was given: the same signals a desk makes of the vectors on md.features.
        expected = desk_signals(vectors, PARAMS, trading)
        layout = names_id(feature_names(MarketConfig()))
        assert {(v.names_id, len(v.values)) for v in vectors} == {(layout, 99)}
        assert {v.symbol for v in vectors} == set(SYMBOLS)
        assert expected, "the recording made no scalper signal through the engine"

        async def published() -> list[dict[str, Any]] | None:
            got = await read_topic(settings, topics.SIGNALS.name)
            return got if len(got) >= len(expected) else None

        signals = await eventually(published, within=30, message="scalper signals")

    assert ids_by_symbol((v["symbol"], v["signal_id"]) for v in signals) == ids_by_symbol(
        (x.symbol, x.signal_id) for x in expected
    )
    for value in signals:
        signal = Signal.model_validate(value)
        assert signal.strategy == NAME
        assert signal.signal_id == f"{NAME}-{signal.symbol}-{signal.created_ts_ms}"
        assert signal.reason.startswith(("buy: imbalance_1 ", "sell: imbalance_1 "))
        assert {"imbalance_1", "microprice", "ofi_5_sum_1s", "realized_vol_60s",
                "imbalance_threshold", "stop_bps"} <= signal.indicators.keys()  # fmt: skip
    assert {x.signal_id: x for x in expected} == {
        v["signal_id"]: Signal.model_validate(v) for v in signals
    }
