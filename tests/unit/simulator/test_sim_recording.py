"""Recordings load into exact templates and the state replay needs."""

from __future__ import annotations

import gzip
from pathlib import Path

import orjson
import pytest

from tradestream.core.errors import BadInputError
from tradestream.simulator.frames import FrameTemplate, Shift, op_reply
from tradestream.simulator.recording import (
    RecordedBook,
    RecordedTicker,
    RecordedTrade,
    load_recording,
)

from .support import RECORDING

pytestmark = pytest.mark.timeout(60)


def test_the_recording_loads_books_trades_and_tickers_but_not_klines() -> None:
    recording = load_recording((RECORDING,))

    assert recording.symbols == ("BTCUSDT", "DOGEUSDT", "ETHUSDT", "SOLUSDT")
    assert recording.depth == 200
    kinds = {type(frame) for frame in recording.frames}
    assert kinds == {RecordedBook, RecordedTrade, RecordedTicker}
    books = [f for f in recording.frames if isinstance(f, RecordedBook) and f.symbol == "BTCUSDT"]
    assert len(books) == 414
    assert [book.snapshot for book in books] == [True] + [False] * 413
    assert len(recording.frames) == 2529 - 71
    assert 40_000 < recording.duration_ms < 45_000
    assert all(span > 0 for span in recording.seq_span.values())


def test_every_template_renders_its_recorded_bytes_unchanged() -> None:
    raws = gzip.decompress(RECORDING.read_bytes()).splitlines()
    recording = load_recording((RECORDING,))
    by_bytes = {
        frame.template.render(Shift(frame.symbol.encode()), _u(frame)) for frame in recording.frames
    }

    assert by_bytes == {raw for raw in raws if b'"topic":"kline' not in raw}


def _u(frame: object) -> int:
    return frame.u if isinstance(frame, RecordedBook) else 0


def test_a_shift_moves_only_symbol_times_sequences_and_trade_ids() -> None:
    raw = (
        b'{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1000,"data":[{"T":999,'
        b'"s":"BTCUSDT","S":"Buy","v":"0.1","p":"65000.0","L":"PlusTick",'
        b'"i":"a9188a0a-82bc-50de-be60-03eedbe3cdd7","BT":false,"RPI":false,"seq":50}]}'
    )
    template = FrameTemplate.parse(raw, "BTCUSDT")

    shifted = template.render(Shift(b"BTC2USDT", time_ms=10, seq=7, trade_id=b"00010002"))

    assert orjson.loads(shifted) == {
        "topic": "publicTrade.BTC2USDT",
        "type": "snapshot",
        "ts": 1010,
        "data": [
            {
                "T": 1009,
                "s": "BTC2USDT",
                "S": "Buy",
                "v": "0.1",
                "p": "65000.0",
                "L": "PlusTick",
                "i": "00010002-82bc-50de-be60-03eedbe3cdd7",
                "BT": False,
                "RPI": False,
                "seq": 57,
            }
        ],
    }


def test_leading_deltas_and_other_depths_are_dropped(tmp_path: Path) -> None:
    lines = [
        {"topic": "orderbook.50.XUSDT", "type": "snapshot", "ts": 1, "cts": 1,
         "data": {"s": "XUSDT", "b": [["1", "1"]], "a": [["2", "1"]], "u": 1, "seq": 1}},
        {"topic": "orderbook.200.XUSDT", "type": "delta", "ts": 2, "cts": 2,
         "data": {"s": "XUSDT", "b": [], "a": [], "u": 5, "seq": 2}},
        {"topic": "orderbook.200.XUSDT", "type": "snapshot", "ts": 3, "cts": 3,
         "data": {"s": "XUSDT", "b": [["1", "1"]], "a": [["2", "1"]], "u": 6, "seq": 3}},
        {"success": True, "ret_msg": "", "conn_id": "c", "req_id": "", "op": "subscribe"},
    ]  # fmt: skip
    path = tmp_path / "x.ndjson"
    path.write_bytes(b"\n".join(orjson.dumps(line) for line in lines) + b"\n")

    recording = load_recording((path,))

    assert [(type(f).__name__, f.ts) for f in recording.frames] == [("RecordedBook", 3)]


@pytest.mark.parametrize(
    "line",
    [b"{not json", b'{"topic":"orderbook.200.XUSDT","type":"snapshot","data":{}}'],
)
def test_unreadable_frames_are_bad_input(tmp_path: Path, line: bytes) -> None:
    path = tmp_path / "bad.ndjson"
    path.write_bytes(line + b"\n")

    with pytest.raises(BadInputError):
        load_recording((path,))


def test_op_replies_keep_bybits_field_order() -> None:
    reply = op_reply(success=True, ret_msg="pong", conn_id="c-1", req_id="", op="ping")

    assert reply == b'{"success":true,"ret_msg":"pong","conn_id":"c-1","req_id":"","op":"ping"}'
