"""Trade on Bybit v5 through pybit: REST for requests, the private WebSocket for updates.

pybit is blocking, so every REST call runs in a worker thread (``asyncio.to_thread``) and never
on the event loop. pybit 5.17 builds its REST base URL in ``HTTP.__post_init__`` as
``https://{api|api-testnet}.{domain}.{tld}`` and keeps it in the public ``endpoint`` attribute,
which every call reads; ``BybitConfig.endpoint`` overrides it (the simulator). Order updates
come from pybit's private WebSocket once ``connect`` is awaited (``bybit_private`` explains how
pybit is driven, how ``BybitConfig.private_ws_url`` reaches it, and how a reconnect is
reconciled over REST); without ``connect`` the adapter is REST only.

pybit's own retries are switched off (``retry_codes={0}``: code 0 never reaches its retry
branch; ``force_retry`` off): retrying an order request is the order gateway's decision, not the
transport's. Every failure becomes an ``ExchangeError`` with the ``Outcome`` of its retCode,
HTTP status or transport failure. Quantities are rounded down to the qty step and prices to the
tick before sending; instrument rules are cached in Redis for ``instrument_ttl_s`` and in the
process for ``instrument_memory_s`` (an order then pays no lookup before its request leaves).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import requests
from pybit.exceptions import FailedRequestError, InvalidRequestError
from pybit.unified_trading import HTTP
from pydantic import BaseModel, Field, PositiveFloat, PositiveInt, SecretStr
from redis.asyncio import Redis

from tradestream.core.clock import now_ms
from tradestream.core.orders import order_link_id_for
from tradestream.core.resilience import (
    Outcome,
    classify_http_status,
    classify_ret_code,
    classify_transport_failure,
)
from tradestream.exchange import bybit_wire as wire
from tradestream.exchange.base import EventHandler, ExchangeError
from tradestream.exchange.bybit_private import (
    AccountUpdate,
    BybitPrivateStream,
    PrivateStreamConfig,
    StreamSinks,
    StreamStatus,
    open_private_socket,
)
from tradestream.exchange.instruments import check_notional, fit_price, fit_qty
from tradestream.exchange.private_rows import PrivateRows
from tradestream.schemas.exchange import (
    ExecutionSnapshot,
    InstrumentInfo,
    OrderAck,
    OrderSnapshot,
    PositionSnapshot,
    WalletBalance,
)
from tradestream.schemas.orders import (
    AmendOrder,
    CancelOrder,
    OrderEvent,
    OrderType,
    PlaceOrder,
    StopTrigger,
)

CATEGORY = "linear"
NOT_MODIFIED = 34040
Result = dict[str, Any]


class BybitConfig(BaseModel, frozen=True, extra="forbid"):
    """Which Bybit to talk to, as whom, and how long to wait."""

    api_key: SecretStr
    api_secret: SecretStr
    testnet: bool = False
    domain: str = "bybit"
    tld: str = "com"
    endpoint: str | None = None
    """REST base URL overriding pybit's (e.g. the simulator's ``http://127.0.0.1:port``)."""
    private_ws_url: str | None = None
    """Private WebSocket URL overriding pybit's (e.g. ``ws://127.0.0.1:port/v5/private``)."""
    private_ws: PrivateStreamConfig = PrivateStreamConfig()
    timeout_s: PositiveFloat = 5.0
    recv_window_ms: PositiveInt = 5000
    instrument_ttl_s: int = Field(default=3600, ge=3600)
    instrument_memory_s: float = Field(default=60.0, ge=0)
    redis_prefix: str = "tradestream:"


class BybitExchange:
    """Implement ``Exchange`` over Bybit v5 REST (pybit ``HTTP``) and its private WebSocket."""

    def __init__(self, config: BybitConfig, redis: Redis) -> None:
        self.config = config
        self._redis = redis
        self._http = HTTP(
            testnet=config.testnet,
            domain=config.domain,
            tld=config.tld,
            api_key=config.api_key.get_secret_value(),
            api_secret=config.api_secret.get_secret_value(),
            timeout=config.timeout_s,
            recv_window=config.recv_window_ms,
            retry_codes={0},
            max_retries=1,
            log_requests=False,
        )
        if config.endpoint is not None:
            self._http.endpoint = config.endpoint.rstrip("/")
        self._handlers: list[EventHandler] = []
        self._account_handlers: list[Callable[[AccountUpdate], None]] = []
        self._status_handlers: list[Callable[[StreamStatus], None]] = []
        self._rows = PrivateRows()
        self._instruments: dict[str, tuple[float, InstrumentInfo]] = {}
        sinks = StreamSinks(events=self._deliver, account=self._on_account, status=self._on_status)
        self._stream = BybitPrivateStream(
            self._open_socket, self._rows, self._call, sinks, config=config.private_ws
        )

    def __repr__(self) -> str:
        return f"BybitExchange(endpoint={self._http.endpoint!r})"

    async def place(self, command: PlaceOrder) -> OrderAck:
        """Send a new order under the ``orderLinkId`` derived from ``command``."""
        info = await self.instrument(command.symbol)
        qty = fit_qty(info, command.qty)
        price = None if command.price is None else fit_price(info, command.price, command.side)
        check_notional(info, qty, price)
        params: Result = {
            "category": CATEGORY,
            "symbol": command.symbol,
            "side": str(command.side),
            "orderType": str(command.order_type),
            "qty": str(qty),
            "orderLinkId": order_link_id_for(command),
            "reduceOnly": command.reduce_only,
        }
        if command.order_type is OrderType.LIMIT:
            params |= {"price": str(price), "timeInForce": str(command.time_in_force)}
        ack = _ack(await self._call("place_order", params))
        self._rows.track(ack.order_link_id, command.symbol)
        return ack

    async def amend(self, command: AmendOrder) -> OrderAck:
        """Change the qty and/or price of an open order."""
        info = await self.instrument(command.symbol)
        params: Result = {
            "category": CATEGORY,
            "symbol": command.symbol,
            "orderLinkId": command.order_link_id,
        }
        if command.qty is not None:
            params["qty"] = str(fit_qty(info, command.qty))
        if command.price is not None:
            snapshot = await self.order(command.symbol, command.order_link_id)
            side = snapshot.side if snapshot is not None else None
            if side is not None:
                params["price"] = str(fit_price(info, command.price, side))
        return _ack(await self._call("amend_order", params))

    async def cancel(self, command: CancelOrder) -> OrderAck:
        """Cancel an open order by its ``orderLinkId``."""
        params = {"category": CATEGORY, "symbol": command.symbol}
        return _ack(
            await self._call("cancel_order", params | {"orderLinkId": command.order_link_id})
        )

    async def cancel_all(self, symbol: str) -> list[str]:
        """Cancel every open order of ``symbol``; return their ``orderLinkId``s."""
        result = await self._call("cancel_all_orders", {"category": CATEGORY, "symbol": symbol})
        return [str(row["orderLinkId"]) for row in result.get("list", [])]

    async def order(self, symbol: str, order_link_id: str) -> OrderSnapshot | None:
        """Return the order with this ``orderLinkId`` (open or recent), or None if unknown."""
        params = {"category": CATEGORY, "symbol": symbol, "orderLinkId": order_link_id}
        rows = (await self._call("get_open_orders", params)).get("list", [])
        if not rows:
            rows = (await self._call("get_order_history", params)).get("list", [])
        return wire.order(rows[0]) if rows else None

    async def executions(self, symbol: str, order_link_id: str) -> list[ExecutionSnapshot]:
        """Return the executions of one order, oldest first."""
        params = {"category": CATEGORY, "symbol": symbol, "orderLinkId": order_link_id}
        rows = (await self._call("get_executions", params)).get("list", [])
        return sorted((wire.execution(row) for row in rows), key=lambda e: e.exec_time_ms)

    async def open_orders(self, symbol: str | None = None) -> list[OrderSnapshot]:
        """Return open orders, of one symbol or all (USDT-settled)."""
        params = _scope(symbol)
        return [wire.order(row) for row in (await self._call("get_open_orders", params))["list"]]

    async def positions(self, symbol: str | None = None) -> list[PositionSnapshot]:
        """Return positions, of one symbol or every open one."""
        params = _scope(symbol)
        return [wire.position(row) for row in (await self._call("get_positions", params))["list"]]

    async def wallet_balance(self) -> WalletBalance:
        """Return the USDT balance, equity and what is available for new orders."""
        result = await self._call("get_wallet_balance", {"accountType": "UNIFIED", "coin": "USDT"})
        return wire.wallet(result["list"][0])

    async def set_leverage(self, symbol: str, leverage: Decimal) -> None:
        """Set the leverage of ``symbol`` (both sides)."""
        params = {"category": CATEGORY, "symbol": symbol}
        await self._call(
            "set_leverage", params | {"buyLeverage": str(leverage), "sellLeverage": str(leverage)}
        )

    async def set_trading_stop(
        self,
        symbol: str,
        *,
        take_profit: Decimal | None,
        stop_loss: Decimal | None,
        trigger_by: StopTrigger = StopTrigger.MARK,
    ) -> None:
        """Attach a take-profit and/or stop-loss to the whole position of ``symbol`` (0 removes).

        Full mode, one-way (``positionIdx`` 0): Bybit closes all of it at market when triggered.
        Its "not modified" answer (34040: those levels are already set) is a success.
        """
        params: Result = {"category": CATEGORY, "symbol": symbol, "positionIdx": 0,
                          "tpslMode": "Full"}  # fmt: skip
        if take_profit is not None:
            params |= {"takeProfit": str(take_profit), "tpTriggerBy": str(trigger_by)}
        if stop_loss is not None:
            params |= {"stopLoss": str(stop_loss), "slTriggerBy": str(trigger_by)}
        try:
            await self._call("set_trading_stop", params)
        except ExchangeError as exc:
            if exc.ret_code != NOT_MODIFIED:
                raise

    async def instrument(self, symbol: str) -> InstrumentInfo:
        """Return ``symbol``'s rules: remembered, else from Redis, else from REST (then cached)."""
        remembered = self._instruments.get(symbol)
        if remembered is not None and time.monotonic() < remembered[0]:
            return remembered[1]
        key = f"{self.config.redis_prefix}instrument:{symbol}"
        cached = await self._redis.get(key)
        if cached is not None:
            info = InstrumentInfo.model_validate_json(cached)
        else:
            params = {"category": CATEGORY, "symbol": symbol}
            rows = (await self._call("get_instruments_info", params)).get("list", [])
            if not rows:
                raise ExchangeError(Outcome.REJECT, f"unknown instrument {symbol}")
            info = wire.instrument(rows[0])
            await self._redis.set(key, info.model_dump_json(), ex=self.config.instrument_ttl_s)
        self._instruments[symbol] = (time.monotonic() + self.config.instrument_memory_s, info)
        return info

    def subscribe(self, handler: EventHandler) -> None:
        """Deliver every later order event to ``handler`` (once ``connect`` has been awaited)."""
        self._handlers.append(handler)

    def subscribe_account(self, handler: Callable[[AccountUpdate], None]) -> None:
        """Deliver every later position and wallet update to ``handler``."""
        self._account_handlers.append(handler)

    def subscribe_status(self, handler: Callable[[StreamStatus], None]) -> None:
        """Tell ``handler`` whenever the private connection drops, returns or is reconciled."""
        self._status_handlers.append(handler)

    async def connect(self) -> None:
        """Open the private WebSocket and start feeding the handlers; raise if refused."""
        await self._stream.start()

    async def close(self) -> None:
        """Close the private WebSocket."""
        await self._stream.stop()

    def stream_status(self) -> StreamStatus:
        """Return the private connection's state and counters."""
        return self._stream.status()

    def _open_socket(self, callback: Callable[[wire.Row], None]) -> Any:
        config = self.config
        return open_private_socket(
            config.private_ws_url,
            callback,
            testnet=config.testnet,
            domain=config.domain,
            tld=config.tld,
            api_key=config.api_key.get_secret_value(),
            api_secret=config.api_secret.get_secret_value(),
            ping_interval=config.private_ws.ping_interval_s,
            ping_timeout=config.private_ws.ping_timeout_s,
            retries=config.private_ws.connect_attempts,
        )

    def _deliver(self, event: OrderEvent) -> None:
        for handler in list(self._handlers):
            handler(event)

    def _on_account(self, update: AccountUpdate) -> None:
        for handler in list(self._account_handlers):
            handler(update)

    def _on_status(self, status: StreamStatus) -> None:
        for handler in list(self._status_handlers):
            handler(status)

    async def _call(self, method: str, params: Mapping[str, object]) -> Result:
        call: Callable[..., Any] = getattr(self._http, method)
        try:
            answer = await asyncio.to_thread(call, **dict(params))
        except InvalidRequestError as exc:
            raise _from_ret_code(exc) from exc
        except FailedRequestError as exc:
            raise ExchangeError(classify_http_status(int(exc.status_code)), exc.message) from exc
        except requests.exceptions.RequestException as exc:
            outcome = classify_transport_failure(request_sent=_may_have_sent(exc))
            raise ExchangeError(outcome, f"{method}: {type(exc).__name__}") from exc
        result = answer.get("result") if isinstance(answer, dict) else None
        return result if isinstance(result, dict) else {}


def _ack(result: Result) -> OrderAck:
    return OrderAck(order_link_id=str(result["orderLinkId"]), order_id=str(result["orderId"]))


def _scope(symbol: str | None) -> dict[str, object]:
    if symbol is None:
        return {"category": CATEGORY, "settleCoin": "USDT"}
    return {"category": CATEGORY, "symbol": symbol}


def _from_ret_code(exc: InvalidRequestError) -> ExchangeError:
    code = int(exc.status_code)
    headers = exc.resp_headers or {}
    reset_ms = headers.get("X-Bapi-Limit-Reset-Timestamp")
    retry_after = max(0.0, (int(reset_ms) - now_ms()) / 1000) if reset_ms else 0.0
    return ExchangeError(
        classify_ret_code(code), str(exc.message), ret_code=code, retry_after_s=retry_after
    )


# Only a failure to connect proves no byte of the request left; anything later is ambiguous.
def _may_have_sent(exc: requests.exceptions.RequestException) -> bool:
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return False
    if isinstance(exc, requests.exceptions.ConnectionError):
        return "NewConnectionError" not in repr(exc) and "Connection refused" not in repr(exc)
    return True
