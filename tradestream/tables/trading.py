"""Tables of the trading spine: what must survive a restart of a trading worker.

- ``positions_by_symbol`` (co-partitioned with ``exec.reports``): each symbol's position as the
  positions agent last computed it, and the execution ids it applied (so an execution redelivered
  after a restart is still applied once);
- ``risk_state`` (one partition, with ``sig.signals`` and ``account.events``): the last
  trading-state event (a restart never un-halts the account) and the risk agent's replica of
  every position, from which its ``AccountState`` is rebuilt.
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

risk_state: Any = app.Table(
    "risk_state",
    default=dict,
    schema=faust.Schema(key_type=str, key_serializer="json", value_serializer="json"),
    partitions=1,
    help="The last trading-state event and the risk agent's replica of every position.",
)
