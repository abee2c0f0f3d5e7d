"""The trading part of ``tradestream demo``: manual signals through the spine, then the kill switch.

A trading worker (``roles=trading``, paper mode) has followed the replayed market's book tops.
The demo sends a few manual signals (the path every strategy signal takes: risk sizing and
limits, idempotent execution on the paper exchange, positions), one of which a limit refuses,
trips the kill switch (every position closed with reduce-only market orders, trading halted),
then prints from PostgreSQL what the system of record holds.
"""

from __future__ import annotations

import asyncio
import sys
import time
from decimal import Decimal
from typing import Any

import asyncpg

from tradestream.cli.trade import (
    kill_command,
    latest_price,
    manual_signal,
    publish_control,
    publish_signal,
)
from tradestream.cli.worker_process import WorkerProcess
from tradestream.config.redis import redis_client
from tradestream.config.settings import Settings
from tradestream.sinks.postgres import connect, schema_name
from tradestream.streams.admin import delete_namespace_topics

TRADES = (
    ("BTCUSDT", "buy", Decimal(300)),
    ("ETHUSDT", "sell", Decimal(200)),
    ("SOLUSDT", "buy", Decimal(150)),
    ("BTCUSDT", "buy", Decimal(100)),  # a second entry: refused (one position per symbol)
)


def _say(text: str) -> None:
    print(f"[demo] {text}", flush=True)


async def forget_previous_run(settings: Settings) -> None:
    """Start the demo's namespace from nothing: its topics, tables and records of a past run.

    A past run left its account halted by the kill switch (a halt outlives restarts by design),
    its orders and positions in PostgreSQL, and its ``orderLinkId`` reservations in Redis (a new
    run's kill-switch closes would reuse episode 1's ids and be refused as duplicates): the demo
    shows one run, from a clean slate.
    """
    await delete_namespace_topics(settings)
    redis = redis_client(settings)
    try:
        keys = [key async for key in redis.scan_iter(match=settings.scoped("tradestream:*", ":"))]
        if keys:
            await redis.delete(*keys)
    finally:
        await redis.aclose()
    conn = await asyncpg.connect(settings.postgres_dsn.get_secret_value())
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema_name(settings)}" CASCADE')
    finally:
        await conn.close()


async def _until(pool: asyncpg.Pool, sql: str, want: int, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while await pool.fetchval(sql) < want:
        if time.monotonic() > deadline:
            raise TimeoutError(f"demo: waited {timeout_s:.0f}s for {sql}")
        await asyncio.sleep(0.2)


async def run_trading(settings: Settings, trader: WorkerProcess) -> None:
    """Send the demo's signals, trip the kill switch, print the PostgreSQL records."""
    pool = await connect(settings)
    try:
        for symbol, side, notional in TRADES:
            price = await asyncio.to_thread(latest_price, settings, symbol)
            if price is None:
                raise RuntimeError(f"demo: no valid book top for {symbol}")
            await publish_signal(settings, manual_signal(symbol, side, notional, price, "demo"))
            _say(f"signal: {side} {notional} USDT of {symbol} at ~{price:.2f}")
        await _until(pool, "SELECT count(*) FROM risk_decisions", len(TRADES))
        await _until(pool, "SELECT count(*) FROM positions WHERE size <> 0", 3)
        await _until(pool, _EXCHANGE_STOPS, 3)
        await _print_open_positions(trader)
        await _print_protection(pool)
        _say("tripping the kill switch (tradestream risk kill --reason demo)...")
        await publish_control(settings, kill_command("demo: show the kill switch"))
        await _until(pool, "SELECT count(*) FROM positions WHERE size = 0", 3)
        await _print_records(pool)
    finally:
        await pool.close()


_EXCHANGE_STOPS = (
    "SELECT count(DISTINCT symbol) FROM protection_stops WHERE where_held = 'exchange'"
)


async def _print_open_positions(trader: WorkerProcess) -> None:
    """Print the positions table as the trading worker serves it (``GET /positions/?open=1``)."""
    held = (await trader.get_json("/positions/?open=1"))["positions"]
    print("\nopen positions (the positions table: GET /positions/?open=1 on the trading worker)")
    for view in held:
        p = view["position"]
        pnl = Decimal(p["unrealized_pnl"]) + 0  # no "-0.0000"
        print(f"  {view['symbol']:9} size {p['size']:>8} entry {p['entry_price']:>10} "
              f"mark {p['mark_price']:>10} unrealized {pnl:+.4f}")  # fmt: skip


async def _print_protection(pool: asyncpg.Pool) -> None:
    """Print the latest stop each open position holds on the exchange, per symbol."""
    rows = await pool.fetch(
        "SELECT DISTINCT ON (symbol, where_held) symbol, where_held, rule, stop_price, reason "
        "FROM protection_stops ORDER BY symbol, where_held, at_ms DESC"
    )
    print("\nprotection: each position's safety-net stop on the exchange (protection_stops)")
    for r in rows:
        held = f"{r['where_held']} {r['rule']}"
        print(f"  {r['symbol']:9} {held:22} at {r['stop_price']!s:>10}  {r['reason'][:50]}")
    print()


async def _print_records(pool: asyncpg.Pool) -> None:
    out = sys.stdout
    decisions = await pool.fetch(
        "SELECT symbol, side, approved, qty, rule, reason FROM risk_decisions ORDER BY decided_at"
    )
    print("\nrisk decisions (PostgreSQL risk_decisions)", file=out)
    for d in decisions:
        verdict = f"approved qty {d['qty']}" if d["approved"] else f"refused by {d['rule']}"
        print(f"  {d['symbol']:9} {d['side']:4} {verdict:28} {d['reason'][:60]}", file=out)
    orders = await pool.fetch(
        "SELECT symbol, side, qty, status, avg_price, reduce_only, order_link_id FROM orders "
        "ORDER BY created_at"
    )
    print("\norders (PostgreSQL orders)", file=out)
    for o in orders:
        kind = "close" if o["order_link_id"].startswith("killswitch") else "entry"
        print(f"  {o['symbol']:9} {o['side']:4} {o['qty']!s:>8} {o['status']:9} "
              f"avg {o['avg_price']!s:>10}  {kind}", file=out)  # fmt: skip
    await _print_positions(pool)
    audit = await pool.fetchval("SELECT count(*) FROM audit_log")
    fills = await pool.fetchval("SELECT count(*) FROM executions")
    print(f"\nexecutions: {fills}   audit log rows: {audit}", file=out)


async def _print_positions(pool: asyncpg.Pool) -> None:
    rows: list[Any] = await pool.fetch(
        "SELECT symbol, size, realized_pnl, fees_paid FROM positions ORDER BY symbol"
    )
    print("\npositions after the kill switch (PostgreSQL positions)", file=sys.stdout)
    total = Decimal(0)
    for p in rows:
        net = p["realized_pnl"] - p["fees_paid"]
        total += net
        print(f"  {p['symbol']:9} size {p['size']!s:>7}  realized {p['realized_pnl']:+.4f}  "
              f"fees {p['fees_paid']:.4f}  net {net:+.4f} USDT", file=sys.stdout)  # fmt: skip
    print(f"  account net PnL {total:+.4f} USDT", file=sys.stdout)
