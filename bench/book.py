"""Time in-process L2 book apply + top-10 read per message for our book and its candidates.

Every candidate gets the same pre-decoded frames: msgspec decodes the recorded ``orderbook.200``
frames once, outside the timed part, with levels kept as strings (decode is the same for all,
reported separately); each candidate then parses the level strings itself (``float`` keys, or
nautilus ``Price``/``Quantity``), applies snapshot/delta and reads the best 10 levels per side.
The stream is the recording (4 symbols) replayed ``--loops`` times, each replay starting with
its snapshots.
After the run every candidate's final best bid/ask must equal the recording's known final books.
One more row, ``ours + float levels``, is our book fed by the production decoder
(``schemas.bybit.orderbook_decoder``), which parses the level strings to floats in C while
decoding; its extra decode cost over the string decode is reported beside it.

Candidates: our ``OrderBook`` (dict + bisect-sorted list); a ``sortedcontainers.SortedDict`` per
side; the ``order-book`` C extension (cryptofeed's); a numpy sorted-array book; nautilus_trader's
``OrderBook`` (L2_MBP) when installed.

Usage: ``.venv/bin/python bench/book.py [--loops N] [--repeats N]``
"""

from __future__ import annotations

import argparse
import importlib.metadata
import time
from collections.abc import Callable
from typing import Any, Protocol

import harness
import msgspec
import numpy as np
import order_book
from sortedcontainers import SortedDict

from tradestream.core.order_book import OrderBook
from tradestream.schemas.bybit import OrderbookFrame, PriceLevel, orderbook_decoder


class TextData(msgspec.Struct, frozen=True):
    """Levels as the exchange's strings: what every candidate parses itself."""

    s: str
    b: list[PriceLevel]
    a: list[PriceLevel]
    u: int
    seq: int


class TextFrame(msgspec.Struct, frozen=True):
    """``orderbook.{depth}.{symbol}`` with string levels."""

    topic: str
    type: str
    ts: int
    data: TextData
    cts: int = 0


text_decoder = msgspec.json.Decoder(TextFrame)

try:  # optional outside peer: a large wheel, see the bench extra in pyproject.toml
    import nautilus_peer as nautilus
except ImportError:
    nautilus = None

TOP = 10
DEPTH = 200
Top = tuple[list[tuple[float, float]], list[tuple[float, float]]]


class Candidate(Protocol):
    """One book implementation, driven per symbol by the harness."""

    def apply(self, frame: OrderbookFrame) -> None:
        """Apply a snapshot or delta."""

    def top(self, n: int) -> Top:
        """Return the best ``n`` (price, size) bids and asks, best first."""

    def best(self) -> tuple[float, float]:
        """Return the best bid and ask prices."""


class Ours:
    """``tradestream.core.order_book.OrderBook``: what the market agent runs."""

    def __init__(self, symbol: str) -> None:
        self.book = OrderBook(symbol, DEPTH)

    def apply(self, frame: OrderbookFrame) -> None:
        # The book takes levels as floats (the live decoder parses them in C); here, like every
        # candidate, it is timed parsing the strings itself.
        data = frame.data
        bids = [(float(price), float(size)) for price, size in data.b]
        asks = [(float(price), float(size)) for price, size in data.a]
        if frame.type == "snapshot":
            self.book.on_snapshot(data.u, data.seq, frame.ts, bids, asks)
        else:
            self.book.on_delta(data.u, data.seq, frame.ts, bids, asks)

    def top(self, n: int) -> Top:
        return self.book.bids.top(n), self.book.asks.top(n)

    def best(self) -> tuple[float, float]:
        bid, ask = self.book.bids.best(), self.book.asks.best()
        if bid is None or ask is None:
            raise SystemExit(f"{self.book.symbol}: one side is empty")
        return bid[0], ask[0]


def _apply_mapping(side: Any, levels: list[PriceLevel]) -> None:
    # Same rule as ours: float keys from the exchange strings, size 0 deletes.
    for price_text, size_text in levels:
        price = float(price_text)
        size = float(size_text)
        if size == 0.0:
            if price in side:
                del side[price]
        else:
            side[price] = size


class SortedContainers:
    """A ``sortedcontainers.SortedDict`` per side (pure Python, B-tree-like list of lists)."""

    def __init__(self, symbol: str) -> None:
        self.bids: SortedDict = SortedDict()
        self.asks: SortedDict = SortedDict()

    def apply(self, frame: OrderbookFrame) -> None:
        if frame.type == "snapshot":
            self.bids.clear()
            self.asks.clear()
        _apply_mapping(self.bids, frame.data.b)
        _apply_mapping(self.asks, frame.data.a)

    def top(self, n: int) -> Top:
        bids, asks = self.bids, self.asks
        bid_px = bids.islice(max(len(bids) - n, 0), len(bids), reverse=True)
        return [(p, bids[p]) for p in bid_px], [(p, asks[p]) for p in asks.islice(0, n)]

    def best(self) -> tuple[float, float]:
        return self.bids.peekitem(-1)[0], self.asks.peekitem(0)[0]


class CExtension:
    """The ``order-book`` C extension (red-black tree per side), as cryptofeed uses it."""

    def __init__(self, symbol: str) -> None:
        self.book = order_book.OrderBook(max_depth=TOP)

    def apply(self, frame: OrderbookFrame) -> None:
        if frame.type == "snapshot":
            self.book = order_book.OrderBook(max_depth=TOP)
        _apply_mapping(self.book.bids, frame.data.b)
        _apply_mapping(self.book.asks, frame.data.a)

    def top(self, n: int) -> Top:
        # max_depth = TOP limits the view, not the storage: to_list() returns the best TOP.
        return self.book.bids.to_list(), self.book.asks.to_list()

    def best(self) -> tuple[float, float]:
        return self.book.bids.index(0)[0], self.book.asks.index(0)[0]


class NumpySide:
    """Ascending prices and their sizes in preallocated float64 arrays; shifts on insert/delete."""

    def __init__(self, capacity: int = 1024) -> None:
        self.px = np.zeros(capacity)
        self.sz = np.zeros(capacity)
        self.n = 0

    def apply(self, levels: list[PriceLevel]) -> None:
        px, sz = self.px, self.sz
        for price_text, size_text in levels:
            price, size, n = float(price_text), float(size_text), self.n
            i = int(np.searchsorted(px[:n], price))
            found = i < n and px[i] == price
            if size == 0.0:
                if found:
                    px[i : n - 1] = px[i + 1 : n]
                    sz[i : n - 1] = sz[i + 1 : n]
                    self.n = n - 1
            elif found:
                sz[i] = size
            else:
                px[i + 1 : n + 1] = px[i:n]
                sz[i + 1 : n + 1] = sz[i:n]
                px[i], sz[i] = price, size
                self.n = n + 1


class NumpyBook:
    """A sorted-array book on numpy: vectorised storage, but one Python step per level."""

    def __init__(self, symbol: str) -> None:
        self.bids = NumpySide()
        self.asks = NumpySide()

    def apply(self, frame: OrderbookFrame) -> None:
        if frame.type == "snapshot":
            self.bids.n = self.asks.n = 0
        self.bids.apply(frame.data.b)
        self.asks.apply(frame.data.a)

    def top(self, n: int) -> Top:
        b, a = self.bids, self.asks
        lo = max(b.n - n, 0)
        bids = list(zip(b.px[lo : b.n][::-1].tolist(), b.sz[lo : b.n][::-1].tolist(), strict=True))
        asks = list(zip(a.px[:n].tolist(), a.sz[:n].tolist(), strict=True))
        return bids, asks

    def best(self) -> tuple[float, float]:
        return float(self.bids.px[self.bids.n - 1]), float(self.asks.px[0])


class Nautilus:
    """nautilus_trader's Cython/Rust ``OrderBook`` (L2_MBP), fed ``BookOrder`` per level."""

    def __init__(self, symbol: str) -> None:
        self.instrument = nautilus.InstrumentId.from_str(f"{symbol}-LINEAR.BYBIT")
        self.book = nautilus.OrderBook(self.instrument, nautilus.BookType.L2_MBP)

    def apply(self, frame: OrderbookFrame) -> None:
        if frame.type == "snapshot":
            self.book = nautilus.OrderBook(self.instrument, nautilus.BookType.L2_MBP)
        ts_ns = frame.ts * 1_000_000
        self._apply(nautilus.OrderSide.BUY, frame.data.b, ts_ns)
        self._apply(nautilus.OrderSide.SELL, frame.data.a, ts_ns)

    def _apply(self, side: Any, levels: list[PriceLevel], ts_ns: int) -> None:
        book, price_of, size_of = self.book, nautilus.Price.from_str, nautilus.Quantity.from_str
        for price_text, size_text in levels:
            order = nautilus.BookOrder(side, price_of(price_text), size_of(size_text), 0)
            if float(size_text) == 0.0:
                book.delete(order, ts_ns)
            else:
                book.update(order, ts_ns)

    def top(self, n: int) -> Top:
        # The Python API has no top-N accessor: bids()/asks() build every level (≤ 200).
        return (
            [(level.price.as_double(), level.size()) for level in self.book.bids()[:n]],
            [(level.price.as_double(), level.size()) for level in self.book.asks()[:n]],
        )

    def best(self) -> tuple[float, float]:
        # Price is fixed-point: as_double() may be 1 ulp off, its decimal text is exact.
        return float(str(self.book.best_bid_price())), float(str(self.book.best_ask_price()))


def nautilus_factory() -> tuple[Callable[[str], Candidate] | None, str]:
    """Return the nautilus_trader candidate, or None and why it is skipped."""
    if nautilus is None:
        return None, "skipped: nautilus_trader is not installed (pip install nautilus_trader)"
    return Nautilus, nautilus.VERSION


def run_candidate(factory: Callable[[str], Candidate], frames: list[OrderbookFrame]) -> list[int]:
    """Replay the frames through fresh books, timing apply + top-10 read of each message."""
    books: dict[str, Candidate] = {}
    clock = time.perf_counter_ns
    samples = []
    for frame in frames:
        book = books.get(frame.data.s)
        if book is None:
            book = books[frame.data.s] = factory(frame.data.s)
        start = clock()
        book.apply(frame)
        book.top(TOP)
        samples.append(clock() - start)
    check_final(books)
    return samples


def check_final(books: dict[str, Candidate]) -> None:
    """Fail loudly unless the final books match the recording's known best bid/ask."""
    for symbol, (bid, ask) in harness.FINAL_BOOKS.items():
        got = books[symbol].best()
        if got != (float(bid), float(ask)):
            raise SystemExit(f"{type(books[symbol]).__name__} {symbol}: {got} != {bid}/{ask}")


def time_decode(decoder: msgspec.json.Decoder[Any], raw: list[bytes], repeats: int) -> Any:
    """Time a msgspec decode of every frame (excluded from the candidates' figures)."""

    def run() -> list[int]:
        clock = time.perf_counter_ns
        samples = []
        for frame in raw:
            start = clock()
            decoder.decode(frame)
            samples.append(clock() - start)
        return samples

    return harness.best_of(repeats, run)


def measure(loops: int, repeats: int) -> dict[str, Any]:
    """Time every candidate on this process's variant of the package (only ours differs)."""
    raw = harness.looped(harness.recorded_frames(), loops)
    frames: Any = [text_decoder.decode(r) for r in raw]
    parsed = [orderbook_decoder.decode(r) for r in raw]
    candidates: dict[str, Callable[[str], Candidate]] = {
        "ours (aligned price/size lists + bisect)": Ours,
        "sortedcontainers.SortedDict": SortedContainers,
        f"order-book C extension {importlib.metadata.version('order-book')}": CExtension,
        "numpy sorted arrays": NumpyBook,
    }
    nautilus, nautilus_note = nautilus_factory()
    if nautilus is not None:
        candidates[f"nautilus_trader {nautilus_note} OrderBook L2_MBP"] = nautilus
    results = {
        name: harness.best_of(repeats, lambda f=factory: run_candidate(f, frames))
        for name, factory in candidates.items()
    }
    results["ours + float levels (production decoder)"] = harness.best_of(
        repeats, lambda: run_candidate(Ours, parsed)
    )
    return {
        "messages_per_run": len(frames),
        "shared_decode_not_included": time_decode(text_decoder, raw, repeats),
        "production_decode_float_levels": time_decode(orderbook_decoder, raw, repeats),
        "nautilus_trader": nautilus_note,
        "candidates": results,
    }


def main() -> None:
    """Time every candidate on both variants and write bench/results/book.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loops", type=int, default=5, help="replays of the recording")
    parser.add_argument("--repeats", type=int, default=5, help="runs per candidate, best kept")
    args = parser.parse_args()
    if harness.child_variant() is not None:
        harness.emit(measure(args.loops, args.repeats))
        return
    argv = ["--loops", str(args.loops), "--repeats", str(args.repeats)]
    harness.write_report(
        "book",
        {
            **harness.environment(),
            "what": "µs per message: book apply (snapshot/delta, level strings parsed by the "
            "candidate) + best 10 levels per side; msgspec decode done once before timing",
            "loops": args.loops,
            "repeats": args.repeats,
            "msgspec": msgspec.__version__,
            "final_books_checked": "all candidates equal the known final best bid/ask",
            "variants": harness.run_variants(__file__, argv),
        },
    )


if __name__ == "__main__":
    main()
