"""The ClickHouse sink against the real server: schema, exact decimals, idempotent replays."""

from __future__ import annotations

from decimal import Decimal

from tests.support.recordings import RECORDED_TRADES, TRADES, frames
from tradestream.sinks.clickhouse import ClickHouseSink
from tradestream.sinks.rows import trade_rows


async def test_trades_land_exactly_once_with_exchange_decimals(
    clickhouse: ClickHouseSink,
) -> None:
    rows = [row for raw in frames(TRADES) for row in trade_rows(raw, 1, 2)]
    await clickhouse.insert_trades(rows)
    await clickhouse.insert_trades(rows[:100])
    clickhouse.migrate()

    count = clickhouse.query("SELECT count() FROM {db}.trades FINAL")[0][0]
    assert count == RECORDED_TRADES
    first = rows[0]
    price = clickhouse.query(
        "SELECT price, size FROM {db}.trades FINAL WHERE trade_id = %(id)s", {"id": first[1]}
    )
    assert price == [(first[5], first[6])]
    assert isinstance(price[0][0], Decimal)
