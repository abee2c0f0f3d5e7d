"""How every process reaches Redis: one client factory with time limits on every call.

Without a socket timeout a Redis that accepts connections but stops answering (a stopped
process, a full network buffer, a failover in progress) leaves the caller waiting for ever: the
order path would hang instead of failing closed and saying so. With one, the call raises
``redis.exceptions.TimeoutError``, which the idempotency store and the dead-letter queue already
treat as "Redis unreachable" (retry with back-off, nothing sent meanwhile).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from tradestream.config.settings import Settings
from tradestream.core.errors import UnavailableError

REDIS_UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)
"""What a lost, refused or silent Redis connection raises."""


def redis_client(settings: Settings) -> Redis:
    """Return a client of ``settings.redis_url`` whose connects and calls time out."""
    return Redis.from_url(
        settings.redis_url.get_secret_value(),
        socket_timeout=settings.redis_timeout_s,
        socket_connect_timeout=settings.redis_timeout_s,
    )


@contextmanager
def redis_reachable(not_done: str) -> Iterator[None]:
    """Turn a lost or refused Redis connection into an error that says what was not done."""
    try:
        yield
    except REDIS_UNREACHABLE as exc:
        raise UnavailableError(f"Redis unreachable: {not_done}") from exc
