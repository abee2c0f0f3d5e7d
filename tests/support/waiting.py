"""Wait on conditions instead of sleeping and hoping."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar, overload

T = TypeVar("T")


@overload
async def eventually(
    probe: Callable[[], Awaitable[T]],
    *,
    within: float = ...,
    interval: float = ...,
    message: str = ...,
) -> T: ...


@overload
async def eventually(
    probe: Callable[[], T],
    *,
    within: float = ...,
    interval: float = ...,
    message: str = ...,
) -> T: ...


async def eventually(
    probe: Callable[[], T | Awaitable[T]],
    *,
    within: float = 10.0,
    interval: float = 0.1,
    message: str = "condition not met",
) -> T:
    """Poll ``probe`` until it returns something truthy; return that value or fail on timeout."""
    deadline = time.monotonic() + within
    last: object = None
    while True:
        result = probe()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        last = result
        if time.monotonic() >= deadline:
            raise AssertionError(f"{message} within {within}s (last value: {last!r})")
        await asyncio.sleep(interval)
