"""Execution ids already applied, so that a redelivered execution changes nothing.

Kafka delivers at least once and reconciliation re-reads executions the stream already brought,
so every execution is applied once by its id. The memory is bounded: the oldest ids are forgotten
past ``capacity``, far more than the executions redelivered after a restart or found again by a
reconciliation window. Persist ``ids()`` with the positions to keep the guarantee across restarts.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

DEFAULT_CAPACITY = 100_000


class SeenExecutions:
    """Remember the last ``capacity`` execution ids, oldest forgotten first."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY, ids: Iterable[str] = ()) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        self.capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()
        for exec_id in ids:
            self.add(exec_id)

    def __contains__(self, exec_id: object) -> bool:
        return exec_id in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, exec_id: str) -> bool:
        """Remember ``exec_id``; return False if it was already known."""
        if exec_id in self._ids:
            return False
        self._ids[exec_id] = None
        if len(self._ids) > self.capacity:
            self._ids.popitem(last=False)
        return True

    def ids(self) -> tuple[str, ...]:
        """Return the remembered ids, oldest first (what to persist)."""
        return tuple(self._ids)
