"""Position sizing: how much a new position buys, fitted to the instrument's steps.

The mode decides the notional or the qty before rounding:

* ``fixed_notional``: the configured USDT amount;
* ``percent_equity``: a fraction of equity as notional;
* ``risk_per_trade``: the qty that loses ``risk_per_trade`` of equity at the signal's stop;
* ``volatility``: the same with the stop ``atr_multiple`` ATRs away (ATR from the signal's
  indicators, in price units), so quieter markets get bigger positions.

A signal that names ``notional_usdt`` (a manual trade) overrides the mode. The qty is then rounded
DOWN to the lot step (never more than asked), capped at the instrument's maximum, and refused
below the minimum qty or the minimum order value, before it costs an exchange round trip.

``propose`` turns a sized signal into the order: a reduce-only signal closes the position (all of
it, or its ``notional_usdt``), an entry against an open position flips it in one order (the
position's size plus the new entry's). Closes skip the minimum order value: a position must always
be closable.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

from tradestream.core.risk.config import SizingConfig, SizingMode
from tradestream.core.risk.proposal import ProposedOrder, Refused, RiskContext
from tradestream.schemas.exchange import InstrumentInfo
from tradestream.schemas.orders import Side
from tradestream.schemas.trading import Signal

SIZING = "sizing"
MIN_QTY = "min_qty"
MIN_NOTIONAL = "min_notional"
NOTHING_TO_REDUCE = "nothing_to_reduce"


def round_down(qty: Decimal, step: Decimal) -> Decimal:
    """Return ``qty`` as a whole number of ``step``s, rounded towards zero."""
    # Same arithmetic as exchange.instruments.round_to_step; core may not import exchange.
    return ((qty / step).to_integral_value(rounding=ROUND_DOWN) * step).quantize(step)


def fit_qty(qty: Decimal, price: Decimal, instrument: InstrumentInfo) -> Decimal | Refused:
    """Round ``qty`` down to the lot step and check the instrument's minimums."""
    fitted = round_down(qty, instrument.qty_step)
    if instrument.max_qty is not None:
        fitted = min(fitted, instrument.max_qty)
    if fitted < instrument.min_qty:
        return Refused(
            MIN_QTY,
            f"{instrument.symbol}: qty {qty:.8f} rounds to {fitted}, below the minimum "
            f"{instrument.min_qty}",
        )
    if fitted * price < instrument.min_notional:
        return Refused(
            MIN_NOTIONAL,
            f"{instrument.symbol}: order value {fitted * price:.2f} USDT is below the minimum "
            f"{instrument.min_notional} USDT",
        )
    return fitted


class Sizer:
    """Turn a signal into the qty of a new position, by the configured mode."""

    def __init__(self, config: SizingConfig, risk_per_trade: Decimal) -> None:
        self.config = config
        self.risk_per_trade = risk_per_trade

    def size(
        self, signal: Signal, price: Decimal, equity: Decimal, instrument: InstrumentInfo
    ) -> Decimal | Refused:
        """Return the qty to open for ``signal`` at ``price``, or why there is none."""
        if signal.notional_usdt is not None:
            return fit_qty(signal.notional_usdt / price, price, instrument)
        raw = self._raw_qty(signal, price, equity)
        if isinstance(raw, Refused):
            return raw
        if self.config.scale_by_strength:
            raw *= Decimal(str(signal.strength))
        return fit_qty(raw, price, instrument)

    # The unrounded qty of the configured mode.
    def _raw_qty(self, signal: Signal, price: Decimal, equity: Decimal) -> Decimal | Refused:
        mode = self.config.mode
        if mode is SizingMode.FIXED_NOTIONAL:
            return self.config.fixed_notional_usdt / price
        if equity <= 0:
            return Refused(SIZING, f"equity is {equity:.2f} USDT: {mode} sizes nothing")
        if mode is SizingMode.PERCENT_EQUITY:
            return equity * self.config.equity_fraction / price
        distance = self._stop_distance(signal, price)
        if isinstance(distance, Refused):
            return distance
        return equity * self.risk_per_trade / distance

    # The loss per unit the risk-based modes size against.
    def _stop_distance(self, signal: Signal, price: Decimal) -> Decimal | Refused:
        if self.config.mode is SizingMode.RISK_PER_TRADE:
            if signal.stop_loss is None:
                return Refused(SIZING, "risk_per_trade sizing needs the signal's stop_loss")
            distance = abs(price - signal.stop_loss)
        else:
            atr = signal.indicators.get(self.config.atr_indicator)
            if atr is None or atr <= 0:
                name = self.config.atr_indicator
                return Refused(SIZING, f"volatility sizing needs a positive {name!r} indicator")
            distance = Decimal(str(atr)) * self.config.atr_multiple
        if distance <= 0:
            return Refused(SIZING, f"the stop {signal.stop_loss} is at the price {price}")
        return distance


def propose(
    signal: Signal,
    context: RiskContext,
    instrument: InstrumentInfo,
    price: Decimal,
    sizer: Sizer,
) -> ProposedOrder | Refused:
    """Turn ``signal`` into the order it asks for at ``price``, or say why there is none."""
    if signal.reduce_only:
        return _reduction(signal, context.account.size(signal.symbol), instrument, price)
    qty = sizer.size(signal, price, context.equity, instrument)
    if isinstance(qty, Refused):
        return qty
    before = context.size(signal.symbol)
    if before != 0 and (before > 0) != (signal.side is Side.BUY):
        qty += abs(before)
    return ProposedOrder(
        symbol=signal.symbol,
        side=signal.side,
        qty=qty,
        price=price,
        size_before=before,
        stop_loss=signal.stop_loss,
    )


# A reduce-only signal closes what the account holds on the other side, never more.
def _reduction(
    signal: Signal, held: Decimal, instrument: InstrumentInfo, price: Decimal
) -> ProposedOrder | Refused:
    if held == 0 or (held > 0) == (signal.side is Side.BUY):
        return Refused(
            NOTHING_TO_REDUCE,
            f"{signal.symbol}: a reduce-only {signal.side} needs an open position on the other "
            f"side, the account holds {held}",
        )
    qty = abs(held)
    if signal.notional_usdt is not None:
        qty = min(qty, round_down(signal.notional_usdt / price, instrument.qty_step))
        if qty < instrument.min_qty:
            return Refused(
                MIN_QTY, f"{signal.symbol}: closing {qty} is below the minimum {instrument.min_qty}"
            )
    return ProposedOrder(
        symbol=signal.symbol,
        side=signal.side,
        qty=qty,
        price=price,
        size_before=held,
        reduce_only=True,
    )
