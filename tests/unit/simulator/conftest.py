"""Start simulators and clients for the simulator tests, and always tear them down."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from tradestream.simulator import BybitSimulator, ReplaySourceConfig, SimulatorConfig

from .support import RECORDING, Client

Start = Callable[[SimulatorConfig], Awaitable[BybitSimulator]]
Connect = Callable[[BybitSimulator], Awaitable[Client]]


def replay_config(**overrides: Any) -> SimulatorConfig:
    """Return a loopback, ephemeral-port replay config: flat out, one loop, held at start."""
    source = {"recording": (RECORDING,), "speed": 0.0, "loops": 1}
    source.update(overrides.pop("source", {}))
    settings: dict[str, Any] = {"port": 0, "start_paused": True, "keep_frames": True}
    settings.update(overrides)
    return SimulatorConfig(source=ReplaySourceConfig(**source), **settings)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """Yield an HTTP session for WebSocket clients and admin calls."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@pytest.fixture
async def start() -> AsyncIterator[Start]:
    """Yield a function that starts a simulator; every one started is stopped afterwards."""
    started: list[BybitSimulator] = []

    async def _start(config: SimulatorConfig) -> BybitSimulator:
        sim = BybitSimulator(config)
        await sim.start()
        started.append(sim)
        return sim

    yield _start
    for sim in started:
        await sim.stop()


@pytest.fixture
async def connect(session: aiohttp.ClientSession) -> AsyncIterator[Connect]:
    """Yield a function that opens a client on a simulator; all are closed afterwards."""
    clients: list[Client] = []

    async def _connect(sim: BybitSimulator) -> Client:
        ws = await session.ws_connect(sim.url, max_msg_size=0)
        client = Client(ws)
        clients.append(client)
        return client

    yield _connect
    for client in clients:
        await client.close()
