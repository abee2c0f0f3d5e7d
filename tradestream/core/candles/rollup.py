"""Roll closed bars up into bars of a longer interval, aligned to UTC boundaries.

A 5-minute bar is the 1-minute bars whose open falls in ``[k * 300 s, (k + 1) * 300 s)``: open
of the first, close of the last, highest high, lowest low, summed volume, turnover and trades.
The longer interval must be a whole multiple of the shorter one, and both must divide a day so
that the epoch alignment is the UTC one (a 4-hour bar opens at 00:00, 04:00, ... UTC). Minutes
without trades have no bar and simply add nothing; a roll-up of bars built from the same trades
is the bar built directly at the longer interval (``tests/unit/core/candles``). ClickHouse does
the same roll-up for SQL readers (``sinks/ddl/clickhouse_rollup.sql``).
"""

from __future__ import annotations

from collections.abc import Iterable

from tradestream.core.candles.candle import Candle

DAY_S = 86_400


def check_roll_up(short_s: int, long_s: int) -> None:
    """Refuse intervals that do not nest or do not fit a UTC day evenly."""
    if long_s % short_s or DAY_S % long_s:
        raise ValueError(f"cannot roll {short_s} s bars up into {long_s} s bars aligned to UTC")


def merge(first: Candle, later: Candle, interval_s: int) -> Candle:
    """Return one bar of ``interval_s`` covering ``first`` then ``later`` (in time order)."""
    return Candle(
        first.symbol,
        interval_s,
        first.open_ts_ms - first.open_ts_ms % (interval_s * 1000),
        first.open,
        max(first.high, later.high),
        min(first.low, later.low),
        later.close,
        first.volume + later.volume,
        first.turnover + later.turnover,
        first.trades + later.trades,
    )


class RollUp:
    """Roll one symbol's closed bars, in time order, up into bars of ``interval_s``.

    A rolled-up bar is given out as soon as it is known complete: when the bar that ends on its
    boundary arrives, when a bar of a later period arrives, or when ``on_clock`` passes its end.
    A bar older than the one being rolled up is late: counted, not added.
    """

    __slots__ = ("_end_ms", "_interval_ms", "_partial", "interval_s", "late")

    def __init__(self, interval_s: int) -> None:
        self.interval_s = interval_s
        self._interval_ms = interval_s * 1000
        self._partial: Candle | None = None
        self._end_ms = 0
        self.late = 0

    def on_bar(self, bar: Candle) -> list[Candle]:
        """Add one closed shorter bar; return the rolled-up bars it completed (zero to two)."""
        check_roll_up(bar.interval_s, self.interval_s)
        partial = self._partial
        done: list[Candle] = []
        if partial is not None and bar.open_ts_ms < partial.open_ts_ms:
            self.late += 1
            return done
        if partial is not None and bar.open_ts_ms < self._end_ms:
            self._partial = merge(partial, bar, self.interval_s)
        else:
            if partial is not None:
                done.append(partial)
            self._partial = _widen(bar, self.interval_s)
            self._end_ms = self._partial.open_ts_ms + self._interval_ms
        if bar.close_ts_ms >= self._end_ms:
            done.append(self._partial)
            self._partial = None
        return done

    def on_clock(self, ts_ms: int) -> Candle | None:
        """Return the rolled-up bar if ``ts_ms`` is past its end (no more bars can join it)."""
        if self._partial is not None and ts_ms >= self._end_ms:
            finished, self._partial = self._partial, None
            return finished
        return None

    def partial(self) -> Candle | None:
        """Return the rolled-up bar so far, or None."""
        return self._partial


def _widen(bar: Candle, interval_s: int) -> Candle:
    # The first bar of a period, as a bar of the longer interval.
    return Candle(
        bar.symbol,
        interval_s,
        bar.open_ts_ms - bar.open_ts_ms % (interval_s * 1000),
        bar.open,
        bar.high,
        bar.low,
        bar.close,
        bar.volume,
        bar.turnover,
        bar.trades,
    )


def roll_up(bars: Iterable[Candle], interval_s: int) -> list[Candle]:
    """Roll a time-ordered run of bars up at once (history, tests); the last may be partial."""
    roll = RollUp(interval_s)
    rolled: list[Candle] = []
    for bar in bars:
        rolled.extend(roll.on_bar(bar))
    last = roll.partial()
    if last is not None:
        rolled.append(last)
    return rolled
