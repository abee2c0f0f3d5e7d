"""The per-event error boundary of every agent.

An exception that escapes a Faust agent acks the event and loses it, so each event is processed
inside this boundary: a ``HaltError`` stops the worker loudly; anything else is one bad event and
goes to the dead-letter queue with its reason while the agent goes on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
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
        reason = f"{type(exc).__name__}: {exc}"
        metrics.dead_letters.labels(source=source).inc()
        await dlq.send(DeadLetter(raw, source, reason, int(time.time() * 1000)))
