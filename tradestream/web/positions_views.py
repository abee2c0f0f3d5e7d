"""Faust web views of the positions part: each symbol's position as the positions agent holds it.

- ``GET /positions/``: the positions of the symbols whose partitions this worker holds (with
  several positions workers, ask each, or ask per symbol);
- ``GET /positions/{symbol}/``: one symbol's position, its open orders and a position difference
  waiting for its second look, answered by whichever worker owns the symbol's partition.

Only a worker with the positions part registers them (``app.py``): the table lives there.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tradestream.app import app
from tradestream.tables.trading import positions_by_symbol


def position_view(symbol: str, stored: dict[str, Any]) -> dict[str, Any]:
    """Return what an operator wants of one symbol's table entry (not the execution ids)."""
    orders = stored.get("orders", {})  # the table keeps only the orders still open
    return {
        "symbol": symbol,
        "position": stored.get("position"),
        "open_orders": {link: order["status"] for link, order in sorted(orders.items())},
        "mismatch": stored.get("mismatch"),
        "executions_remembered": len(stored.get("exec_ids", [])),
    }


def _is_open(view: dict[str, Any]) -> bool:
    position = view["position"]
    return bool(position) and Decimal(position.get("size", "0")) != 0


@app.page("/positions/")
async def list_positions(web: Any, request: Any) -> Any:
    """List the positions of this worker's partitions; ``?open=1`` keeps the non-flat ones."""
    only_open = request.query.get("open") in {"1", "true"}
    views = [position_view(symbol, stored) for symbol, stored in positions_by_symbol.items()]
    if only_open:
        views = [v for v in views if _is_open(v)]
    return web.json({"positions": sorted(views, key=lambda v: v["symbol"])})


@app.page("/positions/{symbol}/")
@app.table_route(table=positions_by_symbol, match_info="symbol")
async def get_position(web: Any, request: Any, symbol: str) -> Any:
    """Return one symbol's position from whichever worker owns its partition."""
    stored = positions_by_symbol.get(symbol)
    if not stored:
        return web.json({"error": f"no position ever recorded for {symbol}"}, status=404)
    return web.json(position_view(symbol, stored))
