"""The semantic cache with the real local sentence model and a real Redis: exact and near-identical prompts,
the literal guard, scoping by principal and context, expiry and the size cap."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from sophia.router import completion, keys
from sophia.router.cache import Cache, LazyEmbedder, context_key, literals
from sophia.router.engine import Request, Router

from .llm_standin import StandIn

ENTRY = {"text": "Lisbon.", "model": "openai/small"}
CONTEXT = context_key(system=None)


@pytest.fixture(scope="module")
def embedder() -> LazyEmbedder:
    return LazyEmbedder(threads=2)


@pytest.fixture
async def cache(clean_redis: str, embedder: LazyEmbedder) -> AsyncIterator[Cache]:
    raw = Redis.from_url(clean_redis)
    yield Cache(raw, embedder, threshold=0.9, ttl_s=60, max_entries=3)
    await raw.aclose()


async def store(cache: Cache, principal: str, prompt: str, entry: dict[str, str] = ENTRY) -> None:
    _, vector = await cache.lookup(principal, CONTEXT, prompt)
    await cache.store(principal, CONTEXT, prompt, entry, vector)


async def test_the_same_prompt_hits_exactly(cache: Cache, principal: str) -> None:
    await store(cache, principal, "What is the capital of Portugal?")
    hit, _ = await cache.lookup(principal, CONTEXT, "What is  the capital of Portugal? ")
    assert hit is not None and hit.exact and hit.similarity == 1.0 and hit.entry["text"] == "Lisbon."


async def test_a_paraphrase_hits_by_meaning(cache: Cache, principal: str) -> None:
    await store(cache, principal, "What is the capital city of Portugal?")
    hit, _ = await cache.lookup(principal, CONTEXT, "What's the capital city of Portugal?")
    assert hit is not None and not hit.exact and 0.9 <= hit.similarity < 1.0


async def test_an_unrelated_prompt_misses(cache: Cache, principal: str) -> None:
    await store(cache, principal, "What is the capital city of Portugal?")
    hit, vector = await cache.lookup(principal, CONTEXT, "How do I bake sourdough bread?")
    assert hit is None and vector is not None


async def test_near_identical_prompts_with_other_numbers_or_names_miss(cache: Cache, principal: str) -> None:
    await store(cache, principal, "What is 17% of 240?")
    await store(cache, principal, "Who is the CEO of Microsoft?")
    assert (await cache.lookup(principal, CONTEXT, "What is 19% of 240?"))[0] is None
    assert (await cache.lookup(principal, CONTEXT, "Who is the CEO of Google?"))[0] is None


def test_literals_are_numbers_quotes_code_urls_and_names() -> None:
    found = literals('Is `x = 3` in "main.py" at https://git.example/x? Ask Priya by 12:30, then Bob.')
    assert found >= {"`x = 3`", '"main.py"', "https://git.example/x", "12:30", "Priya", "Bob"}
    assert "Is" not in found  # a capital that only starts the sentence is not a name


async def test_one_principal_never_gets_anothers_answer(cache: Cache, principal: str) -> None:
    await store(cache, principal, "What is the capital of Portugal?")
    assert (await cache.lookup(f"{principal}-other", CONTEXT, "What is the capital of Portugal?"))[0] is None


async def test_another_context_misses(cache: Cache, principal: str) -> None:
    await store(cache, principal, "What is the capital of Portugal?")
    other = context_key(system="Answer in French.")
    assert (await cache.lookup(principal, other, "What is the capital of Portugal?"))[0] is None


async def test_a_long_prompt_is_only_reused_verbatim(cache: Cache, principal: str) -> None:
    opening = "Summarise the following meeting notes for the board. " * 25
    await store(cache, principal, opening + "Notes: revenue grew.")
    # The model reads only the first 256 word pieces: these two look identical to it.
    assert (await cache.lookup(principal, CONTEXT, opening + "Notes: revenue fell."))[0] is None
    assert (await cache.lookup(principal, CONTEXT, opening + "Notes: revenue grew."))[0] is not None


async def test_entries_expire(clean_redis: str, embedder: LazyEmbedder, principal: str) -> None:
    raw = Redis.from_url(clean_redis)
    short = Cache(raw, embedder, threshold=0.9, ttl_s=1, max_entries=10)
    await store(short, principal, "What is the capital of Portugal?")
    await asyncio.sleep(1.05)
    assert (await short.lookup(principal, CONTEXT, "What is the capital of Portugal?"))[0] is None
    await raw.aclose()


async def test_the_oldest_vectors_go_past_the_cap(cache: Cache, principal: str, clean_redis: str) -> None:
    for city in ("Lisbon", "Oslo", "Lima", "Quito", "Hanoi"):
        await store(cache, principal, f"What is the population of {city}?")
    raw = Redis.from_url(clean_redis)
    assert await raw.zcard(f"{keys.cache(principal, CONTEXT)}:i") == 3
    assert await raw.hlen(f"{keys.cache(principal, CONTEXT)}:v") == 3
    await raw.aclose()


async def test_complete_with_cache_answers_a_repeat_without_a_call_or_a_charge(
    router: Router, standin: StandIn, principal: str
) -> None:
    first = await completion.complete(
        router, Request("What is the capital of Portugal?", principal=principal, cache=True)
    )
    again = await completion.complete(
        router, Request("what's the capital of Portugal?", principal=principal, cache=True)
    )
    assert len(standin.calls) == 1
    assert again["text"] == first["text"] and again["cached"] is True and again["cost_usd"] == 0.0
    assert again["original_cost_usd"] == first["cost_usd"] and again["similarity"] >= 0.95
    uncached = await completion.complete(router, Request("What is the capital of Portugal?", principal=principal))
    assert uncached["cached"] is False and len(standin.calls) == 2
    stats = await router.usage.stats(principal)
    assert stats["cache"] == {"hits": 1, "misses": 1, "hit_rate": 0.5}
    assert stats["completions"] == 2 and stats["spend_usd"] == pytest.approx(first["cost_usd"] * 2, abs=2e-9)
