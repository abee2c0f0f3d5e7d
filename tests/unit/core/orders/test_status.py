"""The transition table: what Bybit can report is allowed, nothing else is."""

from __future__ import annotations

import pytest

from tradestream.core.orders import TERMINAL, TRANSITIONS, OrderStatus, is_allowed

S = OrderStatus


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.NEW, S.PENDING_SUBMIT),
        (S.PENDING_SUBMIT, S.SUBMITTED),
        (S.PENDING_SUBMIT, S.ACKNOWLEDGED),  # WebSocket ack overtakes the REST answer
        (S.PENDING_SUBMIT, S.FILLED),  # a market order fills before the REST answer
        (S.PENDING_SUBMIT, S.FAILED),
        (S.PENDING_SUBMIT, S.REJECTED),
        (S.SUBMITTED, S.PARTIALLY_FILLED),  # fill before the ack
        (S.SUBMITTED, S.FILLED),
        (S.SUBMITTED, S.REJECTED),
        (S.SUBMITTED, S.FAILED),
        (S.ACKNOWLEDGED, S.PENDING_CANCEL),
        (S.ACKNOWLEDGED, S.EXPIRED),
        (S.ACKNOWLEDGED, S.CANCELLED),  # cancelled by the exchange
        (S.PARTIALLY_FILLED, S.PARTIALLY_FILLED),
        (S.PARTIALLY_FILLED, S.FILLED),
        (S.PARTIALLY_FILLED, S.PENDING_CANCEL),
        (S.PENDING_CANCEL, S.CANCELLED),
        (S.PENDING_CANCEL, S.FILLED),  # the last fill won the race
        (S.PENDING_CANCEL, S.PENDING_CANCEL),  # a fill while the cancel is in flight
        (S.PENDING_CANCEL, S.PARTIALLY_FILLED),  # cancel refused after fills
        (S.PENDING_CANCEL, S.ACKNOWLEDGED),  # cancel refused, nothing filled
    ],
)
def test_what_the_exchange_can_report_is_allowed(current: S, target: S) -> None:
    assert is_allowed(current, target)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.NEW, S.FILLED),
        (S.NEW, S.ACKNOWLEDGED),
        (S.ACKNOWLEDGED, S.SUBMITTED),
        (S.ACKNOWLEDGED, S.REJECTED),
        (S.PARTIALLY_FILLED, S.ACKNOWLEDGED),
        (S.PARTIALLY_FILLED, S.REJECTED),
        (S.PENDING_SUBMIT, S.PENDING_CANCEL),
        (S.FILLED, S.CANCELLED),
        (S.CANCELLED, S.FILLED),
        (S.REJECTED, S.PENDING_SUBMIT),
        (S.EXPIRED, S.ACKNOWLEDGED),
        (S.FAILED, S.SUBMITTED),
    ],
)
def test_impossible_changes_are_refused(current: S, target: S) -> None:
    assert not is_allowed(current, target)


def test_the_table_covers_every_status() -> None:
    assert set(TRANSITIONS) == set(S)
    assert {S.FILLED, S.CANCELLED, S.REJECTED, S.FAILED, S.EXPIRED} == TERMINAL


def _reachable(start: S) -> set[S]:
    seen, frontier = {start}, [start]
    while frontier:
        for target in TRANSITIONS[frontier.pop()]:
            if target not in seen:
                seen.add(target)
                frontier.append(target)
    return seen


def test_every_status_is_reachable_from_new() -> None:
    assert _reachable(S.NEW) == set(S)


@pytest.mark.parametrize("status", sorted(set(S) - TERMINAL))
def test_every_open_status_can_still_end(status: S) -> None:
    assert _reachable(status) & TERMINAL
