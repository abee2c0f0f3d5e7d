"""Exceptions grouped by what the system does about them.

TradestreamError
├── RetryableError      transient: back off and try again (network, rate limit, 5xx)
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
