"""Our own time per stage, carried along an order's chain in one record header.

Each stage of the trading path (strategy, risk, execution) appends ``name=µs;`` to the
``stage_us`` header of what it produces: the time from taking its input off the consumer to
producing its output (for the execution agent: to the moment the order request leaves for the
exchange). The header of an ``exec.reports`` record thus holds every stage's share of that
order's path, and ``bench/trading_path.py`` sums them; broker hops are not in it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

STAGES_HEADER = "stage_us"

Headers = Iterable[tuple[str, bytes | None]] | Mapping[str, bytes | None] | None


def _header(headers: Headers) -> bytes:
    if headers is None:
        return b""
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    for name, value in pairs:
        if name == STAGES_HEADER and value:
            return value
    return b""


def with_stage(headers: Headers, stage: str, spent_us: int) -> bytes:
    """Return the ``stage_us`` value of ``headers`` with ``stage`` and its time appended."""
    return _header(headers) + f"{stage}={max(spent_us, 0)};".encode()


def read_stages(headers: Headers) -> dict[str, int]:
    """Return each stage's µs from a record's headers (empty if it carries none)."""
    stages: dict[str, int] = {}
    for part in _header(headers).decode().split(";"):
        name, _, spent = part.partition("=")
        if name and spent.isdigit():
            stages[name] = stages.get(name, 0) + int(spent)
    return stages
