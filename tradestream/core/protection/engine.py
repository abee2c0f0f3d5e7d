"""The protection engine: per-symbol protection state driven by prices, positions, results, time.

The live agent and the backtester drive the same object: ``on_price`` for every price observation,
``on_position`` when a position opens, changes or closes, ``on_close_result`` when a close order
ends, ``on_timer`` on a timer (close timeouts, stale symbols, the hourly aged sweep, time-based
rules). Each returns a ``ProtectionOutcome``: the closes to send (at most one in flight per
position), the exchange stops to set, and the records to store and count. There is no clock and
no I/O: every call takes ``now_ms``, so the same calls give the same decisions and ids.

State is one ``SymbolState`` per symbol; ``export`` / ``restore`` carry it through plain dicts
(a Faust table). The time of the last aged sweep is not kept: after a restart the first timer
sweeps, which changes nothing, since aged time counts from the position's opening.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from decimal import Decimal
from typing import Any

from tradestream.core.protection.aged import AgedPhase, AgedPosition, AgedTransition, aged_target
from tradestream.core.protection.closing import CloseResult, CloseResultKind, Resolution
from tradestream.core.protection.config import ProtectionConfig
from tradestream.core.protection.evaluation import evaluate
from tradestream.core.protection.freshness import refresh, watch
from tradestream.core.protection.outcome import NOTHING, ProtectionOutcome
from tradestream.core.protection.prices import PositionView, PriceObservation, hours_ms
from tradestream.core.protection.state import PositionProtection, SymbolState


class ProtectionEngine:
    """Protect every open position of the symbols fed to it; decide, never act."""

    def __init__(self, config: ProtectionConfig, *, halted: bool = False) -> None:
        self.config = config
        self.halted = halted
        self._symbols: dict[str, SymbolState] = {}
        self._last_sweep_ms: int | None = None

    @classmethod
    def restore(
        cls,
        config: ProtectionConfig,
        states: Iterable[Mapping[str, Any]],
        *,
        halted: bool = False,
    ) -> ProtectionEngine:
        """Rebuild an engine from the dicts ``export`` returned."""
        engine = cls(config, halted=halted)
        for data in states:
            entry = SymbolState.from_dict(dict(data))
            engine._symbols[entry.symbol] = entry
        return engine

    def export(self, symbol: str) -> dict[str, Any] | None:
        """Return ``symbol``'s state as a plain dict (None: nothing known about it)."""
        entry = self._symbols.get(symbol)
        return None if entry is None else entry.to_dict()

    def symbols(self) -> tuple[str, ...]:
        """Return the symbols the engine holds state for."""
        return tuple(sorted(self._symbols))

    def protection(self, symbol: str) -> PositionProtection | None:
        """Return the protection state of ``symbol``'s open position (None: flat)."""
        entry = self._symbols.get(symbol)
        return None if entry is None else entry.position

    def set_halted(self, halted: bool) -> None:
        """Follow the kill switch: while halted its closes take over and ours are suppressed."""
        self.halted = halted

    def on_price(
        self, observation: PriceObservation, now_ms: int, *, atr: Decimal | None = None
    ) -> ProtectionOutcome:
        """Take a price in and evaluate the symbol's position at it.

        Prices of a kind the config does not accept, and prices older than the last one taken,
        change nothing. ``atr`` (in price units, kept until the next one) makes the trailing
        distance ATR-based; it takes precedence over the ATR the opening signal gave the position
        (``PositionView.atr``).
        """
        config = self.config.for_symbol(observation.symbol)
        if observation.kind not in config.price_kinds:
            return NOTHING
        entry = self._entry(observation.symbol)
        if entry.price is not None and observation.ts_ms < entry.price.ts_ms:
            return NOTHING
        entry.price = observation
        if atr is not None:
            entry.atr = atr
        refresh(entry, config, now_ms)
        return evaluate(entry, config, now_ms, halted=self.halted)

    def on_position(self, symbol: str, view: PositionView | None, now_ms: int) -> ProtectionOutcome:
        """Follow a position that opened, changed (``view``) or closed (None)."""
        if view is not None and view.symbol != symbol:
            raise ValueError(f"a {view.symbol} position cannot be {symbol}'s")
        entry = self._entry(symbol)
        current = entry.position
        if view is None or (current is not None and current.view.episode != view.episode):
            outcome = self._closed(entry, now_ms)
            if view is None:
                return outcome
        else:
            outcome = NOTHING
        current = entry.position
        if current is None:
            entry.position = PositionProtection.open(view)
        else:
            if view.qty != current.view.qty:
                current.closing.settle()
                current.closing.unblock()
            current.view = _keep_levels(view, current.view)
        config = self.config.for_symbol(symbol)
        return outcome + evaluate(entry, config, now_ms, halted=self.halted)

    def on_close_result(self, result: CloseResult, now_ms: int) -> ProtectionOutcome:
        """Apply the end of a close order (results of unknown or older closes are ignored)."""
        entry = self._symbols.get(result.symbol)
        if entry is None or entry.position is None:
            return NOTHING
        return self._resolve(entry, result, now_ms)

    def on_timer(self, now_ms: int) -> ProtectionOutcome:
        """Time out closes, judge stale symbols, sweep for aged positions, evaluate everything."""
        sweep = self._sweep_due(now_ms)
        outcome = NOTHING
        for symbol in sorted(self._symbols):
            entry = self._symbols[symbol]
            if entry.position is None:
                continue
            config = self.config.for_symbol(symbol)
            outcome += self._time_out(entry, config, now_ms)
            alert, emergency = watch(entry, config, now_ms)
            outcome += ProtectionOutcome(
                alerts=() if alert is None else (alert,),
                emergencies=() if emergency is None else (emergency,),
            )
            if sweep:
                outcome += self._detect(entry.position, config, now_ms)
            outcome += evaluate(entry, config, now_ms, halted=self.halted)
        return outcome

    def _entry(self, symbol: str) -> SymbolState:
        entry = self._symbols.get(symbol)
        if entry is None:
            entry = self._symbols[symbol] = SymbolState(symbol)
        return entry

    def _sweep_due(self, now_ms: int) -> bool:
        interval_ms = self.config.aged.detection_interval_s * 1000
        if self._last_sweep_ms is not None and now_ms - self._last_sweep_ms < interval_ms:
            return False
        self._last_sweep_ms = now_ms
        return True

    # Start winding down a position held past the limit, unless a trailing stop guards it.
    def _detect(
        self, state: PositionProtection, config: ProtectionConfig, now_ms: int
    ) -> ProtectionOutcome:
        settings = config.aged
        held_ms = now_ms - state.view.opened_ts_ms
        if not settings.enabled or state.aged is not None or state.trailing_active:
            return NOTHING
        if held_ms < hours_ms(settings.max_age_hours):
            return NOTHING
        target = aged_target(state.view, settings, now_ms)
        state.aged = AgedPosition.detect(state.view, target, now_ms)
        return ProtectionOutcome(aged_transitions=tuple(state.aged.history))

    def _time_out(
        self, entry: SymbolState, config: ProtectionConfig, now_ms: int
    ) -> ProtectionOutcome:
        state = entry.position
        sent = None if state is None else state.closing.in_flight
        if state is None or sent is None:
            return NOTHING
        if not state.closing.overdue(now_ms, int(config.closing.timeout_s * 1000)):
            return NOTHING
        if sent.filled:
            state.closing.settle()
            return NOTHING
        timeout = CloseResult(
            entry.symbol, sent.close_id, CloseResultKind.TIMEOUT, now_ms, "no answer in time"
        )
        return self._resolve(entry, timeout, now_ms)

    def _resolve(self, entry: SymbolState, result: CloseResult, now_ms: int) -> ProtectionOutcome:
        state = entry.position
        if state is None:
            return NOTHING
        config = self.config.for_symbol(entry.symbol)
        delays = tuple(int(s * 1000) for s in config.closing.retry_delays_s)
        resolution, ended = state.closing.resolve(result, delays)
        if ended is None:
            return NOTHING
        if resolution is Resolution.FILLED and ended.stage.startswith("tp"):
            state.partials_done = max(state.partials_done, int(ended.stage[2:]))
        if resolution is not Resolution.BLOCKED:
            return NOTHING
        failure = state.closing.cannot_close(entry.symbol, state.view.episode, ended, result)
        transitions: tuple[AgedTransition, ...] = ()
        aged = state.aged
        if aged is not None and aged.phase is AgedPhase.CLOSING:
            target = aged_target(state.view, config.aged, now_ms)
            transitions = (aged.move(AgedPhase.ERROR, now_ms, failure.reason, target),)
        return ProtectionOutcome(failures=(failure,), aged_transitions=transitions)

    # Forget a position that closed (or was replaced by a new episode); its aged record closes.
    def _closed(self, entry: SymbolState, now_ms: int) -> ProtectionOutcome:
        state = entry.position
        entry.position = None
        if state is None or state.aged is None or not state.aged.active:
            return NOTHING
        config = self.config.for_symbol(entry.symbol)
        target = aged_target(state.view, config.aged, now_ms)
        by = (
            "its aged close" if state.aged.phase is AgedPhase.CLOSING else "another rule or by hand"
        )
        move = state.aged.move(AgedPhase.CLOSED, now_ms, f"position closed by {by}", target)
        return ProtectionOutcome(aged_transitions=(move,))


# A change of the position keeps the opening signal's levels and ATR unless it names new ones.
def _keep_levels(view: PositionView, before: PositionView) -> PositionView:
    return replace(
        view,
        stop_loss=before.stop_loss if view.stop_loss is None else view.stop_loss,
        take_profit=before.take_profit if view.take_profit is None else view.take_profit,
        atr=before.atr if view.atr is None else view.atr,
    )
