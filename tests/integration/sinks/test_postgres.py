"""Orders and the audit log in the real PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import asyncpg

from tradestream.core.orders import Order
from tradestream.schemas.orders import Side
from tradestream.sinks.postgres import OrderStore, migrate, migrations


def make_order(clock: list[int]) -> Order:
    return Order(
        order_link_id="mom-abc123",
        symbol="BTCUSDT",
        side=Side.BUY,
        qty=Decimal("0.010"),
        price=Decimal("65114.2"),
        clock=lambda: clock[0],
    )


async def test_migrations_apply_once(pool: asyncpg.Pool) -> None:
    assert await migrate(pool) == []
    names = [r["name"] for r in await pool.fetch("SELECT name FROM schema_migrations")]
    assert names == [name for name, _ in migrations()]
    assert names[:4] == ["001_orders_audit.sql", "002_trading_records.sql", "003_kill_switch.sql",
                         "004_reconciliation.sql"]  # fmt: skip


async def test_order_lifecycle_is_stored_with_an_idempotent_audit_trail(
    pool: asyncpg.Pool,
) -> None:
    store = OrderStore(pool, actor="execution-agent")
    clock = [1_000]
    order = make_order(clock)
    transitions = [order.submit()]
    clock[0] += 5
    transitions.append(order.mark_submitted("accepted by exchange"))
    clock[0] += 5
    fill = order.apply_fill("exec-1", Decimal("0.010"), Decimal("65114.2"))
    assert fill is not None
    transitions.append(fill)
    for _ in range(2):
        await store.save(order, [t for t in transitions if t is not None])

    row = await pool.fetchrow("SELECT * FROM orders WHERE order_link_id = $1", "mom-abc123")
    assert row is not None
    assert row["status"] == "filled"
    assert row["cum_qty"] == Decimal("0.010")
    assert row["avg_price"] == Decimal("65114.2")
    trail = await store.audit_trail("mom-abc123")
    assert [action for action, _ in trail] == [
        f"order.{t.from_status.value}->{t.to_status.value}" for t in transitions if t
    ]
