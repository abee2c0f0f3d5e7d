"""Generate an endless Bybit-shaped stream for N symbols at R messages per second.

Every shape comes from a recording (see ``profile``): symbol ``i`` copies recorded symbol
``i mod k`` (its price grid and starting book, renamed like replay copies), each book delta
touches as many levels per side as some recorded delta did, at recorded distances from the best
price, with recorded sizes; trades carry recorded counts and sizes at the best price; the
message mix follows the recording. The generator mirrors each book so its deltas never cross the
book, never delete a missing level and keep at most the recorded depth per side; now and then it
removes or improves the best level so prices wander. Output is deterministic for a seed, apart
from timestamps, which are wall-clock milliseconds.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

import orjson

from tradestream.simulator.book import Book, BookSide, Level
from tradestream.simulator.config import SyntheticSourceConfig
from tradestream.simulator.events import BookEvent, MarketSink, TickerEvent, TradeEvent
from tradestream.simulator.frames import ticker_frame
from tradestream.simulator.pacing import Throttle
from tradestream.simulator.profile import MarketProfile, SymbolProfile
from tradestream.simulator.replay import copy_name

T = TypeVar("T")

MIN_LEVELS = 20
"""Never thin a side below this many levels."""
MOVE_CHANCE = 0.15
"""Chance that a delta removes or improves a best level, moving the price."""
DELETE_CHANCE = 0.3
"""Chance that a delta touching an existing level deletes it rather than resizing it."""


class _SymbolStream:
    """Generate one symbol's frames and mirror its book."""

    def __init__(self, name: str, profile: SymbolProfile, depth: int, rng: random.Random) -> None:
        self.name = name
        self.profile = profile
        self.depth = depth
        self.rng = rng
        self.book = Book()
        self.book.replace(profile.bids, profile.asks)
        self.seq = profile.seq
        self.step = profile.key_step
        self.scale = self.step // profile.tick
        self.last_trade: int | None = None
        self.rising = True

    def snapshot(self, ts: int) -> BookEvent:
        """Return the starting book."""
        levels = (self.book.bids.top(self.depth), self.book.asks.top(self.depth))
        return BookEvent(self.name, True, *levels, self.profile.u, self.seq, ts, ts)

    def book_delta(self, ts: int) -> BookEvent:
        """Return one delta shaped like a recorded one."""
        self.seq += self.rng.randint(1, 2500)
        bid_count, ask_count = self._pick(self.profile.side_counts)
        bids = self._side_changes(self.book.bids, self.book.asks, bid_count)
        asks = self._side_changes(self.book.asks, self.book.bids, ask_count)
        return BookEvent(self.name, False, bids, asks, 0, self.seq, ts, ts - 1)

    def trade(self, ts: int) -> TradeEvent:
        """Return one publicTrade frame at the best price of the taker's side."""
        self.seq += self.rng.randint(1, 50)
        side = "Buy" if self.rng.random() < 0.5 else "Sell"
        key = self.book.asks.best() if side == "Buy" else self.book.bids.best()
        book_side = self.book.asks if side == "Buy" else self.book.bids
        price = book_side.price(key) if key is not None else "0"
        trades = [
            {
                "T": ts,
                "s": self.name,
                "S": side,
                "v": self._pick(self.profile.trade_sizes),
                "p": price,
                "L": self._tick_direction(abs(key or 0)),
                "i": str(uuid.UUID(int=self.rng.getrandbits(128))),
                "BT": False,
                "RPI": False,
                "seq": self.seq,
            }
            for _ in range(self._pick(self.profile.trade_counts))
        ]
        frame = {"topic": f"publicTrade.{self.name}", "type": "snapshot", "ts": ts, "data": trades}
        return TradeEvent(self.name, orjson.dumps(frame))

    def ticker(self, ts: int, *, snapshot: bool) -> TickerEvent:
        """Return a ticker snapshot (recorded fields, current top) or a top-of-book delta."""
        self.seq += 1
        data = dict(self.profile.ticker) if snapshot else {}
        data["symbol"] = self.name
        for prefix, side in (("bid1", self.book.bids), ("ask1", self.book.asks)):
            for _, price, size in side.top(1):
                data[f"{prefix}Price"] = price
                data[f"{prefix}Size"] = size
        kind = "snapshot" if snapshot else "delta"
        frame = ticker_frame(f"tickers.{self.name}", kind, data, self.seq, ts)
        return TickerEvent(self.name, snapshot, data, self.seq, ts, frame)

    def _side_changes(self, side: BookSide, other: BookSide, count: int) -> list[Level]:
        best = side.best()
        if best is None:
            return []
        changes: dict[int, Level] = {}
        for _ in range(count):
            key = best + self._pick(self.profile.offsets) * self.step
            level = self._change(side, key if self._fits(key, best, other) else best, best)
            changes[level[0]] = level
        if self.rng.random() < MOVE_CHANCE:
            move = self._move(side, other, best)
            if move is not None:
                changes[move[0]] = move
        side.apply(changes.values())
        while len(side) > self.depth:
            worst = side.worst()
            if worst is None:
                break
            changes[worst] = (worst, side.price(worst), "0")
            side.apply((changes[worst],))
        return sorted(changes.values())

    def _change(self, side: BookSide, key: int, best: int) -> Level:
        # Resize or delete an existing level (never the best: moves do that), or add a new one.
        # Deletes thin out as the side thins, which holds its depth near the recorded one.
        if key not in side:
            return (key, self._price(key), self._pick(self.profile.sizes))
        fullness = len(side) / self.depth
        if key != best and self.rng.random() < DELETE_CHANCE * fullness * fullness:
            return (key, side.price(key), "0")
        return (key, side.price(key), self._pick(self.profile.sizes))

    def _move(self, side: BookSide, other: BookSide, best: int) -> Level | None:
        # Fill the spread while it is wider than recorded; otherwise take out the best level.
        other_best = other.best()
        spread = (best + other_best) // self.step if other_best is not None else 0
        if spread > self.profile.spread_ticks:
            key = best - self.step * self.rng.randint(1, spread - 1)
            return (key, self._price(key), self._pick(self.profile.sizes))
        if len(side) > MIN_LEVELS:
            return (best, side.price(best), "0")
        return None

    def _pick(self, values: Sequence[T]) -> T:
        # random.choice without its per-call overhead: one float draw per pick.
        return values[int(self.rng.random() * len(values))]

    def _fits(self, key: int, best: int, other: BookSide) -> bool:
        # A level fits if it is a positive price (its key has the side's sign) that does not
        # cross the other side's best.
        other_best = other.best()
        return key * best > 0 and (other_best is None or key + other_best > 0)

    def _price(self, key: int) -> str:
        units = abs(key) // self.scale
        decimals = self.profile.decimals
        whole, fraction = divmod(units, 10**decimals)
        return f"{whole}.{fraction:0{decimals}d}" if decimals else str(whole)

    def _tick_direction(self, key: int) -> str:
        last, self.last_trade = self.last_trade, key
        if last is not None and key != last:
            self.rising = key > last
            return "PlusTick" if self.rising else "MinusTick"
        return "ZeroPlusTick" if self.rising else "ZeroMinusTick"


class SyntheticSource:
    """Feed generated frames for N symbols to a market sink at a steady rate."""

    def __init__(
        self,
        profile: MarketProfile,
        config: SyntheticSourceConfig,
        *,
        depth: int,
        wall_ms: Callable[[], int] = lambda: int(time.time() * 1000),
    ) -> None:
        self._config = config
        self._wall_ms = wall_ms
        self._last_ts = 0
        self.native_depth = depth
        self.rng = random.Random(config.seed)  # noqa: S311 - a reproducible simulation, not a secret
        bases = profile.symbols
        self._streams = [
            _SymbolStream(
                copy_name(bases[i % len(bases)].symbol, i // len(bases)),
                bases[i % len(bases)],
                depth,
                self.rng,
            )
            for i in range(config.symbols)
        ]
        self.symbols = tuple(stream.name for stream in self._streams)
        book_share, trade_share, _ = profile.mix
        self._thresholds = (book_share, book_share + trade_share)

    async def run(self, sink: MarketSink, throttle: Throttle) -> None:
        """Emit starting snapshots, then the configured number of messages (0: forever)."""
        now = self._now()
        for stream in self._streams:
            sink.on_book(stream.snapshot(now))
            sink.on_ticker(stream.ticker(now, snapshot=True))
        rate = self._config.rate
        for index in self._indices():
            await throttle.until(int(index * 1000 / rate) if rate else 0)
            self._emit(self._streams[index % len(self._streams)], sink)

    def _indices(self) -> Iterator[int]:
        index = 0
        while self._config.messages == 0 or index < self._config.messages:
            yield index
            index += 1

    def _emit(self, stream: _SymbolStream, sink: MarketSink) -> None:
        ts = self._now()
        draw = self.rng.random()
        if draw < self._thresholds[0]:
            sink.on_book(stream.book_delta(ts))
        elif draw < self._thresholds[1]:
            sink.on_trade(stream.trade(ts))
        else:
            sink.on_ticker(stream.ticker(ts, snapshot=False))

    def _now(self) -> int:
        self._last_ts = max(self._last_ts, self._wall_ms())
        return self._last_ts
