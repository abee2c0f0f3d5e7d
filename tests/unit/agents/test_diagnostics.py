"""The stall report says, per partition, what was acknowledged and what is still in flight."""

from __future__ import annotations

from collections import defaultdict
from types import SimpleNamespace

from faust.types import TP
from faust.types.tuples import ConsumerMessage

from tradestream.agents.diagnostics import consumer_state
from tradestream.streams.commit_safety import settled

ORDERS = TP("exec.orders", 0)
REPORTS = TP("exec.reports", 1)


def _message(tp: TP, offset: int, *, refcount: int, acked: bool = False) -> ConsumerMessage:
    message = ConsumerMessage(
        tp.topic, tp.partition, offset, 0.0, 0, None, None, b"k", b"{}", None,
        tp=tp, generation_id=3,
    )  # fmt: skip
    message.refcount = refcount
    message.acked = acked
    return message


def test_each_partition_shows_its_acknowledged_and_unfinished_offsets() -> None:
    held = [_message(ORDERS, 9, refcount=1), _message(ORDERS, 8, refcount=2),
            _message(ORDERS, 7, refcount=0, acked=True)]  # fmt: skip
    consumer = SimpleNamespace(
        _active_partitions={ORDERS, REPORTS},
        _paused_partitions=set(),
        _buffered_partitions=set(),
        _read_offset=defaultdict(lambda: None, {ORDERS: 12}),
        _committed_offset=defaultdict(lambda: None, {ORDERS: 8}),
        _acked=defaultdict(list, {ORDERS: [11, 10]}),
        _unacked_messages=held,
        assignment=lambda: {ORDERS, REPORTS},
        highwater=lambda tp: 13,
    )
    settled(consumer).add(ORDERS)  # type: ignore[arg-type]

    lines = consumer_state(SimpleNamespace(consumer=consumer))

    assert lines == [
        "exec.orders[0] active=True paused=False buffer_full=False read=12 committed=8 "
        "settled=True highwater=13 acked=[10, 11] "
        "unacked(offset, refcount, generation)=[(8, 2, 3), (9, 1, 3)]",
        "exec.reports[1] active=True paused=False buffer_full=False read=None committed=None "
        "settled=False highwater=13 acked=[] unacked(offset, refcount, generation)=[]",
    ]
