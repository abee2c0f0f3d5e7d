"""When the kill switch trips, and the orders it sends: cancel everything, close everything.

It trips when the day's loss reaches ``max_daily_loss`` of the equity the day opened with (or the
absolute ``max_daily_loss_usdt``), or when equity falls ``max_drawdown`` below its peak; a person
can trip it at any time. Then every open order is cancelled and every position is closed by a
reduce-only market order whose ids derive from the episode and the symbol (``ks-3-BTCUSDT``; the
``orderLinkId`` follows from it as for any ``PlaceOrder``), so a replay or a second worker sends
the same ids and the exchange refuses the duplicate.

While the account stays halted, a position that is still open gets a new close (the next leg) when
it changed since the last one (a late entry fill, a partial close) or when the last one is older
than ``retry_ms`` (rejected or lost); reduce-only means an extra close can never open a position.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from tradestream.core.errors import HaltError
from tradestream.core.risk.config import RiskConfig
from tradestream.schemas.account import AccountState, PositionState
from tradestream.schemas.orders import CancelOrder, OrderType, PlaceOrder, Side, TimeInForce
from tradestream.schemas.trading import KillSwitchTrigger

KILL_SWITCH_STRATEGY = "killswitch"
MAX_LEG = 99


class OrderRef(NamedTuple):
    """An open order to cancel: its symbol and ``orderLinkId``."""

    symbol: str
    order_link_id: str


def trip_trigger(
    account: AccountState,
    config: RiskConfig,
    *,
    day_open: Decimal | None = None,
    peak: Decimal | None = None,
) -> tuple[KillSwitchTrigger, str] | None:
    """Return why the account must halt now, or None while it is within its limits.

    ``day_open`` and ``peak`` default to the account's; after a reset they are the reset's.
    """
    equity = account.equity
    opening = account.day_start_equity if day_open is None else day_open
    loss = opening - equity
    if loss > 0 and opening > 0 and loss >= config.max_daily_loss * opening:
        return KillSwitchTrigger.DAILY_LOSS, (
            f"daily loss {loss:.2f} USDT is {loss / opening:.2%} of the opening equity "
            f"{opening:.2f}, limit {config.max_daily_loss:.2%}"
        )
    if config.max_daily_loss_usdt is not None and loss >= config.max_daily_loss_usdt:
        return KillSwitchTrigger.DAILY_LOSS, (
            f"daily loss {loss:.2f} USDT, limit {config.max_daily_loss_usdt} USDT"
        )
    top = account.equity_peak if peak is None else peak
    drawdown = (top - equity) / top if top > 0 else Decimal(0)
    if drawdown >= config.max_drawdown:
        return KillSwitchTrigger.DRAWDOWN, (
            f"equity {equity:.2f} is {drawdown:.2%} below its peak {top:.2f}, "
            f"limit {config.max_drawdown:.2%}"
        )
    return None


def close_command_id(episode: int, symbol: str, leg: int = 0) -> str:
    """Return the id of the close of ``symbol`` in halt ``episode`` (``leg`` > 0 retries)."""
    base = f"ks-{episode}-{symbol}"
    return base if leg == 0 else f"{base}-{leg}"


def close_order(episode: int, position: PositionState, leg: int, now_ms: int) -> PlaceOrder:
    """Build the reduce-only market order that closes ``position`` in halt ``episode``."""
    if leg > MAX_LEG:
        raise HaltError(f"kill switch episode {episode}: {position.symbol} is still open")
    return PlaceOrder(
        command_id=close_command_id(episode, position.symbol, leg),
        strategy=KILL_SWITCH_STRATEGY,
        signal_id=close_command_id(episode, position.symbol),
        leg=leg,
        symbol=position.symbol,
        side=Side.SELL if position.size > 0 else Side.BUY,
        order_type=OrderType.MARKET,
        qty=abs(position.size),
        time_in_force=TimeInForce.IOC,
        reduce_only=True,
        issued_at_ms=now_ms,
    )


def cancel_order(episode: int, ref: OrderRef, now_ms: int) -> CancelOrder:
    """Build the cancel of one open order in halt ``episode``."""
    return CancelOrder(
        command_id=f"ks-{episode}-x-{ref.order_link_id}",
        strategy=KILL_SWITCH_STRATEGY,
        symbol=ref.symbol,
        order_link_id=ref.order_link_id,
        reason=f"kill switch episode {episode}",
        issued_at_ms=now_ms,
    )


@dataclass(slots=True)
class _Sent:
    leg: int
    at_ms: int
    position_ts_ms: int


class HaltOrders:
    """Remember what one halt episode sent, and decide what it still has to send."""

    def __init__(self, retry_ms: int) -> None:
        self.retry_ms = retry_ms
        self.episode = 0
        self._closes: dict[str, _Sent] = {}
        self._cancelled: set[str] = set()

    def start(self, episode: int) -> None:
        """Begin a new episode: nothing of it has been sent yet."""
        self.episode = episode
        self._closes.clear()
        self._cancelled.clear()

    def cancels(self, refs: Iterable[OrderRef], now_ms: int) -> tuple[CancelOrder, ...]:
        """Return a cancel for each open order not yet cancelled in this episode."""
        new = sorted({r for r in refs if r.order_link_id not in self._cancelled})
        self._cancelled.update(r.order_link_id for r in new)
        return tuple(cancel_order(self.episode, ref, now_ms) for ref in new)

    def closes(self, account: AccountState, now_ms: int) -> tuple[PlaceOrder, ...]:
        """Return a close for each open position without one in flight."""
        orders = []
        for position in account.open_positions:
            sent = self._closes.get(position.symbol)
            if sent is None:
                leg = 0
            elif (
                position.updated_ts_ms > sent.position_ts_ms or now_ms - sent.at_ms >= self.retry_ms
            ):
                leg = sent.leg + 1
            else:
                continue
            orders.append(close_order(self.episode, position, leg, now_ms))
            self._closes[position.symbol] = _Sent(leg, now_ms, position.updated_ts_ms)
        return tuple(orders)

    # A close is due again when the position moved since, or the last one may be lost.
    def _due(self, sent: _Sent, position: PositionState, now_ms: int) -> bool:
        return position.updated_ts_ms > sent.position_ts_ms or now_ms - sent.at_ms >= self.retry_ms
