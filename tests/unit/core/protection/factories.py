"""Factories for protection tests: positions, prices, configs, engines and close results.

Numbers may be written as strings or ints; they become ``Decimal``. Times are ms from ``T0``.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from tradestream.core.protection import (
    CloseDecision,
    CloseResult,
    CloseResultKind,
    PositionProtection,
    PositionView,
    PriceKind,
    PriceObservation,
    ProtectionConfig,
    ProtectionEngine,
    ProtectionOutcome,
)
from tradestream.schemas.orders import Side

Number = str | int | Decimal
D = Decimal
T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
SECOND = 1_000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
SYMBOL = "BTCUSDT"
KEY = f"{SYMBOL}:{T0}"


def view(
    side: Side = Side.BUY,
    *,
    qty: Number = 1,
    entry: Number = 100,
    opened: int = T0,
    tick: Number = "0.01",
    step: Number = "0.001",
    stop: Number | None = None,
    take_profit: Number | None = None,
    symbol: str = SYMBOL,
) -> PositionView:
    """Build an open position (long 1 @ 100 with a 0.01 tick unless told)."""
    return PositionView(
        symbol=symbol,
        side=side,
        qty=D(str(qty)),
        entry_price=D(str(entry)),
        opened_ts_ms=opened,
        tick_size=D(str(tick)),
        qty_step=D(str(step)),
        stop_loss=None if stop is None else D(str(stop)),
        take_profit=None if take_profit is None else D(str(take_profit)),
    )


def price(
    value: Number, ts: int = T0, *, kind: PriceKind = PriceKind.LAST, symbol: str = SYMBOL
) -> PriceObservation:
    """Build a price observation."""
    return PriceObservation(symbol=symbol, price=D(str(value)), kind=kind, ts_ms=ts)


def config(**sections: Any) -> ProtectionConfig:
    """Build a config from the defaults with ``sections`` overridden (as YAML would give them)."""
    return ProtectionConfig.model_validate(sections)


def trailing_only(**sections: Any) -> ProtectionConfig:
    """Return a config where only the stop-loss and the trailing stop can close."""
    base: dict[str, Any] = {
        "take_profit": {"partials": []},
        "breakeven": {"enabled": False},
        "aged": {"enabled": False},
        "exchange_stop": {"enabled": False},
    }
    return config(**{**base, **sections})


def opened(
    settings: ProtectionConfig | None = None, position: PositionView | None = None
) -> ProtectionEngine:
    """Return an engine protecting ``position`` (long 1 @ 100 unless told), opened at its time."""
    engine = ProtectionEngine(settings or config())
    chosen = position or view()
    engine.on_position(chosen.symbol, chosen, chosen.opened_ts_ms)
    return engine


def walk(
    engine: ProtectionEngine, prices: Sequence[Number], start: int = T0 + SECOND, step: int = SECOND
) -> list[ProtectionOutcome]:
    """Feed ``prices`` one ``step`` apart, each taken at its own time; return every outcome."""
    outcomes = []
    for i, value in enumerate(prices):
        ts = start + i * step
        outcomes.append(engine.on_price(price(value, ts), ts))
    return outcomes


def protection(engine: ProtectionEngine, symbol: str = SYMBOL) -> PositionProtection:
    """Return the protection of ``symbol``'s open position (there must be one)."""
    state = engine.protection(symbol)
    assert state is not None, f"{symbol} has no open position"
    return state


def result(close: CloseDecision, kind: CloseResultKind, ts: int) -> CloseResult:
    """Return the end of ``close``."""
    return CloseResult(close.symbol, close.close_id, kind, ts, reason="test")


def closes(outcomes: list[ProtectionOutcome]) -> list[CloseDecision]:
    """Return every close sent across ``outcomes``."""
    return [close for outcome in outcomes for close in outcome.closes]
