"""What a batch of raw records publishes besides book tops and features: the book status."""

from __future__ import annotations

import orjson

from tests.support.rdkafka_fakes import FakeMessage, FakeProducer
from tradestream.agents.market import MarketBatches
from tradestream.config.settings import Settings
from tradestream.core.market import MarketBooks, with_age
from tradestream.streams.rdkafka import DeliveryLedger, Outputs

SETTINGS = Settings(namespace="", partitions=4, book_status_interval_ms=5000)
BOOKS_RAW = "md.orderbook.raw"
STATUS = "md.book.status"


def frame(kind: str, u: int, *, symbol: str = "ABC") -> bytes:
    data = {"s": symbol, "b": [["1.0", "1"]], "a": [["1.1", str(u)]], "u": u, "seq": u}
    head = {"topic": f"orderbook.50.{symbol}", "type": kind, "ts": 1000 + u, "cts": 999 + u}
    return orjson.dumps({**head, "data": data})


class Rig:
    """``MarketBatches`` over a fake producer, with a clock the test moves."""

    def __init__(self) -> None:
        self.now_ms = 1_000
        ledger = DeliveryLedger()
        self.producer = FakeProducer(on_delivery=ledger.on_delivery)
        outputs = Outputs(self.producer, ledger)  # type: ignore[arg-type]
        books = MarketBooks(clock=lambda: self.now_ms)
        self.batches = MarketBatches(
            books, outputs, SETTINGS, lambda: self.now_ms, lambda: self.now_ms * 1000
        )
        self.offset = 0

    def apply(self, *raws: bytes) -> None:
        batch = []
        for raw in raws:
            batch.append(FakeMessage(BOOKS_RAW, 0, self.offset, raw))
            self.offset += 1
        assert self.batches.process(batch) == []

    def statuses(self) -> list[tuple[str, int]]:
        records = [orjson.loads(r.value) for r in self.producer.records if r.topic == STATUS]
        return [(r["status"], r["checkpointed_ts_ms"]) for r in records]


def test_a_status_goes_out_on_a_change_and_then_only_every_interval() -> None:
    rig = Rig()
    rig.apply(frame("snapshot", 1), frame("delta", 2))
    assert rig.statuses() == [("valid", 1_000)]  # once for the batch, not per frame
    rig.now_ms = 5_999
    rig.apply(frame("delta", 3))
    assert rig.statuses() == [("valid", 1_000)]  # same status, within the interval
    rig.now_ms = 6_000
    rig.apply(frame("delta", 4))
    assert rig.statuses() == [("valid", 1_000), ("valid", 6_000)]  # the periodic checkpoint
    rig.now_ms = 6_001
    rig.apply(frame("delta", 9))  # a gap: the book is invalid at once
    assert rig.statuses()[-1] == ("invalid", 6_001)


def test_each_symbol_has_its_own_checkpoint_clock() -> None:
    rig = Rig()
    rig.apply(frame("snapshot", 1))
    rig.now_ms = 2_000
    rig.apply(frame("snapshot", 1, symbol="XYZ"), frame("delta", 2))
    assert rig.statuses() == [("valid", 1_000), ("valid", 2_000)]


def test_an_insane_delta_is_dead_lettered_and_its_book_reported_invalid_with_a_resync() -> None:
    rig = Rig()
    rig.apply(frame("snapshot", 1))
    insane = orjson.loads(frame("delta", 2))
    insane["data"]["b"] = [["1.0", "NaN"]]
    letters = rig.batches.process([FakeMessage(BOOKS_RAW, 0, 9, orjson.dumps(insane))])
    assert [letter.reason.split(":")[0] for letter in letters] == ["InsaneFrameError"]
    assert "b[0] size nan" in letters[0].reason
    assert rig.statuses()[-1] == ("invalid", 1_000)
    controls = [orjson.loads(r.value) for r in rig.producer.records if r.topic == "ops.control"]
    assert [(c["symbol"], c["reason"]) for c in controls] == [("ABC", "rejected")]
    tops = [orjson.loads(r.value) for r in rig.producer.records if r.topic == "md.book.top"]
    assert tops[-1]["status"] == "invalid"
    assert tops[-1]["bid_sz"] == "1"  # the refused level never reached the book


def test_a_change_held_within_the_interval_goes_out_when_it_ends_without_another_frame() -> None:
    rig = Rig()
    rig.apply(frame("snapshot", 1))
    rig.now_ms = 2_000
    rig.apply(*(frame("delta", u) for u in range(2, 51)))  # a burst, then silence
    assert rig.statuses() == [("valid", 1_000)]
    rig.now_ms = 5_999
    assert not rig.batches.checkpoint_due()
    rig.now_ms = 6_000
    assert rig.batches.checkpoint_due()
    rig.batches.flush_checkpoints()
    last = [orjson.loads(r.value) for r in rig.producer.records if r.topic == STATUS][-1]
    assert (last["last_u"], last["deltas"], last["checkpointed_ts_ms"]) == (50, 49, 6_000)
    assert last["last_recv_ms"] == 1_000
    assert "stale" not in last
    rig.now_ms = 20_000
    assert not rig.batches.checkpoint_due()  # nothing changed since: nothing to publish
    rig.batches.flush_checkpoints()
    assert len(rig.statuses()) == 2


def test_the_age_of_a_status_record_is_judged_when_it_is_read() -> None:
    record = {"last_recv_ms": 1_000, "stale_after_ms": 5_000, "status": "valid"}
    assert with_age(record, 1_090) == {**record, "stale": False, "age_ms": 90}
    assert with_age(record, 6_000)["stale"] is False
    assert with_age(record, 6_001) == {**record, "stale": True, "age_ms": 5_001}
    assert with_age(record, 500)["age_ms"] == 0  # a reader's clock behind the writer's
