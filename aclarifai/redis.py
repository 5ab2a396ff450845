"""aclarifai.redis: what aclarifai shares through Redis (``pip install 'aclarifai[redis]'``).

- ``RedisRateLimiter``: request starts per second, shared by every worker (``limiter=``);
- ``RedisTokenBudget``: tokens per minute, reserved and settled (``token_budget=``);
- ``RedisCooldowns``: models that just failed, skipped by every worker's fallbacks (``cooldown=``).

All take a ``redis.asyncio.Redis`` client; see ``docs/workers.md``. This module is only the
public face: the implementations live in private modules.
"""

from __future__ import annotations

try:
    import redis.asyncio  # noqa: F401  (redis-py >= 5)
except ImportError as exc:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        "aclarifai.redis needs the redis extra: pip install 'aclarifai[redis]'"
    ) from exc

from ._redis_limit import OnUnavailable, RedisCooldowns, RedisRateLimiter, RedisTokenBudget

__all__ = ["OnUnavailable", "RedisCooldowns", "RedisRateLimiter", "RedisTokenBudget"]
