"""What each Bybit v5 REST endpoint does to the simulated venue, parameters in, ``result`` out.

Transport (signatures, rate limits, faults, the envelope) lives in ``rest``; these functions only
read Bybit's parameters and answer with Bybit's ``result`` shapes, raising ``VenueError`` with
Bybit's ``retCode`` where Bybit would refuse.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation

from tradestream.core.matching import best_ask, best_bid, mid_price
from tradestream.core.matching.trading_stops import StopLevels, StopRefusedError, checked_levels
from tradestream.exchange.ledger import LedgerOrder
from tradestream.simulator.exchange_config import ExchangeSideConfig
from tradestream.simulator.venue import PARAMS_ERROR, Venue, VenueError
from tradestream.simulator.venue_orders import Wire, execution_wires, order_wire

Params = Mapping[str, object]
Handler = Callable[[Params], Wire]


class RestHandlers:
    """Answer every REST endpoint the ``BybitExchange`` adapter calls."""

    def __init__(self, venue: Venue, config: ExchangeSideConfig, symbols: list[str]) -> None:
        self._venue = venue
        self._config = config
        self._symbols = symbols

    def table(self) -> dict[str, Handler]:
        """Map each REST path to its handler."""
        return {
            "/v5/market/instruments-info": self.instruments,
            "/v5/market/tickers": self.tickers,
            "/v5/market/orderbook": self.orderbook,
            "/v5/order/create": self.create,
            "/v5/order/amend": self.amend,
            "/v5/order/cancel": self.cancel,
            "/v5/order/cancel-all": self.cancel_all,
            "/v5/order/realtime": self.realtime,
            "/v5/order/history": self.history,
            "/v5/execution/list": self.executions,
            "/v5/position/list": self.positions,
            "/v5/position/set-leverage": self.set_leverage,
            "/v5/position/trading-stop": self.trading_stop,
            "/v5/account/wallet-balance": self.wallet_balance,
        }

    def instruments(self, params: Params) -> Wire:
        """List instrument rules, of one symbol or all."""
        symbols = [_symbol(params)] if params.get("symbol") else self._symbols
        return {"category": "linear", "list": [self._instrument(s) for s in symbols]}

    def tickers(self, params: Params) -> Wire:
        """Describe the best prices of one symbol or all."""
        symbols = [_symbol(params)] if params.get("symbol") else self._symbols
        return {"category": "linear", "list": [self._ticker(s) for s in symbols]}

    def orderbook(self, params: Params) -> Wire:
        """Return the top ``limit`` levels of one symbol's book."""
        symbol = _symbol(params)
        book = self._venue.book(symbol)
        limit = int(str(params.get("limit", 25)))
        return {
            "s": symbol,
            "b": [[str(p), str(s)] for p, s in book.bids()[:limit]],
            "a": [[str(p), str(s)] for p, s in book.asks()[:limit]],
        }

    def create(self, params: Params) -> Wire:
        """Place an order."""
        record = self._venue.create(params)
        return {"orderId": record.order_id, "orderLinkId": record.order_link_id}

    def amend(self, params: Params) -> Wire:
        """Amend an open order."""
        record = self._venue.amend(_symbol(params), _link_id(params), params)
        return {"orderId": record.order_id, "orderLinkId": record.order_link_id}

    def cancel(self, params: Params) -> Wire:
        """Cancel an open order."""
        record = self._venue.cancel(_symbol(params), _link_id(params))
        return {"orderId": record.order_id, "orderLinkId": record.order_link_id}

    def cancel_all(self, params: Params) -> Wire:
        """Cancel every open order of a symbol."""
        cancelled = self._venue.cancel_all(_symbol(params))
        rows = [{"orderId": r.order_id, "orderLinkId": r.order_link_id} for r in cancelled]
        return {"list": rows, "success": "1"}

    def realtime(self, params: Params) -> Wire:
        """List open orders, or the one order named by ``orderLinkId`` whatever its status."""
        venue = self._venue
        symbol = str(params["symbol"]) if params.get("symbol") else None
        if params.get("orderLinkId"):
            record = venue.orders.get(str(params["orderLinkId"]))
            records = [record] if record and symbol in (None, record.symbol) else []
        else:
            records = venue.open_orders(symbol)
        return _page([order_wire(r) for r in records])

    def history(self, params: Params) -> Wire:
        """List every order, filtered by symbol and ``orderLinkId`` when given."""
        return _page([order_wire(r) for r in self._matching(params)])

    def executions(self, params: Params) -> Wire:
        """List the executions of the matching orders, oldest first."""
        rows = [e for r in self._matching(params) for e in execution_wires(r)]
        return _page(rows)

    def positions(self, params: Params) -> Wire:
        """List the position of a symbol, or every open position."""
        symbol = str(params["symbol"]) if params.get("symbol") else None
        return _page(self._venue.positions(symbol))

    def set_leverage(self, params: Params) -> Wire:
        """Set a symbol's leverage."""
        symbol = _symbol(params)
        self._venue.leverage[symbol] = _decimal(params, "buyLeverage")
        return {}

    def trading_stop(self, params: Params) -> Wire:
        """Hold a take-profit and/or stop-loss on a symbol's whole position (Full mode, one-way).

        Refused as Bybit refuses: 10001 for a missing or bad parameter, a mode other than Full,
        a ``positionIdx`` other than 0, no position, a level on the wrong side of the mark;
        34040 when nothing changes. The venue triggers the stop on its own prices.
        """
        symbol = _symbol(params)
        if str(params.get("tpslMode", "")) != "Full":
            raise VenueError(PARAMS_ERROR, "params error: tpslMode must be Full")
        if str(params.get("positionIdx", "")) != "0":
            raise VenueError(PARAMS_ERROR, "position idx not match position mode")
        venue = self._venue
        current = venue.stops.get(symbol, StopLevels())
        trigger = params.get("slTriggerBy") or params.get("tpTriggerBy") or current.trigger_by
        try:
            venue.stops[symbol] = checked_levels(
                current,
                size=venue.engine.account.position(symbol).size,
                base_price=mid_price(venue.book(symbol)),
                take_profit=_level(params, "takeProfit"),
                stop_loss=_level(params, "stopLoss"),
                trigger_by=str(trigger),
            )
        except StopRefusedError as exc:
            raise VenueError(exc.ret_code, exc.message) from exc
        return {}

    def wallet_balance(self, params: Params) -> Wire:
        """Describe the unified account's balance."""
        return {"list": [self._venue.wallet()]}

    def _matching(self, params: Params) -> list[LedgerOrder]:
        symbol = params.get("symbol")
        link_id = params.get("orderLinkId")
        return [
            r
            for r in self._venue.orders.values()
            if symbol in (None, r.symbol) and link_id in (None, r.order_link_id)
        ]

    def _instrument(self, symbol: str) -> Wire:
        spec = self._config.spec(symbol)
        return {
            "symbol": symbol,
            "contractType": "LinearPerpetual",
            "status": "Trading",
            "baseCoin": symbol.removesuffix("USDT"),
            "quoteCoin": "USDT",
            "settleCoin": "USDT",
            "priceFilter": {"tickSize": str(spec.tick_size), "minPrice": str(spec.tick_size)},
            "lotSizeFilter": {
                "qtyStep": str(spec.qty_step),
                "minOrderQty": str(spec.min_qty),
                "maxOrderQty": str(spec.max_qty),
                "minNotionalValue": str(spec.min_notional),
            },
        }

    def _ticker(self, symbol: str) -> Wire:
        book = self._venue.book(symbol)
        mid = mid_price(book)
        return {
            "symbol": symbol,
            "bid1Price": str(best_bid(book) or ""),
            "ask1Price": str(best_ask(book) or ""),
            "lastPrice": str(mid or ""),
            "markPrice": str(mid or ""),
        }


def _page(rows: list[Wire]) -> Wire:
    return {"category": "linear", "list": rows, "nextPageCursor": ""}


def _symbol(params: Params) -> str:
    symbol = params.get("symbol")
    if not symbol:
        raise VenueError(PARAMS_ERROR, "params error: symbol is required")
    return str(symbol)


def _link_id(params: Params) -> str:
    link_id = params.get("orderLinkId")
    if not link_id:
        raise VenueError(PARAMS_ERROR, "params error: orderLinkId is required")
    return str(link_id)


def _level(params: Params, name: str) -> Decimal | None:
    return None if params.get(name) in (None, "") else _decimal(params, name)


def _decimal(params: Params, name: str) -> Decimal:
    try:
        return Decimal(str(params.get(name)))
    except InvalidOperation as exc:
        raise VenueError(PARAMS_ERROR, f"params error: {name} is not a number") from exc
