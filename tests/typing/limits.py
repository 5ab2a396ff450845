"""User code typed against the limiter protocol, the limiters, fallbacks and cooldowns."""

from __future__ import annotations

from redis.asyncio import Redis
from typing_extensions import assert_type

import aclarifai
from aclarifai import AsyncClarifai, Cooldowns, Limiter, RateLimiter, TokenBudget
from aclarifai.redis import RedisCooldowns, RedisRateLimiter, RedisTokenBudget

MODEL = "https://clarifai.com/openai/chat-completion/models/gpt-oss-120b"


class MyLimiter:
    """Anything with the two coroutines is a Limiter."""

    async def acquire(self, cost: float = 1.0) -> None: ...

    async def penalize(self, seconds: float) -> None: ...


async def main(redis: Redis) -> None:
    mine: Limiter = MyLimiter()
    shared: Limiter = RedisRateLimiter(redis, key="app", rate=15, burst=1, max_wait=5.0)
    budget = RedisTokenBudget(redis, key="app", tokens_per_minute=100_000, on_unavailable="raise")
    client = AsyncClarifai(limiter=shared, token_budget=budget, cooldown=RedisCooldowns(redis))
    local = AsyncClarifai(limiter=RateLimiter(15), token_budget=TokenBudget(50_000), cooldown=10.0)
    assert_type(budget, RedisTokenBudget)
    assert_type(await budget.available(), float)
    assert_type(client.limiter, Limiter | None)
    await client.acompletion(MODEL, [{"role": "user", "content": "Hi"}], fallbacks=[MODEL])
    await aclarifai.acompletion(MODEL, [], limiter=mine, cooldown=Cooldowns())
    await local.aclose()
    await client.aclose()
