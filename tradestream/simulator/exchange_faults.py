"""Faults of the simulated exchange side, injected on demand, and the admin routes that do it.

Each fault is armed for the next ``count`` matching requests (``path`` None matches every
private REST path) and then disarms itself:

==========================  ===================================================================
``timeout_after_accept``    the request is processed (the order exists) but the reply hangs
                            for ``hang_s``, past any sane client timeout
``http_5xx``                answer HTTP ``status`` (after processing when ``after_accept``)
``reject``                  refuse with ``ret_code`` / ``ret_msg`` before processing
``rate_limit_storm``        answer retCode 10006 with the ``X-Bapi-Limit*`` headers
``private_ws_drop``         close every private WebSocket at once (not armed: applied at once)
==========================  ===================================================================

Admin endpoints: ``GET|POST|DELETE /admin/exchange/faults`` and
``GET /admin/exchange/orders?orderLinkId=...`` (the exchange's own records, to count orders);
``POST /admin/exchange/deleverage`` ``{"symbol", "qty"}`` changes a position behind the client's
back, as Bybit's auto-deleveraging does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

import orjson
from aiohttp import web
from pydantic import BaseModel, Field, PositiveFloat, PositiveInt

from tradestream.simulator.venue import Venue, VenueError
from tradestream.simulator.venue_orders import order_wire

PREFIX = "/admin/exchange"


class ExchangeFaultKind(StrEnum):
    """What goes wrong on the exchange side."""

    TIMEOUT_AFTER_ACCEPT = "timeout_after_accept"
    HTTP_5XX = "http_5xx"
    REJECT = "reject"
    RATE_LIMIT_STORM = "rate_limit_storm"
    PRIVATE_WS_DROP = "private_ws_drop"


class ExchangeFaultSpec(BaseModel, frozen=True, extra="forbid"):
    """One fault and which requests it hits."""

    kind: ExchangeFaultKind
    path: str | None = None
    count: PositiveInt = 1
    ret_code: int = 10001
    ret_msg: str = "injected rejection"
    status: int = Field(default=502, ge=500, le=599)
    after_accept: bool = True
    hang_s: PositiveFloat = 30.0


@dataclass(slots=True)
class _Armed:
    spec: ExchangeFaultSpec
    left: int


class ExchangeFaults:
    """Hold the armed faults and hand each to the requests it hits."""

    def __init__(self) -> None:
        self._armed: list[_Armed] = []

    def arm(self, spec: ExchangeFaultSpec) -> None:
        """Arm ``spec`` for its next ``count`` matching requests."""
        self._armed.append(_Armed(spec, spec.count))

    def take(self, path: str) -> ExchangeFaultSpec | None:
        """Return the first fault armed for ``path``, spending one of its hits."""
        for entry in self._armed:
            if entry.spec.path in (None, path):
                entry.left -= 1
                if entry.left == 0:
                    self._armed.remove(entry)
                return entry.spec
        return None

    def clear(self) -> int:
        """Disarm everything; return how many faults were armed."""
        count = len(self._armed)
        self._armed.clear()
        return count

    def describe(self) -> list[dict[str, object]]:
        """List armed faults with the hits they have left."""
        return [{**a.spec.model_dump(mode="json"), "left": a.left} for a in self._armed]


def _json(data: object, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


class ExchangeAdmin:
    """Serve the exchange-side admin endpoints of one simulator."""

    def __init__(self, venue: Venue, faults: ExchangeFaults, drop_ws: Callable[[], int]) -> None:
        self._venue = venue
        self._faults = faults
        self._drop_ws = drop_ws

    def add_routes(self, app: web.Application) -> None:
        """Mount the endpoints under ``/admin/exchange``."""
        app.router.add_get(f"{PREFIX}/faults", self.faults)
        app.router.add_post(f"{PREFIX}/faults", self.inject)
        app.router.add_delete(f"{PREFIX}/faults", self.clear)
        app.router.add_get(f"{PREFIX}/orders", self.orders)
        app.router.add_post(f"{PREFIX}/deleverage", self.deleverage)

    async def deleverage(self, request: web.Request) -> web.Response:
        """Take ``{"symbol", "qty"}`` off a position behind the client's back (ADL)."""
        body = orjson.loads(await request.read())
        try:
            wire = self._venue.deleverage(str(body["symbol"]), Decimal(str(body["qty"])))
        except VenueError as exc:
            return _json({"retCode": exc.ret_code, "retMsg": exc.message}, status=400)
        return _json({"position": wire})

    async def faults(self, request: web.Request) -> web.Response:
        """List armed faults."""
        return _json(self._faults.describe())

    async def inject(self, request: web.Request) -> web.Response:
        """Arm the fault in the body, or apply it at once for a WebSocket drop."""
        spec = ExchangeFaultSpec.model_validate_json(await request.read())
        if spec.kind is ExchangeFaultKind.PRIVATE_WS_DROP:
            return _json({"dropped": self._drop_ws()})
        self._faults.arm(spec)
        return _json({"armed": spec.model_dump(mode="json")})

    async def clear(self, request: web.Request) -> web.Response:
        """Disarm every fault."""
        return _json({"cleared": self._faults.clear()})

    async def orders(self, request: web.Request) -> web.Response:
        """List the exchange's order records, optionally those of one ``orderLinkId``."""
        link_id = request.query.get("orderLinkId")
        venue = self._venue
        orders = venue.orders.values()
        records = [order_wire(r) for r in orders if link_id in (None, r.order_link_id)]
        attempts = (
            venue.create_attempts
            if link_id is None
            else {link_id: venue.create_attempts.get(link_id, 0)}
        )
        return _json({"list": records, "createAttempts": attempts})
