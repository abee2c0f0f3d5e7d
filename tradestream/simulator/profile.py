"""Learn from a recording the shapes the synthetic generator must reproduce.

Rather than invent market microstructure, measure it: per recorded symbol the price grid (tick
and decimals), the starting book, how many levels a delta touches on each side, how far from
the best price those levels sit (in ticks), the sizes that appear, how many trades a frame
carries and their sizes, and the ticker the stream starts from; over the whole recording, the
mix of book, trade and ticker messages.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from itertools import pairwise
from math import gcd

from tradestream.core.errors import BadInputError
from tradestream.simulator.book import PRICE_SCALE, Book, BookSide, Level
from tradestream.simulator.recording import (
    RecordedBook,
    RecordedTicker,
    RecordedTrade,
    Recording,
)


@dataclass(frozen=True, slots=True)
class SymbolProfile:
    """Describe one recorded symbol's market shapes."""

    symbol: str
    decimals: int
    tick: int
    """Price step in units of 10**-decimals."""
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]
    spread_ticks: int
    """Ticks between the best bid and the best ask at the start of the recording."""
    u: int
    seq: int
    side_counts: tuple[tuple[int, int], ...]
    """(bid levels, ask levels) touched by each recorded delta."""
    offsets: tuple[int, ...]
    """Distance in ticks from the side's best price of each level a delta touched."""
    sizes: tuple[str, ...]
    trade_counts: tuple[int, ...]
    trade_sizes: tuple[str, ...]
    ticker: Mapping[str, str]

    @property
    def key_step(self) -> int:
        """Return one tick expressed in level-key units."""
        return self.tick * int(10 ** (PRICE_SCALE - self.decimals))


@dataclass(frozen=True, slots=True)
class MarketProfile:
    """Describe a whole recording: its symbols and its message mix."""

    symbols: tuple[SymbolProfile, ...]
    mix: tuple[float, float, float]
    """Share of book, trade and ticker messages."""


def learn(recording: Recording) -> MarketProfile:
    """Measure every symbol of the recording that has a book snapshot."""
    frames = recording.frames
    counts = (
        sum(isinstance(frame, RecordedBook) for frame in frames),
        sum(isinstance(frame, RecordedTrade) for frame in frames),
        sum(isinstance(frame, RecordedTicker) for frame in frames),
    )
    total = sum(counts)
    profiles = tuple(_learn_symbol(recording, symbol) for symbol in recording.symbols)
    return MarketProfile(profiles, (counts[0] / total, counts[1] / total, counts[2] / total))


def _learn_symbol(recording: Recording, symbol: str) -> SymbolProfile:
    mine = [frame for frame in recording.frames if frame.symbol == symbol]
    books = [frame for frame in mine if isinstance(frame, RecordedBook)]
    trades = [frame for frame in mine if isinstance(frame, RecordedTrade)]
    tickers = [frame for frame in mine if isinstance(frame, RecordedTicker) and frame.snapshot]
    if not books or not books[0].snapshot:
        raise BadInputError(f"{symbol}: the recording has no book snapshot to learn from")
    first = books[0]
    decimals, tick = _grid(level[1] for level in (*first.bids, *first.asks))
    side_counts, offsets, sizes = _delta_shapes(first, books[1:], tick, decimals)
    return SymbolProfile(
        symbol=symbol,
        decimals=decimals,
        tick=tick,
        bids=first.bids,
        asks=first.asks,
        spread_ticks=_spread(first, tick * 10 ** (PRICE_SCALE - decimals)),
        u=first.u,
        seq=first.seq,
        side_counts=side_counts or ((1, 1),),
        offsets=offsets or (0,),
        sizes=sizes or tuple(level[2] for level in first.bids),
        trade_counts=tuple(len(frame.sizes) for frame in trades) or (1,),
        trade_sizes=tuple(size for frame in trades for size in frame.sizes) or ("1",),
        ticker=tickers[0].data if tickers else {"symbol": symbol},
    )


def _spread(book: RecordedBook, step: int) -> int:
    if not book.bids or not book.asks:
        return 1
    best_ask = min(level[0] for level in book.asks)
    best_bid = min(level[0] for level in book.bids)
    return max(1, (best_ask + best_bid) // step)


def _grid(prices: Iterable[str]) -> tuple[int, int]:
    # Decimals as printed (Bybit prints a fixed number per symbol); tick as the common step.
    listed = list(prices)
    decimals = max(len(price.partition(".")[2]) for price in listed)
    units = sorted({int(Decimal(price).scaleb(decimals)) for price in listed})
    tick = 0
    for low, high in pairwise(units):
        tick = gcd(tick, high - low)
    return decimals, tick or 1


def _delta_shapes(
    first: RecordedBook, deltas: list[RecordedBook], tick: int, decimals: int
) -> tuple[tuple[tuple[int, int], ...], tuple[int, ...], tuple[str, ...]]:
    book = Book()
    book.replace(first.bids, first.asks)
    step = tick * 10 ** (PRICE_SCALE - decimals)
    side_counts: list[tuple[int, int]] = []
    offsets: list[int] = []
    sizes: list[str] = []
    for delta in deltas:
        side_counts.append((len(delta.bids), len(delta.asks)))
        offsets.extend(_offsets(book.bids, delta.bids, step))
        offsets.extend(_offsets(book.asks, delta.asks, step))
        sizes.extend(level[2] for level in (*delta.bids, *delta.asks) if level[2] != "0")
        book.apply(delta.bids, delta.asks)
    return tuple(side_counts), tuple(offsets), tuple(sizes)


def _offsets(side: BookSide, levels: Iterable[Level], step: int) -> list[int]:
    best = side.best()
    if best is None:
        return []
    return [(level[0] - best) // step for level in levels]
