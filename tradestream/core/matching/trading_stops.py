"""The take-profit and stop-loss an exchange holds on a whole position, as Bybit enforces them.

The paper exchange and the simulator both keep these levels and both answer
``/v5/position/trading-stop`` the way Bybit does, so the rules live here once: a level must lie
on the right side of the price that would trigger it (a long's stop below it, its take-profit
above), there must be a position to attach it to, and a level once crossed closes the whole
position at market. Both venues trigger on their book's mid (their mark and last price).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

ZERO = Decimal(0)
PARAMS_ERROR = 10001
NOT_MODIFIED = 34040
TRIGGERS = frozenset({"MarkPrice", "LastPrice", "IndexPrice"})


@dataclass(frozen=True, slots=True)
class StopLevels:
    """What one position holds: 0 means no level; ``trigger_by`` is Bybit's price name."""

    take_profit: Decimal = ZERO
    stop_loss: Decimal = ZERO
    trigger_by: str = "MarkPrice"


class StopRefusedError(Exception):
    """Refuse a trading-stop request with Bybit's ``retCode`` and message."""

    def __init__(self, ret_code: int, message: str) -> None:
        super().__init__(message)
        self.ret_code = ret_code
        self.message = message


def checked_levels(
    current: StopLevels,
    *,
    size: Decimal,
    base_price: Decimal | None,
    take_profit: Decimal | None,
    stop_loss: Decimal | None,
    trigger_by: str,
) -> StopLevels:
    """Return the levels a request sets over ``current``; raise ``StopRefusedError`` as Bybit would.

    ``size`` is signed (long > 0); ``base_price`` is the trigger price now (None: unknown, no
    side check); a None level keeps the current one, 0 removes it.
    """
    if size == 0:
        raise StopRefusedError(PARAMS_ERROR, "can not set tp/sl/ts for zero position")
    if trigger_by not in TRIGGERS:
        raise StopRefusedError(PARAMS_ERROR, f"params error: slTriggerBy {trigger_by!r} is invalid")
    for name, level in (("TakeProfit", take_profit), ("StopLoss", stop_loss)):
        if level is not None and level < 0:
            raise StopRefusedError(PARAMS_ERROR, f"params error: {name} cannot be less than 0")
    long = size > 0
    if base_price is not None:
        _check_side("StopLoss", stop_loss, base_price, long=long, below=long)
        _check_side("TakeProfit", take_profit, base_price, long=long, below=not long)
    wanted = StopLevels(
        take_profit=current.take_profit if take_profit is None else take_profit,
        stop_loss=current.stop_loss if stop_loss is None else stop_loss,
        trigger_by=trigger_by,
    )
    if wanted == current:
        raise StopRefusedError(NOT_MODIFIED, "not modified")
    return wanted


def stop_triggered(levels: StopLevels, *, size: Decimal, price: Decimal) -> bool:
    """Tell whether ``price`` crossed the stop-loss of a position of signed ``size``."""
    if levels.stop_loss <= 0 or size == 0:
        return False
    return price <= levels.stop_loss if size > 0 else price >= levels.stop_loss


def _check_side(
    name: str, level: Decimal | None, base: Decimal, *, long: bool, below: bool
) -> None:
    if level is None or level == 0:
        return
    if (level < base) if below else (level > base):
        return
    side = "Buy" if long else "Sell"
    relation = "lower" if below else "higher"
    raise StopRefusedError(
        PARAMS_ERROR,
        f"{name}:{level} set for {side} position should {relation} than base_price:{base}"
        "??MarkPrice",
    )
