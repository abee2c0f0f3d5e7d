"""The protection agent's work on one event: one protection engine per symbol, kept in a table.

``ProtectionDesk`` feeds ``core.protection.ProtectionEngine`` for the protection agent, one
engine per symbol so that each symbol runs on its own clock and is restored on its own:

- a valid book top is a ``mid`` price observation at its exchange time; a position change (from
  ``exec.positions``) opens, resizes or ends the position protected, with the opening signal's
  stop-loss, take-profit and ATR when it gave them (else the configured distances apply; the
  ATR makes the trailing distance ``atr_multiple`` ATRs instead of ``callback``); the end
  of one of our close orders (``exec.reports``) is a close result; a timer tick runs the timed
  rules of every symbol of the tick's partition;
- each symbol's engine is rebuilt from the table (``protection_by_symbol``) the first time the
  symbol is seen after an assignment (``forget``), so a restart or a rebalance resumes with the
  same stops, close in flight and aged phase; the agent writes the state back with ``save``
  after each event, when something other than the price changed or the saved price is old;
- a position change older than the last one applied (a redelivery after a restart) is ignored.

Every call returns ``Step`` records (the engine's outcome and what is needed to record it); the
agent sends and records them. Nothing here does I/O but the table.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from tradestream.core.clock import MarketClock
from tradestream.core.errors import BadInputError
from tradestream.core.protection import (
    CloseResult,
    CloseResultKind,
    InFlightClose,
    PositionProtection,
    PositionView,
    PriceKind,
    PriceObservation,
    ProtectionConfig,
    ProtectionEngine,
    ProtectionOutcome,
    Suppressed,
)
from tradestream.core.protection.freshness import classify
from tradestream.core.staleness import Freshness
from tradestream.schemas.account import PositionState
from tradestream.schemas.exchange import InstrumentInfo
from tradestream.schemas.market import BookTop
from tradestream.schemas.orders import OrderEvent, OrderFilled
from tradestream.streams.partitioning import partition_for_key

Instruments = Callable[[str], InstrumentInfo | None]
PRICE_SAVE_EVERY_MS = 5_000
SUPPRESSED_EVERY_MS = 60_000
_RESULTS = {
    "order_filled": CloseResultKind.FILLED,
    "order_rejected": CloseResultKind.REJECTED,
    "order_failed": CloseResultKind.REJECTED,
    "order_cancelled": CloseResultKind.CANCELLED,
    "order_expired": CloseResultKind.EXPIRED,
}
_SEVERITY = {Freshness.OK: 0, Freshness.DEGRADED: 1, Freshness.CRITICAL: 2}


@dataclass(frozen=True, slots=True)
class EndedClose:
    """One of our closes ended: what was sent, how it ended, at what average price."""

    close: InFlightClose
    result: CloseResult
    avg_price: Decimal | None


@dataclass(frozen=True, slots=True)
class Step:
    """What one event did to one symbol, and what the agent needs to send and record it.

    ``view`` is the position the outcome is about (as it was before it closed); ``suppressed``
    the suppressions worth recording (each repeat at most once a minute); ``price_ts_ms`` the
    exchange time of the price that caused the outcome.
    """

    symbol: str
    outcome: ProtectionOutcome
    view: PositionView | None = None
    aged: bool = False
    suppressed: tuple[Suppressed, ...] = ()
    price_ts_ms: int | None = None
    ended: EndedClose | None = None


@dataclass(slots=True)
class _Kept:
    engine: ProtectionEngine
    position_ms: int = -1
    saved: dict[str, Any] | None = None
    saved_price_ms: int = 0
    price_ts_ms: int | None = None
    suppressed: dict[tuple[str, ...], int] = field(default_factory=dict)


class ProtectionDesk:
    """Drive one protection engine per symbol over the table that outlives the worker."""

    def __init__(
        self,
        config: ProtectionConfig,
        table: MutableMapping[str, Any],
        *,
        clock: MarketClock,
        instruments: Instruments,
        partitions: int,
    ) -> None:
        self.config = config
        self._table = table
        self._clock = clock
        self._instruments = instruments
        self._partitions = list(range(partitions))
        self._kept: dict[str, _Kept] = {}
        self.halted = False

    def forget(self) -> None:
        """Drop every engine: after an assignment each is rebuilt from the table on first use."""
        self._kept.clear()

    def set_halted(self, halted: bool) -> None:
        """Follow the kill switch: while halted its closes win and protection only records."""
        self.halted = halted
        for kept in self._kept.values():
            kept.engine.set_halted(halted)

    def on_book_top(self, top: BookTop) -> Step | None:
        """Take the mid of a valid two-sided book top as the symbol's price."""
        if top.status != "valid":
            return None
        bid, ask = Decimal(top.bid_px), Decimal(top.ask_px)
        if bid <= 0 or ask <= 0:
            return None
        symbol = top.symbol
        self._clock.observe(symbol, top.exchange_ts_ms)
        kept = self._kept_for(symbol)
        price = PriceObservation(symbol, (bid + ask) / 2, PriceKind.MID, top.exchange_ts_ms)
        if kept.price_ts_ms is None or top.exchange_ts_ms > kept.price_ts_ms:
            kept.price_ts_ms = top.exchange_ts_ms
        return self._step(symbol, lambda e, now: e.on_price(price, now), top.exchange_ts_ms)

    def on_position(self, change: PositionState) -> Step | None:
        """Follow a position that opened, changed or closed (older changes are ignored)."""
        symbol = change.symbol
        kept = self._kept_for(symbol)
        if change.updated_ts_ms < kept.position_ms:
            return None
        kept.position_ms = change.updated_ts_ms
        view = None
        if change.is_open:
            info = self._instruments(symbol)
            if info is None:
                raise BadInputError(f"no instrument rules for {symbol}: cannot protect it")
            view = PositionView.from_state(
                change, tick_size=info.tick_size, qty_step=info.qty_step,
                stop_loss=change.stop_loss, take_profit=change.take_profit, atr=change.atr,
            )  # fmt: skip
        return self._step(symbol, lambda e, now: e.on_position(symbol, view, now))

    def on_order_event(self, event: OrderEvent) -> Step | None:
        """Apply the end of one of our closes; any other order event changes nothing."""
        kind = _RESULTS.get(event.kind)
        if kind is None:
            return None
        symbol = event.symbol
        state = self._kept_for(symbol).engine.protection(symbol)
        sent = None if state is None else state.closing.in_flight
        if sent is None or sent.close_id != event.order_link_id:
            return None
        reason = str(getattr(event, "reason", "") or "")[:500]
        result = CloseResult(symbol, sent.close_id, kind, self._clock.now(symbol), reason)
        avg = event.avg_price if isinstance(event, OrderFilled) else None
        step = self._step(symbol, lambda e, now: e.on_close_result(result, now))
        return None if step is None else replace(step, ended=EndedClose(sent, result, avg))

    def on_tick(self, partition: int) -> list[Step]:
        """Run the timed rules of every symbol of ``partition`` this worker knows of."""
        steps = []
        for symbol in self._symbols_of(partition):
            step = self._step(symbol, lambda e, now: e.on_timer(now))
            if step is not None:
                steps.append(step)
        return steps

    def save(self, symbol: str) -> None:
        """Write ``symbol``'s state to the table when it changed (inside the agent's stream)."""
        kept = self._kept.get(symbol)
        state = None if kept is None else kept.engine.export(symbol)
        if kept is None or state is None:
            return
        now = self._clock.now(symbol)
        price_due = now - kept.saved_price_ms >= PRICE_SAVE_EVERY_MS
        has_position = state.get("position") is not None
        unchanged = kept.saved is not None and _without_price(kept.saved) == _without_price(state)
        if unchanged and not (has_position and price_due):
            return
        if kept.saved is None and not has_position:
            return  # a symbol never protected here: its price alone is not worth a write
        self._table[symbol] = {"state": state, "position_ms": kept.position_ms}
        kept.saved, kept.saved_price_ms = state, now

    def health(self) -> dict[str, Any]:
        """Judge each symbol's price age as the staleness guard does (ok, degraded, critical)."""
        symbols: dict[str, Any] = {}
        worst = Freshness.OK
        for symbol, kept in sorted(self._kept.items()):
            age = None
            if kept.price_ts_ms is not None:
                age = max(self._clock.now(symbol) - kept.price_ts_ms, 0) / 1000
            freshness = classify(age, self.config.for_symbol(symbol).staleness.alert)
            protected = kept.engine.protection(symbol) is not None
            symbols[symbol] = {"age_s": age, "freshness": str(freshness), "protected": protected}
            if protected and _SEVERITY[freshness] > _SEVERITY[worst]:
                worst = freshness
        return {"status": str(worst), "halted": self.halted, "symbols": symbols}

    def gauges(self) -> tuple[Counter[str], Counter[str]]:
        """Count open positions by rule in force and aged positions by phase."""
        rules: Counter[str] = Counter()
        phases: Counter[str] = Counter()
        for symbol, kept in self._kept.items():
            state = kept.engine.protection(symbol)
            if state is None:
                continue
            rules.update(_rules_in_force(self.config.for_symbol(symbol), state))
            if state.aged is not None and state.aged.active:
                phases[str(state.aged.phase)] += 1
        return rules, phases

    def _kept_for(self, symbol: str) -> _Kept:
        kept = self._kept.get(symbol)
        if kept is None:
            stored = self._table.get(symbol) or {}
            state = stored.get("state")
            engine = ProtectionEngine.restore(self.config, [state] if state else [])
            engine.set_halted(self.halted)
            kept = self._kept[symbol] = _Kept(engine, stored.get("position_ms", -1), state)
            price = (state or {}).get("price")
            kept.price_ts_ms = None if price is None else int(price["ts_ms"])
        return kept

    def _step(
        self,
        symbol: str,
        call: Callable[[ProtectionEngine, int], ProtectionOutcome],
        price_ts_ms: int | None = None,
    ) -> Step | None:
        kept = self._kept_for(symbol)
        before = kept.engine.protection(symbol)
        outcome = call(kept.engine, self._clock.now(symbol))
        after = kept.engine.protection(symbol)
        state = after or before
        if outcome.empty and state is None:
            return None
        return Step(
            symbol=symbol,
            outcome=outcome,
            view=None if state is None else state.view,
            aged=state is not None and state.aged is not None,
            suppressed=tuple(self._worth_recording(kept, outcome.suppressed)),
            price_ts_ms=price_ts_ms,
        )

    # A suppression repeats on every evaluation while its cause lasts: record it once a minute.
    def _worth_recording(
        self, kept: _Kept, suppressed: tuple[Suppressed, ...]
    ) -> Iterator[Suppressed]:
        for item in suppressed:
            decision = item.decision
            key = (decision.position_key, decision.rule, decision.stage, item.reason)
            last = kept.suppressed.get(key)
            if last is None or decision.decided_ts_ms - last >= SUPPRESSED_EVERY_MS:
                kept.suppressed[key] = decision.decided_ts_ms
                yield item

    def _symbols_of(self, partition: int) -> list[str]:
        known = set(self._kept) | {str(key) for key in self._table}
        return sorted(s for s in known if self._partition(s) == partition)

    def _partition(self, symbol: str) -> int:
        return partition_for_key(symbol.encode(), self._partitions)


def _without_price(state: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in state.items() if k != "price"}


def _rules_in_force(config: ProtectionConfig, state: PositionProtection) -> Iterator[str]:
    yield "stop_loss"
    if state.partials_done < len(config.take_profit.partials) or state.view.take_profit:
        yield "take_profit"
    if state.trailing_active:
        yield "trailing_stop"
    if state.aged is not None and state.aged.active:
        yield "aged_position"
    if config.time_stop.max_holding_hours is not None:
        yield "time_stop"
    if state.exchange_stop is not None:
        yield "exchange_stop"
