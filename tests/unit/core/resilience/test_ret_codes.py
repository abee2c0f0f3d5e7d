"""Bybit v5 retCodes and transport failures mapped to what the execution agent does."""

from __future__ import annotations

import pytest

from tradestream.core.resilience import (
    RET_CODES,
    Outcome,
    classify_http_status,
    classify_ret_code,
    classify_transport_failure,
    describe_ret_code,
)


@pytest.mark.parametrize(
    ("ret_code", "outcome"),
    [
        (0, Outcome.OK),
        (10006, Outcome.RATE_LIMITED),
        (10018, Outcome.RATE_LIMITED),
        (10002, Outcome.RESYNC_TIME),
        (10016, Outcome.AMBIGUOUS),  # server error, not a rate limit
        (10000, Outcome.AMBIGUOUS),
        (110072, Outcome.ALREADY_PLACED),
        (110001, Outcome.NOT_OPEN),
        (110008, Outcome.NOT_OPEN),
        (110004, Outcome.REJECT),
        (110007, Outcome.REJECT),
        (110012, Outcome.REJECT),
        (110045, Outcome.REJECT),
        (10001, Outcome.REJECT),
        (110017, Outcome.REJECT),
        (110094, Outcome.REJECT),
        (110079, Outcome.UNAVAILABLE),
        (10003, Outcome.DENIED),
        (10010, Outcome.DENIED),
    ],
)
def test_known_codes_map_to_what_the_caller_must_do(ret_code: int, outcome: Outcome) -> None:
    assert classify_ret_code(ret_code) is outcome


@pytest.mark.parametrize("ret_code", [1, 99999, 170213, -1])
def test_unknown_codes_are_rejected_conservatively(ret_code: int) -> None:
    rule = describe_ret_code(ret_code)

    assert rule.outcome is Outcome.REJECT
    assert "unknown" in rule.meaning


def test_every_row_says_what_the_code_means() -> None:
    assert all(rule.meaning for rule in RET_CODES.values())


@pytest.mark.parametrize(
    ("outcome", "retryable", "needs_query", "trips_breaker"),
    [
        (Outcome.OK, False, False, False),
        (Outcome.RATE_LIMITED, True, False, False),
        (Outcome.UNAVAILABLE, True, False, True),
        (Outcome.RESYNC_TIME, True, False, False),
        (Outcome.AMBIGUOUS, False, True, True),
        (Outcome.ALREADY_PLACED, False, True, False),
        (Outcome.NOT_OPEN, False, True, False),
        (Outcome.REJECT, False, False, False),
        (Outcome.DENIED, False, False, True),
    ],
)
def test_outcomes_tell_the_caller_what_to_do(
    outcome: Outcome, retryable: bool, needs_query: bool, trips_breaker: bool
) -> None:
    assert (outcome.retryable, outcome.needs_query, outcome.trips_breaker) == (
        retryable,
        needs_query,
        trips_breaker,
    )


def test_an_ambiguous_answer_is_never_resent_blind() -> None:
    ambiguous = [code for code, rule in RET_CODES.items() if rule.outcome is Outcome.AMBIGUOUS]

    assert ambiguous
    assert not any(classify_ret_code(code).retryable for code in ambiguous)


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, Outcome.OK),
        (403, Outcome.RATE_LIMITED),
        (429, Outcome.RATE_LIMITED),
        (401, Outcome.DENIED),
        (400, Outcome.REJECT),
        (404, Outcome.REJECT),
        (500, Outcome.AMBIGUOUS),
        (502, Outcome.AMBIGUOUS),
        (504, Outcome.AMBIGUOUS),
    ],
)
def test_http_statuses(status: int, outcome: Outcome) -> None:
    assert classify_http_status(status) is outcome


@pytest.mark.parametrize(
    ("sent", "outcome"), [(True, Outcome.AMBIGUOUS), (False, Outcome.UNAVAILABLE)]
)
def test_a_missing_answer_is_ambiguous_once_the_request_may_have_left(
    sent: bool, outcome: Outcome
) -> None:
    assert classify_transport_failure(request_sent=sent) is outcome
