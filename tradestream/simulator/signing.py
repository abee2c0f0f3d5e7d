"""Check Bybit v5 request signatures exactly as Bybit defines them, for REST and the private WS.

REST: ``X-BAPI-SIGN`` is the HMAC-SHA256 hex of ``timestamp + apiKey + recvWindow + payload``
(payload = the raw query string of a GET, the raw JSON body of a POST), and the timestamp must
satisfy ``server - recvWindow <= timestamp < server + 1000``. WebSocket ``auth``: the signature
is the HMAC-SHA256 hex of ``"GET/realtime" + expires``, and ``expires`` must lie in the future.
A client that signs anything else differently from Bybit fails here, not in production.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

INVALID_KEY = 10003
BAD_SIGN = 10004
TIME_WINDOW = 10002
DEFAULT_RECV_WINDOW = 5000
FUTURE_TOLERANCE_MS = 1000


@dataclass(frozen=True, slots=True)
class AuthFailure:
    """Why a request is refused, as Bybit's ``retCode`` and ``retMsg``."""

    ret_code: int
    message: str


def sign(secret: str, message: str) -> str:
    """Return Bybit's HMAC-SHA256 hex signature of ``message``."""
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def verify_rest(
    headers: Mapping[str, str], payload: str, secrets: Mapping[str, str], now_ms: int
) -> tuple[str, AuthFailure | None]:
    """Check one REST request's signature headers; return the API key and any refusal."""
    api_key = headers.get("X-BAPI-API-KEY", "")
    secret = secrets.get(api_key)
    if secret is None:
        return api_key, AuthFailure(INVALID_KEY, "API key is invalid.")
    timestamp = headers.get("X-BAPI-TIMESTAMP", "")
    recv_window = headers.get("X-BAPI-RECV-WINDOW", str(DEFAULT_RECV_WINDOW))
    if not timestamp.isdigit() or not recv_window.isdigit():
        return api_key, AuthFailure(10001, "timestamp and recv_window must be integers")
    stamp, window = int(timestamp), int(recv_window)
    if not now_ms - window <= stamp < now_ms + FUTURE_TOLERANCE_MS:
        message = (
            "invalid request, please check your server timestamp or recv_window param. "
            f"req_timestamp[{stamp}],server_timestamp[{now_ms}],recv_window[{window}]"
        )
        return api_key, AuthFailure(TIME_WINDOW, message)
    expected = sign(secret, f"{timestamp}{api_key}{recv_window}{payload}")
    if not hmac.compare_digest(expected, headers.get("X-BAPI-SIGN", "")):
        return api_key, AuthFailure(BAD_SIGN, "error sign! origin_string[...]")
    return api_key, None


def verify_ws_auth(args: object, secrets: Mapping[str, str], now_ms: int) -> str | None:
    """Check a private WS ``auth`` op's ``[apiKey, expires, signature]``; return a refusal."""
    if not isinstance(args, list) or len(args) != 3:
        return "args must be [apiKey, expires, signature]"
    api_key, expires, signature = args
    secret = secrets.get(str(api_key))
    if secret is None:
        return "Invalid apikey"
    if not isinstance(expires, int) or expires <= now_ms:
        return "Params Error: expires must be an integer in the future"
    if not hmac.compare_digest(sign(secret, f"GET/realtime{expires}"), str(signature)):
        return "Invalid sign"
    return None
