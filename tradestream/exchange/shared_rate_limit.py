"""A token bucket kept in Redis, so several processes share one exchange rate limit.

Bybit limits order requests per account (UID) and endpoint; two execution workers that each
allowed 10/s would together get ``10006`` errors. The bucket's refill-and-take runs as one Lua
script, atomic in Redis, with the caller's clock passed in (processes share wall time) so the
logic matches the in-process ``TokenBucket`` and tests can drive the time.
"""

from __future__ import annotations

from redis.asyncio import Redis

# KEYS[1] bucket hash; ARGV: rate per s, burst, now (s), cost, ttl (s).
# Returns the seconds to wait as a string (0 when granted); Lua numbers would be truncated.
_TAKE = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'last')
local tokens = tonumber(state[1]) or burst
local last = tonumber(state[2]) or now
if now > last then
  tokens = math.min(burst, tokens + (now - last) * rate)
  last = now
end
local wait = 0
if tokens >= cost then
  tokens = tokens - cost
else
  wait = (cost - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'last', tostring(last))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[5]))
return tostring(wait)
"""


class RedisTokenBuckets:
    """One shared bucket per key, with the same rate and burst, in Redis."""

    def __init__(self, redis: Redis, prefix: str, rate_per_s: float, burst: float) -> None:
        if rate_per_s <= 0 or burst < 1:
            raise ValueError(f"need rate_per_s > 0 and burst >= 1, got {rate_per_s}, {burst}")
        self._redis = redis
        self._prefix = prefix
        self.rate_per_s = rate_per_s
        self.burst = burst
        self._script = redis.register_script(_TAKE)
        # An idle bucket refills completely in burst / rate seconds; keep it a little longer.
        self._ttl_s = max(int(burst / rate_per_s) + 60, 60)

    async def try_acquire(self, key: str, now: float) -> float:
        """Take one token from ``key``'s shared bucket: 0.0 if granted, else the seconds to wait."""
        wait = await self._script(
            keys=[f"{self._prefix}:{key}"],
            args=[self.rate_per_s, self.burst, repr(now), 1, self._ttl_s],
        )
        return float(wait)
