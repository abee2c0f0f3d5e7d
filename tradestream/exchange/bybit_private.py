"""Feed our order events from Bybit's private WebSocket through pybit, and recover after drops.

How pybit 5.17 is used, otherwise unmodified:

* **URL.** pybit reads the private URL from the module constant ``unified_trading.PRIVATE_WSS``
  (``wss://{SUBDOMAIN}.{DOMAIN}.{TLD}/v5/private``) once, in ``WebSocket.__init__``, and keeps
  the formatted result in the instance (``endpoint``) for its reconnects; no parameter takes a
  scheme, host or port. ``open_private_socket`` therefore swaps the constant for an explicit URL
  (``BybitConfig.private_ws_url``, the simulator's ``ws://``) only while one instance is built,
  under a lock, and restores it: the override is scoped to that instance and the default path
  (real Bybit) touches nothing. Serving the simulator over TLS instead would not avoid a hack:
  pybit's host pattern cannot name a local port without abusing ``tld``, and trusting a test
  certificate needs process-wide settings.
* **Messages.** pybit's public ``callback_function`` receives every message, auth and subscribe
  answers included. It runs on pybit's thread, so it only hands the message to the event loop
  (``loop.call_soon_threadsafe``); everything else happens on the loop.
* **Reconnects** are pybit's: on a dropped connection it reconnects, authenticates and resends
  the subscriptions. A second ``auth`` answer therefore marks a reconnect; once every topic is
  confirmed again, the stream reconciles over REST (``order/realtime`` and ``execution/list`` of
  every live order, and every open order) so a fill pushed while we were away is still reported,
  once: REST rows and pushed rows go through the same ``PrivateRows``.
* **Disconnects are surfaced**: ``status()`` and the status handlers (connected, reconnects,
  reconciliations, events recovered), fed by a watchdog on pybit's ``is_connected()`` and by the
  reconnect's ``auth`` answer (a reconnect can be quicker than the watchdog).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pybit import unified_trading
from pydantic import BaseModel, NonNegativeInt, PositiveFloat, PositiveInt
from websocket import WebSocketException

from tradestream.core.clock import MsClock, now_ms
from tradestream.core.resilience import Outcome
from tradestream.exchange import bybit_wire as wire
from tradestream.exchange.base import ExchangeError
from tradestream.exchange.private_rows import PrivateRows
from tradestream.schemas.exchange import PositionSnapshot, WalletBalance
from tradestream.schemas.orders import OrderEvent

logger = logging.getLogger(__name__)

TOPICS = ("order", "execution", "position", "wallet")
Message = dict[str, Any]
Fetch = Callable[[str, Mapping[str, object]], Awaitable[dict[str, Any]]]
AccountUpdate = PositionSnapshot | WalletBalance
_URL_LOCK = threading.Lock()


class PrivateStreamConfig(BaseModel, frozen=True, extra="forbid"):
    """How pybit keeps the private connection alive and how long we wait for it."""

    ping_interval_s: PositiveInt = 20
    ping_timeout_s: PositiveInt = 10
    connect_attempts: NonNegativeInt = 10
    """pybit's ``retries`` per (re)connect; 0 retries forever."""
    ready_timeout_s: PositiveFloat = 10.0
    health_interval_s: PositiveFloat = 0.5
    reconcile_attempts: PositiveInt = 5


@dataclass(frozen=True, slots=True)
class StreamStatus:
    """The private connection as health checks and metrics see it."""

    connected: bool
    reconnects: int
    reconciliations: int
    recovered_events: int


@dataclass(frozen=True, slots=True)
class StreamSinks:
    """Where the stream's output goes: order events, position/wallet updates, status changes."""

    events: Callable[[OrderEvent], None]
    account: Callable[[AccountUpdate], None]
    status: Callable[[StreamStatus], None]


def open_private_socket(
    url: str | None, callback: Callable[[Message], None], **options: Any
) -> Any:
    """Build pybit's private ``WebSocket`` (it connects and authenticates), at ``url`` if given."""
    if url is None:
        return unified_trading.WebSocket("private", callback_function=callback, **options)
    with _URL_LOCK:
        default = unified_trading.PRIVATE_WSS
        unified_trading.PRIVATE_WSS = url
        try:
            return unified_trading.WebSocket("private", callback_function=callback, **options)
        finally:
            unified_trading.PRIVATE_WSS = default


class BybitPrivateStream:
    """Own one pybit private connection: subscribe, dispatch, and reconcile after reconnects."""

    def __init__(
        self,
        connect: Callable[[Callable[[Message], None]], Any],
        rows: PrivateRows,
        fetch: Fetch,
        sinks: StreamSinks,
        *,
        config: PrivateStreamConfig,
        clock: MsClock = now_ms,
    ) -> None:
        self.config = config
        self._connect = connect
        self._rows = rows
        self._fetch = fetch
        self._sinks = sinks
        self._clock = clock
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ws: Any = None
        self._ready = asyncio.Event()
        self._failure: ExchangeError | None = None
        self._auths = self._confirmed = 0
        self._reconnects = self._reconciliations = self._recovered = 0
        self._connected = False
        self._tasks: set[asyncio.Task[None]] = set()

    def status(self) -> StreamStatus:
        """Return the connection's state and counters."""
        return StreamStatus(
            connected=self._ws is not None and bool(self._ws.is_connected()),
            reconnects=self._reconnects,
            reconciliations=self._reconciliations,
            recovered_events=self._recovered,
        )

    async def start(self) -> None:
        """Connect, authenticate and subscribe every topic; raise ``ExchangeError`` if refused."""
        self._loop = asyncio.get_running_loop()
        try:
            self._ws = await asyncio.to_thread(self._connect, self._on_message)
            for topic in TOPICS:
                await asyncio.to_thread(getattr(self._ws, f"{topic}_stream"), _unused)
            await asyncio.wait_for(self._ready.wait(), self.config.ready_timeout_s)
        except (TimeoutError, OSError, WebSocketException) as exc:
            await self.stop()
            raise ExchangeError(Outcome.UNAVAILABLE, f"private WebSocket: {exc!r}") from exc
        if self._failure is not None:
            await self.stop()
            raise self._failure
        self._connected = True
        self._spawn(self._watch())

    async def stop(self) -> None:
        """Close the connection and stop the watchdog and any reconciliation."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        ws, self._ws = self._ws, None
        if ws is not None:
            await asyncio.to_thread(ws.exit)

    # pybit's thread: hand the message over, nothing else.
    def _on_message(self, message: Message) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._dispatch, message)

    def _dispatch(self, message: Message) -> None:
        op = message.get("op")
        if op == "auth":
            self._on_auth(message)
        elif op == "subscribe":
            self._on_subscribed(message)
        elif isinstance(message.get("topic"), str):
            data = message.get("data")
            rows = [row for row in data if isinstance(row, dict)] if isinstance(data, list) else []
            self._on_push(str(message["topic"]), rows)

    def _on_auth(self, message: Message) -> None:
        if not message.get("success"):
            reason = f"private WebSocket auth refused: {message.get('ret_msg')}"
            self._fail(ExchangeError(Outcome.DENIED, reason))
            return
        self._auths += 1
        self._confirmed = 0
        if self._auths > 1:
            self._reconnects += 1
            logger.warning("Bybit private WebSocket reconnected (%d so far)", self._reconnects)
            self._sinks.status(self.status())

    def _on_subscribed(self, message: Message) -> None:
        if not message.get("success"):
            reason = f"private WebSocket subscribe refused: {message.get('ret_msg')}"
            self._fail(ExchangeError(Outcome.REJECT, reason))
            return
        self._confirmed += 1
        if self._confirmed == len(TOPICS):
            self._ready.set()
            if self._auths > 1:
                self._spawn(self._reconcile())

    def _on_push(self, topic: str, rows: list[wire.Row]) -> None:
        if topic == "position":
            for row in rows:
                self._sinks.account(wire.position(row))
        elif topic == "wallet":
            for row in rows:
                self._sinks.account(wire.wallet(row))
        else:
            for event in self._rows.on_topic(topic, rows, self._clock()):
                self._sinks.events(event)

    # The first refusal is the cause (a refused auth makes every subscribe fail after it).
    def _fail(self, failure: ExchangeError) -> None:
        logger.error("%s", failure)
        self._failure = self._failure or failure
        self._ready.set()

    async def _watch(self) -> None:
        while True:
            connected = self._ws is not None and bool(self._ws.is_connected())
            if connected is not self._connected:
                self._connected = connected
                logger.warning("Bybit private WebSocket %s", "up" if connected else "down")
                self._sinks.status(self.status())
            await asyncio.sleep(self.config.health_interval_s)

    async def _reconcile(self) -> None:
        for attempt in range(1, self.config.reconcile_attempts + 1):
            try:
                recovered = await self._recover()
            except ExchangeError as exc:
                logger.warning("reconciliation attempt %d failed: %s", attempt, exc)
                await asyncio.sleep(self.config.health_interval_s * attempt)
                continue
            self._reconciliations += 1
            self._recovered += recovered
            self._sinks.status(self.status())
            return
        logger.error("reconciliation gave up; order states may lag until the next push")

    # Ask REST about every live order (and open ones we never saw); report what is new.
    async def _recover(self) -> int:
        scope = {"category": "linear", "settleCoin": "USDT"}
        for row in (await self._fetch("get_open_orders", scope)).get("list", []):
            self._rows.track(str(row["orderLinkId"]), str(row["symbol"]))
        recovered = 0
        for link_id, symbol in self._rows.live().items():
            params = {"category": "linear", "symbol": symbol, "orderLinkId": link_id}
            fills = (await self._fetch("get_executions", params)).get("list", [])
            orders = (await self._fetch("get_open_orders", params)).get("list", [])
            if not orders:
                orders = (await self._fetch("get_order_history", params)).get("list", [])
            fills = sorted(fills, key=lambda row: int(str(row.get("execTime") or 0)))
            events = self._rows.on_topic("execution", fills, self._clock())
            events += self._rows.on_topic("order", orders[:1], self._clock())
            for event in events:
                self._sinks.events(event)
            recovered += len(events)
        return recovered

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _unused(message: Message) -> None:
    # pybit wants a per-topic callback; with ``callback_function`` set it never calls it.
    return None
