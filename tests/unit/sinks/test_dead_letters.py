"""The Redis dead-letter queue says when it cannot keep a letter, so the caller keeps the event."""

from __future__ import annotations

from typing import Any, cast

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from tradestream.core.errors import UnavailableError
from tradestream.sinks.dead_letters import DeadLetter, RedisDeadLetterQueue


class DownRedis:
    """A Redis whose every command fails to connect."""

    async def xadd(self, *args: Any, **kwargs: Any) -> bytes:
        raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


async def test_a_letter_that_cannot_be_kept_raises_unavailable_naming_its_source() -> None:
    dlq = RedisDeadLetterQueue(cast(Redis, DownRedis()), "t.dlq")
    letter = DeadLetter(b"not a signal", "sig.signals", "ValidationError: ...", 1)

    with pytest.raises(UnavailableError, match=r"sig\.signals") as raised:
        await dlq.send(letter)
    assert isinstance(raised.value.__cause__, RedisConnectionError)
