"""What a correct market agent must publish on ``md.book.top`` for a sequence of raw book frames.

An oracle written apart from ``core.order_book``: exact ``Decimal`` levels from the wire strings
and Bybit's sequencing rules (a snapshot resets and validates; a delta applies only at ``u`` =
last ``u`` + 1; an older ``u`` is ignored; a jump invalidates until the next snapshot). It emits a
record whenever (status, best bid, best ask) changes, as the market agent promises, so the two
traces compare record for record: a ``valid`` record after a gap and before the snapshot that
repaired it, or a valid top the exchange's book never had at that ``u``, shows up as a mismatch.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

import orjson

from tradestream.schemas.market import BookTop

Top = tuple[str, int, Decimal, Decimal, Decimal, Decimal]
"""(status, u, bid price, bid size, ask price, ask size) of one ``md.book.top`` record."""

_NONE = (Decimal(0), Decimal(0))


@dataclass(slots=True)
class ReferenceBook:
    """One symbol's book as the exchange's frames define it."""

    status: str = "empty"
    u: int = 0
    bids: dict[Decimal, Decimal] = field(default_factory=dict)
    asks: dict[Decimal, Decimal] = field(default_factory=dict)

    def apply(self, raw: bytes) -> None:
        """Apply one orderbook frame by Bybit's rules."""
        frame = orjson.loads(raw)
        data = frame["data"]
        u = int(data["u"])
        if frame["type"] == "snapshot":
            self.bids.clear()
            self.asks.clear()
        elif self.status != "valid" or u <= self.u:
            return
        elif u != self.u + 1:
            self.status = "invalid"
            return
        _apply_side(self.bids, data["b"])
        _apply_side(self.asks, data["a"])
        self.u = u
        self.status = "valid"

    def top(self) -> Top:
        """Return the record a publisher would write for the book as it stands."""
        bid = max(self.bids.items(), default=_NONE)
        ask = min(self.asks.items(), default=_NONE)
        return (self.status, self.u, bid[0], bid[1], ask[0], ask[1])

    def levels(self, depth: int) -> tuple[list[tuple[Decimal, Decimal]], ...]:
        """Return the best ``depth`` bids and asks."""
        bids = sorted(self.bids.items(), reverse=True)[:depth]
        asks = sorted(self.asks.items())[:depth]
        return bids, asks


def _apply_side(side: dict[Decimal, Decimal], levels: Iterable[list[str]]) -> None:
    for price, size in levels:
        if Decimal(size) == 0:
            side.pop(Decimal(price), None)
        else:
            side[Decimal(price)] = Decimal(size)


def expected_tops(frames: Iterable[bytes]) -> list[Top]:
    """Return the ``md.book.top`` records a correct agent publishes for these frames, in order."""
    book = ReferenceBook()
    published: list[Top] = []
    last: tuple[object, ...] = ()
    for raw in frames:
        book.apply(raw)
        if book.status == "empty":
            continue
        top = book.top()
        key = (top[0], *top[2:])
        if key != last:
            last = key
            published.append(top)
    return published


def as_top(record: BookTop) -> Top:
    """Turn a published record into the oracle's shape (prices compared as decimals)."""
    return (
        record.status,
        record.u,
        Decimal(record.bid_px),
        Decimal(record.bid_sz),
        Decimal(record.ask_px),
        Decimal(record.ask_sz),
    )
