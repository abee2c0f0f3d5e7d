"""The risk engine: one object that answers signals, watches the account and obeys operators.

The risk agent runs it on ONE partition, so its answers are serialised: it sees every approval
it made (pending orders) before the next signal. It is pure: the agent passes the account state,
the instrument, the time and the open orders, and publishes what comes back (``RiskOutcome``).

* ``evaluate(signal, ...)``: trip first if the account breached a loss limit, then refuse by
  trading state, price, sizing and the rules (first refusal wins), or approve with a qty and a
  market order. A signal id already decided gets the same answer again, marked duplicate.
* ``on_account(account, ...)``: on every account update and on a timer; trips on daily loss or
  drawdown, and while halted keeps closing what is still open.
* ``on_command(command, ...)``: a person trips, resets (naming the episode) or switches between
  active and reducing; a command id already handled changes nothing.

After a reset, loss limits are measured from the equity at the reset (for the rest of that day,
and as the floor of the drawdown peak), otherwise a reset on a losing day would trip again at
once; the reset event carries that equity, so ``KillSwitch.restore`` brings it back.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from decimal import Decimal
from typing import TypeVar

from tradestream.core.errors import BadInputError
from tradestream.core.risk.config import RiskConfig
from tradestream.core.risk.correlation import CorrelatedGroupLimit, CorrelationLimit, Correlations
from tradestream.core.risk.kill_switch import HaltOrders, OrderRef, trip_trigger
from tradestream.core.risk.outcome import RiskOutcome, approved, refused
from tradestream.core.risk.pending import PendingOrders
from tradestream.core.risk.proposal import (
    PendingOrder,
    ProposedOrder,
    Refused,
    RiskContext,
    context_with,
)
from tradestream.core.risk.rules import (
    MaxGrossExposure,
    MaxLeverage,
    MaxOpenPositions,
    MaxPositionNotional,
    MaxPositionsPerSymbol,
    MaxTotalRisk,
    OrdersPerMinute,
    Rule,
    TradingStateRule,
)
from tradestream.core.risk.sizing import Sizer, propose
from tradestream.core.risk.trading_state import KillSwitch
from tradestream.schemas.account import AccountState
from tradestream.schemas.exchange import InstrumentInfo
from tradestream.schemas.trading import (
    ControlCommand,
    KillSwitchTrigger,
    ResetKillSwitch,
    Signal,
    TradingState,
    TripKillSwitch,
)

_V = TypeVar("_V")

AUTOMATIC_ACTOR = "risk"
MEMORY = 10_000


class RiskEngine:
    """Decide signals, trip and run the kill switch, for one account."""

    def __init__(
        self,
        config: RiskConfig,
        *,
        kill_switch: KillSwitch | None = None,
        correlations: Correlations | None = None,
    ) -> None:
        self.config = config
        self.kill_switch = kill_switch or KillSwitch()
        self._sizer = Sizer(config.sizing, config.risk_per_trade)
        self._rate = OrdersPerMinute(config.max_orders_per_minute)
        self._correlation = CorrelationLimit(
            config.correlation_threshold, config.max_correlated_positions, correlations
        )
        self.rules: tuple[Rule, ...] = (
            TradingStateRule(),
            MaxOpenPositions(config.max_open_positions),
            MaxPositionsPerSymbol(config.max_positions_per_symbol),
            MaxPositionNotional(config.max_position_notional_usdt),
            MaxGrossExposure(config.max_gross_notional_usdt),
            MaxLeverage(config.max_leverage),
            MaxTotalRisk(config.max_total_risk),
            CorrelatedGroupLimit(config.symbol_groups, config.max_correlated_positions),
            self._correlation,
            self._rate,
        )
        self._pending = PendingOrders(config.pending_order_ttl_ms)
        self._halt = HaltOrders(config.kill_switch_close_retry_ms)
        self._halt.start(self.kill_switch.episode)
        self._peak_since_reset: Decimal | None = None
        self._entries: dict[str, int] = {}
        self._decided: OrderedDict[str, RiskOutcome] = OrderedDict()
        self._commands: OrderedDict[str, None] = OrderedDict()

    @property
    def trading_state(self) -> TradingState:
        """Return the account's trading state."""
        return self.kill_switch.state

    def pending_orders(self) -> tuple[PendingOrder, ...]:
        """Return the approved orders the account does not show yet."""
        return tuple(self._pending)

    def update_correlations(self, correlations: Correlations) -> None:
        """Use a fresh rolling-return correlation matrix from now on."""
        self._correlation.correlations = correlations

    def release(self, order_link_id: str) -> bool:
        """Stop counting an approved order that ended (rejected, cancelled, expired)."""
        return self._pending.release(order_link_id)

    def evaluate(
        self,
        signal: Signal,
        account: AccountState,
        instrument: InstrumentInfo,
        now_ms: int,
        *,
        price: Decimal | None = None,
        open_orders: Iterable[OrderRef] = (),
    ) -> RiskOutcome:
        """Approve ``signal`` with a qty and an order, or refuse it naming the rule."""
        if instrument.symbol != signal.symbol:
            raise BadInputError(f"signal for {signal.symbol} with instrument {instrument.symbol}")
        known = self._decided.get(signal.signal_id)
        if known is not None:
            return RiskOutcome(decision=known.decision, order=known.order, duplicate=True)
        halt = self.on_account(account, now_ms, open_orders=open_orders)
        reference = self._reference_price(signal, account, price)
        verdict = self._judge(signal, account, instrument, now_ms, reference)
        state = self.trading_state
        if isinstance(verdict, Refused):
            outcome = refused(signal, verdict, reference, state, now_ms)
        else:
            atr_indicator = self.config.sizing.atr_indicator
            outcome = approved(signal, verdict, state, now_ms, atr_indicator=atr_indicator)
            self._record_approval(verdict, outcome, account, now_ms)
        _remember(self._decided, signal.signal_id, outcome)
        return outcome.with_halt(halt)

    def on_account(
        self, account: AccountState, now_ms: int, *, open_orders: Iterable[OrderRef] = ()
    ) -> RiskOutcome:
        """Trip on a breached loss limit; while halted, close what is still open."""
        self._pending.refresh(account, now_ms)
        self._sync_entries(account)
        if self.trading_state is TradingState.HALTED:
            commands = self._halt.cancels(open_orders, now_ms) + self._halt.closes(account, now_ms)
            return RiskOutcome(commands=commands)
        day_open, peak = self._limit_bases(account)
        breach = trip_trigger(account, self.config, day_open=day_open, peak=peak)
        if breach is None:
            return RiskOutcome()
        trigger, reason = breach
        return self._trip(
            trigger,
            reason,
            AUTOMATIC_ACTOR,
            account=account,
            now_ms=now_ms,
            open_orders=open_orders,
        )

    def on_command(
        self,
        command: ControlCommand,
        account: AccountState,
        now_ms: int,
        *,
        open_orders: Iterable[OrderRef] = (),
    ) -> RiskOutcome:
        """Carry out an operator's command once per command id; illegal moves raise."""
        if command.command_id in self._commands:
            return RiskOutcome(duplicate=True)
        if isinstance(command, TripKillSwitch):
            outcome = self._trip(
                KillSwitchTrigger.MANUAL,
                command.reason,
                command.actor,
                account=account,
                now_ms=now_ms,
                open_orders=open_orders,
            )
        elif isinstance(command, ResetKillSwitch):
            outcome = self._reset(command, account, now_ms)
        else:
            state_changed = self.kill_switch.set_state(
                command.state, command.reason, command.actor, now_ms
            )
            outcome = RiskOutcome(events=(state_changed,))
        _remember(self._commands, command.command_id, None)
        return outcome

    def _trip(
        self,
        trigger: KillSwitchTrigger,
        reason: str,
        actor: str,
        *,
        account: AccountState,
        now_ms: int,
        open_orders: Iterable[OrderRef],
    ) -> RiskOutcome:
        event = self.kill_switch.trip(trigger, reason, actor, now_ms)
        self._halt.start(event.episode)
        pending = [OrderRef(p.symbol, p.order_link_id) for p in self._pending.clear()]
        cancels = self._halt.cancels([*pending, *open_orders], now_ms)
        return RiskOutcome(events=(event,), commands=cancels + self._halt.closes(account, now_ms))

    def _reset(self, command: ResetKillSwitch, account: AccountState, now_ms: int) -> RiskOutcome:
        event = self.kill_switch.reset(
            command.episode,
            command.reason,
            command.actor,
            now_ms,
            equity=account.equity,
            resume=command.resume_state,
        )
        self._peak_since_reset = account.equity
        return RiskOutcome(events=(event,))

    # The day's opening equity and the peak that loss limits count from (see the module doc).
    def _limit_bases(self, account: AccountState) -> tuple[Decimal, Decimal]:
        baseline = self.kill_switch.baseline
        if baseline is None:
            return account.day_start_equity, account.equity_peak
        equity, reset_ms = baseline
        peak = max(self._peak_since_reset or equity, equity, account.equity)
        self._peak_since_reset = peak
        day_open = equity if reset_ms >= account.day_start_ms else account.day_start_equity
        return day_open, peak

    # Price the signal: the caller's price, the signal's entry, or the position's mark.
    def _reference_price(
        self, signal: Signal, account: AccountState, price: Decimal | None
    ) -> Decimal | None:
        if price is not None:
            return price
        if signal.entry_price is not None:
            return signal.entry_price
        position = account.position(signal.symbol)
        if position is not None and position.is_open:
            return position.mark_price
        return None

    def _judge(
        self,
        signal: Signal,
        account: AccountState,
        instrument: InstrumentInfo,
        now_ms: int,
        price: Decimal | None,
    ) -> ProposedOrder | Refused:
        if self.trading_state is TradingState.HALTED:
            episode = self.kill_switch.episode
            return Refused("trading_state", f"trading is halted (kill switch episode {episode})")
        if price is None or price <= 0:
            return Refused("no_price", f"{signal.symbol}: no entry price, no mark, none given")
        context = self._context(account, now_ms)
        proposal = propose(signal, context, instrument, price, self._sizer)
        if isinstance(proposal, Refused):
            return proposal
        for rule in self.rules:
            refusal = rule.check(proposal, context)
            if refusal is not None:
                return refusal
        return proposal

    def _context(self, account: AccountState, now_ms: int) -> RiskContext:
        entries = dict(self._entries)
        for position in account.open_positions:
            entries[position.symbol] = max(entries.get(position.symbol, 0), 1)
        return context_with(
            account,
            self._pending.totals(),
            entries=entries,
            trading_state=self.trading_state,
            now_ms=now_ms,
            assumed_stop_fraction=self.config.assumed_stop_fraction,
        )

    def _record_approval(
        self, order: ProposedOrder, outcome: RiskOutcome, account: AccountState, now_ms: int
    ) -> None:
        self._rate.record(now_ms)
        if (
            not order.increases
            or outcome.decision is None
            or outcome.decision.order_link_id is None
        ):
            return
        self._entries[order.symbol] = (
            1 if order.new_position else self._entries.get(order.symbol, 1) + 1
        )
        self._pending.add(
            PendingOrder(
                order_link_id=outcome.decision.order_link_id,
                symbol=order.symbol,
                side=order.side,
                qty=order.qty,
                price=order.price,
                stop_loss=order.stop_loss,
                account_size=account.size(order.symbol),
                approved_ts_ms=now_ms,
            )
        )

    # Forget entry counts of symbols that are flat with nothing pending.
    def _sync_entries(self, account: AccountState) -> None:
        pending = self._pending.symbols()
        for symbol in [s for s in self._entries if s not in pending and account.size(s) == 0]:
            del self._entries[symbol]


def _remember(memory: OrderedDict[str, _V], key: str, value: _V) -> None:
    memory[key] = value
    if len(memory) > MEMORY:
        memory.popitem(last=False)
