"""Client order ids (Bybit ``orderLinkId``) derived deterministically from the causing command.

An order is placed at most once: a replayed command must map to the same id, so the exchange (and
the Redis ``SET NX`` reservation) recognise it as a duplicate, while distinct commands must not
collide. The id is a short readable prefix taken from the strategy name, a dash, and a keyed
BLAKE2b digest of ``(strategy, symbol, signal_id, leg)``. Bybit allows at most 36 characters of
letters, digits, ``-`` and ``_``; the result is at most ``12 + 1 + 22 = 35`` of them. The digest
has 88 bits, so a collision among even a billion commands has a probability below 1e-8.
"""

from __future__ import annotations

import hashlib
import json
import re

from tradestream.schemas.orders import PlaceOrder

MAX_ORDER_LINK_ID_LENGTH = 36
_PREFIX_LENGTH = 12
_DIGEST_BYTES = 11
_FALLBACK_PREFIX = "ts"
_PERSONALISATION = b"ts.orderlink.v1"
_NOT_ALLOWED = re.compile(r"[^A-Za-z0-9_]")
ORDER_LINK_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,36}$")


def order_link_id(strategy: str, symbol: str, signal_id: str, leg: int = 0) -> str:
    """Derive the ``orderLinkId`` of one leg of one signal of one strategy on one symbol."""
    prefix = _NOT_ALLOWED.sub("", strategy)[:_PREFIX_LENGTH] or _FALLBACK_PREFIX
    # JSON of the tuple is an unambiguous encoding: no two field tuples share bytes.
    material = json.dumps([strategy, symbol, signal_id, leg], ensure_ascii=True).encode("ascii")
    digest = hashlib.blake2b(
        material, digest_size=_DIGEST_BYTES, person=_PERSONALISATION
    ).hexdigest()
    return f"{prefix}-{digest}"


def order_link_id_for(command: PlaceOrder) -> str:
    """Derive the ``orderLinkId`` of the order a ``PlaceOrder`` command causes."""
    return order_link_id(command.strategy, command.symbol, command.signal_id, command.leg)
