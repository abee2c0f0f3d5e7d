"""ExactSum: what stays in the sum, rounded once, whatever came and went."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from tradestream.core.indicators import ExactSum

finite = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e300, max_value=1e300)


@settings(max_examples=30, deadline=None)
@given(values=st.lists(finite, max_size=60), window=st.integers(1, 8))
def test_a_sliding_window_equals_fsum_of_what_is_in_it(values: list[float], window: int) -> None:
    total = ExactSum()
    for i, x in enumerate(values):
        total.add(x)
        if i >= window:
            total.add(-values[i - window])
        assert total.value == math.fsum(values[max(0, i - window + 1) : i + 1])


def test_cancellation_that_plain_floats_get_wrong() -> None:
    total = ExactSum()
    for x in (1e16, 1.0, -1e16, 0.1, 5e-324):
        total.add(x)
    assert total.value == math.fsum([1.0, 0.1, 5e-324])
    total.add(-1.0)
    total.add(-0.1)
    total.add(-5e-324)
    assert total.value == 0.0
    total.clear()
    total.add(2.5)
    assert total.value == 2.5
