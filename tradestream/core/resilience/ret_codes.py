"""What to do about a Bybit v5 answer: the ``retCode`` table and the transport failures.

The table maps each known code to an ``Outcome`` (what the caller does) and a short meaning (for
logs and the DLQ). Codes come from the Bybit v5 error page (UTA and WS order-entry sections) and
are listed by outcome; add a code by adding one row. An unknown code is rejected: retrying
something we do not understand could place an order twice.

The outcomes, and what the execution agent does on each:

==============  ==========================================================================
OK              done
RATE_LIMITED    nothing happened; wait (backoff, or the exchange's reset time) and resend
UNAVAILABLE     the exchange refused before processing; wait and resend
RESYNC_TIME     our timestamp fell outside recv_window; resync the clock offset, then resend
AMBIGUOUS       the request may or may not have taken effect (timeout, 5xx, server error):
                query the order by ``orderLinkId`` before anything else, never resend blind
ALREADY_PLACED  the ``orderLinkId`` exists already: the order was placed; fetch it
NOT_OPEN        the order is unknown, filled or already cancelled: stop, fetch its final state
REJECT          the exchange refused this order (balance, qty, price, reduce-only...): give up
DENIED          credentials, permissions, IP or account bans: give up, alert, every call fails
==============  ==========================================================================

For read-only calls (queries) AMBIGUOUS is harmless and may simply be retried.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType


class Outcome(StrEnum):
    """What the caller does about one exchange answer."""

    OK = "ok"
    RATE_LIMITED = "rate_limited"
    UNAVAILABLE = "unavailable"
    RESYNC_TIME = "resync_time"
    AMBIGUOUS = "ambiguous"
    ALREADY_PLACED = "already_placed"
    NOT_OPEN = "not_open"
    REJECT = "reject"
    DENIED = "denied"

    @property
    def retryable(self) -> bool:
        """Tell whether resending the same request is safe and may succeed."""
        return self in _RETRYABLE

    @property
    def needs_query(self) -> bool:
        """Tell whether the order's real state must be fetched before deciding anything."""
        return self in _NEEDS_QUERY

    @property
    def trips_breaker(self) -> bool:
        """Tell whether this answer counts as a failure of the exchange for the circuit breaker."""
        return self in _TRIPS_BREAKER


_RETRYABLE = frozenset({Outcome.RATE_LIMITED, Outcome.UNAVAILABLE, Outcome.RESYNC_TIME})
_NEEDS_QUERY = frozenset({Outcome.AMBIGUOUS, Outcome.ALREADY_PLACED, Outcome.NOT_OPEN})
_TRIPS_BREAKER = frozenset({Outcome.AMBIGUOUS, Outcome.UNAVAILABLE, Outcome.DENIED})


@dataclass(frozen=True, slots=True)
class RetCodeRule:
    """One row of the table: the outcome of a code and what the code means."""

    outcome: Outcome
    meaning: str


_O = Outcome
_ROWS: tuple[tuple[int, Outcome, str], ...] = (
    (0, _O.OK, "OK"),
    # Throttled before processing: safe to resend after a wait.
    (10006, _O.RATE_LIMITED, "too many visits: the per-UID API rate limit was exceeded"),
    (10018, _O.RATE_LIMITED, "the per-IP rate limit was exceeded (retired code)"),
    (10429, _O.RATE_LIMITED, "system-level frequency protection"),
    (429, _O.RATE_LIMITED, "trading service under high load; retry"),
    (20003, _O.RATE_LIMITED, "too frequent requests on one WebSocket session"),
    (10019, _O.UNAVAILABLE, "WS trade service restarting; the request was not accepted"),
    (110079, _O.UNAVAILABLE, "the order is being processed and cannot be operated yet"),
    (10002, _O.RESYNC_TIME, "request time outside the recv_window"),
    # The request reached the exchange and its effect is unknown.
    (10000, _O.AMBIGUOUS, "server timeout"),
    (10016, _O.AMBIGUOUS, "internal server error or service restarting"),
    (10014, _O.AMBIGUOUS, "invalid duplicate request"),
    (110072, _O.ALREADY_PLACED, "orderLinkId is duplicate"),
    (110030, _O.ALREADY_PLACED, "duplicate orderId (retired code)"),
    # Cancel or amend of an order that is not open.
    (110001, _O.NOT_OPEN, "order does not exist"),
    (110008, _O.NOT_OPEN, "the order has been completed or cancelled"),
    (110010, _O.NOT_OPEN, "the order has been cancelled"),
    # Account-wide: nothing will work until a human fixes it.
    (10003, _O.DENIED, "API key is invalid or belongs to another environment"),
    (10004, _O.DENIED, "signature error"),
    (10005, _O.DENIED, "permission denied for this API key"),
    (10007, _O.DENIED, "user authentication failed"),
    (10008, _O.DENIED, "common banned; check the account mode"),
    (10009, _O.DENIED, "IP has been banned"),
    (10010, _O.DENIED, "request IP not bound to the API key"),
    (10024, _O.DENIED, "compliance rules triggered"),
    (10027, _O.DENIED, "transactions are banned"),
    (10028, _O.DENIED, "endpoint only for unified trading accounts"),
    (33004, _O.DENIED, "API key has expired"),
    # This order is wrong or does not fit the account: refuse it, keep trading others.
    (10001, _O.REJECT, "request parameter error (qty, price, step or tick size...)"),
    (10017, _O.REJECT, "route not found"),
    (10029, _O.REJECT, "symbol not in the API key's whitelist"),
    (110003, _O.REJECT, "order price outside the allowed range"),
    (110004, _O.REJECT, "wallet balance is insufficient"),
    (110005, _O.REJECT, "position status does not allow this"),
    (110006, _O.REJECT, "assets cannot cover the position margin"),
    (110007, _O.REJECT, "available balance is insufficient"),
    (110009, _O.REJECT, "too many stop orders"),
    (110012, _O.REJECT, "insufficient available balance"),
    (110017, _O.REJECT, "reduce-only rule not satisfied (would increase the position)"),
    (110019, _O.REJECT, "order id is illegal"),
    (110020, _O.REJECT, "more than 500 active orders"),
    (110021, _O.REJECT, "position limit reached due to open interest"),
    (110022, _O.REJECT, "quantity restricted: cannot amend the qty upwards"),
    (110023, _O.REJECT, "this contract is reduce-only for now"),
    (110032, _O.REJECT, "order is illegal"),
    (110040, _O.REJECT, "the order would trigger liquidation"),
    (110044, _O.REJECT, "available margin is insufficient"),
    (110045, _O.REJECT, "wallet balance is insufficient"),
    (110051, _O.REJECT, "available balance cannot cover the lowest market price"),
    (110052, _O.REJECT, "available balance is insufficient to set the price"),
    (110053, _O.REJECT, "available balance cannot cover the market and limit price"),
    (110063, _O.REJECT, "settlement in progress; symbol not tradable"),
    (110064, _O.REJECT, "amended qty would be at or below the filled qty"),
    (110066, _O.REJECT, "trading is currently not allowed"),
    (110086, _O.REJECT, "leverage above the maximum of the current risk limit tier"),
    (110090, _O.REJECT, "the position could exceed the maximum limit at this leverage"),
    (110094, _O.REJECT, "order notional value below the lower limit"),
)

RET_CODES: Mapping[int, RetCodeRule] = MappingProxyType(
    {code: RetCodeRule(outcome, meaning) for code, outcome, meaning in _ROWS}
)
"""Every Bybit v5 ``retCode`` we know, with what to do about it."""

_UNKNOWN = RetCodeRule(Outcome.REJECT, "unknown retCode: rejected conservatively")


def describe_ret_code(ret_code: int) -> RetCodeRule:
    """Return the rule of a ``retCode``; unknown codes are rejected."""
    return RET_CODES.get(ret_code, _UNKNOWN)


def classify_ret_code(ret_code: int) -> Outcome:
    """Return what to do about a ``retCode``."""
    return describe_ret_code(ret_code).outcome


def classify_http_status(status: int) -> Outcome:
    """Return what to do about an HTTP status; a 200 defers to the body's ``retCode``."""
    if status == 200:
        return Outcome.OK
    if status in {403, 429}:
        # Bybit answers 403 when the IP limit is breached (a ban of minutes) and 429 for
        # system-level frequency protection; neither request was processed.
        return Outcome.RATE_LIMITED
    if status == 401:
        return Outcome.DENIED
    if status >= 500:
        return Outcome.AMBIGUOUS
    return Outcome.REJECT


def classify_transport_failure(*, request_sent: bool) -> Outcome:
    """Return what to do when no answer came: ambiguous once any byte may have left."""
    return Outcome.AMBIGUOUS if request_sent else Outcome.UNAVAILABLE
