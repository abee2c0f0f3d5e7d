"""The risk agent: a lean consume → decide → produce loop on librdkafka, beside the Faust agents.

Every signal, account event and operator command of the account passes through ONE member (its
inputs have one partition each), so its cost per event bounds the account's signal rate. As a
Faust agent it paid about 300 µs per event in Faust's stream and aiokafka's sender (a task, a
future and a produce request per record: 2,300 signals/s, ``bench/risk_agent.py``), several times
the risk rules themselves; here, as in the market engine (``agents/market_engine.py``):

- its own consumer group (``Settings.risk_group_id``) on ``sig.signals``, ``account.events`` and
  ``ops.control`` with the range assignor, so the one partition of each goes to one member;
- each step takes what librdkafka has prefetched (up to ``RISK_BATCH``; waiting in a thread up
  to ``market_batch_ms`` when nothing is) and hands each message to ``RiskDesk`` in order, inside
  its own error boundary (bad input → the dead-letter queue with the reason; a halt stops the
  worker with the batch uncommitted);
- the outcome goes out as it is made: the decision to ``risk.decisions``, kill-switch events to
  ``account.events``, orders to ``exec.orders``, each on the partition Kafka's default partitioner
  gives its key (co-partitioning with the Faust side holds);
- what the desk must not forget (the last trading-state event, its replica of each position) is
  written to the compacted ``risk.state`` topic before the outputs of the same message, and read
  back to its end whenever the inputs are assigned: a restarted or new member comes back halted
  if the account was halted;
- input offsets are committed only once every output of their batch is acknowledged: a crash
  re-reads them, and the desk answers a redelivered signal with the same decision and the same
  ``orderLinkId``, which the execution agent sends at most once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import mode
import orjson
from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    Message,
    TopicPartition,
)
from pydantic import BaseModel

from tradestream.agents.boundary import dead_letter_for, keep_dead_letter
from tradestream.agents.market import offsets_after
from tradestream.agents.market_engine import OffsetLedger
from tradestream.agents.trading_desk import RiskDesk
from tradestream.config.settings import Settings
from tradestream.core.clock import now_ms, now_us
from tradestream.core.errors import HaltError
from tradestream.core.risk.outcome import RiskOutcome
from tradestream.sinks.dead_letters import DeadLetter, DeadLetterQueue
from tradestream.streams import topics
from tradestream.streams.partitioning import partition_for_key
from tradestream.streams.rdkafka import Outputs, commit_owned, commit_reporter, consumer_config
from tradestream.streams.stage_times import STAGES_HEADER, with_stage

log = logging.getLogger(__name__)

RISK_BATCH = 500
DRAIN_TIMEOUT_S = 30.0
RESTORE_TIMEOUT_S = 30.0
Offsets = dict[tuple[str, int], int]


class RiskStateLog:
    """The desk's durable state: a dict whose every write also goes to ``risk.state``."""

    def __init__(self, settings: Settings, outputs: Outputs) -> None:
        self._settings = settings
        self._topic = settings.scoped(topics.RISK_STATE.name)
        self._slot = outputs.slot(self._topic, 0)
        self._values: dict[str, Any] = {}

    def get(self, key: str, default: Any = None) -> Any:
        """Return the value last written under ``key``."""
        return self._values.get(key, default)

    def items(self) -> Iterator[tuple[str, Any]]:
        """Yield every key and its value."""
        yield from list(self._values.items())

    def __setitem__(self, key: str, value: Any) -> None:
        self._values[key] = value
        self._slot.append(key.encode(), orjson.dumps(value), [], now_ms())

    def restore(self) -> int:
        """Read the topic from its start to its end into memory; return how many keys it holds."""
        reader = Consumer({**consumer_config(self._settings, self._settings.risk_group_id),
                           "group.id": f"{self._settings.risk_group_id}.restore"})  # fmt: skip
        try:
            _, end = reader.get_watermark_offsets(TopicPartition(self._topic, 0), timeout=10)
            self._values = {}
            reader.assign([TopicPartition(self._topic, 0, OFFSET_BEGINNING)])
            deadline = time.monotonic() + RESTORE_TIMEOUT_S
            position = 0
            while position < end:
                if time.monotonic() > deadline:
                    raise HaltError(f"{self._topic} not read to its end ({end}) in time")
                for message in reader.consume(RISK_BATCH, 0.5):
                    if message.error() is None:
                        position = (message.offset() or 0) + 1
                        self._read(message)
        finally:
            reader.close()
        return len(self._values)

    def _read(self, message: Message) -> None:
        key = (message.key() or b"").decode()
        value = message.value()
        if value is None:
            self._values.pop(key, None)
        else:
            self._values[key] = orjson.loads(value)


class RiskLoop(mode.Service):
    """Consume the account's inputs in batches, decide, produce, commit after the acks."""

    def __init__(
        self,
        settings: Settings,
        *,
        consumer: Consumer,
        outputs: Outputs,
        dlq: DeadLetterQueue,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._settings = settings
        self._consumer = consumer
        self._outputs = outputs
        self._dlq = dlq
        self.memory = RiskStateLog(settings, outputs)
        self.desk = RiskDesk(self.memory)
        self._inputs = [settings.scoped(spec.name) for spec in topics.RISK_INPUTS]
        self._partitions = {
            settings.scoped(spec.name): list(range(spec.partitions(settings)))
            for spec in (topics.RISK_DECISIONS, topics.EXEC_ORDERS, topics.ACCOUNT_EVENTS)
        }
        self._decisions = settings.scoped(topics.RISK_DECISIONS.name)
        self._orders = settings.scoped(topics.EXEC_ORDERS.name)
        self._account = settings.scoped(topics.ACCOUNT_EVENTS.name)
        self._ledger = OffsetLedger()
        self._owned: set[tuple[str, int]] = set()
        self._failed = False
        self._taken_us = 0
        self._waiter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="risk-loop")

    async def on_start(self) -> None:
        """Join the group (librdkafka assigns the partitions inside a later poll)."""
        self._consumer.subscribe(self._inputs, on_assign=self.on_assign, on_revoke=self.on_revoke)

    @mode.Service.task
    async def _run(self) -> None:
        try:
            while not self.should_stop:
                await self.step()
        except asyncio.CancelledError:
            raise
        except BaseException:
            self._failed = True  # shutting down must not commit after a failure
            log.exception("risk loop stopped")
            raise

    async def on_shutdown(self) -> None:
        """Commit what is acknowledged (unless the loop failed), then close the clients."""
        await asyncio.to_thread(self._waiter.shutdown)
        try:
            if not self._failed:
                await asyncio.to_thread(self.drain)
        finally:
            await asyncio.to_thread(self._consumer.close)
            await asyncio.to_thread(self._outputs.close, 5)

    async def step(self) -> None:
        """Handle one batch, dead-letter its failures, commit what is acknowledged."""
        messages = await self.fetch()
        if messages:
            letters = self.process(messages)
            for letter in letters:
                await keep_dead_letter(self._dlq, letter)
            self._ledger.add(self._outputs.ledger.mark(), offsets_after(messages))
        self._outputs.poll()
        self._commit(self._ledger.ready(self._outputs.ledger.covers), asynchronous=True)
        if messages:
            await asyncio.sleep(0)  # a busy account must not starve the worker's other agents

    async def fetch(self) -> list[Message]:
        """Take what is prefetched; if nothing is, wait for it in the waiting thread.

        A prefetched batch is handled at once, before the loop yields to other agents, so a
        decision never waits behind them; the step yields after it.
        """
        got = self._consumer.consume(RISK_BATCH, 0)
        self._taken_us = now_us()
        if not got:
            loop = asyncio.get_running_loop()
            got = await loop.run_in_executor(self._waiter, self._wait_and_take)
            self._taken_us = now_us()
        return [m for m in got if self._is_record(m) and (m.topic(), m.partition()) in self._owned]

    def _wait_and_take(self) -> list[Message]:
        first = self._consumer.poll(self._settings.market_batch_ms / 1000)
        if first is None:
            return []
        return [first, *self._consumer.consume(RISK_BATCH - 1, 0)]

    def process(self, messages: list[Message]) -> list[DeadLetter]:
        """Decide on each message in order; return the dead letters of those that failed."""
        letters = []
        for message in messages:
            raw: bytes = message.value() or b""
            topic: str = message.topic() or ""
            try:
                outcome = self.desk.on_message(topic, raw, now_ms())
                if outcome is not None:
                    self.publish(outcome, message.headers())
            except HaltError:
                raise
            except Exception as exc:  # the boundary: any failure of one event is its dead letter
                letters.append(dead_letter_for(raw, topic, exc))
        return letters

    def publish(self, outcome: RiskOutcome, headers: Any = None) -> None:
        """Produce the decision, then kill-switch events, then the orders, in that order.

        Orders carry the stage times of the signal's path plus the risk agent's own
        (``streams/stage_times.py``): from taking the batch off the consumer to this produce.
        """
        if outcome.decision is not None and not outcome.duplicate:
            self._produce(self._decisions, outcome.decision.symbol, outcome.decision)
        for event in outcome.events:
            self._produce(self._account, "account", event)
        for audit in outcome.audits:
            self._produce(self._account, "account", audit)
        for command in outcome.all_commands():
            stages = with_stage(headers, "risk", now_us() - self._taken_us)
            self._produce(self._orders, command.symbol, command, [(STAGES_HEADER, stages)])

    def _produce(
        self, topic: str, key: str, value: BaseModel, headers: list[tuple[str, bytes]] | None = None
    ) -> None:
        raw_key = key.encode()
        partition = partition_for_key(raw_key, self._partitions[topic])
        slot = self._outputs.slot(topic, partition)
        slot.append(raw_key, value.model_dump_json().encode(), headers or [], now_ms())

    @staticmethod
    def _is_record(message: Message) -> bool:
        error: KafkaError | None = message.error()
        if error is None:
            return True
        if error.fatal():
            raise HaltError(f"risk loop consumer: {error}")
        log.warning("risk loop consumer: %s", error)
        return False

    def drain(self) -> None:
        """Wait until every output is acknowledged and commit every input handled."""
        self._outputs.wait_delivered(self._outputs.ledger.mark(), DRAIN_TIMEOUT_S)
        self._commit(self._ledger.ready(self._outputs.ledger.covers), asynchronous=False)

    def on_revoke(self, _consumer: Consumer, _revoked: list[TopicPartition]) -> None:
        """Drain and commit before the inputs move to another member."""
        if not self._failed:
            self.drain()
        self._owned = set()

    def on_assign(self, _consumer: Consumer, assigned: list[TopicPartition]) -> None:
        """Read the durable state back and start a desk on it (a restart keeps the halt)."""
        self._owned = {(tp.topic, tp.partition) for tp in assigned}
        if assigned:
            keys = self.memory.restore()
            self.desk = RiskDesk(self.memory)
            log.info("risk loop assigned %d inputs; %d state keys restored", len(assigned), keys)

    def _commit(self, offsets: Offsets, *, asynchronous: bool) -> None:
        owned = self._owned
        commit_owned(self._consumer, offsets, owned, asynchronous=asynchronous, name="risk loop")


def risk_consumer(settings: Settings) -> Consumer:
    """Create the loop's consumer: its own group; the broker answers a fetch at the first byte."""
    reporter = commit_reporter("risk loop")
    config = consumer_config(settings, settings.risk_group_id, on_commit=reporter)
    return Consumer({**config, "fetch.min.bytes": 1, "client.id": f"{settings.app_id}-risk"})
