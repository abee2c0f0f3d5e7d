"""Every strategy on the 30 recorded days: it fires, the same way twice, well-formed signals."""

from __future__ import annotations

import pytest

from tests.unit.core.strategies.recorded import bars_for, fresh, run
from tradestream.core.strategies import STRATEGIES
from tradestream.core.strategies.strategy import ID_LIMIT

KINDS = sorted(STRATEGIES)


@pytest.mark.parametrize("symbol", ["BTCUSDT", "DOGEUSDT"])
@pytest.mark.parametrize("kind", KINDS)
def test_fires_the_same_signals_on_every_run(kind: str, symbol: str) -> None:
    candles = bars_for(kind, symbol).candles
    first = run(fresh(kind, symbol), candles)
    second = run(fresh(kind, symbol), candles)
    assert first, f"{kind} never fired on {symbol}"
    assert [(i, s.model_dump()) for i, s in first] == [(i, s.model_dump()) for i, s in second]


@pytest.mark.parametrize("kind", KINDS)
def test_signals_are_well_formed(kind: str) -> None:
    strategy = fresh(kind)
    candles = bars_for(kind).candles
    fired = run(strategy, candles)
    ids = [s.signal_id for _, s in fired]
    assert len(set(ids)) == len(ids)
    for index, signal in fired:
        bar = candles[index]
        assert signal.signal_id == f"{strategy.name}-BTCUSDT-{bar.open_ts_ms}"
        assert len(signal.signal_id) <= ID_LIMIT
        assert signal.strategy == strategy.name
        assert signal.created_ts_ms == bar.close_ts_ms
        entry, stop, take = signal.entry_price, signal.stop_loss, signal.take_profit
        assert entry is not None
        assert stop is not None
        assert take is not None
        assert 0.0 <= signal.strength <= 1.0
        assert signal.indicators["atr"] > 0
        risk = abs(entry - stop)
        reward = abs(take - entry)
        assert float(entry) == pytest.approx(bar.close, rel=1e-9)
        assert float(reward / risk) == pytest.approx(2.0, rel=1e-6)
