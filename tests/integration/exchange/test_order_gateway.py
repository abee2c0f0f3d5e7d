"""The order gateway against the simulator: one exchange order per command, whatever fails."""

from __future__ import annotations

import asyncio

import pytest

from tradestream.core.orders import OrderStatus, order_link_id_for
from tradestream.exchange.bybit import BybitExchange
from tradestream.exchange.order_gateway import OrderGateway
from tradestream.exchange.reconcile import local_status
from tradestream.simulator import BybitSimulator

from .conftest import SYMBOL, Admin, market_buy, resting_buy

pytestmark = pytest.mark.timeout(60)


async def _exchange_orders(admin: Admin, link_id: str) -> tuple[int, int]:
    # Return the exchange's order records and the create requests that reached it, for one id.
    body = await admin("GET", "/orders", params={"orderLinkId": link_id})
    records = body["list"]
    attempts = body["createAttempts"]
    assert isinstance(records, list)
    assert isinstance(attempts, dict)
    return len(records), int(attempts[link_id])


async def _assert_matches_exchange(exchange: BybitExchange, status: OrderStatus, link: str) -> None:
    snapshot = await exchange.order(SYMBOL, link)
    assert snapshot is not None
    assert status is local_status(snapshot)


async def test_a_command_places_one_acknowledged_order(
    sim: BybitSimulator, gateway: OrderGateway, exchange: BybitExchange, admin: Admin
) -> None:
    order = await gateway.place(resting_buy(sim, "gw-1"))
    assert order.status is OrderStatus.SUBMITTED
    assert await _exchange_orders(admin, order.order_link_id) == (1, 1)


async def test_concurrent_duplicates_resolve_to_one_exchange_order(
    sim: BybitSimulator, gateway: OrderGateway, exchange: BybitExchange, admin: Admin
) -> None:
    command = resting_buy(sim, "gw-dup")
    orders = await asyncio.gather(*(gateway.place(command) for _ in range(5)))
    link_id = order_link_id_for(command)
    assert await _exchange_orders(admin, link_id) == (1, 1)
    followers = [o for o in orders if o.status is OrderStatus.ACKNOWLEDGED]
    assert len(followers) == 4
    assert {o.exchange_order_id for o in orders} == {orders[0].exchange_order_id}


async def test_a_replayed_command_after_completion_is_not_sent_again(
    sim: BybitSimulator, gateway: OrderGateway, admin: Admin
) -> None:
    command = resting_buy(sim, "gw-replay")
    await gateway.place(command)
    again = await gateway.place(command)
    assert again.status is OrderStatus.ACKNOWLEDGED
    assert await _exchange_orders(admin, again.order_link_id) == (1, 1)


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "timeout_after_accept", "hang_s": 10},
        {"kind": "http_5xx", "status": 502},
        {"kind": "http_5xx", "status": 503},
    ],
    ids=["timeout", "502", "503"],
)
async def test_an_ambiguous_answer_is_resolved_by_query_never_by_resending(
    sim: BybitSimulator,
    gateway: OrderGateway,
    exchange: BybitExchange,
    admin: Admin,
    fault: dict[str, object],
) -> None:
    await admin("POST", "/faults", json={**fault, "path": "/v5/order/create"})
    order = await gateway.place(resting_buy(sim, f"gw-amb-{fault['kind']}-{fault.get('status')}"))
    assert order.status is OrderStatus.ACKNOWLEDGED
    assert await _exchange_orders(admin, order.order_link_id) == (1, 1)
    await _assert_matches_exchange(exchange, order.status, order.order_link_id)


async def test_an_ambiguous_market_order_adopts_the_fills(
    gateway: OrderGateway, exchange: BybitExchange, admin: Admin
) -> None:
    await admin("POST", "/faults", json={"kind": "timeout_after_accept", "hang_s": 10})
    order = await gateway.place(market_buy("gw-amb-mkt", "0.02"))
    assert order.status is OrderStatus.FILLED
    assert order.cum_qty == order.qty
    assert await _exchange_orders(admin, order.order_link_id) == (1, 1)


async def test_a_5xx_before_accepting_leaves_no_order_and_fails_locally(
    sim: BybitSimulator, gateway: OrderGateway, admin: Admin
) -> None:
    fault = {"kind": "http_5xx", "after_accept": False, "path": "/v5/order/create"}
    await admin("POST", "/faults", json=fault)
    order = await gateway.place(resting_buy(sim, "gw-5xx-early"))
    assert order.status is OrderStatus.FAILED
    body = await admin("GET", "/orders", params={"orderLinkId": order.order_link_id})
    assert body["list"] == []


async def test_a_reject_with_a_chosen_ret_code_rejects_without_resending(
    sim: BybitSimulator, gateway: OrderGateway, admin: Admin
) -> None:
    fault = {"kind": "reject", "ret_code": 110007, "path": "/v5/order/create"}
    await admin("POST", "/faults", json=fault)
    order = await gateway.place(resting_buy(sim, "gw-reject"))
    assert order.status is OrderStatus.REJECTED
    body = await admin("GET", "/orders", params={"orderLinkId": order.order_link_id})
    assert body["list"] == []
    assert body["createAttempts"] == {order.order_link_id: 0}


async def test_a_rate_limit_storm_is_ridden_out_with_one_order(
    sim: BybitSimulator, gateway: OrderGateway, exchange: BybitExchange, admin: Admin
) -> None:
    await admin("POST", "/faults", json={"kind": "rate_limit_storm", "count": 3})
    order = await gateway.place(resting_buy(sim, "gw-storm"))
    assert order.status is OrderStatus.SUBMITTED
    assert await _exchange_orders(admin, order.order_link_id) == (1, 1)
    await _assert_matches_exchange(exchange, OrderStatus.ACKNOWLEDGED, order.order_link_id)
