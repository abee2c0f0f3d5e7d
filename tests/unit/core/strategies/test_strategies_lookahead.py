"""No look-ahead: what a strategy emits up to bar k does not depend on any bar after k.

Each strategy runs once over a stretch of real bars that holds two of its signals; a fresh one
fed only the first k bars (for many k, every signal's bar among them) must emit exactly the
signals the full run emitted on those bars. Hypothesis then replaces everything after a prefix by
other bars and checks that the signals on the prefix do not move.
"""

from __future__ import annotations

import dataclasses
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.core.strategies.recorded import bars_for, fresh, run
from tradestream.core.candles import Candle
from tradestream.core.strategies import STRATEGIES

KINDS = sorted(STRATEGIES)


@cache
def _stretch(kind: str) -> tuple[Candle, ...]:
    # From the start to just past the second signal: warm-up and signals included.
    candles = bars_for(kind).candles
    fired = run(fresh(kind), candles)
    end = fired[min(1, len(fired) - 1)][0] + 2
    return candles[:end]


@pytest.mark.parametrize("kind", KINDS)
def test_a_prefix_emits_what_the_full_run_emitted_on_it(kind: str) -> None:
    candles = _stretch(kind)
    full = run(fresh(kind), candles)
    signal_bars = {i for i, _ in full}
    cuts = sorted(set(range(1, len(candles) + 1, max(1, len(candles) // 25))) | signal_bars)
    cuts += [i + 1 for i in signal_bars]
    for cut in cuts:
        prefix = run(fresh(kind), candles[:cut])
        assert prefix == [(i, s) for i, s in full if i < cut], f"{kind} after {cut} bars"


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_later_bars_do_not_change_earlier_signals(kind: str, data: st.DataObject) -> None:
    candles = _stretch(kind)
    cut = data.draw(st.integers(1, len(candles) - 1), label="cut")
    scale = data.draw(st.floats(0.9, 1.1), label="scale")
    volume = data.draw(st.floats(0.0, 50.0), label="volume factor")
    other = [
        dataclasses.replace(
            c,
            open=c.open * scale,
            high=c.high * scale,
            low=c.low * scale,
            close=c.close * scale,
            volume=c.volume * volume,
        )
        for c in candles[cut:]
    ]
    original = [(i, s) for i, s in run(fresh(kind), candles) if i < cut]
    changed = [(i, s) for i, s in run(fresh(kind), [*candles[:cut], *other]) if i < cut]
    assert changed == original
