"""What protection decides, as data: closes, stop moves, exchange stops, suppressions, alerts.

A rule that fires returns a ``CloseDecision`` (which rule, its priority, why, how much); the
arbiter picks one per position and the rest become ``Suppressed`` records with the reason, so
every decision, taken or not, can be counted and audited. Nothing here sends anything: the agent
turns a decision into a ``PlaceOrder`` (``CloseDecision.to_order``) and publishes the records.

Ids derive from the cause. A close's key is ``rule[.stage].SYMBOL.episode`` (the episode is the
position's opening time) and its ``orderLinkId`` is ``order_link_id("protection", symbol, key,
leg)``, where ``leg`` counts the attempts of that key: a replay of the same prices over the same
position makes the same ids, and the exchange refuses the duplicate.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from tradestream.core.orders.client_id import order_link_id
from tradestream.core.protection.prices import PriceKind
from tradestream.core.staleness import Freshness
from tradestream.schemas.orders import OrderType, PlaceOrder, Side, TimeInForce

PROTECTION_STRATEGY = "protection"
_PERSONALISATION = b"ts.protect.v1"


class ProtectionRule(StrEnum):
    """The rules that can close a position; the kill switch overrides every one of them."""

    KILL_SWITCH = "kill_switch"
    STALE_PRICE = "stale_price"
    TRAILING_STOP = "trailing_stop"
    TAKE_PROFIT = "take_profit"
    STOP_LOSS = "stop_loss"
    AGED_POSITION = "aged_position"
    TIME_STOP = "time_stop"


class StaleAction(StrEnum):
    """What to do about a position whose symbol has had no price for too long."""

    ALERT_ONLY = "alert_only"
    CLOSE_AFTER_PRICE_CHECK = "close_after_price_check"
    CLOSE_AT_MARKET = "close_at_market"


class SuppressReason(StrEnum):
    """Why a close that fired was not sent."""

    LOWER_PRIORITY = "lower_priority"
    CLOSE_IN_FLIGHT = "close_in_flight"
    RETRY_WAIT = "retry_wait"
    CANNOT_CLOSE = "cannot_close"
    STALE_PRICE = "stale_price"
    KILL_SWITCH = "kill_switch"


def close_key(rule: ProtectionRule, stage: str, symbol: str, episode: int) -> str:
    """Return the cause of a close: the rule (and its stage) on one episode of one position."""
    name = f"{rule}.{stage}" if stage else str(rule)
    return f"{name}.{symbol}.{episode}"


def close_id(symbol: str, key: str, leg: int) -> str:
    """Return the ``orderLinkId`` (at most 36 characters) of attempt ``leg`` of close ``key``."""
    return order_link_id(PROTECTION_STRATEGY, symbol, key, leg)


@dataclass(frozen=True, slots=True)
class CloseDecision:
    """Close ``qty`` (``fraction`` of the position) at market because ``rule`` fired.

    ``trigger_price`` is the level that was crossed, ``observed_price`` the price that crossed
    it (a gap makes them differ: the close is at market, not at the level). ``stage`` says which
    part of the rule fired (``tp1``, an aged phase); ``key_stage`` is the part that makes a cause
    of its own in the id (each partial take-profit is one; the aged phases share one, so a retry
    in a later phase is the next leg of the same close). ``requires_price_check`` asks the agent
    to confirm a price over REST first (a stale symbol's emergency close).
    """

    symbol: str
    episode: int
    rule: ProtectionRule
    priority: int
    reason: str
    side: Side
    qty: Decimal
    fraction: Decimal
    observed_price: Decimal | None
    trigger_price: Decimal | None
    decided_ts_ms: int
    stage: str = ""
    key_stage: str = ""
    leg: int = 0
    requires_price_check: bool = False

    @property
    def position_key(self) -> str:
        """Return ``SYMBOL:episode``, the position the close is about."""
        return f"{self.symbol}:{self.episode}"

    @property
    def key(self) -> str:
        """Return the close's cause, the ``signal_id`` of its order."""
        return close_key(self.rule, self.key_stage, self.symbol, self.episode)

    @property
    def close_id(self) -> str:
        """Return the ``orderLinkId`` (and command id) of this attempt."""
        return close_id(self.symbol, self.key, self.leg)

    def to_order(self) -> PlaceOrder:
        """Build the reduce-only market order that carries out the close."""
        return PlaceOrder(
            command_id=self.close_id,
            strategy=PROTECTION_STRATEGY,
            signal_id=self.key,
            leg=self.leg,
            symbol=self.symbol,
            side=self.side,
            order_type=OrderType.MARKET,
            qty=self.qty,
            time_in_force=TimeInForce.IOC,
            reduce_only=True,
            issued_at_ms=self.decided_ts_ms,
        )


@dataclass(frozen=True, slots=True)
class Suppressed:
    """A close that fired but was not sent, and why (counted; the audit row of a non-action)."""

    decision: CloseDecision
    reason: SuppressReason
    detail: str
    age_s: float | None = None


@dataclass(frozen=True, slots=True)
class StopUpdate:
    """A client-side stop moved: the trailing stop ratcheted or the stop went to breakeven.

    ``recorded`` tells whether the move is worth a record: every breakeven move and trailing
    activation, and a trailing ratchet once per ``record_step`` of the entry price.
    """

    symbol: str
    episode: int
    rule: ProtectionRule
    previous: Decimal | None
    stop_price: Decimal
    reason: str
    ts_ms: int
    recorded: bool = True


@dataclass(frozen=True, slots=True)
class SetExchangeStop:
    """Set the hard stop-loss the exchange holds for the position, in case every worker is down."""

    symbol: str
    episode: int
    side: Side
    stop_price: Decimal
    previous: Decimal | None
    trigger_by: PriceKind
    reason: str
    issued_ts_ms: int

    @property
    def command_id(self) -> str:
        """Return an id derived from the position and the level (a replay repeats it)."""
        material = f"{self.symbol}|{self.episode}|{self.stop_price}".encode("ascii")
        digest = hashlib.blake2b(material, digest_size=11, person=_PERSONALISATION).hexdigest()
        return f"xs-{digest}"


@dataclass(frozen=True, slots=True)
class StalePriceAlert:
    """A symbol with open positions has no fresh price (``age_s`` None: never had one)."""

    symbol: str
    age_s: float | None
    freshness: Freshness
    positions_affected: tuple[str, ...]
    ts_ms: int


@dataclass(frozen=True, slots=True)
class StaleEmergency:
    """A symbol stayed without a price past the emergency threshold: ``action`` is due."""

    symbol: str
    age_s: float | None
    action: StaleAction
    positions_affected: tuple[str, ...]
    ts_ms: int


@dataclass(frozen=True, slots=True)
class CannotClose:
    """Critical: a position could not be closed after every retry; a person must look at it."""

    symbol: str
    episode: int
    rule: ProtectionRule
    close_id: str
    attempts: int
    reason: str
    ts_ms: int
