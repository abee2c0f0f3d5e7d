"""Order-book levels decoded to floats by msgspec are the same floats ``float(text)`` gives."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.recordings import OB200, frames
from tradestream.schemas.bybit import orderbook_decoder


class _TextData(msgspec.Struct):
    b: list[tuple[str, str]]
    a: list[tuple[str, str]]


class _TextFrame(msgspec.Struct):
    data: _TextData


TextLevels = msgspec.json.Decoder(_TextFrame)

decimals = st.builds(
    lambda whole, frac, places: f"{whole}.{str(frac).zfill(12)[:places]}" if places else str(whole),
    st.integers(0, 10**9),
    st.integers(0, 10**12 - 1),
    st.integers(0, 12),
)


@settings(max_examples=2000)
@given(st.lists(st.tuples(decimals, decimals), min_size=1, max_size=20))
def test_decoded_levels_equal_float_of_the_text(levels: list[tuple[str, str]]) -> None:
    raw = msgspec.json.encode(
        {
            "topic": "orderbook.50.X",
            "type": "delta",
            "ts": 1,
            "data": {"s": "X", "b": levels, "a": [], "u": 1, "seq": 1},
        }
    )
    decoded = orderbook_decoder.decode(raw).data.b
    assert decoded == [(float(p), float(q)) for p, q in levels]


def test_recorded_levels_decode_to_float_of_the_text() -> None:
    for raw in frames(OB200):
        text = TextLevels.decode(raw).data
        data = orderbook_decoder.decode(raw).data
        assert data.b == [(float(p), float(q)) for p, q in text.b]
        assert data.a == [(float(p), float(q)) for p, q in text.a]


def test_a_level_that_is_not_a_number_is_rejected() -> None:
    raw = (
        b'{"topic":"orderbook.50.X","type":"delta","ts":1,'
        b'"data":{"s":"X","b":[["1.5","abc"]],"a":[],"u":1,"seq":1}}'
    )
    with pytest.raises(msgspec.ValidationError):
        orderbook_decoder.decode(raw)
