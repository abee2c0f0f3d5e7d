"""The trading worker's link to its exchange: which venue, reports forwarded, reconciliation.

- ``venue()`` is the one exchange of the worker: the in-process paper exchange, or Bybit through
  pybit (``trading_mode=live``; REST plus the private WebSocket, at the configured URLs, with the
  API key and secret from the environment or a file, never logged).
- ``publish_reports`` hands order events to the producer at once and in the order they were
  taken (``send_soon``), so a fill never overtakes its order's acknowledgement, and Faust's
  producer flush before every offset commit makes them durable before the command that caused
  them is acknowledged.
- ``TradingSession.run`` opens the private stream (live), then reconciles at start and every
  ``reconcile_interval_s``: one ``ExchangeSnapshot`` per symbol goes to ``exec.reconcile`` for the
  positions agent that owns the symbol, and every order sent but not acknowledged for
  ``inflight_query_after_s`` is asked about by ``orderLinkId``. New entries wait until a
  reconciliation succeeded within ``reconcile_stale_after_s``: a worker that cannot reconcile does
  not trade (reduce-only orders and cancels still go: they can only lower risk).
- In paper mode the account outlives the worker: ``save_paper_account`` writes what changed to
  Redis before the events of the change are published, and ``TradingSession.run`` restores it
  before the first reconciliation; no command or book top is handled until then
  (``exchange_ready``), so nothing acts on an empty account.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from functools import cache
from typing import Any

from tradestream.agents.boundary import until_done
from tradestream.agents.channels import source_topics
from tradestream.app import settings
from tradestream.config.files import PipelineConfig
from tradestream.config.redis import redis_client
from tradestream.core.clock import now_ms
from tradestream.core.errors import TradestreamError
from tradestream.core.resilience import (
    CircuitBreaker,
    RateLimitRegistry,
    RetryPolicy,
)
from tradestream.exchange.base import Exchange
from tradestream.exchange.bybit import BybitConfig, BybitExchange
from tradestream.exchange.execution import ExecutionDesk
from tradestream.exchange.idempotency import IdempotencyStore
from tradestream.exchange.order_gateway import OrderGateway
from tradestream.exchange.paper import PaperExchange, PaperExchangeConfig
from tradestream.exchange.paper_store import PaperAccountStore
from tradestream.exchange.snapshots import account_snapshots
from tradestream.schemas.exchange import InstrumentInfo
from tradestream.schemas.orders import OrderEvent
from tradestream.schemas.reconciliation import WalletObserved
from tradestream.streams import topics
from tradestream.streams.stage_times import STAGES_HEADER

log = logging.getLogger(__name__)

exec_reports_topic = source_topics(topics.EXEC_REPORTS)
exec_reconcile_topic = source_topics(topics.EXEC_RECONCILE)
account_events_topic = source_topics(topics.ACCOUNT_EVENTS)


@cache
def paper_exchange() -> PaperExchange:
    """Return the worker's paper exchange (its account lives as long as the worker)."""
    return PaperExchange(PaperExchangeConfig(initial_balance=settings.paper_balance_usdt))


@cache
def paper_store() -> PaperAccountStore:
    """Return where the paper account is kept between workers (Redis, the namespace's keys)."""
    prefix = settings.scoped("tradestream", sep=":") + ":"
    return PaperAccountStore(paper_exchange(), redis_client(settings), prefix)


async def save_paper_account() -> None:
    """Save the paper account if it changed (retrying while Redis is away); nothing live.

    Await it before publishing the events of a change, so whatever ``exec.reports`` says the
    exchange did is in the account a restarted worker reads back.
    """
    if settings.trading_mode == "paper":
        await until_done("paper_account", paper_store().save)


@cache
def bybit_exchange() -> BybitExchange:
    """Return the worker's Bybit adapter, configured from the settings."""
    if settings.bybit_api_key is None:
        raise TradestreamError("trading_mode=live needs a Bybit API key")
    config = BybitConfig(
        api_key=settings.bybit_api_key,
        api_secret=settings.bybit_secret(),
        testnet=settings.bybit_testnet,
        endpoint=settings.bybit_rest_url,
        private_ws_url=settings.bybit_private_ws_url,
        redis_prefix=settings.scoped("tradestream", sep=":") + ":",
    )
    return BybitExchange(config, redis_client(settings))


def venue() -> Exchange:
    """Return the exchange this worker trades on (``trading_mode``)."""
    if settings.trading_mode == "live":
        return bybit_exchange()
    return paper_exchange()


def publish_reports(
    events: list[OrderEvent], stages: bytes | None = None, link_id: str | None = None
) -> None:
    """Queue order events on ``exec.reports`` now, in order, keyed by symbol.

    ``stages`` (``streams/stage_times.py``, the order's stage times so far) travels with the
    events of order ``link_id`` (with every event when it is None): the list may also hold
    events of orders other commands placed meanwhile.
    """
    headers = {STAGES_HEADER: stages} if stages else None
    for event in events:
        mine = link_id is None or event.order_link_id == link_id
        exec_reports_topic.send_soon(
            key=event.symbol.encode(),
            value=event.model_dump_json().encode(),
            headers=headers if mine else None,
        )


class TradingSession:
    """Keep the worker reconciled with its exchange; say whether it may open positions."""

    def __init__(self, desk: ExecutionDesk) -> None:
        self._desk = desk
        self._instruments: dict[str, InstrumentInfo] = {}
        self.reconciled_at_ms = 0
        self.passes = 0
        self._fresh = asyncio.Event()
        self._loaded = asyncio.Event()
        self._ready = asyncio.Event()
        if settings.trading_mode == "paper":
            self._loaded.set()
        else:
            self._ready.set()
        self._symbols = PipelineConfig.load(settings.config_dir).symbols.enabled()

    def instrument(self, symbol: str) -> InstrumentInfo | None:
        """Return the rules of ``symbol`` learnt from the exchange, if any yet."""
        if settings.trading_mode == "paper":
            rules = paper_exchange().config.instruments.get(symbol)
            return None if rules is None else rules.info(symbol)
        return self._instruments.get(symbol)

    async def instruments_loaded(self) -> None:
        """Return once the rules of every symbol of the universe are known."""
        await self._loaded.wait()

    async def exchange_ready(self) -> None:
        """Return once the exchange holds its account (paper: restored from Redis)."""
        await self._ready.wait()

    def can_trade(self, now: int) -> bool:
        """Tell whether the last reconciliation is recent enough to open positions."""
        return now - self.reconciled_at_ms <= settings.reconcile_stale_after_s * 1000

    async def wait_until_reconciled(self) -> None:
        """Return once the worker is reconciled; until then, say why nothing is sent."""
        while not self.can_trade(now_ms()):
            log.warning("not reconciled with the exchange: new orders wait")
            self._fresh.clear()
            try:
                await asyncio.wait_for(self._fresh.wait(), timeout=settings.reconcile_interval_s)
            except TimeoutError:
                continue

    async def run(self, known_symbols: Any) -> None:
        """Connect (live), then reconcile at start and every interval, for ever."""
        exchange = venue()
        if isinstance(exchange, BybitExchange):
            await self._connect(exchange)
        else:
            await self._restore_paper()
        while True:
            try:
                await self.reconcile(set(known_symbols()))
            except (TradestreamError, OSError) as exc:
                log.error("cannot reconcile with the exchange (%s): not trading", exc)
            except Exception:
                # An answer we cannot read must not end reconciliation for good: say so, and
                # new entries stop once the last good pass is stale.
                log.exception("reconciliation failed: not trading until it succeeds")
            await asyncio.sleep(settings.reconcile_interval_s)

    async def reconcile(self, known_symbols: set[str]) -> int:
        """Publish every symbol's snapshot and ask about overdue orders; return the snapshots."""
        now = now_ms()
        exchange = venue()
        snapshots = await account_snapshots(exchange, known_symbols | set(self._symbols), now)
        for snapshot in snapshots:
            exec_reconcile_topic.send_soon(
                key=snapshot.symbol.encode(), value=snapshot.model_dump_json().encode()
            )
        equity = snapshots[0].wallet_equity if snapshots else None
        if equity is not None:  # the risk agent checks the account's cash against it
            wallet = WalletObserved(equity=equity, taken_at_ms=now)
            account_events_topic.send_soon(key=b"account", value=wallet.model_dump_json().encode())
        after_ms = int(settings.inflight_query_after_s * 1000)
        for query in self._desk.overdue(now, after_ms):
            reports = await self._desk.execute(query)
            await save_paper_account()
            publish_reports(reports)
        if self.passes == 0:
            log.info("reconciled with the exchange: %d symbols; trading", len(snapshots))
        self.reconciled_at_ms = now
        self.passes += 1
        self._fresh.set()
        return len(snapshots)

    async def forward(self) -> None:
        """Publish the order events that arrive between commands (pushes, resting fills)."""
        await self.exchange_ready()
        while True:
            await self._desk.wait_events()
            reports = self._desk.take_events()
            await save_paper_account()
            publish_reports(reports)

    async def _restore_paper(self) -> None:
        store = paper_store()
        restored = await until_done("paper_account", store.load)
        if restored:
            positions = await paper_exchange().positions()
            log.info("paper account restored from %s: %d open positions", store.account_key,
                     len(positions))  # fmt: skip
        else:
            log.info("no paper account in %s: a new one", store.account_key)
        self._ready.set()

    async def load_instruments(self) -> None:
        """Learn the rules of every symbol of the universe (live: asking until it answers)."""
        exchange = venue()
        if not isinstance(exchange, BybitExchange):
            return  # paper: the configured instruments are known from the start
        while True:
            try:
                for symbol in self._symbols:
                    self._instruments[symbol] = await exchange.instrument(symbol)
            except (TradestreamError, OSError) as exc:
                log.error("cannot load instrument rules (%s); retrying", exc)
                await asyncio.sleep(settings.reconcile_interval_s)
                continue
            self._loaded.set()
            return

    async def _connect(self, exchange: BybitExchange) -> None:
        while True:
            try:
                await exchange.connect()
                log.info("Bybit private stream connected (%r)", exchange)
                return
            except (TradestreamError, OSError) as exc:
                log.error("cannot open the Bybit private stream (%s); retrying", exc)
                await asyncio.sleep(settings.reconcile_interval_s)


@cache
def desk() -> ExecutionDesk:
    """Return the worker's execution desk over its venue and gateway."""
    return ExecutionDesk(venue(), gateway(), now_ms)


@cache
def gateway() -> OrderGateway:
    """Return the worker's order gateway: once per order, through Redis, within the limits."""
    redis = redis_client(settings)
    config = PipelineConfig.load(settings.config_dir).execution
    return OrderGateway(
        venue(),
        IdempotencyStore(redis, settings.scoped("tradestream", sep=":") + ":"),
        limits=RateLimitRegistry(config.rate_limits),
        breaker=CircuitBreaker(config.circuit_breaker),
        retry=RetryPolicy(config.retry, random.Random()),  # noqa: S311 - jitter
        clock=time.monotonic,
        ms_clock=now_ms,
        config=config.gateway,
    )


@cache
def session() -> TradingSession:
    """Return the worker's trading session."""
    return TradingSession(desk())
