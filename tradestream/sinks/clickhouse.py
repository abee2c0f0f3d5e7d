"""Batched writes of ticks and book tops to ClickHouse, and the schema they need.

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
from tradestream.sinks.rows import BOOK_TOP_COLUMNS, FEATURE_COLUMNS, TRADE_COLUMNS, Row

log = logging.getLogger(__name__)

PRICE_TYPE = "Decimal(18, 8)"


def schema_statements(database: str) -> list[str]:
    """Return the DDL statements for ``database``, in order."""
    text = resources.files("tradestream.sinks").joinpath("ddl/clickhouse.sql").read_text()
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
    rendered = body.replace("{db}", database).replace("{price_type}", PRICE_TYPE)
    return [stmt.strip() for stmt in rendered.split(";") if stmt.strip()]


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
