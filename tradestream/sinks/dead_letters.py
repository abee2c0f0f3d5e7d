"""The dead-letter queue: every event we could not process, with the reason, kept in Redis.

A Redis stream gives one entry per bad event (raw bytes, source, reason, time) that operators can
read with ``XRANGE``, and that a fixed version of the code can re-drive. While Redis is
unreachable ``send`` raises ``UnavailableError``: the caller keeps the event and tries again
(``agents/boundary.py``), for a letter that cannot be kept must not be dropped either.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Protocol

from redis.asyncio import Redis

from tradestream.config.redis import REDIS_UNREACHABLE
from tradestream.core.errors import UnavailableError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One event that was not processed, and why."""

    raw: bytes
    source: str
    reason: str
    time_ms: int


class DeadLetterQueue(Protocol):
    """Where bad events go; implemented by Redis live and by memory in tests and backtests."""

    async def send(self, letter: DeadLetter) -> None:
        """Keep ``letter`` durably; raise ``UnavailableError`` if it cannot be kept now."""


@dataclass
class MemoryDeadLetterQueue:
    """Keep dead letters in a list: the real fake for tests and the backtester."""

    letters: list[DeadLetter] = field(default_factory=list)

    async def send(self, letter: DeadLetter) -> None:
        """Append ``letter``."""
        self.letters.append(letter)


class RedisDeadLetterQueue:
    """Append dead letters to a Redis stream."""

    def __init__(self, redis: Redis, stream: str) -> None:
        self._redis = redis
        self.stream = stream

    async def send(self, letter: DeadLetter) -> None:
        """XADD one entry; the reason is truncated so one huge error cannot bloat Redis."""
        try:
            await self._redis.xadd(
                self.stream,
                {
                    "raw": letter.raw,
                    "source": letter.source,
                    "reason": letter.reason[:2000],
                    "time_ms": letter.time_ms,
                },
            )
        except REDIS_UNREACHABLE as exc:
            raise UnavailableError(
                f"Redis unreachable: dead letter from {letter.source} not kept"
            ) from exc
        log.warning(
            "dead-lettered %d bytes from %s: %s",
            len(letter.raw),
            letter.source,
            letter.reason[:200],
        )

    async def read_all(self) -> list[DeadLetter]:
        """Return every entry of the stream, oldest first (for tools and tests)."""
        entries = await self._redis.xrange(self.stream) or []
        return [_letter_from_fields(fields or {}) for _, fields in entries]


def _as_bytes(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else value.encode()


def _letter_from_fields(fields: dict[bytes | str, bytes | str]) -> DeadLetter:
    by_name = {_as_bytes(k).decode(): _as_bytes(v) for k, v in fields.items()}
    return DeadLetter(
        raw=by_name["raw"],
        source=by_name["source"].decode(),
        reason=by_name["reason"].decode(),
        time_ms=int(by_name["time_ms"]),
    )
