"""What every single-series indicator offers, the trend direction, and argument checks."""

from __future__ import annotations

from enum import IntEnum
from typing import Protocol, TypeVar

from tradestream.core.candles import Candle

_Value_co = TypeVar("_Value_co", covariant=True)


class Trend(IntEnum):
    """Say which way a trend-following indicator (Parabolic SAR, SuperTrend) points."""

    UP = 1
    DOWN = -1


class CandleIndicator(Protocol[_Value_co]):
    """Take closed bars one at a time and hold the value as of the last one.

    Every indicator of this package also has an ``update(...)`` taking the bar's numbers
    directly; ``update_candle`` picks those numbers out of a ``Candle``.
    """

    def update_candle(self, candle: Candle) -> _Value_co | None:
        """Fold in the newest closed bar; return the value, or None while warming up."""
        ...

    @property
    def value(self) -> _Value_co | None:
        """Return the value as of the last bar, or None while warming up."""
        ...

    @property
    def ready(self) -> bool:
        """Return whether the warm-up is over, i.e. ``value`` is not None."""
        ...


def check_period(owner: str, name: str, period: int, minimum: int = 1) -> int:
    """Return ``period`` if it is an integer of at least ``minimum``; refuse it otherwise.

    A float is refused here when interpreted; compiled (mypyc), the call itself refuses it with
    a TypeError.
    """
    if not isinstance(period, int) or period < minimum:
        raise ValueError(f"{owner} {name} must be an integer >= {minimum}, got {period!r}")
    return period


def check_positive(owner: str, name: str, value: float) -> float:
    """Return ``value`` as a float if it is finite and above zero; refuse it otherwise."""
    if not 0.0 < value < float("inf"):
        raise ValueError(f"{owner} {name} must be a finite number > 0, got {value!r}")
    return float(value)
