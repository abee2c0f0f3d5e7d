"""The signal desk routes bars by interval, rolls 30 m up, holds back unsafe signals, isolates."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.unit.core.strategies.recorded import minutes
from tradestream.config.files import ConfigFileError, StrategiesConfig, load_yaml
from tradestream.core.candles import Candle, roll_up
from tradestream.core.candles.records import price_text
from tradestream.core.errors import BadInputError
from tradestream.core.strategies.desk import DeskConfig, SignalDesk
from tradestream.schemas.market import BookTop, CandleRecord, Features
from tradestream.schemas.trading import Signal

SYMBOL = "BTCUSDT"
FAST = {"interval_s": 300, "supertrend_period": 5, "multiplier": 1.5}


class Recorder:
    """A strategy that keeps what it is fed and never signals."""

    def __init__(self, interval_s: int, name: str = "rec") -> None:
        self.name, self.symbol, self.interval_s = name, SYMBOL, interval_s
        self.bars: list[Candle] = []

    def on_candle(self, candle: Candle) -> Signal | None:
        self.bars.append(candle)
        return None


class Broken(Recorder):
    """A strategy with a bug: it raises on every bar."""

    def on_candle(self, candle: Candle) -> Signal | None:
        raise ZeroDivisionError("bug")


def record(bar: Candle, source: str = "exchange") -> CandleRecord:
    label = {60: "1", 300: "5", 900: "15", 1800: "30"}[bar.interval_s]
    return CandleRecord(
        symbol=bar.symbol,
        interval=label,
        interval_s=bar.interval_s,
        source=source,  # type: ignore[arg-type]
        open_ts_ms=bar.open_ts_ms,
        close_ts_ms=bar.close_ts_ms,
        open=price_text(bar.open),
        high=price_text(bar.high),
        low=price_text(bar.low),
        close=price_text(bar.close),
        volume=repr(bar.volume),
        turnover="0",
        trades=0,
        exchange_ts_ms=bar.close_ts_ms,
        produced_ts_ms=bar.close_ts_ms,
    )


def top(ts_ms: int, status: str = "valid") -> BookTop:
    return BookTop(
        symbol=SYMBOL, status=status, bid_px="1", bid_sz="1", ask_px="2", ask_sz="1", u=1,
        seq=1, exchange_ts_ms=ts_ms, cts_ms=ts_ms, recv_ts_ms=ts_ms, produced_ts_ms=ts_ms,
    )  # fmt: skip


def aligned_minutes(count: int, period_s: int = 1800, skip: int = 0) -> list[Candle]:
    bars = list(minutes(SYMBOL))
    first = next(i for i, b in enumerate(bars) if b.open_ts_ms % (period_s * 1000) == 0)
    return bars[first + skip : first + skip + count]


def feed(
    desk: SignalDesk, bars: Sequence[Candle], book_lag_ms: int | None = 0, status: str = "valid"
) -> tuple[list[Signal], list[tuple[str, str]]]:
    """Feed 1-minute bars and their 5-minute roll-ups, a book top before each (unless None)."""
    signals: list[Signal] = []
    suppressed: list[tuple[str, str]] = []
    five = [b for b in roll_up(bars, 300) if b.close_ts_ms <= bars[-1].close_ts_ms]
    by_close = {b.close_ts_ms: b for b in five}
    for bar in bars:
        if book_lag_ms is not None:
            desk.on_book_top(top(bar.close_ts_ms - book_lag_ms, status))
        for candle in (bar, by_close.get(bar.close_ts_ms)):
            if candle is not None:
                outcome = desk.on_candle(record(candle), candle)
                signals += outcome.signals
                suppressed += outcome.suppressed
    return signals, suppressed


def supertrend_desk() -> SignalDesk:
    return SignalDesk.of([("supertrend", "st", SYMBOL, FAST)])


def test_each_strategy_gets_the_bars_of_its_interval() -> None:
    five, thirty, one = Recorder(300), Recorder(1800), Recorder(60)
    desk = SignalDesk([five, thirty, one], config=DeskConfig(exchange_intervals_s={60, 300}))
    bars = aligned_minutes(180)
    feed(desk, bars)
    assert one.bars == bars
    assert five.bars == roll_up(bars, 300)
    assert thirty.bars == roll_up(bars, 1800)  # rolled up from the minutes: 6 whole bars
    assert [b.interval_s for b in thirty.bars] == [1800] * 6


def test_trade_built_and_redelivered_bars_are_not_fed_twice() -> None:
    one, thirty = Recorder(60), Recorder(1800)
    desk = SignalDesk([one, thirty], config=DeskConfig(exchange_intervals_s={60}))
    bars = aligned_minutes(30)
    for bar in bars:
        assert desk.on_candle(record(bar, "trades"), bar).skipped == "trades_bar"
        desk.on_candle(record(bar), bar)
        desk.on_candle(record(bar), bar)  # at-least-once delivery
    assert one.bars == bars
    assert thirty.bars == roll_up(bars, 1800)
    assert desk.counts["skipped:old_bar"] == 30


def test_a_roll_up_that_starts_mid_period_drops_its_partial_first_bar() -> None:
    thirty = Recorder(1800)
    desk = SignalDesk([thirty], config=DeskConfig(exchange_intervals_s={60}))
    feed(desk, aligned_minutes(90, skip=7))  # 23 minutes of the first period, then two whole
    assert [b.open_ts_ms for b in thirty.bars] == [
        b.open_ts_ms for b in roll_up(aligned_minutes(60, skip=30), 1800)
    ]
    assert desk.counts["partial_roll_up"] == 1


def test_signals_are_deterministic() -> None:
    bars = aligned_minutes(3000)
    first, _ = feed(supertrend_desk(), bars)
    second, _ = feed(supertrend_desk(), bars)
    assert len(first) >= 5
    assert [s.signal_id for s in first] == [s.signal_id for s in second]
    assert first[0].signal_id.startswith(f"st-{SYMBOL}-")


@pytest.mark.parametrize(
    ("lag_ms", "status", "reason"),
    [(60_000, "valid", "book_stale"), (0, "invalid", "book_invalid"), (None, "valid", "no_book")],
)
def test_an_unsafe_book_holds_every_signal_back_and_says_why(
    lag_ms: int | None, status: str, reason: str
) -> None:
    bars = aligned_minutes(3000)
    fired, _ = feed(supertrend_desk(), bars)
    desk = supertrend_desk()
    signals, suppressed = feed(desk, bars, book_lag_ms=lag_ms, status=status)
    assert signals == []
    assert suppressed == [("st", reason)] * len(fired)  # the indicators went on all the same
    assert desk.counts[f"suppressed:{reason}"] == len(fired)


def test_a_book_just_within_the_threshold_is_fresh() -> None:
    bars = aligned_minutes(3000)
    fired, _ = feed(supertrend_desk(), bars)
    signals, _ = feed(supertrend_desk(), bars, book_lag_ms=5_000)
    assert signals == fired


def test_a_raising_strategy_is_isolated() -> None:
    broken, healthy = Broken(300, "broken"), Recorder(300)
    desk = SignalDesk([broken, healthy])
    bars = aligned_minutes(60)
    outcomes = [desk.on_candle(record(b), b) for b in roll_up(bars, 300)]
    assert len(healthy.bars) == 12
    assert all(o.failures == [("broken", "ZeroDivisionError: bug")] for o in outcomes)
    assert desk.counts["failed"] == 12


def test_warm_up_feeds_history_silently_and_live_bars_go_on_from_there() -> None:
    bars = aligned_minutes(3000)
    five = roll_up(bars, 300)
    history, live = five[:400], five[400:]
    cold = supertrend_desk()
    fired, _ = feed(cold, bars)
    desk = supertrend_desk()
    assert desk.needs_warm_up(SYMBOL)
    # The history fetched may already hold the first live bar: only bars closed before it count.
    assert desk.warm(SYMBOL, {300: five[:401]}, before_ms=live[0].open_ts_ms) == 400
    assert not desk.needs_warm_up(SYMBOL)
    signals: list[Signal] = []
    for bar in live:
        desk.on_book_top(top(bar.close_ts_ms))
        signals += desk.on_candle(record(bar), bar).signals
    assert signals == [s for s in fired if s.created_ts_ms > history[-1].close_ts_ms]


def features(names_id: str, values: Sequence[float], ts_ms: int = 1_000) -> Features:
    return Features(
        symbol=SYMBOL, book_status="valid", names_id=names_id, values=list(values),
        exchange_ts_ms=ts_ms, recv_ts_ms=ts_ms, produced_ts_ms=ts_ms,
    )  # fmt: skip


def test_feature_vectors_back_candle_signals_and_feed_the_scalper_only_when_they_can() -> None:
    desk = SignalDesk.of(
        [("order_book_scalper", "scalp", SYMBOL, {})], feature_schemas={"abc": ("mid", "spread")}
    )
    assert desk.verdict(SYMBOL, 1_000) == "no_book"
    assert desk.on_features(features("zzz", [1.0, 2.0])).skipped == "unknown_feature_schema"
    assert desk.verdict(SYMBOL, 1_000) is None  # any vector says the book was valid then
    assert desk.verdict(SYMBOL, 7_000) == "book_stale"
    assert desk.on_features(features("abc", [1.0, 2.0])).skipped == "scalper_features_missing"
    with pytest.raises(BadInputError):
        desk.on_features(features("abc", [1.0]))


def test_strategies_config_overrides_and_refusals(tmp_path: Path) -> None:
    path = tmp_path / "strategies.yaml"
    path.write_text(
        "strategies:\n"
        "  - {name: st, kind: supertrend, symbols: [BTCUSDT, ETHUSDT],\n"
        "     params: {interval_s: 300}, overrides: {ETHUSDT: {multiplier: 2.0}}}\n"
        "  - {name: trend, kind: trend_following, symbols: [BTCUSDT], enabled: false}\n"
    )
    config = load_yaml(path, StrategiesConfig)
    assert config.instances() == [
        ("supertrend", "st", "BTCUSDT", {"interval_s": 300}),
        ("supertrend", "st", "ETHUSDT", {"interval_s": 300, "multiplier": 2.0}),
    ]
    path.write_text(
        "strategies:\n  - {name: st, kind: supertrend, symbols: [BTCUSDT], params: {nope: 1}}\n"
    )
    with pytest.raises(ConfigFileError, match="nope"):
        load_yaml(path, StrategiesConfig)


def test_the_shipped_config_is_valid_and_runs_nothing() -> None:
    shipped = Path(__file__).resolve().parents[4] / "config" / "strategies.yaml"
    config = load_yaml(shipped, StrategiesConfig)
    assert {s.kind.value for s in config.strategies} == {
        "momentum_breakout", "trend_following", "mean_reversion", "sar_wave", "supertrend",
        "volume_profile", "order_book_scalper",
    }  # fmt: skip
    assert config.instances() == []
