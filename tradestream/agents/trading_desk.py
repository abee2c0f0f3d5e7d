"""What the trading agents of one worker share: topics, the execution desk, the risk driver.

``RiskDesk`` drives the pure ``RiskEngine`` for the risk agent: it decodes each message of its
one-partition stream (a signal, an account event, an operator command), keeps the engine's
replica of the account (``Portfolio``, fed the ``PositionChanged`` events the positions agent
publishes) and persists what must survive a restart in ``risk_state`` (the last trading-state
event: a restarted worker comes back halted if it was halted; every position of the replica).
"""

from __future__ import annotations

import asyncio
import json
import logging
from functools import cache
from typing import Any

from pydantic import BaseModel

from tradestream.agents.channels import source_topics
from tradestream.agents.trading_session import session
from tradestream.app import app, settings
from tradestream.config.files import PipelineConfig
from tradestream.core.errors import BadInputError
from tradestream.core.portfolio.equity import trading_day_start
from tradestream.core.portfolio.portfolio import Portfolio
from tradestream.core.risk.config import RiskConfig
from tradestream.core.risk.engine import RiskEngine
from tradestream.core.risk.outcome import RiskOutcome
from tradestream.core.risk.trading_state import KillSwitch
from tradestream.schemas.account import AccountState, PositionChanged, PositionState
from tradestream.schemas.exchange import InstrumentInfo
from tradestream.schemas.trading import (
    Signal,
    control_command_adapter,
    trading_state_event_adapter,
)
from tradestream.streams import topics
from tradestream.tables.trading import risk_state

log = logging.getLogger(__name__)
_TRADING_STATE_KEY = "trading_state"
_POSITION_PREFIX = "position:"
_CONTROL_KINDS = frozenset({"trip_kill_switch", "reset_kill_switch", "set_trading_state"})
ORDER_ENDS = frozenset({"order_rejected", "order_cancelled", "order_expired", "order_failed"})
"""Order events after which an approved order no longer counts as pending for risk."""


exec_orders_topic = source_topics(topics.EXEC_ORDERS)
exec_reports_topic = source_topics(topics.EXEC_REPORTS)
account_topic = source_topics(topics.ACCOUNT_EVENTS)
book_tops_channel = source_topics(topics.BOOK_TOP)
risk_channel = source_topics(topics.SIGNALS, topics.ACCOUNT_EVENTS, topics.OPS_CONTROL)
SIGNALS_NAME = settings.scoped(topics.SIGNALS.name)
ACCOUNT_NAME = settings.scoped(topics.ACCOUNT_EVENTS.name)
DECISIONS_NAME = settings.scoped(topics.RISK_DECISIONS.name)
EXEC_ORDERS_NAME = settings.scoped(topics.EXEC_ORDERS.name)


async def send_json(topic: Any, key: str, value: BaseModel) -> None:
    """Send one pydantic record as JSON, keyed by ``key``."""
    await topic.send(key=key.encode(), value=value.model_dump_json().encode())


async def publish_outcome(outcome: RiskOutcome) -> None:
    """Publish a risk outcome: the decision, kill-switch events, then the orders, in order.

    Straight to the app's (started) producer, not through ``Topic.send``: that asks for the
    producer through ``maybe_start_producer``, which yields to the event loop three times per
    record (so the producer's sender shipped nearly every record in a request of its own), and it
    adds a future, callbacks and sensors per record (``bench/risk_agent.py``). Nothing here yields:
    what is published until the agent next waits goes out together. The guarantees are the same:
    records of one partition keep their order, and Faust flushes this producer before it commits
    the offsets of the events that caused them.
    """
    producer = app.producer
    if outcome.decision is not None and not outcome.duplicate:
        await _produce(producer, DECISIONS_NAME, outcome.decision.symbol, outcome.decision)
    for event in outcome.events:
        await _produce(producer, ACCOUNT_NAME, "account", event)
    for command in outcome.all_commands():
        await _produce(producer, EXEC_ORDERS_NAME, command.symbol, command)


async def _produce(producer: Any, topic: str, key: str, value: BaseModel) -> None:
    sent = await producer.send(
        topic, key.encode(), value.model_dump_json().encode(), None, None, None
    )
    sent.add_done_callback(_report_undelivered)


def _report_undelivered(sent: asyncio.Future[Any]) -> None:
    if not sent.cancelled() and sent.exception() is not None:
        log.error("a risk output was not delivered: %r", sent.exception())


class RiskDesk:
    """Feed the risk engine from its stream and keep what it must not forget in ``risk_state``."""

    def __init__(self) -> None:
        config = risk_config()
        self.config = config
        self.engine: RiskEngine | None = None
        self.replica = Portfolio(
            settings.paper_balance_usdt, day_start_hour_utc=config.daily_reset_hour_utc
        )
        self._state: AccountState | None = None  # the replica's, until it changes
        self._instruments: dict[str, InstrumentInfo] = {}

    def on_message(self, topic: str, raw: bytes, now: int) -> RiskOutcome | None:
        """Handle one message of the risk stream; return what to publish."""
        engine = self._engine()
        account = self.account(now)  # every message: a new trading day opens at the first
        if topic == SIGNALS_NAME:
            signal = Signal.model_validate_json(raw)
            info = self._instrument(signal.symbol)
            return self._remembered(engine.evaluate(signal, account, info, now))
        kind = json.loads(raw).get("kind")
        if topic == ACCOUNT_NAME:
            return self._on_account_event(engine, kind, raw, now)
        if kind in _CONTROL_KINDS:
            command = control_command_adapter.validate_json(raw)
            return self._remembered(engine.on_command(command, account, now))
        return None  # ops.control also carries resync requests: those are ingest's

    def account(self, now: int) -> AccountState:
        """Return the replica's account as of ``now``, rolling the trading day if one began.

        The replica changes only when a position is applied or a day begins: until then its
        state is the one built last (rebuilding it for every signal cost more than most rules).
        """
        state = self._state
        day_start = trading_day_start(now, self.config.daily_reset_hour_utc)
        if state is None or day_start > state.day_start_ms:
            state = self._state = self.replica.state(now)
        if state.as_of_ts_ms == now:
            return state
        return state.model_copy(update={"as_of_ts_ms": now})

    # An instrument's rules are learnt once per worker (paper: configured; live: fetched once).
    def _instrument(self, symbol: str) -> InstrumentInfo:
        info = self._instruments.get(symbol)
        if info is None:
            info = session().instrument(symbol)
            if info is None:
                raise BadInputError(f"no instrument rules for {symbol}")
            self._instruments[symbol] = info
        return info

    def _on_account_event(
        self, engine: RiskEngine, kind: str | None, raw: bytes, now: int
    ) -> RiskOutcome | None:
        if kind == "position_changed":
            change = PositionChanged.model_validate_json(raw)
            state = PositionState.model_validate(change.model_dump(exclude={"kind", "cause"}))
            if self.replica.apply_position(state):
                self._state = None
                risk_state[_POSITION_PREFIX + change.symbol] = state.model_dump(mode="json")
            return self._remembered(engine.on_account(self.account(now), now))
        if kind in ORDER_ENDS:
            engine.release(json.loads(raw)["order_link_id"])
        return None  # our own trading-state events come back here: already applied

    def _remembered(self, outcome: RiskOutcome) -> RiskOutcome:
        for event in outcome.events:
            risk_state[_TRADING_STATE_KEY] = event.model_dump(mode="json")
        return outcome

    # Built on the first message, once the table is recovered: a restart keeps the halt.
    def _engine(self) -> RiskEngine:
        if self.engine is None:
            last = risk_state.get(_TRADING_STATE_KEY)
            event = trading_state_event_adapter.validate_python(last) if last else None
            self.engine = RiskEngine(self.config, kill_switch=KillSwitch.restore(event))
            for key, value in list(risk_state.items()):
                if key.startswith(_POSITION_PREFIX):
                    self.replica.apply_position(PositionState.model_validate(value))
            self._state = None
        return self.engine


@cache
def risk_config() -> RiskConfig:
    """Return ``config/risk.yaml``, validated (the worker validated it at start too)."""
    return PipelineConfig.load(settings.config_dir).risk


@cache
def positions() -> Portfolio:
    """Return the positions side's portfolio (the symbols of this worker's partitions)."""
    config = risk_config()
    return Portfolio(settings.paper_balance_usdt, day_start_hour_utc=config.daily_reset_hour_utc)


@cache
def risk_desk() -> RiskDesk:
    """Return the worker's risk desk."""
    return RiskDesk()
