"""Load a recorded Bybit v5 public stream (gzip or plain NDJSON, one raw frame per line).

Each frame is parsed once into what the server needs (book levels, ticker fields, sequence
numbers, timestamps) and cut into a ``FrameTemplate`` so replay can send the recorded bytes.
Only the deepest orderbook depth in the file is kept (shallower depths are derived from it by
the server); ``kline`` and any non-market lines are skipped; leading deltas before a symbol's
first snapshot are dropped because nothing could apply them.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from tradestream.core.errors import BadInputError
from tradestream.simulator.book import Level, make_level
from tradestream.simulator.frames import FrameTemplate


@dataclass(frozen=True, slots=True)
class RecordedBook:
    """Hold one recorded orderbook frame."""

    symbol: str
    depth: int
    snapshot: bool
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]
    u: int
    seq: int
    ts: int
    cts: int
    template: FrameTemplate


@dataclass(frozen=True, slots=True)
class RecordedTrade:
    """Hold one recorded publicTrade frame (one or more trades)."""

    symbol: str
    ts: int
    seqs: tuple[int, ...]
    sizes: tuple[str, ...]
    template: FrameTemplate


@dataclass(frozen=True, slots=True)
class RecordedTicker:
    """Hold one recorded tickers frame; a snapshot also keeps a delta-typed twin for loops."""

    symbol: str
    snapshot: bool
    data: Mapping[str, str]
    cs: int
    ts: int
    template: FrameTemplate
    as_delta: FrameTemplate


RecordedFrame = RecordedBook | RecordedTrade | RecordedTicker


@dataclass(frozen=True, slots=True)
class Recording:
    """Hold a whole recording in receive order with the spans replay loops must continue."""

    frames: tuple[RecordedFrame, ...]
    symbols: tuple[str, ...]
    depth: int
    first_ts: int
    last_ts: int
    seq_span: Mapping[str, int]
    """Per symbol, how far the cross sequence (``seq``/``cs``) advances over one loop."""

    @property
    def duration_ms(self) -> int:
        """Return the time one pass over the recording covers."""
        return self.last_ts - self.first_ts


def load_recording(paths: Sequence[Path]) -> Recording:
    """Read and parse the recording files in the given order."""
    parsed = [frame for frame in (_parse(raw) for raw in _lines(paths)) if frame is not None]
    books = [frame for frame in parsed if isinstance(frame, RecordedBook)]
    if not books:
        raise BadInputError(f"no orderbook frames in {[str(p) for p in paths]}")
    depth = max(frame.depth for frame in books)
    frames = tuple(_from_first_snapshot(parsed, depth))
    symbols = tuple(dict.fromkeys(frame.symbol for frame in frames))
    times = [frame.ts for frame in frames]
    return Recording(
        frames=frames,
        symbols=symbols,
        depth=depth,
        first_ts=min(times),
        last_ts=max(times),
        seq_span=_seq_spans(frames),
    )


def _lines(paths: Sequence[Path]) -> Iterator[bytes]:
    for path in paths:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as stream:
            for line in stream:
                stripped = line.strip()
                if stripped:
                    yield stripped


def _parse(raw: bytes) -> RecordedFrame | None:
    try:
        message = orjson.loads(raw)
        topic = message.get("topic") if isinstance(message, dict) else None
        if not isinstance(topic, str):
            return None
        family, _, symbol = topic.rpartition(".")
        if family.startswith("orderbook."):
            return _book(message, raw, symbol, int(family.removeprefix("orderbook.")))
        if family == "publicTrade":
            return _trade(message, raw, symbol)
        if family == "tickers":
            return _ticker(message, raw, symbol)
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise BadInputError(f"unreadable recorded frame {raw[:120]!r}: {exc}") from exc
    return None


def _book(message: dict[str, Any], raw: bytes, symbol: str, depth: int) -> RecordedBook:
    data = message["data"]
    return RecordedBook(
        symbol=symbol,
        depth=depth,
        snapshot=message["type"] == "snapshot",
        bids=tuple(make_level(price, size, bid=True) for price, size in data["b"]),
        asks=tuple(make_level(price, size, bid=False) for price, size in data["a"]),
        u=int(data["u"]),
        seq=int(data["seq"]),
        ts=int(message["ts"]),
        cts=int(message["cts"]),
        template=FrameTemplate.parse(raw, symbol),
    )


def _trade(message: dict[str, Any], raw: bytes, symbol: str) -> RecordedTrade:
    trades = message["data"]
    seqs = tuple(int(trade["seq"]) for trade in trades if "seq" in trade)
    sizes = tuple(str(trade["v"]) for trade in trades)
    return RecordedTrade(symbol, int(message["ts"]), seqs, sizes, FrameTemplate.parse(raw, symbol))


def _ticker(message: dict[str, Any], raw: bytes, symbol: str) -> RecordedTicker:
    snapshot = message["type"] == "snapshot"
    template = FrameTemplate.parse(raw, symbol)
    as_delta = template
    if snapshot:
        as_delta = FrameTemplate.parse(
            raw.replace(b'"type":"snapshot"', b'"type":"delta"', 1), symbol
        )
    return RecordedTicker(
        symbol=symbol,
        snapshot=snapshot,
        data=dict(message["data"]),
        cs=int(message.get("cs", 0)),
        ts=int(message["ts"]),
        template=template,
        as_delta=as_delta,
    )


def _from_first_snapshot(frames: Iterable[RecordedFrame], depth: int) -> Iterator[RecordedFrame]:
    # A delta before its stream's first snapshot has nothing to apply to: drop it.
    booked: set[str] = set()
    ticked: set[str] = set()
    for frame in frames:
        if isinstance(frame, RecordedBook):
            if frame.depth != depth or not (frame.snapshot or frame.symbol in booked):
                continue
            booked.add(frame.symbol)
        elif isinstance(frame, RecordedTicker):
            if not (frame.snapshot or frame.symbol in ticked):
                continue
            ticked.add(frame.symbol)
        yield frame


def _seq_spans(frames: Iterable[RecordedFrame]) -> dict[str, int]:
    low: dict[str, int] = {}
    high: dict[str, int] = {}
    for frame in frames:
        for seq in _seqs(frame):
            low[frame.symbol] = min(seq, low.get(frame.symbol, seq))
            high[frame.symbol] = max(seq, high.get(frame.symbol, seq))
    return {symbol: high[symbol] - low[symbol] + 1 for symbol in low}


def _seqs(frame: RecordedFrame) -> tuple[int, ...]:
    if isinstance(frame, RecordedBook):
        return (frame.seq,)
    if isinstance(frame, RecordedTicker):
        return (frame.cs,) if frame.cs else ()
    return frame.seqs
