"""The outage proxy itself: forwards, cuts (resets and refuses), restores on the same port."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from tests.support.tcp_proxy import TcpProxy
from tradestream.config.settings import Settings


async def test_a_cut_resets_and_refuses_and_a_restore_serves_again_on_the_same_port(
    settings: Settings,
) -> None:
    url = settings.redis_url.get_secret_value()
    async with TcpProxy.in_front_of(url) as proxy:
        client = Redis.from_url(proxy.through(url), retry=Retry(NoBackoff(), 0))
        try:
            assert await client.ping()
            port = proxy.port

            await proxy.cut()
            with pytest.raises(RedisConnectionError):
                await client.ping()  # the open connection was reset
            with pytest.raises(RedisConnectionError):
                await client.ping()  # and a new one is refused

            await proxy.restore()
            assert proxy.port == port
            assert await client.ping()
        finally:
            await client.aclose()
