"""Stand in for Bybit v5 locally: a real server speaking the public linear WebSocket protocol.

Replays recorded frames or generates Bybit-shaped ones for any number of symbols, keeps its own
book per symbol so tests can check downstream books against it, injects faults on demand, and
logs every frame it sends. Start it in tests with ``async with BybitSimulator(config) as sim``
or from the command line with ``tradestream simulate`` (see ``cli``).
"""

from tradestream.simulator.config import (
    ReplaySourceConfig,
    SimulatorConfig,
    SyntheticSourceConfig,
)
from tradestream.simulator.faults import FaultKind, FaultSpec
from tradestream.simulator.server import BybitSimulator

__all__ = [
    "BybitSimulator",
    "FaultKind",
    "FaultSpec",
    "ReplaySourceConfig",
    "SimulatorConfig",
    "SyntheticSourceConfig",
]
