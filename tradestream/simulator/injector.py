"""Apply fault requests (from the CLI, the admin API or a schedule) to a running simulator.

See ``faults`` for what each fault does. The injector only decides where a fault lands — which
connections, which symbols, now or every few seconds — and reports what it did, so the admin
API can answer with something a test can assert on.
"""

from __future__ import annotations

import asyncio
import logging
from itertools import count

from tradestream.core.errors import BadInputError
from tradestream.simulator.connection import Connection
from tradestream.simulator.faults import (
    BROKEN_FRAME_KINDS,
    PERSISTENT_KINDS,
    RULE_KINDS,
    FaultKind,
    FaultSpec,
    Rule,
    broken_frame,
)
from tradestream.simulator.hub import MarketHub

logger = logging.getLogger(__name__)


class FaultInjector:
    """Turn fault specs into actions and armed rules on one simulator's hub."""

    def __init__(self, hub: MarketHub) -> None:
        self._hub = hub
        self._ids = count(1)
        self._schedules: dict[int, tuple[FaultSpec, asyncio.Task[None]]] = {}

    def apply(self, spec: FaultSpec) -> dict[str, object]:
        """Inject a fault now, or schedule it if it repeats; report what happened."""
        self._check(spec)
        if spec.every_s is not None:
            schedule_id = next(self._ids)
            task = asyncio.create_task(self._repeat(spec), name=f"sim-fault-{schedule_id}")
            self._schedules[schedule_id] = (spec, task)
            return {"fault": str(spec.fault), "scheduled": schedule_id, "every_s": spec.every_s}
        return {"fault": str(spec.fault), **self._fire(spec)}

    def clear(
        self, kind: FaultKind | None = None, symbol: str | None = None, conn_id: str | None = None
    ) -> int:
        """Disarm matching rules and schedules (stalled frames are released); count removals."""
        removed = 0
        if conn_id is None:
            before = len(self._hub.standing)
            self._hub.standing[:] = [
                spec for spec in self._hub.standing if not _covers(spec, kind, symbol)
            ]
            removed += before - len(self._hub.standing)
            for schedule_id, (spec, task) in list(self._schedules.items()):
                if _covers(spec, kind, symbol):
                    task.cancel()
                    del self._schedules[schedule_id]
                    removed += 1
        for conn in self._targets(conn_id):
            armed = len(conn.rules())
            conn.disarm(kind, symbol)
            removed += armed - len(conn.rules())
        return removed

    def describe(self) -> dict[str, object]:
        """List standing faults, schedules and the rules armed on each connection."""
        return {
            "standing": [spec.model_dump(mode="json") for spec in self._hub.standing],
            "scheduled": {
                str(key): spec.model_dump(mode="json") for key, (spec, _) in self._schedules.items()
            },
            "connections": {
                conn.conn_id: conn.rules()
                for conn in self._hub.connections.values()
                if conn.rules()
            },
        }

    async def stop(self) -> None:
        """Cancel every schedule."""
        tasks = [task for _, task in self._schedules.values()]
        self._schedules.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _repeat(self, spec: FaultSpec) -> None:
        interval = spec.every_s or 1.0
        while True:
            await asyncio.sleep(interval)
            try:
                self._fire(spec)
            except BadInputError as exc:
                logger.warning("scheduled fault %s skipped: %s", spec.fault, exc)

    def _check(self, spec: FaultSpec) -> None:
        if spec.symbol is not None and spec.symbol not in self._hub.markets:
            raise BadInputError(f"unknown symbol {spec.symbol}")
        if spec.every_s is None and spec.conn_id is not None:
            self._targets(spec.conn_id)

    def _fire(self, spec: FaultSpec) -> dict[str, object]:
        kind = spec.fault
        if kind is FaultKind.RESTART:
            return {"snapshots": self._hub.restart(spec.symbol)}
        targets = self._targets(spec.conn_id)
        if kind is FaultKind.SNAPSHOT:
            chosen = None if spec.conn_id is None else targets
            return {"snapshots": self._hub.resend_snapshots(spec.symbol, chosen)}
        if kind in RULE_KINDS:
            return {"armed": self._arm(spec, targets)}
        targets = [conn for conn in targets if _carries(conn, spec.symbol)]
        if kind is FaultKind.DROP:
            for conn in targets:
                conn.abort()
            return {"dropped": [conn.conn_id for conn in targets]}
        if kind in BROKEN_FRAME_KINDS:
            for conn in targets:
                symbol = spec.symbol or _first_symbol(conn) or next(iter(self._hub.markets))
                frame = broken_frame(kind, symbol, self._hub.sample_frame(symbol))
                conn.send_control(f"fault:{kind}", frame)
            return {"sent": [conn.conn_id for conn in targets]}
        raise BadInputError(f"unsupported fault {kind}")

    def _arm(self, spec: FaultSpec, targets: list[Connection]) -> list[str]:
        if spec.fault in PERSISTENT_KINDS and spec.conn_id is None:
            self._hub.standing.append(spec)
        for conn in targets:
            conn.arm(Rule.from_spec(spec))
        return [conn.conn_id for conn in targets]

    def _targets(self, conn_id: str | None) -> list[Connection]:
        if conn_id is None:
            return list(self._hub.connections.values())
        conn = self._hub.connections.get(conn_id)
        if conn is None:
            raise BadInputError(f"no open connection {conn_id}")
        return [conn]


def _covers(spec: FaultSpec, kind: FaultKind | None, symbol: str | None) -> bool:
    return (kind is None or spec.fault is kind) and (symbol is None or spec.symbol == symbol)


def _carries(conn: Connection, symbol: str | None) -> bool:
    return symbol is None or any(topic.endswith(f".{symbol}") for topic in conn.topics)


def _first_symbol(conn: Connection) -> str | None:
    return next((topic.rpartition(".")[2] for topic in sorted(conn.topics)), None)
