"""The per-event error boundary of every agent.

An exception that escapes a Faust agent acks the event and loses it, so each event is processed
inside this boundary: a ``HaltError`` stops the worker loudly; anything else is one bad event and
goes to the dead-letter queue with its reason while the agent goes on.

Agents that process a batch of events synchronously catch per event with ``dead_letter_for`` and
send the letters with ``send_dead_letters`` before they acknowledge the batch.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from tradestream.core.errors import HaltError
from tradestream.sinks.dead_letters import DeadLetter, DeadLetterQueue
from tradestream.web import metrics

log = logging.getLogger(__name__)


@asynccontextmanager
async def dead_letter_on_error(
    dlq: DeadLetterQueue, raw: bytes, source: str
) -> AsyncIterator[None]:
    """Run one event's processing; dead-letter it if it fails for any reason but a halt."""
    try:
        yield
    except HaltError:
        raise
    except Exception as exc:
        await dlq.send(dead_letter_for(raw, source, exc))


def dead_letter_for(raw: bytes, source: str, exc: Exception) -> DeadLetter:
    """Describe one failed event for the dead-letter queue, and count it."""
    metrics.dead_letters.labels(source=source).inc()
    return DeadLetter(raw, source, f"{type(exc).__name__}: {exc}", int(time.time() * 1000))


async def send_dead_letters(dlq: DeadLetterQueue, letters: Iterable[DeadLetter]) -> None:
    """Send the dead letters of a batch, in order."""
    for letter in letters:
        await dlq.send(letter)
