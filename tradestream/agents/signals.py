"""The signal agent: closed bars and feature vectors in, strategy signals out on ``sig.signals``.

```
md.candles  ──┐
md.features ──┼─▶ make_signals (per symbol partition: SignalDesk) ──▶ sig.signals ──▶ risk
md.book.top ──┘                                                       (and ClickHouse signals)
```

One Faust agent reads the three co-partitioned topics together, so the bars, vectors and book
tops of a symbol come to the same worker, and drives the pure ``SignalDesk``
(``core/strategies/desk.py``: which bars feed which strategy, when a book is too stale or
invalid to back a signal). It runs in the trading worker (``roles=trading``): bars are few (a
hundred symbols make a few bars a second) and it feeds the risk agent of that worker, so it
costs a hop on ``sig.signals`` but no second consumer of the raw market data. Strategies come
from ``config/strategies.yaml`` (enabled instances, per-symbol overrides).

Before a symbol's first live bar its strategies are warmed with the last
``signal_warmup_bars`` closed bars of each interval from Bybit's REST kline endpoint (pybit;
``bybit_rest_url`` points it at the simulator). The fetch is best-effort and bounded by
``signal_warmup_timeout_s``: a failure is logged and the symbol starts cold. Each event runs in
its own error boundary (undecodable → dead-letter queue); a strategy that raises is counted
(``tradestream_strategy_failures_total``) and logged, and the others still get the event.
"""

from __future__ import annotations

import asyncio
import logging
from functools import cache
from typing import Any

import msgspec
from pybit.unified_trading import HTTP

from tradestream.agents.boundary import dead_letter_on_error
from tradestream.agents.channels import source_topics
from tradestream.agents.resources import dead_letter_queue
from tradestream.app import app, settings
from tradestream.config.files import StrategiesConfig, load_yaml
from tradestream.core.candles.candle import INTERVALS_S, Candle, interval_label
from tradestream.core.candles.records import candle_of
from tradestream.core.errors import BadInputError
from tradestream.core.market import feature_names, names_id
from tradestream.core.market_config import MarketConfig
from tradestream.core.strategies.desk import SCALPER_KIND, DeskConfig, DeskOutcome, SignalDesk
from tradestream.exchange.klines import warm_up
from tradestream.schemas.market import book_top_decoder, candle_decoder, features_decoder
from tradestream.streams import topics
from tradestream.web import metrics

log = logging.getLogger(__name__)

signals_topic = source_topics(topics.SIGNALS)
_SOURCES = {
    settings.scoped(spec.name): spec.name
    for spec in (topics.CANDLES, topics.FEATURES, topics.BOOK_TOP)
}


@cache
def desk() -> SignalDesk:
    """Return this worker's desk: the enabled strategies of ``config/strategies.yaml``."""
    config = load_yaml(settings.config_dir / "strategies.yaml", StrategiesConfig)
    names = feature_names(MarketConfig())  # the market engine's published vector layout
    return SignalDesk.of(
        config.instances(),
        feature_schemas={names_id(names): names},
        config=DeskConfig(
            exchange_intervals_s=frozenset(INTERVALS_S[i] for i in settings.kline_intervals),
            book_stale_after_ms=settings.book_stale_after_ms,
        ),
    )


@cache
def kline_source() -> HTTP:
    """Return the pybit client the warm-up reads klines with (no key: a public endpoint)."""
    http = HTTP(testnet=settings.bybit_testnet, timeout=5, max_retries=1, log_requests=False)
    if settings.bybit_rest_url is not None:
        http.endpoint = settings.bybit_rest_url.rstrip("/")
    return http


async def make_signals(stream: Any) -> None:
    """Turn each bar and feature vector into the signals of its symbol's strategies."""
    async for event in stream.events():
        source = _SOURCES.get(event.message.topic, event.message.topic)
        async with dead_letter_on_error(dead_letter_queue(), event.value, source):
            outcome = await handle(source, event.value)
            if outcome is not None:
                await publish(outcome)


async def handle(source: str, raw: bytes) -> DeskOutcome | None:
    """Decode one input record and hand it to the desk; warm a symbol up before its first bar."""
    signal_desk = desk()
    try:
        if source == topics.CANDLES.name:
            record = candle_decoder.decode(raw)
            if record.source == "exchange" and signal_desk.needs_warm_up(record.symbol):
                await warm(signal_desk, record.symbol, record.open_ts_ms)
            return signal_desk.on_candle(record, candle_of(record))
        if source == topics.FEATURES.name:
            return signal_desk.on_features(features_decoder.decode(raw))
        signal_desk.on_book_top(book_top_decoder.decode(raw))
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise BadInputError(f"not a {source} record: {exc}") from exc
    return None


async def warm(signal_desk: SignalDesk, symbol: str, before_ms: int) -> None:
    """Feed ``symbol``'s strategies their recent history; on any failure, start them cold."""
    history: dict[int, list[Candle]] = {}
    count = settings.signal_warmup_bars
    labels = [interval_label(interval_s) for interval_s in signal_desk.intervals(symbol)]
    if count > 0:
        try:
            async with asyncio.timeout(settings.signal_warmup_timeout_s):
                fetched = await warm_up(kline_source(), [symbol], labels, count)
            history = {INTERVALS_S[label]: bars for (_, label), bars in fetched.items()}
        except Exception as exc:  # best effort: a cold start beats no start
            log.warning("warm-up of %s failed, starting cold: %s", symbol, exc)
    fed = signal_desk.warm(symbol, history, before_ms)
    metrics.strategy_warm_ups.labels(outcome="warm" if fed else "cold").inc()
    log.info("warmed %s with %d bars (%s)", symbol, fed, ", ".join(labels))


async def publish(outcome: DeskOutcome) -> None:
    """Send the desk's signals to ``sig.signals`` (keyed by symbol) and count the rest."""
    for signal in outcome.signals:
        await signals_topic.send(
            key=signal.symbol.encode(), value=signal.model_dump_json().encode()
        )
        metrics.signals_published.labels(strategy=signal.strategy).inc()
    for strategy, reason in outcome.suppressed:
        metrics.signals_suppressed.labels(strategy=strategy, reason=reason).inc()
    for strategy, error in outcome.failures:
        metrics.strategy_failures.labels(strategy=strategy).inc()
        log.error("strategy %s failed: %s", strategy, error)
    if outcome.skipped is not None:
        metrics.signal_inputs_skipped.labels(reason=outcome.skipped).inc()


def inputs_for(config: StrategiesConfig) -> tuple[topics.TopicSpec, ...]:
    """Return the topics the enabled strategies need: none when no strategy is enabled.

    Every record a Faust agent reads costs the worker ~100 µs whether or not a strategy wants
    it; a trading worker with no scalper has no use for the feature vectors, one with no candle
    strategy none for the bars, and one with no strategy at all needs no signal agent.
    """
    kinds = {kind for kind, _name, _symbol, _params in config.instances()}
    if not kinds:
        return ()
    wanted = [topics.BOOK_TOP]  # book validity and freshness, for every strategy
    if kinds - {SCALPER_KIND}:
        wanted.append(topics.CANDLES)
    if SCALPER_KIND in kinds:
        wanted.append(topics.FEATURES)
    return tuple(wanted)


def register() -> None:
    """Add the signal agent to the app (the ``trading`` role) when a strategy is enabled."""
    wanted = inputs_for(load_yaml(settings.config_dir / "strategies.yaml", StrategiesConfig))
    if not wanted:
        log.info("no strategy enabled in strategies.yaml: no signal agent")
        return
    app.agent(source_topics(*wanted), name="make_signals")(make_signals)
