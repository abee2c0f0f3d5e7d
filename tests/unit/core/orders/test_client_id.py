"""Client order ids: Bybit's orderLinkId rules, determinism and no collisions in practice."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tradestream.core.orders import (
    MAX_ORDER_LINK_ID_LENGTH,
    ORDER_LINK_ID_PATTERN,
    order_link_id,
    order_link_id_for,
)
from tradestream.schemas.orders import OrderType, PlaceOrder, Side

command_fields = st.tuples(
    st.text(max_size=80),
    st.text(max_size=30),
    st.text(max_size=80),
    st.integers(min_value=0, max_value=10_000),
)


@given(command_fields)
def test_ids_follow_bybit_order_link_id_rules(fields: tuple[str, str, str, int]) -> None:
    link_id = order_link_id(*fields)

    assert len(link_id) <= MAX_ORDER_LINK_ID_LENGTH
    assert ORDER_LINK_ID_PATTERN.fullmatch(link_id)


@given(command_fields)
def test_a_replayed_command_maps_to_the_same_id(fields: tuple[str, str, str, int]) -> None:
    assert order_link_id(*fields) == order_link_id(*fields)


@given(command_fields, command_fields)
def test_distinct_commands_get_distinct_ids(
    first: tuple[str, str, str, int], second: tuple[str, str, str, int]
) -> None:
    assume(first != second)

    assert order_link_id(*first) != order_link_id(*second)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (("ab", "c", "s", 0), ("a", "bc", "s", 0)),
        (("s", "BTCUSDT", "1", 0), ("s", "BTCUSDT", "1", 1)),
        (("s", "BTCUSDT", "1", 0), ("s", "ETHUSDT", "1", 0)),
        (("mean_reversion_long", "X", "1", 0), ("mean_reversion_short", "X", "1", 0)),
    ],
)
def test_field_boundaries_and_near_misses_do_not_collide(
    first: tuple[str, str, str, int], second: tuple[str, str, str, int]
) -> None:
    assert order_link_id(*first) != order_link_id(*second)


@pytest.mark.parametrize(
    ("strategy", "prefix"),
    [
        ("momentum", "momentum-"),
        ("mean_reversion_long", "mean_reversi-"),
        ("breakout-v2.1", "breakoutv21-"),
        ("", "ts-"),
        ("!!!", "ts-"),
    ],
)
def test_ids_start_with_a_readable_strategy_prefix(strategy: str, prefix: str) -> None:
    assert order_link_id(strategy, "BTCUSDT", "sig", 0).startswith(prefix)


def test_the_derivation_never_changes_between_releases() -> None:
    # Changing it would let a replayed command after a deploy place its order a second time.
    assert order_link_id("momentum", "BTCUSDT", "sig-42", 1) == "momentum-a2a5c67c007dee6bf229a7"


def test_a_command_derives_its_id_from_strategy_symbol_signal_and_leg_only() -> None:
    fields = {
        "strategy": "momentum",
        "signal_id": "sig-42",
        "leg": 1,
        "symbol": "BTCUSDT",
        "side": Side.BUY,
        "order_type": OrderType.MARKET,
        "qty": Decimal(1),
    }
    first = PlaceOrder(command_id="cmd-1", issued_at_ms=1, **fields)  # type: ignore[arg-type]
    replay = PlaceOrder(command_id="cmd-2", issued_at_ms=9, **fields)  # type: ignore[arg-type]

    assert order_link_id_for(first) == order_link_id_for(replay)
    assert order_link_id_for(first) == order_link_id("momentum", "BTCUSDT", "sig-42", 1)
