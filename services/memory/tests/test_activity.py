from __future__ import annotations

from redis.asyncio import Redis

from sophia.memory.activity import Activity


async def test_counts_are_buffered_then_written_in_one_flush(redis_url: str, namespace: str) -> None:
    redis = Redis.from_url(redis_url, decode_responses=True)
    activity = Activity(redis, flush_interval_s=60)  # no timed write during the test
    try:
        activity.note(namespace, [("m1", 0.3), ("m2", 0.9)])
        activity.note(namespace, [("m1", 0.7)])
        assert await redis.exists(f"sophia:memory:{namespace}:hits") == 0  # nothing written on the recall's time
        activity.note(namespace, [("m1", 0.5)])
        usage = await activity.usage(namespace, ["m1", "m2", "m3"])  # reads flush first
        assert (usage["m1"].hits, usage["m1"].best_score) == (3, 0.7)  # the best score only goes up
        assert usage["m2"].hits == 1 and usage["m2"].last_access is not None
        assert usage["m3"].hits == 0 and usage["m3"].last_access is None
        await activity.forget(namespace, ["m1"])
        assert (await activity.usage(namespace, ["m1"]))["m1"].hits == 0
    finally:
        await activity.aclose()
        await redis.aclose()
