"""docs/features.md lists the market engine's feature vector exactly, so the page cannot drift."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tradestream.core.book_analytics import BookAnalytics
from tradestream.core.features import FeatureEngine, FeatureSpec
from tradestream.core.market import MarketBooks, MarketConfig

DOC = Path(__file__).resolve().parents[2] / "docs" / "features.md"
# A table row of the page: | position | `name` | definition | unit | when undefined |
ROW = re.compile(r"^\| (\d+) \| `([^`]+)` \| (.*) \| (.*) \| (.*) \|$")
# A cell separator: a pipe not escaped as \| (which the definitions use for |x|).
CELL = re.compile(r"(?<!\\) \| ")


def doc_rows() -> list[tuple[int, str, str, str, str]]:
    """Return the page's feature rows as (position, name, definition, unit, when undefined)."""
    rows = []
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if ROW.match(line) is None:
            continue
        cells = CELL.split(line[2:-2])
        assert len(cells) == 5, f"row with {len(cells)} cells: {line}"
        position, name, definition, unit, undefined = cells
        rows.append((int(position), name.strip("`"), definition, unit, undefined))
    return rows


def vector_specs() -> list[FeatureSpec]:
    """Return the specs of the default market engine's vector, in vector order."""
    config = MarketConfig()
    return [*FeatureEngine(config.features).specs, *BookAnalytics(config.analytics).specs]


def expected_row(position: int, spec: FeatureSpec) -> tuple[int, str, str, str, str]:
    """Return the row the page must have for ``spec`` at ``position``."""
    return (position, spec.name, spec.formula.replace("|", "\\|"), spec.units, spec.when_undefined)


def test_doc_lists_exactly_the_vector_names_in_order() -> None:
    books = MarketBooks(lambda: 0)
    names = [name for _, name, *_ in doc_rows()]
    assert names == list(books.feature_names)
    assert [position for position, *_ in doc_rows()] == list(range(len(books.feature_names)))


def test_doc_counts_the_frozen_engine_features_and_the_analytics() -> None:
    config = MarketConfig()
    assert len(FeatureEngine(config.features)) == 76
    assert len(BookAnalytics(config.analytics)) == 23
    assert len(doc_rows()) == 99


@pytest.mark.parametrize(
    ("position", "spec"), list(enumerate(vector_specs())), ids=[s.name for s in vector_specs()]
)
def test_each_row_says_what_the_code_computes(position: int, spec: FeatureSpec) -> None:
    rows = doc_rows()
    assert position < len(rows), f"docs/features.md has no row {position} ({spec.name})"
    assert rows[position] == expected_row(position, spec), (
        "update docs/features.md to: | {} | `{}` | {} | {} | {} |".format(
            *expected_row(position, spec)
        )
    )


def test_doc_quotes_the_current_names_id() -> None:
    assert f"`{MarketBooks(lambda: 0).names_id}`" in DOC.read_text(encoding="utf-8")
