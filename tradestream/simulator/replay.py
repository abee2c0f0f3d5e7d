"""Replay a recording: as recorded, time-scaled or flat out; looped; multiplied to N symbols.

Loops continue seamlessly. Each loop shifts timestamps by the recording's length (plus one
100 ms push interval) and the cross sequence (``seq``, ``cs``) by its per-symbol span, and the
server keeps numbering ``u`` on from where the last loop ended; the recorded first snapshot of a
later loop reaches clients as the delta from the book the previous loop left behind. Timestamps
are moved so that the first frame carries the wall-clock time the replay started at (unless
``rebase_time`` is off), so at speed 1 they track the wall clock.

Symbol copies are renamed (``BTCUSDT`` → ``BTC2USDT``, ``BTC3USDT`` …) and keep the original's
price grid, book and trades; trade ids of every loop/copy other than the first get their first
eight hex digits replaced by ``{loop:04x}{copy:04x}`` so downstream de-duplication keeps them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from tradestream.simulator.config import ReplaySourceConfig
from tradestream.simulator.events import BookEvent, MarketSink, TickerEvent, TradeEvent
from tradestream.simulator.frames import Shift
from tradestream.simulator.pacing import Throttle
from tradestream.simulator.recording import (
    RecordedBook,
    RecordedFrame,
    RecordedTicker,
    Recording,
)

PUSH_INTERVAL_MS = 100
"""Gap left between the last frame of a loop and the first of the next (depth-200 cadence)."""


def copy_name(symbol: str, copy: int) -> str:
    """Name the ``copy``-th copy of a symbol; copy 0 is the symbol itself."""
    if copy == 0:
        return symbol
    if symbol.endswith("USDT"):
        return f"{symbol.removesuffix('USDT')}{copy + 1}USDT"
    return f"{symbol}{copy + 1}"


@dataclass(frozen=True, slots=True)
class _Target:
    name: str
    copy: int


class ReplaySource:
    """Feed a recording to a market sink, loop after loop."""

    def __init__(
        self,
        recording: Recording,
        config: ReplaySourceConfig,
        *,
        wall_ms: Callable[[], int] = lambda: int(time.time() * 1000),
    ) -> None:
        self._recording = recording
        self._config = config
        self._wall_ms = wall_ms
        self.native_depth = recording.depth
        self.loops_done = 0
        base = recording.symbols
        wanted = config.symbols or len(base)
        copies = math.ceil(wanted / len(base))
        names = [(symbol, copy) for copy in range(copies) for symbol in base][:wanted]
        self.symbols = tuple(copy_name(symbol, copy) for symbol, copy in names)
        self._targets: dict[str, list[_Target]] = {}
        for symbol, copy in names:
            self._targets.setdefault(symbol, []).append(_Target(copy_name(symbol, copy), copy))

    async def run(self, sink: MarketSink, throttle: Throttle) -> None:
        """Play the configured number of loops (0: forever)."""
        rebase = self._wall_ms() - self._recording.first_ts if self._config.rebase_time else 0
        loop = 0
        while self._config.loops == 0 or loop < self._config.loops:
            await self._play(loop, rebase, sink, throttle)
            loop += 1
            self.loops_done = loop

    def _plan(self, loop: int, rebase: int) -> dict[str, list[tuple[str, int, Shift]]]:
        time_shift = rebase + loop * (self._recording.duration_ms + PUSH_INTERVAL_MS)
        plan: dict[str, list[tuple[str, int, Shift]]] = {}
        for symbol, targets in self._targets.items():
            seq_shift = loop * self._recording.seq_span.get(symbol, 0)
            plan[symbol] = [
                (
                    target.name,
                    target.copy,
                    Shift(
                        symbol=target.name.encode(),
                        time_ms=time_shift,
                        seq=seq_shift,
                        trade_id=None
                        if loop == 0 and target.copy == 0
                        else b"%04x%04x" % (loop & 0xFFFF, target.copy & 0xFFFF),
                    ),
                )
                for target in targets
            ]
        return plan

    async def _play(self, loop: int, rebase: int, sink: MarketSink, throttle: Throttle) -> None:
        plan = self._plan(loop, rebase)
        first_loop = loop == 0
        for frame in self._recording.frames:
            targets = plan.get(frame.symbol)
            if not targets:
                continue
            await throttle.until(frame.ts + targets[0][2].time_ms)
            for name, copy, shift in targets:
                _emit(frame, name, copy, shift, first_loop=first_loop, sink=sink)


def _emit(
    frame: RecordedFrame, name: str, copy: int, shift: Shift, *, first_loop: bool, sink: MarketSink
) -> None:
    if isinstance(frame, RecordedBook):
        time_shift = shift.time_ms
        sink.on_book(
            BookEvent(  # positional: this runs for every book frame of every symbol copy
                name,
                frame.snapshot,
                frame.bids,
                frame.asks,
                frame.u,
                frame.seq + shift.seq,
                frame.ts + time_shift,
                frame.cts + time_shift,
                (frame.template, shift),
            )
        )
    elif isinstance(frame, RecordedTicker):
        sink.on_ticker(_ticker_event(frame, name, copy, shift, first_loop=first_loop))
    else:
        sink.on_trade(TradeEvent(name, (frame.template, shift)))


def _ticker_event(
    frame: RecordedTicker, name: str, copy: int, shift: Shift, *, first_loop: bool
) -> TickerEvent:
    # Bybit sends one ticker snapshot per subscription; later loops send it as a full delta.
    snapshot = frame.snapshot and first_loop
    template = frame.template if snapshot or not frame.snapshot else frame.as_delta
    data = frame.data if copy == 0 else {**frame.data, "symbol": name}
    return TickerEvent(
        symbol=name,
        snapshot=snapshot,
        data=data,
        cs=frame.cs + shift.seq if frame.cs else 0,
        ts=frame.ts + shift.time_ms,
        payload=(template, shift),
    )
