"""A Redis that accepts connections and never answers makes the order path fail closed, not hang."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr

from tradestream.config.redis import redis_client
from tradestream.config.settings import Settings
from tradestream.core.errors import UnavailableError
from tradestream.exchange.idempotency import IdempotencyStore


@pytest.fixture
async def silent_port() -> AsyncIterator[int]:
    """Listen on a free port, take every connection and never write a byte back."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_a_silent_redis_is_reported_unreachable_within_the_timeout(silent_port: int) -> None:
    settings = Settings(redis_url=SecretStr(f"redis://127.0.0.1:{silent_port}/0"),
                        redis_timeout_s=0.3)  # fmt: skip
    store = IdempotencyStore(redis_client(settings), "test:")
    started = time.monotonic()

    with pytest.raises(UnavailableError, match="Redis unreachable"):
        await store.reserve("order-1")

    assert time.monotonic() - started < 5  # bounded by the timeout, not for ever
