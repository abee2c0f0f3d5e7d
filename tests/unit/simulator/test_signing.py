"""The simulator checks Bybit's REST and WS signatures exactly as Bybit defines them."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from tradestream.simulator.signing import verify_rest, verify_ws_auth

SECRETS = {"key": "secret"}
NOW = 1_700_000_000_000


def _headers(
    timestamp: int, payload: str, *, key: str = "key", signer: str = SECRETS["key"]
) -> dict:
    message = f"{timestamp}{key}5000{payload}"
    sign = hmac.new(signer.encode(), message.encode(), hashlib.sha256).hexdigest()
    return {
        "X-BAPI-API-KEY": key,
        "X-BAPI-TIMESTAMP": str(timestamp),
        "X-BAPI-RECV-WINDOW": "5000",
        "X-BAPI-SIGN": sign,
    }


def test_a_correct_signature_passes() -> None:
    payload = '{"category":"linear"}'
    assert verify_rest(_headers(NOW, payload), payload, SECRETS, NOW) == ("key", None)


@pytest.mark.parametrize(
    ("headers", "payload", "code"),
    [
        (_headers(NOW, "a=1", key="other"), "a=1", 10003),
        (_headers(NOW, "a=1", signer="wrong"), "a=1", 10004),
        (_headers(NOW, "a=1"), "a=2", 10004),
        (_headers(NOW - 5001, "a=1"), "a=1", 10002),
        (_headers(NOW + 1000, "a=1"), "a=1", 10002),
    ],
    ids=["unknown-key", "wrong-secret", "tampered-payload", "too-old", "from-the-future"],
)
def test_bad_requests_get_bybits_ret_code(headers: dict, payload: str, code: int) -> None:
    _, failure = verify_rest(headers, payload, SECRETS, NOW)
    assert failure is not None
    assert failure.ret_code == code


def test_ws_auth_signs_get_realtime_and_expires() -> None:
    expires = NOW + 1000
    sign = hmac.new(b"secret", f"GET/realtime{expires}".encode(), hashlib.sha256).hexdigest()
    assert verify_ws_auth(["key", expires, sign], SECRETS, NOW) is None
    assert verify_ws_auth(["key", expires, "0" * 64], SECRETS, NOW) == "Invalid sign"
    assert verify_ws_auth(["key", NOW - 1, sign], SECRETS, NOW) is not None
