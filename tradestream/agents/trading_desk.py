"""What the trading agents of one worker share: topics, the execution desk, the risk driver.

``RiskDesk`` drives the pure ``RiskEngine`` for the risk agent: it decodes each message of its
one-partition stream (a signal, an account event, an operator command), keeps the engine's
replica of the account (``Portfolio``, fed the ``PositionChanged`` events the positions agent
publishes) and persists what must survive a restart in its ``RiskState`` (the last trading-state
event: a restarted worker comes back halted if it was halted; every position of the replica).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from decimal import Decimal
from functools import cache
from typing import Any, Protocol

from pydantic import BaseModel

from tradestream.agents.channels import source_topics
from tradestream.agents.trading_session import session
from tradestream.app import settings
from tradestream.config.files import PipelineConfig
from tradestream.core.errors import BadInputError
from tradestream.core.portfolio.balance import BalanceCheck, BalanceCheckConfig
from tradestream.core.portfolio.equity import trading_day_start
from tradestream.core.portfolio.portfolio import Portfolio
from tradestream.core.risk.config import RiskConfig
from tradestream.core.risk.engine import RiskEngine
from tradestream.core.risk.outcome import RiskOutcome
from tradestream.core.risk.trading_state import KillSwitch
from tradestream.schemas.account import AccountState, PositionChanged, PositionState
from tradestream.schemas.exchange import InstrumentInfo
from tradestream.schemas.reconciliation import ReconciliationCorrected, WalletObserved
from tradestream.schemas.trading import (
    Signal,
    control_command_adapter,
    trading_state_event_adapter,
)
from tradestream.streams import topics

log = logging.getLogger(__name__)
_TRADING_STATE_KEY = "trading_state"
_POSITION_PREFIX = "position:"
_BALANCE_KEY = "balance"
_CONTROL_KINDS = frozenset({"trip_kill_switch", "reset_kill_switch", "set_trading_state"})
ORDER_ENDS = frozenset({"order_rejected", "order_cancelled", "order_expired", "order_failed"})
"""Order events after which an approved order no longer counts as pending for risk."""


exec_orders_topic = source_topics(topics.EXEC_ORDERS)
exec_reports_topic = source_topics(topics.EXEC_REPORTS)
account_topic = source_topics(topics.ACCOUNT_EVENTS)
book_tops_channel = source_topics(topics.BOOK_TOP)
SIGNALS_NAME = settings.scoped(topics.SIGNALS.name)
ACCOUNT_NAME = settings.scoped(topics.ACCOUNT_EVENTS.name)


async def send_json(topic: Any, key: str, value: BaseModel) -> None:
    """Send one pydantic record as JSON, keyed by ``key``."""
    await topic.send(key=key.encode(), value=value.model_dump_json().encode())


class RiskState(Protocol):
    """Where the desk keeps what it must not forget: a mapping whose writes are durable."""

    def get(self, key: str, default: Any = None) -> Any: ...

    def items(self) -> Iterable[tuple[str, Any]]: ...

    def __setitem__(self, key: str, value: Any) -> None: ...


class RiskDesk:
    """Feed the risk engine from its stream and keep what it must not forget in ``state``."""

    def __init__(self, state: RiskState | None = None) -> None:
        self._store: RiskState = state if state is not None else {}
        config = risk_config()
        self.config = config
        self.engine: RiskEngine | None = None
        self.replica = Portfolio(
            settings.paper_balance_usdt, day_start_hour_utc=config.daily_reset_hour_utc
        )
        self._state: AccountState | None = None  # the replica's, until it changes
        self._balance = BalanceCheck(
            BalanceCheckConfig(confirm_after_ms=int(settings.reconcile_interval_s * 500))
        )
        self._adjusted = Decimal(0)  # cash added to the starting balance by reconciliation
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
                self._store[_POSITION_PREFIX + change.symbol] = state.model_dump(mode="json")
            return self._remembered(engine.on_account(self.account(now), now))
        if kind in ORDER_ENDS:
            engine.release(json.loads(raw)["order_link_id"])
        if kind == "wallet_observed":
            return self._on_wallet(WalletObserved.model_validate_json(raw), now)
        return None  # our own trading-state events come back here: already applied

    def _on_wallet(self, wallet: WalletObserved, now: int) -> RiskOutcome | None:
        """Shift the starting balance by cash the exchange holds and no execution explains."""
        ours = self.account(now).equity
        amount = self._balance.observe(ours, wallet.equity, now)
        self._store[_BALANCE_KEY] = {"adjusted": str(self._adjusted),
                                     "pending": self._balance.to_json()}  # fmt: skip
        if amount is None:
            return None
        before = self.replica.starting_balance
        self.replica.adjust_balance(amount)
        self._adjusted += amount
        self._state = None
        self._store[_BALANCE_KEY] = {"adjusted": str(self._adjusted), "pending": None}
        log.warning("account equity %s here, %s at the exchange: starting balance %+s",
                    ours, wallet.equity, amount)  # fmt: skip
        correction = ReconciliationCorrected(
            subject="wallet",
            action="balance_corrected",
            before={"equity": str(ours), "starting_balance": str(before)},
            after={
                "equity": str(wallet.equity),
                "starting_balance": str(self.replica.starting_balance),
            },
            reason=f"the exchange's equity differs from ours by {amount} USDT in two passes: "
            "cash no execution explains (a transfer, funding, the configured starting balance)",
            at_ms=now,
        )
        return RiskOutcome(audits=(correction,))

    def _remembered(self, outcome: RiskOutcome) -> RiskOutcome:
        for event in outcome.events:
            self._store[_TRADING_STATE_KEY] = event.model_dump(mode="json")
        return outcome

    # Built on the first message, once the state is restored: a restart keeps the halt.
    def _engine(self) -> RiskEngine:
        if self.engine is None:
            last = self._store.get(_TRADING_STATE_KEY)
            event = trading_state_event_adapter.validate_python(last) if last else None
            self.engine = RiskEngine(self.config, kill_switch=KillSwitch.restore(event))
            for key, value in list(self._store.items()):
                if key.startswith(_POSITION_PREFIX):
                    self.replica.apply_position(PositionState.model_validate(value))
            balance = self._store.get(_BALANCE_KEY)
            if balance:
                self._adjusted = Decimal(balance["adjusted"])
                self.replica.adjust_balance(self._adjusted)
                self._balance.restore(balance.get("pending"))
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
