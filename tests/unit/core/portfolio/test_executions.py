"""Execution ids remembered once each, oldest forgotten past the capacity."""

from __future__ import annotations

import pytest

from tradestream.core.portfolio import SeenExecutions


def test_an_id_is_new_once() -> None:
    seen = SeenExecutions(capacity=3)

    assert seen.add("a")
    assert not seen.add("a")
    assert "a" in seen
    assert len(seen) == 1


def test_the_oldest_ids_are_forgotten_past_the_capacity() -> None:
    seen = SeenExecutions(capacity=2, ids=["a", "b"])

    seen.add("c")

    assert seen.ids() == ("b", "c")
    assert "a" not in seen


def test_a_capacity_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        SeenExecutions(capacity=0)
