"""Carry market updates from a source (replay, synthetic) to the server's market state.

An event holds the parsed content the server needs to keep its own state (book levels, ticker
fields, sequence numbers) plus the way to produce the wire bytes: either a recorded template
and its shift (rendered only if somebody is subscribed) or bytes the source already encoded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from tradestream.simulator.book import Level
from tradestream.simulator.frames import FrameTemplate, Shift

Recorded = tuple[FrameTemplate, Shift]
"""A recorded frame and how this loop and symbol copy differ from it."""


@dataclass(slots=True)
class BookEvent:
    """Update one symbol's deepest book: a snapshot (reset) or a delta."""

    symbol: str
    snapshot: bool
    bids: Sequence[Level]
    asks: Sequence[Level]
    u: int
    seq: int
    ts: int
    cts: int
    recorded: Recorded | None = None
    """The recorded delta to render with the server's ``u``; None means encode from the levels."""


@dataclass(slots=True)
class TradeEvent:
    """Publish one ``publicTrade`` frame."""

    symbol: str
    payload: bytes | Recorded

    def encode(self) -> bytes:
        """Return the wire bytes, rendering the recorded template if there is one."""
        return _encode(self.payload)


@dataclass(slots=True)
class TickerEvent:
    """Update one symbol's ticker: a snapshot (all fields) or a delta (changed fields)."""

    symbol: str
    snapshot: bool
    data: Mapping[str, str]
    cs: int
    ts: int
    payload: bytes | Recorded

    def encode(self) -> bytes:
        """Return the wire bytes, rendering the recorded template if there is one."""
        return _encode(self.payload)


class MarketSink(Protocol):
    """Receive a source's updates in order; the server's market state implements this."""

    def on_book(self, event: BookEvent) -> None:
        """Apply a book update and fan the resulting frames out."""

    def on_trade(self, event: TradeEvent) -> None:
        """Fan a trade frame out."""

    def on_ticker(self, event: TickerEvent) -> None:
        """Apply a ticker update and fan the frame out."""

    async def flow(self) -> None:
        """Wait while any subscriber is too far behind, so fast sources cannot outrun sockets."""


def _encode(payload: bytes | Recorded) -> bytes:
    if isinstance(payload, bytes):
        return payload
    template, shift = payload
    return template.render(shift)
