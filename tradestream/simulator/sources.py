"""Choose and build the market-data source a simulator streams from.

A source knows which symbols it serves and how deep its books are before it starts, so the
server can set up its markets and answer subscriptions; ``run`` then feeds updates to the sink,
paced by the throttle, until it is done (finite replays and message counts) or cancelled.
"""

from __future__ import annotations

from typing import Protocol

from tradestream.simulator.config import ReplaySourceConfig, SyntheticSourceConfig
from tradestream.simulator.events import MarketSink
from tradestream.simulator.pacing import Throttle
from tradestream.simulator.profile import learn
from tradestream.simulator.recording import load_recording
from tradestream.simulator.replay import ReplaySource
from tradestream.simulator.synthetic import SyntheticSource


class Source(Protocol):
    """Produce market updates for a fixed set of symbols."""

    @property
    def symbols(self) -> tuple[str, ...]:
        """Return the symbols served, in a stable order."""

    @property
    def native_depth(self) -> int:
        """Return the depth of the books the source produces."""

    async def run(self, sink: MarketSink, throttle: Throttle) -> None:
        """Feed updates to the sink until done or cancelled."""


def build_source(config: ReplaySourceConfig | SyntheticSourceConfig) -> tuple[Source, float]:
    """Load what the source needs and return it with the throttle speed it runs at."""
    recording = load_recording(config.recording)
    if isinstance(config, ReplaySourceConfig):
        return ReplaySource(recording, config), config.speed
    source = SyntheticSource(learn(recording), config, depth=recording.depth)
    return source, 1.0 if config.rate > 0 else 0.0
