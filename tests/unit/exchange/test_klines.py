"""Warm-up: the last N closed bars, oldest first, paged backwards, the forming bar left out."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from tradestream.exchange.klines import PAGE, fetch_closed_bars, warm_up

MINUTE = 60_000
NOW = 1_786_310_790_000  # half-way through the minute opening at NOW - 30 s


class FakeKlines:
    """Answer ``get_kline`` as Bybit does: bars up to ``end``, newest first, at most ``limit``."""

    def __init__(self, closed: int) -> None:
        forming = NOW - NOW % MINUTE
        self.starts = [forming - i * MINUTE for i in range(closed + 1)]  # newest first
        self.calls: list[dict[str, Any]] = []

    def get_kline(self, **params: Any) -> dict[str, Any]:
        self.calls.append(params)
        end = params.get("end", NOW)
        chosen = [s for s in self.starts if s <= end][: params.get("limit", 200)]
        rows = [[str(s), "1", "2", "0.5", "1.5", "10", "15"] for s in chosen]
        return {"retCode": 0, "result": {"list": rows}, "time": NOW}


def test_the_last_bars_are_fetched_page_by_page_without_the_forming_one() -> None:
    source = FakeKlines(closed=3000)
    bars = fetch_closed_bars(source, "BTCUSDT", "1", 2500)
    starts = [bar.open_ts_ms for bar in bars]
    assert len(bars) == 2500
    assert starts == sorted(starts)
    assert starts[-1] == source.starts[1]  # the newest closed bar
    assert all(b - a == MINUTE for a, b in itertools.pairwise(starts))
    assert [call["limit"] for call in source.calls] == [PAGE, PAGE, 502]
    assert (bars[0].interval_s, bars[0].open, bars[0].volume, bars[0].turnover) == (60, 1, 10, 15)


def test_a_short_history_gives_what_there_is() -> None:
    bars = fetch_closed_bars(FakeKlines(closed=5), "BTCUSDT", "1", 200)
    assert len(bars) == 5


async def test_warm_up_fetches_every_symbol_and_interval() -> None:
    fetched = await warm_up(FakeKlines(closed=50), ["BTCUSDT", "ETHUSDT"], ["1", "5"], 20)
    assert sorted(fetched) == [
        ("BTCUSDT", "1"),
        ("BTCUSDT", "5"),
        ("ETHUSDT", "1"),
        ("ETHUSDT", "5"),
    ]
    assert all(len(bars) == 20 for bars in fetched.values())


def test_an_interval_we_do_not_carry_is_refused() -> None:
    with pytest.raises(KeyError):
        fetch_closed_bars(FakeKlines(closed=5), "BTCUSDT", "W", 10)
