"""Private-topic rows become order events once each, however often and in whatever order."""

from __future__ import annotations

from tradestream.exchange.private_rows import PrivateRows

LINK = "unit-abc"


def _order(status: str, cum: str = "0", leaves: str = "0.02") -> dict[str, object]:
    return {
        "orderLinkId": LINK,
        "orderId": "o-1",
        "symbol": "BTCUSDT",
        "side": "Buy",
        "orderType": "Limit",
        "price": "64000",
        "qty": "0.02",
        "timeInForce": "GTC",
        "orderStatus": status,
        "cumExecQty": cum,
        "leavesQty": leaves,
    }


def _execution(n: int, leaves: str) -> dict[str, object]:
    return {
        "execId": f"e-{n}",
        "orderLinkId": LINK,
        "orderId": "o-1",
        "symbol": "BTCUSDT",
        "side": "Buy",
        "execQty": "0.01",
        "execPrice": "64000",
        "execFee": "0.1",
        "execType": "Trade",
        "orderQty": "0.02",
        "leavesQty": leaves,
        "isMaker": True,
        "execTime": str(n),
    }


def test_each_status_and_each_execution_is_reported_once() -> None:
    rows = PrivateRows()
    kinds = [e.kind for e in rows.on_topic("order", [_order("New"), _order("New")], 0)]
    kinds += [e.kind for e in rows.on_topic("execution", [_execution(1, "0.01")] * 2, 0)]
    kinds += [e.kind for e in rows.on_topic("execution", [_execution(2, "0")], 0)]
    assert kinds == ["order_accepted", "order_partially_filled", "order_filled"]
    assert rows.on_topic("position", [{}], 0) == []


def test_a_finished_order_stays_live_until_its_executions_are_in() -> None:
    rows = PrivateRows()
    rows.track(LINK, "BTCUSDT")
    assert rows.on_topic("order", [_order("Filled", cum="0.02", leaves="0")], 0) == []
    assert rows.live() == {LINK: "BTCUSDT"}
    rows.on_topic("execution", [_execution(1, "0.01"), _execution(2, "0")], 0)
    assert rows.live() == {}
    rows.track(LINK, "BTCUSDT")
    assert rows.live() == {}


def test_rows_after_the_end_change_nothing() -> None:
    rows = PrivateRows()
    [cancelled] = rows.on_topic("order", [_order("Cancelled")], 0)
    assert cancelled.kind == "order_cancelled"
    assert rows.on_topic("order", [_order("New"), _order("Cancelled")], 0) == []
    assert rows.known(LINK)
    assert rows.live() == {}
