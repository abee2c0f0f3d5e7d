"""What the trading agents of one worker share: topics, the execution desk, the risk driver.

``RiskDesk`` drives the pure ``RiskEngine`` for the risk agent: it decodes each message of its
one-partition stream (a signal, an account event, an operator command), keeps the engine's
replica of the account (``Portfolio``, fed the ``PositionChanged`` events the positions agent
publishes) and persists what must survive a restart in ``risk_state`` (the last trading-state
event: a restarted worker comes back halted if it was halted; every position of the replica).
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from pydantic import BaseModel

from tradestream.agents.channels import source_topics
from tradestream.agents.trading_session import session
from tradestream.app import settings
from tradestream.config.files import PipelineConfig
from tradestream.core.errors import BadInputError
from tradestream.core.portfolio.portfolio import Portfolio
from tradestream.core.risk.config import RiskConfig
from tradestream.core.risk.engine import RiskEngine
from tradestream.core.risk.outcome import RiskOutcome
from tradestream.core.risk.trading_state import KillSwitch
from tradestream.schemas.account import PositionChanged, PositionState
from tradestream.schemas.trading import (
    Signal,
    control_command_adapter,
    trading_state_event_adapter,
)
from tradestream.streams import topics
from tradestream.tables.trading import risk_state

_TRADING_STATE_KEY = "trading_state"
_POSITION_PREFIX = "position:"
_CONTROL_KINDS = frozenset({"trip_kill_switch", "reset_kill_switch", "set_trading_state"})
ORDER_ENDS = frozenset({"order_rejected", "order_cancelled", "order_expired", "order_failed"})
"""Order events after which an approved order no longer counts as pending for risk."""


exec_orders_topic = source_topics(topics.EXEC_ORDERS)
exec_reports_topic = source_topics(topics.EXEC_REPORTS)
account_topic = source_topics(topics.ACCOUNT_EVENTS)
decisions_topic = source_topics(topics.RISK_DECISIONS)
book_tops_channel = source_topics(topics.BOOK_TOP)
risk_channel = source_topics(topics.SIGNALS, topics.ACCOUNT_EVENTS, topics.OPS_CONTROL)
SIGNALS_NAME = settings.scoped(topics.SIGNALS.name)
ACCOUNT_NAME = settings.scoped(topics.ACCOUNT_EVENTS.name)


async def send_json(topic: Any, key: str, value: BaseModel) -> None:
    """Send one pydantic record as JSON, keyed by ``key``."""
    await topic.send(key=key.encode(), value=value.model_dump_json().encode())


async def publish_outcome(outcome: RiskOutcome) -> None:
    """Publish a risk outcome: the decision, kill-switch events, then the orders, in order."""
    if outcome.decision is not None and not outcome.duplicate:
        await send_json(decisions_topic, outcome.decision.symbol, outcome.decision)
    for event in outcome.events:
        await send_json(account_topic, "account", event)
    for command in outcome.all_commands():
        await send_json(exec_orders_topic, command.symbol, command)


class RiskDesk:
    """Feed the risk engine from its stream and keep what it must not forget in ``risk_state``."""

    def __init__(self) -> None:
        config = risk_config()
        self.config = config
        self.engine: RiskEngine | None = None
        self.replica = Portfolio(
            settings.paper_balance_usdt, day_start_hour_utc=config.daily_reset_hour_utc
        )

    def on_message(self, topic: str, raw: bytes, now: int) -> RiskOutcome | None:
        """Handle one message of the risk stream; return what to publish."""
        engine = self._engine()
        account = self.replica.state(now)
        if topic == SIGNALS_NAME:
            signal = Signal.model_validate_json(raw)
            info = session().instrument(signal.symbol)
            if info is None:
                raise BadInputError(f"no instrument rules for {signal.symbol}")
            return self._remembered(engine.evaluate(signal, account, info, now))
        kind = json.loads(raw).get("kind")
        if topic == ACCOUNT_NAME:
            return self._on_account_event(engine, kind, raw, now)
        if kind in _CONTROL_KINDS:
            command = control_command_adapter.validate_json(raw)
            return self._remembered(engine.on_command(command, account, now))
        return None  # ops.control also carries resync requests: those are ingest's

    def _on_account_event(
        self, engine: RiskEngine, kind: str | None, raw: bytes, now: int
    ) -> RiskOutcome | None:
        if kind == "position_changed":
            change = PositionChanged.model_validate_json(raw)
            state = PositionState.model_validate(change.model_dump(exclude={"kind", "cause"}))
            if self.replica.apply_position(state):
                risk_state[_POSITION_PREFIX + change.symbol] = state.model_dump(mode="json")
            return self._remembered(engine.on_account(self.replica.state(now), now))
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
