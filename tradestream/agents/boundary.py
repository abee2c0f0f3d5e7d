"""The per-event error boundary of every agent.

An exception that escapes a Faust agent acks the event and loses it, so each event is processed
inside this boundary: a ``HaltError`` stops the worker loudly; anything else is one bad event and
goes to the dead-letter queue with its reason while the agent goes on.

A call that fails only because a service it needs is unreachable (``RetryableError``, e.g.
Redis down under the order path) is not a bad event: the agent runs it with ``until_done``, which
retries the same event with capped back-off, so the event and those behind it wait instead of
being lost. A dead letter is kept the same way: while the DLQ (Redis) cannot take it the agent
waits and sends it again, so the letter is neither dropped nor allowed to crash the agent.

Agents that process a batch of events synchronously catch per event with ``dead_letter_for`` and
send the letters with ``send_dead_letters`` before they acknowledge the batch.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from functools import partial
from typing import TypeVar

from tradestream.agents.stall_watch import busy
from tradestream.core.errors import HaltError, RetryableError
from tradestream.sinks.dead_letters import DeadLetter, DeadLetterQueue
from tradestream.web import metrics

log = logging.getLogger(__name__)
T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]
FIRST_RETRY_S = 0.2
MAX_RETRY_S = 5.0


@asynccontextmanager
async def dead_letter_on_error(
    dlq: DeadLetterQueue, raw: bytes, source: str
) -> AsyncIterator[None]:
    """Run one event's processing; dead-letter it if it fails for any reason but a halt."""
    async with busy():
        try:
            yield
        except HaltError:
            raise
        except Exception as exc:
            await keep_dead_letter(dlq, dead_letter_for(raw, source, exc))


async def until_done(
    source: str, call: Callable[[], Awaitable[T]], sleep: Sleep = asyncio.sleep
) -> T:
    """Await ``call()`` until it stops raising ``RetryableError``; return what it returns.

    Each failed attempt is logged (with what was not done and the cause) and counted under
    ``source``; the back-off doubles from ``FIRST_RETRY_S`` to at most ``MAX_RETRY_S``.
    """
    delay = FIRST_RETRY_S
    attempt = 0
    while True:
        try:
            return await call()
        except RetryableError as exc:
            attempt += 1
            metrics.retried_events.labels(source=source).inc()
            cause = f": {exc.__cause__}" if exc.__cause__ is not None else ""
            log.error("%s, retrying in %.1fs (attempt %d%s)", exc, delay, attempt, cause)
            await sleep(delay)
            delay = min(delay * 2, MAX_RETRY_S)


async def keep_dead_letter(dlq: DeadLetterQueue, letter: DeadLetter) -> None:
    """Send ``letter``; while the queue cannot keep it, wait and send it again."""
    await until_done("dead_letters", partial(dlq.send, letter))


def dead_letter_for(raw: bytes, source: str, exc: Exception) -> DeadLetter:
    """Describe one failed event for the dead-letter queue, and count it."""
    metrics.dead_letters.labels(source=source).inc()
    return DeadLetter(raw, source, f"{type(exc).__name__}: {exc}", int(time.time() * 1000))


async def send_dead_letters(dlq: DeadLetterQueue, letters: Iterable[DeadLetter]) -> None:
    """Send the dead letters of a batch, in order."""
    for letter in letters:
        await dlq.send(letter)
