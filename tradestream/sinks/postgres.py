"""PostgreSQL: orders, executions, positions and the audit log (asyncpg).

Each namespace gets its own schema, so test runs and parallel pipelines never share rows.
Migrations are numbered SQL files applied once each, recorded in ``schema_migrations``. Writes
are idempotent (upserts, ``ON CONFLICT DO NOTHING`` on the audit log's natural key) so that a
replayed event stream leaves the same rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from importlib import resources

import asyncpg

from tradestream.config.settings import Settings
from tradestream.core.orders import Order, Transition


def schema_name(settings: Settings) -> str:
    """Return the PostgreSQL schema of the settings' namespace."""
    return settings.namespace or "public"


def migrations() -> list[tuple[str, str]]:
    """Return (name, SQL) of every migration, in order."""
    folder = resources.files("tradestream.sinks").joinpath("ddl/postgres")
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".sql")), key=lambda f: f.name)
    return [(f.name, f.read_text()) for f in files]


async def connect(settings: Settings) -> asyncpg.Pool:
    """Open a pool on the namespace's schema, creating the schema and applying migrations."""
    schema = schema_name(settings)
    dsn = settings.postgres_dsn.get_secret_value()
    bootstrap = await asyncpg.connect(dsn)
    try:
        await bootstrap.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    finally:
        await bootstrap.close()
    pool: asyncpg.Pool = await asyncpg.create_pool(
        dsn, min_size=1, max_size=4, server_settings={"search_path": schema}
    )
    await migrate(pool)
    return pool


async def migrate(pool: asyncpg.Pool) -> list[str]:
    """Apply the migrations not applied yet; return their names."""
    applied: list[str] = []
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        await conn.execute("LOCK TABLE schema_migrations IN EXCLUSIVE MODE")
        done = {r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations")}
        for name, sql in migrations():
            if name in done:
                continue
            await conn.execute(sql)
            await conn.execute("INSERT INTO schema_migrations (name) VALUES ($1)", name)
            applied.append(name)
    return applied


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


class OrderStore:
    """Keep orders and their audit trail in PostgreSQL."""

    def __init__(self, pool: asyncpg.Pool, actor: str) -> None:
        self._pool = pool
        self._actor = actor

    async def save(self, order: Order, transitions: Iterable[Transition] = ()) -> None:
        """Upsert the order and append its transitions to the audit log, in one transaction."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                """
                INSERT INTO orders (order_link_id, symbol, side, qty, price, status, cum_qty,
                                    avg_price, exchange_order_id)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                ON CONFLICT (order_link_id) DO UPDATE SET
                    status = EXCLUDED.status, cum_qty = EXCLUDED.cum_qty,
                    avg_price = EXCLUDED.avg_price,
                    exchange_order_id = COALESCE(EXCLUDED.exchange_order_id,
                                                 orders.exchange_order_id),
                    updated_at = now()
                """,
                order.order_link_id,
                order.symbol,
                order.side.value,
                order.qty,
                order.price,
                order.status.value,
                order.cum_qty,
                order.avg_price,
                order.exchange_order_id,
            )
            await conn.executemany(
                """
                INSERT INTO audit_log (at, at_ms, actor, action, subject, reason, details)
                VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)
                ON CONFLICT (subject, action, at_ms) DO NOTHING
                """,
                [
                    (
                        _at(t.at_ms),
                        t.at_ms,
                        self._actor,
                        f"order.{t.from_status.value}->{t.to_status.value}",
                        t.order_link_id,
                        t.reason,
                        json.dumps({"symbol": order.symbol, "side": order.side.value}),
                    )
                    for t in transitions
                ],
            )

    async def audit_trail(self, order_link_id: str) -> list[tuple[str, str]]:
        """Return (action, reason) of an order's audit entries, oldest first."""
        rows = await self._pool.fetch(
            "SELECT action, reason FROM audit_log WHERE subject = $1 ORDER BY at_ms, id",
            order_link_id,
        )
        return [(r["action"], r["reason"]) for r in rows]
