"""Paths and readers of the recorded Bybit fixtures."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bybit"
PREFIX = "BTCUSDT-ETHUSDT-SOLUSDT-DOGEUSDT_2026-08-09_linear_"
ALL_TOPICS = FIXTURES / f"{PREFIX}all_topics.ndjson.gz"
OB200 = FIXTURES / f"{PREFIX}ob200.ndjson.gz"
TRADES = FIXTURES / f"{PREFIX}publicTrade.ndjson.gz"

FINAL_BOOKS = {
    "BTCUSDT": ("65114.2", "65114.3"),
    "ETHUSDT": ("1922.54", "1922.55"),
    "SOLUSDT": ("77.26", "77.27"),
    "DOGEUSDT": ("0.07055", "0.07056"),
}
RECORDED_TRADES = 327


def frames(path: Path) -> Iterator[bytes]:
    """Yield the raw frames of a recording."""
    with gzip.open(path, "rb") as lines:
        for line in lines:
            if line.strip():
                yield line.rstrip(b"\n")
