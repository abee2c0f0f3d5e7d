"""The Redis dead-letter queue, against the real Redis."""

from __future__ import annotations

from redis.asyncio import Redis

from tradestream.config.settings import Settings
from tradestream.sinks.dead_letters import DeadLetter, RedisDeadLetterQueue


async def test_dead_letters_keep_raw_bytes_source_reason_and_time(
    settings: Settings, redis: Redis
) -> None:
    dlq = RedisDeadLetterQueue(redis, settings.dlq_stream)
    letters = [
        DeadLetter(b"\x00\xffnot json", "md.orderbook.raw", "BadInputError: nope", 1),
        DeadLetter(b"{}", "md.trades.raw", "x" * 5000, 2),
    ]
    for letter in letters:
        await dlq.send(letter)
    stored = await dlq.read_all()
    assert stored[0] == letters[0]
    assert stored[1].reason == "x" * 2000
    assert [s.time_ms for s in stored] == [1, 2]
