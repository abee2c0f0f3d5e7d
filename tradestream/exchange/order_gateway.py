"""Place one order safely: idempotency, rate limit, circuit breaker, retry policy, state machine.

``OrderGateway.place`` is the whole path from a ``PlaceOrder`` command to an ``Order`` in the
state the exchange holds it:

1. reserve the ``orderLinkId`` in Redis (``SET NX``); a duplicate command waits for the winner's
   outcome and then reads the order from the exchange; if no outcome was ever recorded and the
   exchange does not know the order, the winner died before sending and it is sent now (the
   exchange's duplicate-id refusal guards the race);
2. refuse locally while the circuit breaker is open;
3. wait for a rate-limit token;
4. send; on a retryable answer (rate limited, unavailable, clock skew) back off and resend; on an
   ambiguous one (timeout, 5xx, duplicate id) query the exchange by ``orderLinkId`` and adopt
   what it says, never resending; on a refusal, reject;
5. record the outcome under the reservation.

A question about an order that the exchange does not answer (rate limited, timeout, 5xx) is never
taken for "not there": the order is neither given up nor sent blind; ``RetryableError`` tells the
caller to carry the command out again later (its reservation makes that safe). Queries take
tokens of the ``order_query`` bucket, so a burst of redelivered commands after a restart does
not run into the exchange's limit. Every order given up on is logged with its reason.

Time is injected (``clock`` in seconds, ``sleep``) so tests drive back-offs without waiting.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar

from pydantic import BaseModel, NonNegativeFloat, PositiveFloat, PositiveInt

from tradestream.core.clock import MsClock, now_us
from tradestream.core.errors import BadInputError, RetryableError
from tradestream.core.orders import Order, OrderStatus, order_link_id_for
from tradestream.core.resilience import (
    CircuitBreaker,
    EndpointGroup,
    Outcome,
    RateLimitRegistry,
    RetryPolicy,
    SharedRateLimiter,
)
from tradestream.exchange.base import Exchange, ExchangeError
from tradestream.exchange.idempotency import OutcomeStore, RecordedOutcome
from tradestream.exchange.reconcile import apply_snapshot
from tradestream.schemas.orders import PlaceOrder

log = logging.getLogger(__name__)
Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]
_REFUSED = frozenset({Outcome.REJECT, Outcome.DENIED})
FOLLOWING_DUPLICATE = "duplicate command: following the order already sent"
request_sent_us: ContextVar[int] = ContextVar("request_sent_us", default=0)
"""When the current task last sent an order request (wall clock, µs; tick-to-order stages).

Per task, not per gateway: the execution agent places orders of several symbols at once."""


def followed_duplicate(order: Order) -> bool:
    """Tell whether ``order`` came from a command already sent (so nothing was sent now)."""
    return bool(order.history) and order.history[0].reason == FOLLOWING_DUPLICATE


class OrderGatewayConfig(BaseModel, frozen=True, extra="forbid"):
    """How hard to look for an order after an ambiguous answer, and how long duplicates wait."""

    query_attempts: PositiveInt = 3
    query_delay_s: NonNegativeFloat = 0.2
    duplicate_wait_s: PositiveFloat = 10.0
    duplicate_poll_s: PositiveFloat = 0.05
    rate_limit_key: str = "account"


class OrderGateway:
    """Turn ``PlaceOrder`` commands into exchange orders at most once each."""

    def __init__(
        self,
        exchange: Exchange,
        store: OutcomeStore,
        *,
        limits: RateLimitRegistry,
        breaker: CircuitBreaker,
        retry: RetryPolicy,
        clock: Clock,
        ms_clock: MsClock,
        sleep: Sleep = asyncio.sleep,
        config: OrderGatewayConfig | None = None,
        shared_limits: SharedRateLimiter | None = None,
    ) -> None:
        self._exchange = exchange
        self._store = store
        self._limits = limits
        self._breaker = breaker
        self._retry = retry
        self._clock = clock
        self._ms_clock = ms_clock
        self._sleep = sleep
        self.config = config or OrderGatewayConfig()
        self._shared_limits = shared_limits

    async def place(self, command: PlaceOrder) -> Order:
        """Place the order of ``command`` at most once; return it in the exchange's state."""
        order = Order(
            order_link_id=order_link_id_for(command),
            symbol=command.symbol,
            side=command.side,
            qty=command.qty,
            price=command.price,
            clock=self._ms_clock,
        )
        if not await self._store.reserve(order.order_link_id):
            return await self._follow_duplicate(order, command)
        await self._submit(order, command)
        await self._record(order)
        return order

    async def _record(self, order: Order) -> None:
        reason = order.history[-1].reason if order.history else ""
        outcome = RecordedOutcome(
            status=order.status, order_id=order.exchange_order_id, reason=reason
        )
        await self._store.record(order.order_link_id, outcome)

    async def _submit(self, order: Order, command: PlaceOrder) -> None:
        for attempt in itertools.count(1):
            if not self._breaker.allow(self._clock()):
                _give_up(order, "circuit breaker open: the exchange was not called")
                return
            await self._acquire_token()
            if order.status is OrderStatus.NEW:
                order.submit()
            try:
                request_sent_us.set(now_us())  # the request leaves now (stage times)
                ack = await self._exchange.place(command)
            except BadInputError as exc:
                order.reject(f"refused before sending: {exc}")
                return
            except ExchangeError as exc:
                if await self._after_error(order, exc, attempt):
                    continue
                return
            self._breaker.record_success(self._clock())
            order.mark_submitted(ack.order_id)
            return

    # Decide what follows a failed attempt; True means send again.
    async def _after_error(self, order: Order, exc: ExchangeError, attempt: int) -> bool:
        outcome = exc.outcome
        now = self._clock()
        if outcome.trips_breaker:
            self._breaker.record_failure(now)
        elif outcome is not Outcome.RATE_LIMITED:
            self._breaker.record_success(now)
        if outcome.needs_query:
            await self._adopt_exchange_state(order, str(exc))
            return False
        decision = self._retry.decide(outcome, attempt, exc.retry_after_s)
        if decision.retry:
            await self._sleep(decision.delay_s)
            return True
        if outcome in _REFUSED:
            order.reject(str(exc))
        else:
            order.fail(f"{decision.reason}: {exc}")
        log.warning("order %s of %s not placed: %s (%s)", order.order_link_id, order.symbol,
                    exc, decision.reason)  # fmt: skip
        return False

    async def _adopt_exchange_state(self, order: Order, why: str) -> None:
        unanswered: ExchangeError | None = None
        for attempt in range(self.config.query_attempts):
            if attempt:
                await self._sleep(self.config.query_delay_s)
            try:
                await self._acquire_token(EndpointGroup.ORDER_QUERY)
                snapshot = await self._exchange.order(order.symbol, order.order_link_id)
                unanswered = None
                if snapshot is None:
                    continue
                await self._acquire_token(EndpointGroup.ORDER_QUERY)
                fills = await self._exchange.executions(order.symbol, order.order_link_id)
            except ExchangeError as exc:
                unanswered = _unanswered(exc)
                continue
            apply_snapshot(order, snapshot, fills)
            return
        if unanswered is not None:
            raise RetryableError(
                f"{why}; the exchange did not say what became of {order.order_link_id}: "
                f"{unanswered}"
            ) from unanswered
        _give_up(order, f"{why}; not found at the exchange by orderLinkId")

    async def _follow_duplicate(self, order: Order, command: PlaceOrder) -> Order:
        deadline = self._clock() + self.config.duplicate_wait_s
        recorded = await self._store.outcome(order.order_link_id)
        while recorded is None and self._clock() < deadline:
            await self._sleep(self.config.duplicate_poll_s)
            recorded = await self._store.outcome(order.order_link_id)
        order.submit(FOLLOWING_DUPLICATE)
        if recorded is None and await self._unknown_at_exchange(order):
            # Whoever reserved the id died before its request left (a killed worker): send it
            # now. Should that request still arrive, the exchange refuses a second order with
            # this orderLinkId (110072) and the order is adopted from the exchange instead.
            await self._submit(order, command)
            await self._record(order)
            return order
        await self._adopt_exchange_state(order, "duplicate command")
        if order.status is OrderStatus.FAILED and recorded is not None:
            order.exchange_order_id = recorded.order_id
        return order

    async def _unknown_at_exchange(self, order: Order) -> bool:
        await self._acquire_token(EndpointGroup.ORDER_QUERY)
        try:
            return await self._exchange.order(order.symbol, order.order_link_id) is None
        except ExchangeError as exc:
            if _unanswered(exc) is not None:  # cannot tell yet: never send blind, ask later
                raise RetryableError(
                    f"cannot tell whether {order.order_link_id} reached the exchange: {exc}"
                ) from exc
            return False

    async def _acquire_token(self, group: EndpointGroup = EndpointGroup.ORDER_CREATE) -> None:
        key = self.config.rate_limit_key
        while (wait := self._limits.try_acquire(group, key, self._clock())) > 0:
            await self._sleep(wait)
        shared = self._shared_limits
        if shared is None or group is not EndpointGroup.ORDER_CREATE:
            return
        # The account-wide bucket in Redis, so other processes' orders count too.
        while (wait := await shared.try_acquire(key, self._clock())) > 0:
            await self._sleep(wait)


# Nothing was sent (or nothing can be found): reject a fresh order, fail one in flight.
def _give_up(order: Order, reason: str) -> None:
    log.warning("giving up on order %s of %s: %s", order.order_link_id, order.symbol, reason)
    if order.status is OrderStatus.NEW:
        order.reject(reason)
    else:
        order.fail(reason)


def _unanswered(exc: ExchangeError) -> ExchangeError | None:
    """Return ``exc`` if it says nothing about the order (limited, timed out, 5xx), else None."""
    return exc if exc.outcome.retryable or exc.outcome is Outcome.AMBIGUOUS else None
