"""What protection remembers per symbol, and its plain-dict form for a Faust table or a row.

``SymbolState`` holds the symbol's last price and ATR, how fresh the price was judged, and the
protection of its open position (one-way mode: at most one per symbol): the best price since
opening, the trailing stop, whether the stop went to breakeven, the partial take-profits done,
the exchange's hard stop, the close in flight with its retries, and the aged-position state
machine. ``to_dict`` /
``from_dict`` round-trip it through JSON-able values (prices as strings), so a restart resumes
with the same stops, the same close in flight and the same aged phase.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pydantic import TypeAdapter

from tradestream.core.protection.aged import AgedPosition
from tradestream.core.protection.closing import CloseTracker
from tradestream.core.protection.prices import PositionView, PriceObservation
from tradestream.core.staleness import Freshness


@dataclass(slots=True)
class PositionProtection:
    """The protection state of one episode of one position."""

    view: PositionView
    best_price: Decimal
    trailing_stop: Decimal | None = None
    trailing_recorded: Decimal | None = None
    breakeven: bool = False
    partials_done: int = 0
    exchange_stop: Decimal | None = None
    exchange_stop_ts_ms: int | None = None
    closing: CloseTracker = field(default_factory=CloseTracker)
    aged: AgedPosition | None = None

    @classmethod
    def open(cls, view: PositionView) -> PositionProtection:
        """Start protecting a newly opened position."""
        return cls(view=view, best_price=view.entry_price)

    @property
    def trailing_active(self) -> bool:
        """Tell whether the trailing stop has activated."""
        return self.trailing_stop is not None

    def observe(self, price: Decimal) -> None:
        """Keep the best price the position has seen (highest for a long)."""
        self.best_price = self.view.better(self.best_price, price)


@dataclass(slots=True)
class SymbolState:
    """Everything protection keeps about one symbol; the value of its table row."""

    symbol: str
    position: PositionProtection | None = None
    price: PriceObservation | None = None
    atr: Decimal | None = None
    freshness: Freshness = Freshness.OK
    emergency_sent: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Return the state as JSON-able values."""
        dumped: dict[str, Any] = _ADAPTER.dump_python(self, mode="json")
        return dumped

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SymbolState:
        """Rebuild the state ``to_dict`` returned, validating every field."""
        return _ADAPTER.validate_python(data)


_ADAPTER: TypeAdapter[SymbolState] = TypeAdapter(SymbolState)
