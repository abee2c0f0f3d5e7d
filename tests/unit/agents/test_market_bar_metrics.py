"""The market engine exports its bar builders' late trades and clock closes to Prometheus."""

from __future__ import annotations

from tests.unit.agents.test_market_candles import BOOKS, T0, TRADES, Rig, book, trades
from tradestream.web import metrics


def sample(name: str, interval: str) -> float:
    """Return the current value of one of the candle counters for ``interval``."""
    value = metrics.registry.get_sample_value(name, {"interval": interval})
    return 0.0 if value is None else value


def counts(interval: str) -> tuple[float, float]:
    """Return (late trades, bars closed by the clock) exported so far for ``interval``."""
    return (
        sample("tradestream_candle_late_trades_total", interval),
        sample("tradestream_candle_bars_closed_by_clock_total", interval),
    )


def test_a_clock_close_and_a_late_trade_are_exported_by_interval_once_per_batch() -> None:
    rig = Rig(intervals=(5, 60))
    minute, five = counts("1"), counts("5s")
    rig.apply((BOOKS, book(T0 - 5)), (TRADES, trades((T0 + 10, "1.05", "1"))))
    rig.apply((BOOKS, book(T0 + 61_000, u=2)))  # the quiet minute closes by the book's time
    assert counts("1") == (minute[0], minute[1] + 1)
    rig.apply((TRADES, trades((T0 + 59_000, "1.05", "1"))))  # a trade of the closed minute
    assert counts("1") == (minute[0] + 1, minute[1] + 1)
    assert counts("5s") == (five[0], five[1] + 1)  # its 5 s bar opens a new one: not late
    rig.apply((BOOKS, book(T0 + 61_001, u=3)))  # nothing new: nothing added
    assert counts("1") == (minute[0] + 1, minute[1] + 1)


def test_counts_of_a_dropped_symbol_stay_exported() -> None:
    rig = Rig()
    before = counts("1")
    rig.apply((BOOKS, book(T0 - 5)), (TRADES, trades((T0 + 10, "1.05", "1"))))
    rig.apply((BOOKS, book(T0 + 61_000, u=2)), (TRADES, trades((T0 + 20, "1.05", "1"))))
    rig.batches.books.forget("ABCUSDT")  # a rebalance moved the symbol away
    rig.apply((BOOKS, book(T0 + 61_000, u=1, symbol="XYZUSDT")))
    assert counts("1") == (before[0] + 1, before[1] + 1)
