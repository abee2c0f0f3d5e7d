"""Circuit breaker: closed → open → half-open → closed or open again, on a driven clock."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tradestream.core.resilience import CircuitBreaker, CircuitBreakerConfig, CircuitState


def tripped(at: float = 0.0, config: CircuitBreakerConfig | None = None) -> CircuitBreaker:
    breaker = CircuitBreaker(config)
    for _ in range(breaker.config.failures_to_open):
        breaker.record_failure(at)
    return breaker


def test_defaults_match_the_issue() -> None:
    config = CircuitBreakerConfig()

    assert (config.failures_to_open, config.window_s, config.open_for_s) == (5, 30.0, 60.0)
    assert config.half_open_max_calls == 1


def test_five_failures_within_the_window_open_it() -> None:
    breaker = CircuitBreaker()
    for second in range(4):
        breaker.record_failure(float(second))
    assert breaker.allow(4.0)

    breaker.record_failure(29.0)

    assert breaker.state_at(29.0) is CircuitState.OPEN
    assert not breaker.allow(29.0)


def test_failures_older_than_the_window_do_not_count() -> None:
    breaker = CircuitBreaker()
    for second in (0.0, 10.0, 20.0, 30.0, 40.0):
        breaker.record_failure(second)

    assert breaker.state_at(40.0) is CircuitState.CLOSED
    assert breaker.stats(40.0).recent_failures == 3  # 10.0 is exactly 30 s old: out


def test_open_rejects_for_the_pause_and_says_for_how_long() -> None:
    breaker = tripped(at=100.0)

    assert not breaker.allow(159.9)
    assert breaker.retry_after(130.0) == pytest.approx(30.0)
    assert breaker.state_at(160.0) is CircuitState.HALF_OPEN
    assert breaker.retry_after(160.0) == 0.0


def test_half_open_lets_a_limited_number_of_probes_through() -> None:
    breaker = tripped(config=CircuitBreakerConfig(half_open_max_calls=2))

    assert [breaker.allow(60.0) for _ in range(3)] == [True, True, False]


def test_a_successful_probe_closes_it() -> None:
    breaker = tripped()
    assert breaker.allow(60.0)

    breaker.record_success(61.0)

    assert breaker.state_at(61.0) is CircuitState.CLOSED
    assert breaker.stats(61.0).recent_failures == 0
    assert all(breaker.allow(61.0) for _ in range(10))


def test_a_failed_probe_opens_it_again_for_a_full_pause() -> None:
    breaker = tripped()
    assert breaker.allow(60.0)

    breaker.record_failure(61.0)

    assert breaker.state_at(61.0) is CircuitState.OPEN
    assert not breaker.allow(120.9)
    assert breaker.state_at(121.0) is CircuitState.HALF_OPEN


def test_a_probe_that_never_reports_back_is_given_up_after_a_pause() -> None:
    breaker = tripped()
    assert breaker.allow(60.0)
    assert not breaker.allow(61.0)

    assert breaker.allow(120.0)


def test_stats_expose_state_and_counters() -> None:
    breaker = tripped(at=0.0)
    breaker.allow(1.0)
    breaker.allow(2.0)
    breaker.allow(60.0)
    breaker.record_success(60.5)

    stats = breaker.stats(61.0)

    assert stats.state is CircuitState.CLOSED
    assert (stats.times_opened, stats.calls_rejected) == (1, 2)
    assert (stats.successes, stats.failures, stats.probes_in_flight) == (1, 5, 0)
    assert stats.retry_after_s == 0.0


@pytest.mark.parametrize(
    "bad",
    [
        {"failures_to_open": 0},
        {"window_s": 0},
        {"open_for_s": -1},
        {"half_open_max_calls": 0},
        {"x": 1},
    ],
)
def test_config_is_validated_and_closed(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        CircuitBreakerConfig.model_validate(bad)
