"""User code typed against the limiter protocol, the in-memory limiters, fallbacks and cooldowns.

(``aclarifai.redis`` is left out: the wheel's environment of this check has no redis-py.)
"""

from __future__ import annotations

from typing_extensions import assert_type

import aclarifai
from aclarifai import (
    AsyncClarifai,
    ChatCompletion,
    Cooldowns,
    CooldownStore,
    Limiter,
    RateLimiter,
    TokenBudget,
    TokenLimiter,
)

MODEL = "https://clarifai.com/openai/chat-completion/models/gpt-oss-120b"


class MyLimiter:
    """Anything with the two coroutines is a Limiter."""

    async def acquire(self, cost: float = 1.0) -> None: ...

    async def penalize(self, seconds: float) -> None: ...


async def main() -> None:
    mine: Limiter = MyLimiter()
    budget: TokenLimiter = TokenBudget(50_000, max_wait=5.0)
    store: CooldownStore = Cooldowns()
    client = AsyncClarifai(limiter=RateLimiter(15, burst=1), token_budget=budget, cooldown=10.0)
    assert_type(client.limiter, Limiter | None)
    answer = await client.acompletion(
        MODEL, [{"role": "user", "content": "Hi"}], fallbacks=[MODEL], limiter=mine
    )
    assert_type(answer, ChatCompletion)
    again = await aclarifai.acompletion(
        MODEL, [{"role": "user", "content": "Hi"}], client=client, cooldown=store
    )
    assert_type(again, ChatCompletion)
    await client.aclose()
