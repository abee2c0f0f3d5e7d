"""The ``book_status_by_symbol`` table: each book's health and a top-N checkpoint for readers.

The live book is soft state in the market agent and is rebuilt from snapshots; this table is what
survives a restart and what web views and other workers read.
"""

from __future__ import annotations

from typing import Any

import faust

from tradestream.app import app

book_status_by_symbol: Any = app.Table(
    "book_status_by_symbol",
    default=dict,
    schema=faust.Schema(key_type=str, key_serializer="json", value_serializer="json"),
    partitions=app.conf.topic_partitions,
    help="Per-symbol book status, integrity counters and top-5 checkpoint.",
)
