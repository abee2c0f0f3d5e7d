"""Market-data records the pipeline produces (``md.book.top``) and keeps (book status).

These are msgspec structs rather than pydantic models because they are built and encoded once per
market-data event on the hot path; msgspec encodes them to JSON in C.
"""

from __future__ import annotations

import msgspec


class BookTop(msgspec.Struct, frozen=True, kw_only=True):
    """Best bid and ask of one symbol after a book change, with the book's health and times.

    Prices and sizes are the exchange's decimal strings (without trailing zeros), so consumers
    can parse them to ``Decimal`` exactly. ``status`` is ``valid`` only while the book is
    continuous; readers that trade must ignore anything else.
    """

    symbol: str
    status: str
    bid_px: str
    bid_sz: str
    ask_px: str
    ask_sz: str
    u: int
    seq: int
    exchange_ts_ms: int
    cts_ms: int
    recv_ts_ms: int
    produced_ts_ms: int


class RequestResync(msgspec.Struct, frozen=True, kw_only=True):
    """Ask ingest to resubscribe one symbol so a fresh snapshot repairs its book."""

    kind: str = "request_resync"
    symbol: str
    reason: str
    requested_ts_ms: int


class Features(msgspec.Struct, frozen=True, kw_only=True, array_like=False):
    """One symbol's feature vector after a book or trade event.

    ``values`` follow ``names_id``'s column order: the names are served by the worker at
    ``/features/names/`` and listed in ``docs/features.md``; ``names_id`` changes whenever the
    feature configuration does, so a consumer can detect a schema change.
    """

    symbol: str
    book_status: str
    names_id: str
    values: list[float]
    exchange_ts_ms: int
    recv_ts_ms: int
    produced_ts_ms: int


book_top_encoder = msgspec.json.Encoder()
book_top_decoder = msgspec.json.Decoder(BookTop)
features_decoder = msgspec.json.Decoder(Features)
