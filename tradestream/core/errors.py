"""Exceptions grouped by what the system does about them.

TradestreamError
├── RetryableError      transient: back off and try again (network, rate limit, 5xx)
│   └── UnavailableError         a service we depend on (Redis) is unreachable: wait for it
├── BadInputError       this one event is wrong: skip it, send it to the DLQ with the reason
│   ├── InvalidTransitionError   an order event that the state machine cannot accept
│   └── InsaneFrameError         a market frame that parses but cannot be true
└── HaltError           an invariant is broken: stop loudly, never trade on
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tradestream.core.market import BookUpdate


class TradestreamError(Exception):
    """Root of every error the system raises on purpose."""


class RetryableError(TradestreamError):
    """Fail transiently: the same call may succeed after a back-off."""


class UnavailableError(RetryableError):
    """Say that a service we depend on cannot be reached and what was not done because of it.

    The event being processed waits and is retried (it is neither acknowledged nor
    dead-lettered): an outage stops the work that needs the service instead of losing it.
    """


class BadInputError(TradestreamError):
    """Reject one event; the caller dead-letters it with this message as the reason."""


class InvalidTransitionError(BadInputError):
    """Refuse an order-state change that the order state machine does not allow."""


class InsaneFrameError(BadInputError):
    """Refuse a market frame whose values cannot be true of a market (e.g. a NaN price).

    When the frame belonged to a book we keep, the book was invalidated and ``update`` carries
    what to publish about it (the invalid book top, the resync request) beside the dead letter.
    """

    def __init__(self, reason: str, update: BookUpdate | None = None) -> None:
        super().__init__(reason)
        self.update = update


class HaltError(TradestreamError):
    """Stop processing: continuing would risk capital or corrupt state."""
