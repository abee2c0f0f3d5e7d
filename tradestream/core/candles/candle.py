"""The bar type shared by live agents, the backtester and the tests."""

from __future__ import annotations

from dataclasses import dataclass

# Bybit v5 kline intervals we carry, in seconds, by Bybit's own label ("1" = one minute).
INTERVALS_S: dict[str, int] = {
    "1": 60,
    "5": 300,
    "15": 900,
    "30": 1_800,
    "60": 3_600,
    "240": 14_400,
    "D": 86_400,
}


def interval_label(interval_s: int) -> str:
    """Return Bybit's label for an interval in seconds ("5" for 300 s), "<n>s" below a minute."""
    for label, seconds in INTERVALS_S.items():
        if seconds == interval_s:
            return label
    return f"{interval_s}s"


@dataclass(frozen=True, slots=True)
class Candle:
    """One closed OHLCV bar of one symbol; ``open_ts_ms`` is the bar's start, UTC."""

    symbol: str
    interval_s: int
    open_ts_ms: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    turnover: float = 0.0
    trades: int = 0
    """Trades in the bar; 0 when the source does not say (an exchange kline)."""

    @property
    def close_ts_ms(self) -> int:
        """Return the first millisecond after the bar (the next bar's start)."""
        return self.open_ts_ms + self.interval_s * 1_000
