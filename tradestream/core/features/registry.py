"""Describe each feature once — name, formula, units, value when undefined — for schema and docs.

Every feature module builds its ``FeatureSpec`` list from the config and writes its values at the
positions of those specs, so the schema, the vector and the documentation cannot drift apart.

Notation used in the formulas:

    b_i, a_i      bid / ask price of level i (i = 1 is the best level)
    qb_i, qa_i    bid / ask size of level i (base currency, e.g. BTC)
    mid           (b_1 + a_1) / 2
    r_t           10^4 · ln(mid_t / mid_{t-1}), the mid log-return of one book update, in bps
    t             the engine clock: the latest event (or ``on_clock``) time, in ms
    W, H          a trailing time window (t - W, t] / a horizon, in event-time milliseconds
    Σ_W           sum over the events inside window W
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """Document one feature of the vector so that readers know what a column means."""

    name: str
    formula: str
    units: str
    when_undefined: str = "0.0"


def window_suffix(window_ms: int) -> str:
    """Name a time window compactly (``1s``, ``250ms``) so that column names stay readable."""
    if window_ms % 60_000 == 0 and window_ms >= 600_000:
        return f"{window_ms // 60_000}m"
    if window_ms % 1_000 == 0:
        return f"{window_ms // 1_000}s"
    return f"{window_ms}ms"


def notional_suffix(notional: int) -> str:
    """Name a quote notional compactly (``10k``, ``1m``) so that column names stay readable."""
    if notional % 1_000_000 == 0:
        return f"{notional // 1_000_000}m"
    if notional % 1_000 == 0:
        return f"{notional // 1_000}k"
    return str(notional)


def render_markdown(specs: Iterable[FeatureSpec]) -> str:
    """Render the specs as a Markdown table, the form in which the docs publish them."""
    rows = ["| # | name | formula | units | when undefined |", "|---|---|---|---|---|"]
    for index, spec in enumerate(specs):
        formula = spec.formula.replace("|", "\\|")
        rows.append(
            f"| {index} | `{spec.name}` | {formula} | {spec.units} | {spec.when_undefined} |"
        )
    return "\n".join(rows) + "\n"
