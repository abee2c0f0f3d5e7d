"""Configure the Bybit simulator: where it listens, what it streams, which faults it injects."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
)

from tradestream.simulator.exchange_config import ExchangeSideConfig
from tradestream.simulator.faults import FaultSpec


class ReplaySourceConfig(BaseModel, frozen=True, extra="forbid"):
    """Replay recorded raw frames (gzip or plain NDJSON, one frame per line)."""

    kind: Literal["replay"] = "replay"
    recording: tuple[Path, ...] = Field(min_length=1)
    speed: NonNegativeFloat = 1.0
    """1 = as recorded, N = N times faster, 0 = as fast as the subscribers drain."""
    loops: NonNegativeInt = 0
    """Passes over the recording; 0 loops forever."""
    symbols: PositiveInt | None = None
    """Symbols to serve, made by renaming copies of the recorded ones; None = as recorded."""
    rebase_time: bool = True
    """Shift timestamps so the first frame carries the replay's start time."""


class SyntheticSourceConfig(BaseModel, frozen=True, extra="forbid"):
    """Generate books, trades and tickers shaped like a recording, for any number of symbols."""

    kind: Literal["synthetic"] = "synthetic"
    recording: tuple[Path, ...] = Field(min_length=1)
    """Recording the shapes (tick sizes, level counts, delta and trade sizes) come from."""
    symbols: PositiveInt = 4
    rate: NonNegativeFloat = 1000.0
    """Messages per second over all symbols; 0 = as fast as the subscribers drain."""
    messages: NonNegativeInt = 0
    """Stop after this many messages; 0 runs forever."""
    seed: int = 0


class SimulatorConfig(BaseModel, frozen=True, extra="forbid"):
    """Run one Bybit v5 public linear WebSocket stand-in."""

    host: str = "127.0.0.1"
    port: int = Field(default=8765, ge=0, le=65535)
    """TCP port; 0 picks a free one (tests)."""
    source: ReplaySourceConfig | SyntheticSourceConfig = Field(discriminator="kind")
    idle_timeout_s: PositiveFloat = 600.0
    """Close a connection that sent no ``ping`` op for this long (Bybit: 10 minutes)."""
    start_paused: bool = False
    """Hold the source until resumed (admin ``POST /admin/source/resume``)."""
    keep_frames: bool = False
    """Keep every frame sent, per connection, in memory (served by the admin API)."""
    frame_log_dir: Path | None = None
    """Write every frame sent to ``<dir>/<conn_id>.ndjson``, one per line, byte for byte."""
    op_latency_ms: NonNegativeFloat = 0.0
    """Answer each client op (ack and snapshots, pong) this late, as a network round trip would.

    pybit 5.x stores a subscription only after sending it, so an instant loopback ack can beat
    it (``KeyError`` on the ``req_id`` in its socket thread); a few milliseconds avoid that."""
    backlog_limit: PositiveInt = 5000
    """Frames queued on one connection before the source waits for it."""
    slow_consumer_s: PositiveFloat = 30.0
    """Cut off a connection whose backlog stays full this long, as Bybit drops slow consumers."""
    top_refresh_s: PositiveFloat | None = 3.0
    """Re-send an unchanged ``orderbook.1`` top after this long (Bybit: 3 s); None turns it off."""
    faults: tuple[FaultSpec, ...] = ()
    """Faults applied at start; give ``every_s`` to repeat a one-off fault."""
    exchange: ExchangeSideConfig = ExchangeSideConfig()
    """The private REST / WebSocket side: accounts, balance, instrument rules, rate limits."""
