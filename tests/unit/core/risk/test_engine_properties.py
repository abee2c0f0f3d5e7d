"""Properties: no sequence of signals lets approvals (fills not yet seen) break a limit."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.trading import T0, account, context, instrument, signal
from tradestream.core.risk import RiskConfig, RiskEngine
from tradestream.schemas.orders import Side

SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "AVAXUSDT", "NEARUSDT", "DOGEUSDT")
CONFIG = RiskConfig(
    max_open_positions=3,
    max_positions_per_symbol=2,
    max_position_notional_usdt=Decimal(2000),
    max_gross_notional_usdt=Decimal(5000),
    max_orders_per_minute=1000,
)

signals = st.lists(
    st.tuples(
        st.sampled_from(SYMBOLS),
        st.sampled_from([Side.BUY, Side.SELL]),
        st.integers(min_value=10, max_value=3000),
        st.booleans(),
    ),
    max_size=40,
)


@settings(max_examples=200)
@given(signals)
def test_pending_approvals_never_break_the_limits(
    rows: list[tuple[str, Side, int, bool]],
) -> None:
    risk = RiskEngine(CONFIG)
    empty = account()
    for i, (symbol, side, notional, reduce_only) in enumerate(rows):
        wish = signal(side, symbol, notional=notional, reduce_only=reduce_only)
        outcome = risk.evaluate(wish, empty, instrument(symbol), T0 + i)

        view = context(empty, pending=risk.pending_orders(), now=T0 + i)
        assert view.open_count <= CONFIG.max_open_positions
        assert view.gross_exposure() <= CONFIG.max_gross_notional_usdt
        for size in view.sizes.values():
            assert abs(size) * 100 <= CONFIG.max_position_notional_usdt
        assert outcome.decision is not None
        assert outcome.decision.approved == (outcome.order is not None)
