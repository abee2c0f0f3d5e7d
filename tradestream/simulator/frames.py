"""Turn market state into the exact bytes Bybit v5 puts on the public linear WebSocket.

Recorded frames are replayed through a ``FrameTemplate``: the raw bytes are cut once, at load
time, around the few fields that change between loops and symbol copies (symbol, timestamps,
cross sequence, update id, trade id), and each send is a single ``bytes.join``. That keeps the
recording byte-for-byte (field order, number formatting, unknown fields) and keeps JSON encoding
off the hot path. Frames that have no recording behind them — snapshots of the server's book,
derived-depth deltas, acks — are encoded here with orjson in Bybit's field order.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum

import orjson

from tradestream.simulator.book import Level


class Slot(IntEnum):
    """Name what a cut-out piece of a recorded frame holds."""

    SYMBOL = 0
    TIME = 1
    SEQ = 2
    U = 3
    TRADE_ID = 4


@dataclass(frozen=True, slots=True)
class Shift:
    """Say how one loop of one symbol copy differs from the recording."""

    symbol: bytes
    time_ms: int = 0
    seq: int = 0
    trade_id: bytes | None = None
    """Eight hex digits that replace the start of each trade id; None keeps the recorded ids."""


_FIELDS = re.compile(rb'"(ts|cts|T|seq|cs|u)":(\d+)|"i":"([0-9a-f]{8})')
_SLOT_OF_FIELD = {
    b"ts": Slot.TIME,
    b"cts": Slot.TIME,
    b"T": Slot.TIME,
    b"seq": Slot.SEQ,
    b"cs": Slot.SEQ,
    b"u": Slot.U,
}
_NUMERIC = frozenset({Slot.TIME, Slot.SEQ, Slot.U})


@dataclass(frozen=True, slots=True)
class FrameTemplate:
    """Hold a recorded frame cut into literal chunks around its variable fields."""

    chunks: tuple[bytes, ...]
    slots: tuple[Slot, ...]
    values: tuple[int, ...]
    originals: tuple[bytes, ...]

    @classmethod
    def parse(cls, raw: bytes, symbol: str) -> FrameTemplate:
        """Cut ``raw`` around every occurrence of ``symbol`` and of the shifting fields."""
        spans: list[tuple[int, int, Slot]] = [
            (m.start(), m.end(), Slot.SYMBOL) for m in re.finditer(re.escape(symbol.encode()), raw)
        ]
        for match in _FIELDS.finditer(raw):
            if match.group(3) is not None:
                spans.append((match.start(3), match.end(3), Slot.TRADE_ID))
            else:
                spans.append((match.start(2), match.end(2), _SLOT_OF_FIELD[match.group(1)]))
        spans.sort()
        return cls._from_spans(raw, spans)

    @classmethod
    def _from_spans(cls, raw: bytes, spans: Sequence[tuple[int, int, Slot]]) -> FrameTemplate:
        chunks: list[bytes] = []
        values: list[int] = []
        originals: list[bytes] = []
        cursor = 0
        for start, end, slot in spans:
            chunks.append(raw[cursor:start])
            original = raw[start:end]
            originals.append(original)
            values.append(int(original) if slot in _NUMERIC else 0)
            cursor = end
        chunks.append(raw[cursor:])
        return cls(tuple(chunks), tuple(span[2] for span in spans), tuple(values), tuple(originals))

    def render(self, shift: Shift, u: int = 0) -> bytes:
        """Fill the slots for one loop and copy; ``u`` is the update id the server assigns."""
        parts = [self.chunks[0]]
        append = parts.append
        for slot, value, original, chunk in zip(
            self.slots, self.values, self.originals, self.chunks[1:], strict=True
        ):
            if slot is Slot.TIME:
                append(b"%d" % (value + shift.time_ms))
            elif slot is Slot.SEQ:
                append(b"%d" % (value + shift.seq))
            elif slot is Slot.SYMBOL:
                append(shift.symbol)
            elif slot is Slot.U:
                append(b"%d" % u)
            else:
                append(original if shift.trade_id is None else shift.trade_id)
            append(chunk)
        return b"".join(parts)


def book_frame(
    topic: str,
    kind: str,
    symbol: str,
    levels: tuple[Sequence[Level], Sequence[Level]],
    stamp: tuple[int, int, int, int],
) -> bytes:
    """Encode an orderbook frame; ``stamp`` is (u, seq, ts, cts)."""
    bids, asks = levels
    u, seq, ts, cts = stamp
    return orjson.dumps(
        {
            "topic": topic,
            "type": kind,
            "ts": ts,
            "data": {
                "s": symbol,
                "b": [[price, size] for _, price, size in bids],
                "a": [[price, size] for _, price, size in asks],
                "u": u,
                "seq": seq,
            },
            "cts": cts,
        }
    )


def ticker_frame(topic: str, kind: str, data: Mapping[str, str], cs: int, ts: int) -> bytes:
    """Encode a tickers frame in Bybit's field order."""
    return orjson.dumps({"topic": topic, "type": kind, "data": data, "cs": cs, "ts": ts})


def op_reply(*, success: bool, ret_msg: str, conn_id: str, req_id: str, op: str) -> bytes:
    """Encode a reply to a client op exactly as the linear public stream does.

    Verified shapes (2026 captures): subscribe ack
    ``{"success":true,"ret_msg":"","conn_id":"…","req_id":"","op":"subscribe"}``, pong
    ``{"success":true,"ret_msg":"pong","conn_id":"…","req_id":"","op":"ping"}``, refusal
    ``{"success":false,"ret_msg":"error:handler not found,topic:…","conn_id":"…",…}``.
    """
    return orjson.dumps(
        {"success": success, "ret_msg": ret_msg, "conn_id": conn_id, "req_id": req_id, "op": op}
    )
