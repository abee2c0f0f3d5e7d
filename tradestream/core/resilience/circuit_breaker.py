"""Circuit breaker: stop calling an exchange that keeps failing, then probe before trusting it.

Closed, it counts failures in a sliding window; enough of them open it. Open, it refuses every
call for a while so a struggling exchange is not hammered and orders fail fast instead of piling
up. Then it lets a few probe calls through (half-open): a success closes it, a failure opens it
again. Pure and clock-injected: each call passes ``now`` in seconds. A probe that never reports
back (its caller crashed) is given up after ``open_for_s`` so the breaker cannot stick half-open.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, PositiveFloat, PositiveInt


class CircuitState(StrEnum):
    """Whether calls may go through."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreakerConfig(BaseModel, frozen=True, extra="forbid"):
    """When to stop calling the exchange and for how long."""

    failures_to_open: PositiveInt = 5
    window_s: PositiveFloat = 30.0
    open_for_s: PositiveFloat = 60.0
    half_open_max_calls: PositiveInt = 1


@dataclass(frozen=True, slots=True)
class CircuitBreakerStats:
    """A snapshot of the breaker for metrics and health checks."""

    state: CircuitState
    recent_failures: int
    probes_in_flight: int
    times_opened: int
    calls_rejected: int
    successes: int
    failures: int
    retry_after_s: float


class CircuitBreaker:
    """Guard one dependency (one exchange account) with closed / open / half-open states."""

    def __init__(self, config: CircuitBreakerConfig | None = None) -> None:
        self.config = config or CircuitBreakerConfig()
        self._state = CircuitState.CLOSED
        self._failure_times: deque[float] = deque()
        self._opened_at = 0.0
        self._half_open_at = 0.0
        self._probes = 0
        self._times_opened = 0
        self._rejected = 0
        self._successes = 0
        self._failures = 0

    def state_at(self, now: float) -> CircuitState:
        """Return the state at ``now``, moving from open to half-open once the pause is over."""
        self._advance(now)
        return self._state

    def allow(self, now: float) -> bool:
        """Tell whether one call may go through now; count it as a probe when half-open."""
        self._advance(now)
        if self._state is CircuitState.CLOSED:
            return True
        if self._state is CircuitState.HALF_OPEN and self._probes < self.config.half_open_max_calls:
            self._probes += 1
            return True
        self._rejected += 1
        return False

    def retry_after(self, now: float) -> float:
        """Return the seconds until calls may be tried again (0.0 unless open)."""
        self._advance(now)
        if self._state is not CircuitState.OPEN:
            return 0.0
        return max(0.0, self._opened_at + self.config.open_for_s - now)

    def record_success(self, now: float) -> None:
        """Count a successful call; a successful probe closes the breaker."""
        self._advance(now)
        self._successes += 1
        if self._state is CircuitState.HALF_OPEN:
            self._state = CircuitState.CLOSED
            self._failure_times.clear()
            self._probes = 0

    def record_failure(self, now: float) -> None:
        """Count a failed call; open on enough recent failures, or on a failed probe."""
        self._advance(now)
        self._failures += 1
        if self._state is CircuitState.HALF_OPEN:
            self._open(now)
        elif self._state is CircuitState.CLOSED:
            self._failure_times.append(now)
            self._forget_old_failures(now)
            if len(self._failure_times) >= self.config.failures_to_open:
                self._open(now)

    def stats(self, now: float) -> CircuitBreakerStats:
        """Return the current state and counters."""
        self._forget_old_failures(now)
        return CircuitBreakerStats(
            state=self.state_at(now),
            recent_failures=len(self._failure_times),
            probes_in_flight=self._probes,
            times_opened=self._times_opened,
            calls_rejected=self._rejected,
            successes=self._successes,
            failures=self._failures,
            retry_after_s=self.retry_after(now),
        )

    # Time alone moves open → half-open, and frees probe slots whose callers never reported.
    def _advance(self, now: float) -> None:
        pause = self.config.open_for_s
        if self._state is CircuitState.OPEN and now >= self._opened_at + pause:
            self._state = CircuitState.HALF_OPEN
            self._half_open_at = now
            self._probes = 0
        elif self._state is CircuitState.HALF_OPEN and now >= self._half_open_at + pause:
            self._half_open_at = now
            self._probes = 0

    def _open(self, now: float) -> None:
        self._state = CircuitState.OPEN
        self._opened_at = now
        self._probes = 0
        self._failure_times.clear()
        self._times_opened += 1

    def _forget_old_failures(self, now: float) -> None:
        horizon = now - self.config.window_s
        while self._failure_times and self._failure_times[0] <= horizon:
            self._failure_times.popleft()
