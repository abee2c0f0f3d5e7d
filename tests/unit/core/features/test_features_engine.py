"""FeatureEngine: the three ways to read the vector, the clock, and NaN-free random streams."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradestream.core.features import FEATURE_NAMES, FeatureEngine


def busy_engine() -> FeatureEngine:
    engine = FeatureEngine()
    engine.on_book(1_000, [100.0, 99.5], [1.0, 2.0], [100.5, 101.0], [3.0, 1.0])
    engine.on_trade(1_050, 100.5, 0.5, True)
    engine.on_book(1_100, [100.0, 99.5], [1.5, 2.0], [100.5, 101.0], [2.5, 1.0])
    return engine


def test_values_fill_and_dict_agree() -> None:
    engine = busy_engine()
    values = engine.values()
    as_list = [0.0] * len(engine)
    as_numpy = np.zeros(len(engine))
    engine.fill(as_list)
    engine.fill(as_numpy)
    assert as_list == values
    assert as_numpy.tolist() == values
    assert list(engine.as_dict().values()) == values
    assert list(engine.as_dict()) == list(FEATURE_NAMES)


def test_values_hands_out_a_copy() -> None:
    engine = busy_engine()
    values = engine.values()
    values[0] = -1.0
    assert engine.values()[0] == 100.25


def test_fill_rejects_a_buffer_of_the_wrong_length() -> None:
    with pytest.raises(ValueError, match="elements"):
        busy_engine().fill([0.0] * 3)


def test_everything_is_zero_before_the_first_event() -> None:
    assert FeatureEngine().values() == [0.0] * len(FEATURE_NAMES)


def test_event_timing_features() -> None:
    engine = busy_engine()
    engine.on_clock(1_400)
    f = engine.as_dict()
    assert f["trade_age_ms"] == 350.0
    assert f["book_age_ms"] == 300.0
    assert f["book_interval_ms"] == 100.0


def test_ages_before_any_trade_count_from_the_first_event() -> None:
    engine = FeatureEngine()
    engine.on_book(1_000, [100.0], [1.0], [101.0], [1.0])
    engine.on_clock(1_250)
    f = engine.as_dict()
    assert f["trade_age_ms"] == 250.0
    assert f["book_interval_ms"] == 0.0


def test_clock_never_runs_backwards() -> None:
    engine = busy_engine()
    engine.on_clock(500)
    engine.on_book(900, [100.0], [1.0], [100.5], [1.0])
    f = engine.as_dict()
    assert f["book_age_ms"] == 0.0
    assert f["book_interval_ms"] == 0.0  # recorded at the clock, 1 100, like the previous one


level = st.tuples(st.floats(1e-6, 1e7), st.floats(1e-9, 1e9))
book_event = st.tuples(
    st.just("book"),
    st.integers(-50, 500),
    st.lists(level, max_size=25),
    st.lists(level, max_size=25),
)
trade_event = st.tuples(
    st.just("trade"),
    st.integers(-50, 500),
    st.floats(1e-6, 1e7),
    st.floats(1e-9, 1e9),
    st.booleans(),
)
clock_event = st.tuples(st.just("clock"), st.integers(0, 100_000))


@settings(max_examples=300, deadline=None)
@given(events=st.lists(st.one_of(book_event, trade_event, clock_event), max_size=40))
def test_no_nan_or_inf_on_random_streams(events: list[tuple[object, ...]]) -> None:
    engine = FeatureEngine()
    ts = 1_700_000_000_000
    for event in events:
        kind, gap = event[0], event[1]
        assert isinstance(gap, int)
        ts += gap  # may step back: late events are recorded at the clock
        if kind == "book":
            bids = sorted(event[2], reverse=True)  # type: ignore[call-overload]
            asks = sorted(event[3])  # type: ignore[call-overload]
            engine.on_book(
                ts,
                [p for p, _ in bids],
                [q for _, q in bids],
                [p for p, _ in asks],
                [q for _, q in asks],
            )
        elif kind == "trade":
            engine.on_trade(ts, *event[2:])  # type: ignore[arg-type]
        else:
            engine.on_clock(ts)
        assert all(math.isfinite(value) for value in engine.values())


@settings(max_examples=200, deadline=None)
@given(
    events=st.lists(
        st.one_of(book_event, trade_event, st.tuples(st.just("same"), st.integers(0, 500))),
        max_size=40,
    )
)
def test_an_unchanged_update_gives_what_the_same_levels_again_give(
    events: list[tuple[object, ...]],
) -> None:
    # One engine gets on_book_unchanged where the other gets the previous levels again.
    diffing, skipping = FeatureEngine(), FeatureEngine()
    ts = 1_700_000_000_000
    last: tuple[list[float], ...] | None = None
    for event in events:
        kind, gap = event[0], event[1]
        assert isinstance(gap, int)
        ts += abs(gap)
        if kind == "trade":
            for engine in (diffing, skipping):
                engine.on_trade(ts, *event[2:])  # type: ignore[arg-type]
            continue
        if kind == "book":
            bids = sorted(event[2], reverse=True)  # type: ignore[call-overload]
            asks = sorted(event[3])  # type: ignore[call-overload]
            last = ([p for p, _ in bids], [q for _, q in bids], [p for p, _ in asks])
            last += ([q for _, q in asks],)
            for engine in (diffing, skipping):
                engine.on_book(ts, *(list(side) for side in last))
        elif last is not None:
            diffing.on_book(ts, *(list(side) for side in last))
            skipping.on_book_unchanged(ts)
        assert skipping.values() == pytest.approx(diffing.values(), rel=1e-9, abs=1e-6)
