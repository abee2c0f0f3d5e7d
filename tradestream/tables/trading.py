"""Tables of the trading spine: what must survive a restart of a trading worker.

- ``positions_by_symbol`` (co-partitioned with ``exec.reports``): each symbol's position as the
  positions agent last computed it, and the execution ids it applied (so an execution redelivered
  after a restart is still applied once);

The risk agent's own memory (the last trading-state event, its replica of each position) is not a
Faust table: the risk loop keeps it in the compacted ``risk.state`` topic (``agents/risk_loop.py``).
"""

from __future__ import annotations

from typing import Any

import faust

from tradestream.app import app

positions_by_symbol: Any = app.Table(
    "positions_by_symbol",
    default=dict,
    schema=faust.Schema(key_type=str, key_serializer="json", value_serializer="json"),
    partitions=app.conf.topic_partitions,
    help="Per-symbol position (PositionState JSON) and the execution ids applied to it.",
)
