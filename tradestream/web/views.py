"""Faust web views of a worker: health, books, and Prometheus metrics."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from tradestream.agents import diagnostics
from tradestream.agents.market_worker import books, books_lock
from tradestream.app import app
from tradestream.core.clock import now_ms
from tradestream.core.market import with_age
from tradestream.tables.books import book_status_by_symbol
from tradestream.web.metrics import registry

health_sections: dict[str, Callable[[], dict[str, Any]]] = {}
"""More sections of ``/health/``, added by the roles that register them (``protection``)."""


@app.page("/health/")
async def health(web: Any, request: Any) -> Any:
    """Say the worker is serving, how many of its books are valid, and what its roles add.

    A trading worker adds ``protection``: each symbol's price age as the staleness guard judges
    it (ok, degraded, critical) and the worst of them over the symbols with an open position.
    """
    with books_lock:  # the market engine's thread changes the books
        statuses = [books.status_record(s, top_n=0)["status"] for s in books.symbols()]
    return web.json(
        {
            "status": "ok",
            "books": len(statuses),
            "books_valid": statuses.count("valid"),
            **{name: section() for name, section in health_sections.items()},
        }
    )


@app.page("/books/")
async def list_books(web: Any, request: Any) -> Any:
    """List the live books this worker keeps, with best bid and ask and integrity counters."""
    depth = int(request.query.get("depth", "1"))
    with books_lock:  # the market engine's thread changes the books
        records = [books.status_record(s, top_n=depth) for s in books.symbols()]
    now = now_ms()
    return web.json({"books": [with_age(record, now) for record in records]})


@app.page("/books/{symbol}/")
@app.table_route(table=book_status_by_symbol, match_info="symbol")
async def get_book_status(web: Any, request: Any, symbol: str) -> Any:
    """Return a symbol's checkpointed status from whichever worker owns its partition.

    Its age and staleness are judged now, from when the book last heard from the exchange:
    a quiet symbol's checkpoint must not read as fresh.
    """
    record = book_status_by_symbol.get(symbol)
    if not record:
        return web.json({"error": f"no book for {symbol}"}, status=404)
    return web.json(with_age(record, now_ms()))


@app.page("/features/names/")
async def feature_names(web: Any, request: Any) -> Any:
    """Return the column names of ``md.features`` values and their schema id."""
    return web.json({"names_id": books.names_id, "names": list(books.feature_names)})


@app.page("/metrics/")
async def metrics(web: Any, request: Any) -> Any:
    """Expose Prometheus metrics."""
    return web.bytes(generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})


@app.page("/diagnostics/")
async def show_diagnostics(web: Any, request: Any) -> Any:
    """Say, as text, where each task of this worker waits and how far each partition has got."""
    return web.text(diagnostics.report(app, asyncio.get_running_loop()))
