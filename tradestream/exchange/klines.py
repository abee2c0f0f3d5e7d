"""Fetch each symbol's last closed bars from Bybit's ``GET /v5/market/kline`` to warm indicators.

Indicators and strategies need a history before the first live bar (an EMA-200 wants 200 bars);
on start, ``warm_up`` asks the exchange for the last ``count`` bars of every symbol and interval
through pybit's ``HTTP.get_kline`` (no key needed; ``HTTP.endpoint`` may point at the simulator,
which serves the endpoint from its own trades). Bybit answers at most 1000 bars per call, newest
first, and the first may be the bar still forming: a bar whose end is after the answer's
``time`` is dropped (its values still change; the live stream will deliver it once closed).
Longer histories are fetched page by page backwards. Bars come back oldest first as ``Candle``s,
the type indicators consume. pybit is synchronous: each call runs in a worker thread, a few at
a time so as to stay well under the endpoint's rate limit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Final, Protocol

from tradestream.core.candles.candle import INTERVALS_S, Candle

PAGE: Final = 1000
"""Most bars Bybit returns per call."""
CONCURRENT_CALLS: Final = 4


class KlineSource(Protocol):
    """What warm-up needs of a Bybit REST client: pybit's ``HTTP`` is one."""

    def get_kline(self, **kwargs: Any) -> dict[str, Any]:
        """Return Bybit's answer to ``GET /v5/market/kline`` (``result.list``, ``time``)."""
        ...


def fetch_closed_bars(
    source: KlineSource, symbol: str, interval: str, count: int, category: str = "linear"
) -> list[Candle]:
    """Return the last ``count`` closed bars of ``symbol`` at ``interval``, oldest first.

    Fewer come back when the exchange has fewer. ``interval`` is Bybit's label ("1", "60").
    """
    interval_s = INTERVALS_S[interval]
    bars: dict[int, Candle] = {}
    end: int | None = None
    while len(bars) < count:
        wanted = min(PAGE, count - len(bars) + 1)  # one more: the first may still be forming
        params: dict[str, Any] = {
            "category": category,
            "symbol": symbol,
            "interval": interval,
            "limit": wanted,
        }
        if end is not None:
            params["end"] = end
        answer = source.get_kline(**params)
        rows: list[list[str]] = answer["result"]["list"]
        now_ms = int(answer["time"])
        for row in rows:
            candle = _candle(symbol, interval_s, row)
            if candle.close_ts_ms <= now_ms:
                bars[candle.open_ts_ms] = candle
        if len(rows) < wanted:
            break  # the exchange has nothing older
        end = int(rows[-1][0]) - 1
    return [bars[start] for start in sorted(bars)][-count:]


async def warm_up(
    source: KlineSource, symbols: Sequence[str], intervals: Sequence[str], count: int
) -> dict[tuple[str, str], list[Candle]]:
    """Fetch the last ``count`` closed bars of every (symbol, interval), oldest first each."""
    limit = asyncio.Semaphore(CONCURRENT_CALLS)

    async def one(symbol: str, interval: str) -> list[Candle]:
        async with limit:
            return await asyncio.to_thread(fetch_closed_bars, source, symbol, interval, count)

    pairs = [(symbol, interval) for symbol in symbols for interval in intervals]
    fetched = await asyncio.gather(*(one(symbol, interval) for symbol, interval in pairs))
    return dict(zip(pairs, fetched, strict=True))


def _candle(symbol: str, interval_s: int, row: list[str]) -> Candle:
    # A result.list row: [startTime, open, high, low, close, volume, turnover], all strings.
    start, open_, high, low, close, volume, turnover = row[:7]
    return Candle(
        symbol,
        interval_s,
        int(start),
        float(open_),
        float(high),
        float(low),
        float(close),
        float(volume),
        float(turnover),
    )
