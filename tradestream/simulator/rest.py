"""Serve Bybit v5 REST: the envelope, signature checks, rate limits and injected faults.

Every answer is HTTP 200 with Bybit's envelope (``retCode``, ``retMsg``, ``result``,
``retExtInfo``, ``time``) unless a fault asks for a 5xx. Private endpoints check the
``X-BAPI-*`` signature headers first (``signing``), then the per-key, per-endpoint-group token
bucket, answering retCode 10006 when it is empty and ``X-Bapi-Limit``, ``X-Bapi-Limit-Status``
and ``X-Bapi-Limit-Reset-Timestamp`` on every private answer, as Bybit does.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping
from urllib.parse import parse_qsl

import orjson
from aiohttp import web

from tradestream.core.clock import MsClock
from tradestream.core.resilience import EndpointGroup, RateLimitConfig, TokenBucket
from tradestream.simulator.exchange_faults import (
    ExchangeFaultKind,
    ExchangeFaults,
    ExchangeFaultSpec,
)
from tradestream.simulator.rest_handlers import Handler, Params
from tradestream.simulator.signing import verify_rest
from tradestream.simulator.venue import VenueError

RATE_LIMITED = 10006
_G = EndpointGroup
GROUPS: Mapping[str, EndpointGroup] = {
    "/v5/order/create": _G.ORDER_CREATE,
    "/v5/order/amend": _G.ORDER_AMEND,
    "/v5/order/cancel": _G.ORDER_CANCEL,
    "/v5/order/cancel-all": _G.ORDER_CANCEL,
    "/v5/order/realtime": _G.ORDER_QUERY,
    "/v5/order/history": _G.ORDER_QUERY,
    "/v5/execution/list": _G.ORDER_QUERY,
    "/v5/position/list": _G.POSITION_QUERY,
    "/v5/position/set-leverage": _G.POSITION_QUERY,
    "/v5/position/trading-stop": _G.POSITION_QUERY,
    "/v5/account/wallet-balance": _G.ACCOUNT_QUERY,
}
"""Private paths and the limit each one counts against; every other path is public."""


def envelope(ret_code: int, ret_msg: str, result: object, now_ms: int) -> dict[str, object]:
    """Wrap a result in Bybit's response envelope."""
    return {
        "retCode": ret_code,
        "retMsg": ret_msg,
        "result": result if result is not None else {},
        "retExtInfo": {},
        "time": now_ms,
    }


class RestApi:
    """Route Bybit REST requests through auth, limits and faults to their handlers."""

    def __init__(
        self,
        handlers: Mapping[str, Handler],
        faults: ExchangeFaults,
        secrets: Mapping[str, str],
        limits: RateLimitConfig,
        clock: MsClock,
    ) -> None:
        self._handlers = handlers
        self._faults = faults
        self._secrets = secrets
        self._limits = limits
        self._clock = clock
        self._buckets: dict[tuple[str, EndpointGroup], TokenBucket] = {}
        self._hanging: set[asyncio.Future[None]] = set()

    def add_routes(self, app: web.Application) -> None:
        """Mount every REST path, GET and POST alike (Bybit chooses per path)."""
        for path in self._handlers:
            app.router.add_route("*", path, self.serve)
        app.on_shutdown.append(self._release_hanging)

    async def serve(self, request: web.Request) -> web.StreamResponse:
        """Answer one REST request."""
        path = request.path
        params, payload = await _read(request)
        group = GROUPS.get(path)
        headers: dict[str, str] = {}
        fault: ExchangeFaultSpec | None = None
        if group is not None:
            refusal, headers = self._admit(request, payload, group)
            if refusal is not None:
                return _reply(refusal, headers)
            fault = self._faults.take(path)
            early = self._before(fault, headers)
            if early is not None:
                return early
        body = self._run(path, params)
        return await self._after(fault, body, headers)

    # Check the signature and the rate limit; return a refusal envelope and the limit headers.
    def _admit(
        self, request: web.Request, payload: str, group: EndpointGroup
    ) -> tuple[dict[str, object] | None, dict[str, str]]:
        now = self._clock()
        api_key, failure = verify_rest(request.headers, payload, self._secrets, now)
        if failure is not None:
            return envelope(failure.ret_code, failure.message, None, now), {}
        bucket = self._bucket(api_key, group)
        wait_s = bucket.try_acquire(now / 1000)
        headers = _limit_headers(bucket, now, wait_s)
        if wait_s > 0:
            return envelope(RATE_LIMITED, "Too many visits!", None, now), headers
        return None, headers

    def _before(
        self, fault: ExchangeFaultSpec | None, headers: dict[str, str]
    ) -> web.Response | None:
        now = self._clock()
        if fault is None:
            return None
        if fault.kind is ExchangeFaultKind.RATE_LIMIT_STORM:
            limit = headers | {"X-Bapi-Limit-Status": "0", "X-Bapi-Limit-Reset-Timestamp": str(now)}
            return _reply(envelope(RATE_LIMITED, "Too many visits!", None, now), limit)
        if fault.kind is ExchangeFaultKind.REJECT:
            return _reply(envelope(fault.ret_code, fault.ret_msg, None, now), headers)
        if fault.kind is ExchangeFaultKind.HTTP_5XX and not fault.after_accept:
            return web.Response(status=fault.status, text="injected server error")
        return None

    async def _after(
        self, fault: ExchangeFaultSpec | None, body: dict[str, object], headers: dict[str, str]
    ) -> web.Response:
        if fault is not None and fault.kind is ExchangeFaultKind.TIMEOUT_AFTER_ACCEPT:
            await self._hang(fault.hang_s)
        if fault is not None and fault.kind is ExchangeFaultKind.HTTP_5XX:
            return web.Response(status=fault.status, text="injected server error")
        return _reply(body, headers)

    def _run(self, path: str, params: Params) -> dict[str, object]:
        now = self._clock()
        try:
            result = self._handlers[path](params)
        except VenueError as exc:
            return envelope(exc.ret_code, exc.message, None, now)
        return envelope(0, "OK", result, now)

    def _bucket(self, api_key: str, group: EndpointGroup) -> TokenBucket:
        key = (api_key, group)
        bucket = self._buckets.get(key)
        if bucket is None:
            config = self._limits.for_group(group)
            bucket = self._buckets[key] = TokenBucket(config.rate_per_s, config.burst)
        return bucket

    # Hold the reply past the client's timeout, but let a shutdown release it at once.
    async def _hang(self, seconds: float) -> None:
        release: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._hanging.add(release)
        try:
            await asyncio.wait_for(asyncio.shield(release), seconds)
        except TimeoutError:
            pass
        finally:
            self._hanging.discard(release)

    async def _release_hanging(self, app: web.Application) -> None:
        for release in list(self._hanging):
            if not release.done():
                release.set_result(None)


async def _read(request: web.Request) -> tuple[Params, str]:
    # Return the parameters and the exact text that was signed (query string or JSON body).
    if request.method == "GET":
        return dict(parse_qsl(request.query_string)), request.query_string
    text = await request.text()
    try:
        params = orjson.loads(text) if text else {}
    except orjson.JSONDecodeError:
        params = {}
    if not isinstance(params, dict):
        params = {}
    return params, text


def _limit_headers(bucket: TokenBucket, now_ms: int, wait_s: float) -> dict[str, str]:
    remaining = math.floor(bucket.available(now_ms / 1000))
    refill_s = wait_s or (0.0 if remaining >= bucket.burst else 1 / bucket.rate_per_s)
    return {
        "X-Bapi-Limit": str(int(bucket.burst)),
        "X-Bapi-Limit-Status": str(remaining),
        "X-Bapi-Limit-Reset-Timestamp": str(now_ms + math.ceil(refill_s * 1000)),
    }


def _reply(body: dict[str, object], headers: Mapping[str, str]) -> web.Response:
    return web.Response(
        body=orjson.dumps(body), content_type="application/json", headers=dict(headers)
    )
