"""The static book and the best-price helpers the engine relies on."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

import pytest

from tradestream.core.errors import BadInputError
from tradestream.core.matching import best_ask, best_bid, mid_price

if TYPE_CHECKING:
    from tests.unit.core.matching.conftest import BookFactory


def test_best_prices_and_mid(make_book: BookFactory) -> None:
    book = make_book(bids=[(99, 1), (98, 2)], asks=[(101, 1), (102, 2)])

    assert (best_bid(book), best_ask(book), mid_price(book)) == (
        Decimal(99),
        Decimal(101),
        Decimal(100),
    )


def test_an_empty_side_has_no_best_price_and_no_mid(make_book: BookFactory) -> None:
    book = make_book(bids=[(99, 1)])

    assert (best_ask(book), mid_price(book)) == (None, None)


@pytest.mark.parametrize(
    ("bids", "asks", "complaint"),
    [
        ([(98, 1), (99, 1)], [], "strictly descending"),
        ([], [(101, 1), (101, 2)], "strictly ascending"),
        ([(99, 0)], [], "positive price and size"),
        ([], [(0, 1)], "positive price and size"),
    ],
)
def test_a_malformed_book_is_refused(
    make_book: BookFactory,
    bids: list[tuple[int, int]],
    asks: list[tuple[int, int]],
    complaint: str,
) -> None:
    with pytest.raises(BadInputError, match=complaint):
        make_book(bids=bids, asks=asks)
