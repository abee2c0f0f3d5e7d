"""Batched writes of ticks, book tops, features and candles to ClickHouse, and their schema.

clickhouse-driver is synchronous; every call runs in a worker thread so the event loop (and the
Faust consumer with it) never blocks on the network.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from importlib import resources
from typing import Any

from clickhouse_driver import Client

from tradestream.config.settings import Settings
from tradestream.sinks.rows import (
    BOOK_TOP_COLUMNS,
    CANDLE_COLUMNS,
    FEATURE_COLUMNS,
    SIGNAL_COLUMNS,
    TRADE_COLUMNS,
    Row,
)

log = logging.getLogger(__name__)

PRICE_TYPE = "Decimal(18, 8)"
AMOUNT_TYPE = "Decimal(38, 8)"
"""Volume and turnover: a 4-hour turnover or a memecoin's daily volume passes 10^10."""
ROLLUPS = (("5m", 300), ("15m", 900), ("1h", 3600), ("4h", 14_400))
"""The candles_<name> views rolled up from 1-minute bars: name and seconds."""


def schema_statements(database: str) -> list[str]:
    """Return the DDL statements for ``database``, in order."""
    statements = _render("clickhouse.sql", database)
    for name, seconds in ROLLUPS:
        statements += _render("clickhouse_rollup.sql", database, name=name, seconds=str(seconds))
    return statements


def _render(file: str, database: str, **names: str) -> list[str]:
    text = resources.files("tradestream.sinks").joinpath(f"ddl/{file}").read_text()
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
    values = {"db": database, "price_type": PRICE_TYPE, "amount_type": AMOUNT_TYPE, **names}
    for name, value in values.items():
        body = body.replace("{" + name + "}", value)
    return [stmt.strip() for stmt in body.split(";") if stmt.strip()]


class ClickHouseSink:
    """Write rows to the tables of one ClickHouse database."""

    def __init__(self, settings: Settings) -> None:
        self.database = settings.clickhouse_db
        self._client = Client(
            host=settings.clickhouse_host,
            port=settings.clickhouse_port,
            user=settings.clickhouse_user,
            password=settings.clickhouse_password.get_secret_value(),
            connect_timeout=5,
            send_receive_timeout=30,
        )
        self._lock = asyncio.Lock()

    def migrate(self) -> None:
        """Create the database and tables if they are missing (blocking)."""
        for statement in schema_statements(self.database):
            self._client.execute(statement)

    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        """Run a read query (blocking); ``{db}`` in ``sql`` names this sink's database."""
        result: list[tuple[Any, ...]] = self._client.execute(
            sql.replace("{db}", self.database), params
        )
        return result

    async def insert_trades(self, rows: Sequence[Row]) -> None:
        """Insert trade rows."""
        await self._insert("trades", TRADE_COLUMNS, rows)

    async def insert_book_tops(self, rows: Sequence[Row]) -> None:
        """Insert book-top rows."""
        await self._insert("book_top", BOOK_TOP_COLUMNS, rows)

    async def insert_features(self, rows: Sequence[Row]) -> None:
        """Insert feature rows."""
        await self._insert("features", FEATURE_COLUMNS, rows)

    async def insert_candles(self, rows: Sequence[Row]) -> None:
        """Insert candle rows (the roll-up views follow on their own)."""
        await self._insert("candles", CANDLE_COLUMNS, rows)

    async def insert_signals(self, rows: Sequence[Row]) -> None:
        """Insert strategy signal rows."""
        await self._insert("signals", SIGNAL_COLUMNS, rows)

    def register_feature_names(self, names_id: str, names: Sequence[str], now_ms: int) -> None:
        """Record a feature schema so SQL can map ``values`` positions to names (blocking)."""
        self._client.execute(
            f"INSERT INTO {self.database}.feature_schemas (names_id, names, created_ts_ms) VALUES",
            [(names_id, list(names), now_ms)],
        )

    async def _insert(self, table: str, columns: Sequence[str], rows: Sequence[Row]) -> None:
        if not rows:
            return
        sql = f"INSERT INTO {self.database}.{table} ({', '.join(columns)}) VALUES"
        async with self._lock:
            await asyncio.to_thread(self._client.execute, sql, list(rows))

    def close(self) -> None:
        """Close the connection."""
        self._client.disconnect()
