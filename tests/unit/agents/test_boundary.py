"""The per-event boundary: a retryable failure waits and tries again; a bad event is kept."""

from __future__ import annotations

import pytest

from tradestream.agents.boundary import MAX_RETRY_S, dead_letter_on_error, until_done
from tradestream.core.errors import BadInputError, UnavailableError
from tradestream.sinks.dead_letters import DeadLetter, MemoryDeadLetterQueue


class Waits:
    """A sleep that records how long it was asked to wait and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


class Flaky:
    """A call that fails with ``error`` the first ``failures`` times, then answers ``result``."""

    def __init__(self, failures: int, error: Exception, result: str = "done") -> None:
        self.failures = failures
        self.error = error
        self.result = result
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return self.result


class DownDeadLetterQueue(MemoryDeadLetterQueue):
    """A dead-letter queue that cannot keep anything for its first ``failures`` sends."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    async def send(self, letter: DeadLetter) -> None:
        if self.failures:
            self.failures -= 1
            raise UnavailableError(f"Redis unreachable: dead letter from {letter.source} not kept")
        await super().send(letter)


async def test_a_retryable_failure_is_retried_with_capped_doubling_back_off() -> None:
    waits = Waits()
    call = Flaky(8, UnavailableError("Redis unreachable: order o-1 not sent"))

    assert await until_done("exec.orders", call, sleep=waits) == "done"

    assert call.calls == 9
    assert waits.delays == [0.2, 0.4, 0.8, 1.6, 3.2, MAX_RETRY_S, MAX_RETRY_S, MAX_RETRY_S]


async def test_any_other_failure_is_not_retried() -> None:
    waits = Waits()
    call = Flaky(1, BadInputError("no instrument rules for XYZ"))

    with pytest.raises(BadInputError):
        await until_done("exec.orders", call, sleep=waits)
    assert (call.calls, waits.delays) == (1, [])


async def test_a_dead_letter_waits_for_its_queue_and_is_kept_once() -> None:
    dlq = DownDeadLetterQueue(failures=1)  # one real back-off: 0.2 s

    async with dead_letter_on_error(dlq, b"not a signal", "sig.signals"):
        raise BadInputError("not JSON")

    assert [(letter.raw, letter.source) for letter in dlq.letters] == [
        (b"not a signal", "sig.signals")
    ]
    assert dlq.failures == 0
