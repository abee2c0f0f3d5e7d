"""Read recorded 1-minute klines (``../shared/data/klines/*.csv.gz``) as candles."""

from __future__ import annotations

import csv
import gzip
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from tradestream.core.candles import Candle


def read_klines(path: Path, symbol: str | None = None, interval_s: int = 60) -> Iterator[Candle]:
    """Yield the file's bars in order; the symbol defaults to the file name's prefix."""
    name = symbol or path.name.split("_", 1)[0]
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", newline="") as handle:
        for row in csv.DictReader(handle):
            yield Candle(
                symbol=name,
                interval_s=interval_s,
                open_ts_ms=int(datetime.fromisoformat(row["timestamp"]).timestamp() * 1000),
                open=float(row["open"]),
                high=float(row["high"]),
                low=float(row["low"]),
                close=float(row["close"]),
                volume=float(row["volume"]),
            )
