"""Our own ingest client (``exchange.public_ws``) runs unmodified against the simulator."""

from __future__ import annotations

import asyncio
from collections import Counter

import aiohttp
import orjson
import pytest

from tradestream.exchange.public_ws import PublicStreamClient, PublicStreamConfig
from tradestream.simulator import BybitSimulator

from .conftest import Start, replay_config
from .support import admin, eventually, within

pytestmark = pytest.mark.timeout(60)

TOPICS = [f"{kind}.{symbol}" for kind in ("orderbook.200", "publicTrade", "tickers")
          for symbol in ("BTCUSDT", "ETHUSDT")]  # fmt: skip


def _data_frames(sim: BybitSimulator) -> list[bytes]:
    conns = [*sim.hub.connections.values(), *sim.hub.closed]
    return [f for conn in conns for f in conn.log.kept or [] if f.startswith(b'{"topic"')]


async def test_the_ingest_client_gets_every_frame_and_recovers_from_a_drop(
    start: Start, session: aiohttp.ClientSession
) -> None:
    sim = await start(replay_config())
    received: list[bytes] = []

    async def on_frame(raw: bytes, recv_ms: int, name: str) -> None:
        received.append(raw)

    config = PublicStreamConfig(url=sim.url, backoff_initial_s=0.05, backoff_max_s=0.1)
    client = PublicStreamClient("ingest-0", TOPICS, config, on_frame)
    running = asyncio.create_task(client.run())
    try:
        await eventually(lambda: sum(len(c.topics) for c in sim.hub.connections.values()) == 6)
        sim.resume()
        await within(sim.source_done(), 30)
        await eventually(lambda: len(received) == len(_data_frames(sim)))
        assert Counter(received) == Counter(_data_frames(sim))

        await admin(session, "POST", f"{sim.admin_url}/faults", {"fault": "drop"})
        await eventually(lambda: client.connects == 2 and len(sim.hub.connections) == 1)
        (again,) = sim.hub.connections.values()
        await eventually(lambda: again.log.frames - again.log.by_topic["op:subscribe"] == 4)
        await eventually(lambda: len(received) == len(_data_frames(sim)))
    finally:
        await client.stop()
        await within(running)

    resent = {(m["topic"], m["type"]) for m in map(orjson.loads, received[-4:])}
    assert resent == {
        (topic, "snapshot") for topic in TOPICS if not topic.startswith("publicTrade")
    }
