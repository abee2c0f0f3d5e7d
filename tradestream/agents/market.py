"""The market engine's work on one fetched batch: keep books, features and bars, queue outputs.

``MarketBatches.process`` is synchronous and does no I/O: each raw record is applied to the
symbol's book or feature engine inside its own error boundary (``dead_letter_for``): a bad frame
becomes a dead letter and the rest of the batch goes on (an insane frame of a kept book also
publishes that book's invalid top and a resync request); a ``HaltError`` propagates and stops the
worker with the batch uncommitted. What a record changes (book top, features, resync request,
book status, closed bars) is produced straight to the partition of its output topic
(librdkafka's, ``streams/rdkafka.py``), partitioned by murmur2 of the symbol like the default
partitioner, so the outputs stay co-partitioned with the raw topics. ``MarketEngine``
(``agents/market_engine.py``) commits the inputs once those outputs are acknowledged.

Book tops and features carry headers ``produced_ts_us`` and, if the input had one, ``recv_ts_us``,
so receive → produced latency can be measured below a millisecond.

Closed bars go to ``md.candles``: those built from the trades (closed by a later trade or by a book
frame's exchange time, ``core/candles/bar_builder.py``) and Bybit's confirmed klines from
``md.klines.raw`` (a forming kline gives nothing).

A book's status goes to ``md.book.status`` (compacted) at once on a change of status, and what
changed within ``book_status_interval_ms`` of the last checkpoint goes out when that interval
ends, whether or not another frame comes (``flush_checkpoints``, called by the engine's loop);
the ``record_book_status`` agent keeps the ``book_status_by_symbol`` table from it. A record says
when the book last heard from the exchange; its age is judged when it is read.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

import msgspec

from tradestream.agents.boundary import dead_letter_for
from tradestream.config.settings import Settings
from tradestream.core.candles.candle import interval_label
from tradestream.core.candles.records import exchange_candle_records
from tradestream.core.errors import HaltError, InsaneFrameError
from tradestream.core.market import BookUpdate, MarketBooks
from tradestream.core.order_book import BookStatus, DeltaOutcome
from tradestream.schemas.market import book_top_encoder
from tradestream.sinks.dead_letters import DeadLetter
from tradestream.streams import topics
from tradestream.streams.partitioning import partition_for_key
from tradestream.streams.producer import PRODUCED_TS_US_HEADER, RECV_TS_HEADER, RECV_TS_US_HEADER
from tradestream.streams.rdkafka import Outputs, ProducerSlot
from tradestream.web import metrics

_encode = book_top_encoder.encode
_encode_json = msgspec.json.encode
_NEVER = 1 << 62
_frames_by_outcome = {o: metrics.book_frames.labels(outcome=o.value) for o in DeltaOutcome}


def record_stamps(record: Any) -> tuple[int, bytes | None]:
    """Return a raw record's receive time in ms (else its Kafka timestamp) and its µs stamp.

    ``record`` is a ``confluent_kafka.Message`` (its fields are methods).
    """
    ms: int | None = None
    us: bytes | None = None
    for name, value in record.headers() or ():
        if name == RECV_TS_HEADER:
            ms = int(value)
        elif name == RECV_TS_US_HEADER:
            us = value
    return (int(record.timestamp()[1]) if ms is None else ms), us


class MarketBatches:
    """Apply fetched raw records to the books and queue their outputs per partition."""

    def __init__(
        self,
        books: MarketBooks,
        outputs: Outputs,
        settings: Settings,
        clock_ms: Callable[[], int],
        clock_us: Callable[[], int],
    ) -> None:
        self.books = books
        self._outputs = outputs
        self._clock_ms = clock_ms
        self._clock_us = clock_us
        self._status_interval_ms = settings.book_status_interval_ms
        self._trades_topic = settings.scoped(topics.TRADES_RAW.name)
        self._klines_topic = settings.scoped(topics.KLINES_RAW.name)
        self._raw_partitions = settings.partitions
        self.book_top_topic = settings.scoped(topics.BOOK_TOP.name)
        self.features_topic = settings.scoped(topics.FEATURES.name)
        self.control_topic = settings.scoped(topics.OPS_CONTROL.name)
        self.status_topic = settings.scoped(topics.BOOK_STATUS.name)
        self.candles_topic = settings.scoped(topics.CANDLES.name)
        outputs_specs = (
            topics.BOOK_TOP,
            topics.FEATURES,
            topics.OPS_CONTROL,
            topics.BOOK_STATUS,
            topics.CANDLES,
        )
        self._partitions = {
            settings.scoped(spec.name): list(range(spec.partitions(settings)))
            for spec in outputs_specs
        }
        self._slots: dict[tuple[str, bytes], ProducerSlot] = {}
        self._outcomes: Counter[DeltaOutcome] = Counter()
        self._last_latency_ms = -1
        self._checkpointed_at: dict[str, tuple[int, BookStatus | None]] = {}
        self._pending: dict[str, bytes] = {}  # symbols changed since their last checkpoint
        self._next_due_ms = _NEVER  # the earliest time a pending checkpoint is due
        self._batch_ms = 0
        self._bar_metrics = [
            (
                counts,
                metrics.candle_late_trades.labels(interval=interval_label(interval_s)),
                metrics.candle_bars_closed_by_clock.labels(interval=interval_label(interval_s)),
            )
            for interval_s, counts in books.bar_counts.items()
        ]
        self._bar_exported = [(0, 0)] * len(self._bar_metrics)

    def process(self, records: Iterable[Any]) -> list[DeadLetter]:
        """Apply each record in its own error boundary; return the dead letters, in order.

        Metrics are settled once per batch (a Prometheus update takes a lock): frame counts
        in full, the receive → produced latency from the batch's last book top, late trades and
        clock-closed bars per interval.
        """
        failed: list[DeadLetter] = []
        self._outcomes.clear()
        self._last_latency_ms = -1
        self._batch_ms = self._clock_ms()  # status checkpoints are seconds apart
        try:
            for record in records:
                letter = self._track(record)
                if letter is not None:
                    failed.append(letter)
        finally:
            for outcome, count in self._outcomes.items():
                _frames_by_outcome[outcome].inc(count)
            if self._last_latency_ms >= 0:
                metrics.book_latency.observe(self._last_latency_ms / 1000)
            self._export_bar_counts()
        return failed

    def _export_bar_counts(self) -> None:
        # Add what the bar builders counted since the last batch: a few integer compares.
        for j, (counts, late, by_clock) in enumerate(self._bar_metrics):
            late_before, by_clock_before = self._bar_exported[j]
            if counts.late != late_before or counts.closed_by_clock != by_clock_before:
                late.inc(counts.late - late_before)
                by_clock.inc(counts.closed_by_clock - by_clock_before)
                self._bar_exported[j] = (counts.late, counts.closed_by_clock)

    def forget(self, partitions: Iterable[int]) -> None:
        """Drop the books of the symbols on raw ``partitions`` (revoked from this worker)."""
        gone = set(partitions)
        every = list(range(self._raw_partitions))
        for symbol in self.books.symbols():
            if partition_for_key(symbol.encode(), every) in gone:
                self.books.forget(symbol)
                self._checkpointed_at.pop(symbol, None)
                self._pending.pop(symbol, None)

    def _track(self, record: Any) -> DeadLetter | None:
        raw: bytes = record.value()
        topic: str = record.topic()
        try:
            recv_ms, recv_us = record_stamps(record)
            if topic == self._trades_topic:
                trades = self.books.apply_trades(raw, recv_ms)
                if trades is not None:
                    self._on_trades(trades, recv_us)
            elif topic == self._klines_topic:
                for candle in exchange_candle_records(raw, self._clock_ms()):
                    self._add(self.candles_topic, candle.symbol.encode(), _encode(candle), recv_us)
            else:
                self._on_book_update(self.books.apply(raw, recv_ms), recv_us)
        except HaltError:
            raise
        except InsaneFrameError as exc:
            if exc.update is not None:  # its book was invalidated: say so, ask for a resync
                self._on_book_update(exc.update, None)
            return dead_letter_for(raw, topic, exc)
        except Exception as exc:
            return dead_letter_for(raw, topic, exc)
        return None

    def _on_trades(self, update: BookUpdate, recv_us: bytes | None) -> None:
        key = update.symbol.encode()
        if update.features is not None:
            self._add(self.features_topic, key, _encode(update.features), recv_us)
        if update.candles is not None:
            for candle in update.candles:
                self._add(self.candles_topic, key, _encode(candle), recv_us)

    def _on_book_update(self, update: BookUpdate, recv_us: bytes | None) -> None:
        self._outcomes[update.outcome] += 1
        key = update.symbol.encode()
        if update.candles is not None:
            for candle in update.candles:
                self._add(self.candles_topic, key, _encode(candle), recv_us)
        if update.book_top is not None:
            top = update.book_top
            self._last_latency_ms = max(top.produced_ts_ms - top.recv_ts_ms, 0)
            self._add(self.book_top_topic, key, _encode(top), recv_us)
        if update.features is not None:
            self._add(self.features_topic, key, _encode(update.features), recv_us)
        if update.resync is not None:
            reason = update.resync.reason
            metrics.resyncs_requested.labels(symbol=update.symbol, reason=reason).inc()
            self._add(self.control_topic, key, _encode(update.resync))
        self._checkpoint(update.symbol, key)

    def checkpoint_due(self) -> bool:
        """Tell whether a book changed since its last checkpoint and its interval has elapsed."""
        return self._next_due_ms <= self._clock_ms()

    def flush_checkpoints(self) -> None:
        """Publish every pending status whose interval has elapsed, frames or no frames.

        A quiet or halted symbol may send nothing more after a burst: without this its
        checkpoint would show the state before the burst until its next frame.
        """
        self._batch_ms = self._clock_ms()
        self._next_due_ms = _NEVER
        for symbol, key in list(self._pending.items()):
            self._checkpoint(symbol, key)

    def _checkpoint(self, symbol: str, key: bytes) -> None:
        # Publish the status on a change or every interval, not on every frame; hold a change
        # inside the interval as pending until flush_checkpoints publishes it.
        book = self.books.book(symbol)
        if book is None:
            return
        now = self._batch_ms
        last_at, last_status = self._checkpointed_at.get(symbol, (0, None))
        status = book.status
        if status is last_status and now - last_at < self._status_interval_ms:
            self._pending[symbol] = key
            self._next_due_ms = min(self._next_due_ms, last_at + self._status_interval_ms)
            return
        self._pending.pop(symbol, None)
        self._checkpointed_at[symbol] = (now, status)
        metrics.book_valid.labels(symbol=symbol).set(1 if status is BookStatus.VALID else 0)
        record = self.books.status_record(symbol)
        record["checkpointed_ts_ms"] = now
        self._add(self.status_topic, key, _encode_json(record))

    def _add(self, topic: str, key: bytes, value: bytes, recv_us: bytes | None = None) -> None:
        produced_us = self._clock_us()
        headers = [(PRODUCED_TS_US_HEADER, b"%d" % produced_us)]
        if recv_us is not None:
            headers.append((RECV_TS_US_HEADER, recv_us))
        self._slot(topic, key).append(key, value, headers, produced_us // 1000)

    def _slot(self, topic: str, key: bytes) -> ProducerSlot:
        slot = self._slots.get((topic, key))
        if slot is None:
            partition = partition_for_key(key, self._partitions[topic])
            slot = self._slots[(topic, key)] = self._outputs.slot(topic, partition)
        return slot


def offsets_after(messages: Iterable[Any]) -> dict[tuple[str, int], int]:
    """Return, per (topic, partition), the offset to commit once ``messages`` are handled."""
    return {(m.topic(), m.partition()): m.offset() + 1 for m in messages}
