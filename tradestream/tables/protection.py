"""The ``protection_by_symbol`` table: what protection must not forget across a restart.

Per symbol (co-partitioned with ``md.book.top``, ``exec.positions`` and ``exec.reports``), the
protection engine's state as ``ProtectionEngine.export`` gives it: the position protected, its
best price and trailing stop, breakeven, partial take-profits done, the exchange's stop, the
close in flight with its retries, the aged-position phase and history, the last price. Only the
protection agent writes it, from inside its stream (its timer ticks arrive on that stream too),
and it restores each symbol's engine from it on first use after every assignment.
"""

from __future__ import annotations

from typing import Any

import faust

from tradestream.app import app

protection_by_symbol: Any = app.Table(
    "protection_by_symbol",
    default=dict,
    schema=faust.Schema(key_type=str, key_serializer="json", value_serializer="json"),
    partitions=app.conf.topic_partitions,
    help="Per-symbol protection state (ProtectionEngine.export).",
)
