"""Spend limits per UTC day and month, for each principal and for everyone together.

Money is counted in integer nano-dollars (1e-9 USD), so sums are exact. Before a provider attempt
the router *reserves* the attempt's worst case (input bounded by its UTF-8 size, output by the
max_tokens it sends) with one Lua script that checks every limit and records a hold in each scope
at once; concurrent calls therefore cannot together pass a limit. After the attempt it *settles*:
the hold goes and the real cost (from the provider's token counts) is added. A hold carries a
deadline past the longest a `complete` can run, so a replica that dies mid-call frees it; expired
holds are dropped by the next reservation.
"""

from __future__ import annotations

import math
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from redis.asyncio import Redis

from sophia.router.keys import BUDGET_LIMITS, budget_held, budget_spent

Period = Literal["daily", "monthly"]
PERIODS: tuple[Period, ...] = ("daily", "monthly")
NANO = 1_000_000_000
# Counters outlive their period a little, so a call that started just before midnight still settles.
TTL_S = {"daily": 2 * 86_400, "monthly": 33 * 86_400}
GLOBAL = "global"

RESERVE = """
local now = tonumber(ARGV[1])
local amount = tonumber(ARGV[4])
local lines = (#KEYS - 1) / 2
for i = 1, lines do
  local base = 4 + 3 * (i - 1)
  local limit = tonumber(redis.call('HGET', KEYS[1], ARGV[base + 1]) or ARGV[base + 2])
  local held_key = KEYS[2 * i + 1]
  local held = 0
  local holds = redis.call('HGETALL', held_key)
  for j = 1, #holds, 2 do
    local value = holds[j + 1]
    local sep = string.find(value, ':', 1, true)
    if tonumber(string.sub(value, sep + 1)) < now then
      redis.call('HDEL', held_key, holds[j])
    else
      held = held + tonumber(string.sub(value, 1, sep - 1))
    end
  end
  local spent = tonumber(redis.call('GET', KEYS[2 * i]) or '0')
  if limit >= 0 and spent + held + amount > limit then
    return {i, tostring(limit), tostring(spent), tostring(held)}
  end
end
for i = 1, lines do
  redis.call('HSET', KEYS[2 * i + 1], ARGV[3], ARGV[4] .. ':' .. ARGV[2])
  redis.call('EXPIRE', KEYS[2 * i + 1], ARGV[4 + 3 * i])
end
return {0}
"""

SETTLE = """
local amount = tonumber(ARGV[2])
for i = 1, #KEYS / 2 do
  redis.call('HDEL', KEYS[2 * i], ARGV[1])
  if amount > 0 then
    redis.call('INCRBY', KEYS[2 * i - 1], ARGV[2])
    redis.call('EXPIRE', KEYS[2 * i - 1], ARGV[2 + i])
  end
end
return 1
"""


def nano(usd: float) -> int:
    return math.ceil(usd * NANO - 1e-6)


def usd(amount: int | float) -> float:
    return round(amount / NANO, 9)


def periods(moment: datetime) -> dict[Period, str]:
    return {"daily": moment.strftime("d%Y%m%d"), "monthly": moment.strftime("m%Y%m")}


@dataclass(frozen=True)
class Line:
    """One limit a call counts against."""

    scope: str  # "global" or "p:<principal>"
    period: Period
    key: str  # the period's key, d20251121 or m202511

    @property
    def field(self) -> str:
        return f"{self.scope}:{self.period}"

    @property
    def who(self) -> str:
        return "all principals" if self.scope == GLOBAL else f"principal {self.scope[2:]!r}"


@dataclass(frozen=True)
class Hold:
    id: str
    lines: tuple[Line, ...]
    amount: int


class OverBudget(Exception):
    def __init__(self, line: Line, limit: int, spent: int, held: int, needed: int) -> None:
        self.line, self.limit, self.spent, self.held, self.needed = line, limit, spent, held, needed
        super().__init__(
            f"the {line.period} budget of {line.who} would be exceeded: limit ${usd(limit):.6f}, spent "
            f"${usd(spent):.6f}, held by calls in flight ${usd(held):.6f}, this call needs up to ${usd(needed):.6f}"
        )


class Budgets:
    def __init__(self, redis: Redis, defaults: dict[str, float | None], hold_ttl_s: float) -> None:
        """`defaults`: limits in USD by field (`global:daily`, `principal:monthly`, ...); None is no limit."""
        self._redis = redis
        self._defaults = defaults
        self._hold_ttl_s = hold_ttl_s
        self._reserve = redis.register_script(RESERVE)
        self._settle = redis.register_script(SETTLE)

    def lines(self, principal: str, moment: datetime | None = None) -> tuple[Line, ...]:
        keys = periods(moment or datetime.now(UTC))
        return tuple(Line(scope, p, keys[p]) for scope in (GLOBAL, f"p:{principal}") for p in PERIODS)

    def default(self, line: Line) -> int:
        value = self._defaults.get(f"{'global' if line.scope == GLOBAL else 'principal'}:{line.period}")
        return -1 if value is None else nano(value)

    async def reserve(self, principal: str, amount_usd: float) -> Hold:
        """Hold `amount_usd` in every scope, or raise `OverBudget` naming the first limit it would pass."""
        lines = self.lines(principal)
        amount = nano(amount_usd)
        hold_id = uuid.uuid4().hex
        now_ms = int(time.time() * 1000)
        keys = [BUDGET_LIMITS]
        args: list[Any] = [now_ms, now_ms + int(self._hold_ttl_s * 1000), hold_id, amount]
        for line in lines:
            keys += [budget_spent(line.scope, line.key), budget_held(line.scope, line.key)]
            args += [line.field, self.default(line), TTL_S[line.period]]
        verdict = await self._reserve(keys=keys, args=args)
        if int(verdict[0]) != 0:
            _, limit, spent, held = (int(float(v)) for v in verdict)
            raise OverBudget(lines[int(verdict[0]) - 1], limit, spent, held, amount)
        return Hold(hold_id, lines, amount)

    async def settle(self, hold: Hold, actual_usd: float) -> None:
        """Release the hold and book the real cost."""
        keys: list[str] = []
        for line in hold.lines:
            keys += [budget_spent(line.scope, line.key), budget_held(line.scope, line.key)]
        await self._settle(
            keys=keys, args=[hold.id, max(0, round(actual_usd * NANO)), *(TTL_S[line.period] for line in hold.lines)]
        )

    async def status(self, principal: str | None) -> list[dict[str, Any]]:
        """Limit, spent, held and remaining for each line (global only when principal is None)."""
        lines = [line for line in self.lines(principal or "-") if principal is not None or line.scope == GLOBAL]
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(BUDGET_LIMITS)
            for line in lines:
                pipe.get(budget_spent(line.scope, line.key))
                pipe.hgetall(budget_held(line.scope, line.key))
            raw = await pipe.execute()
        return self.read(lines, raw)

    def read(self, lines: list[Line], raw: list[Any]) -> list[dict[str, Any]]:
        limits = raw[0]
        now_ms = time.time() * 1000
        rows = []
        for i, line in enumerate(lines):
            spent = int(raw[1 + 2 * i] or 0)
            held = sum(
                int(amount)
                for amount, _, deadline in (v.partition(":") for v in raw[2 + 2 * i].values())
                if float(deadline) >= now_ms
            )
            limit = int(limits[line.field]) if line.field in limits else self.default(line)
            rows.append(
                {
                    "scope": GLOBAL if line.scope == GLOBAL else "principal",
                    "period": line.period,
                    "period_key": line.key[1:],
                    "limit_usd": None if limit < 0 else usd(limit),
                    "spent_usd": usd(spent),
                    "held_usd": usd(held),
                    "remaining_usd": None if limit < 0 else usd(max(0, limit - spent - held)),
                    "source": "set_budget" if line.field in limits else "settings",
                }
            )
        return rows

    async def set_limits(
        self, principal: str | None, daily_usd: float | None, monthly_usd: float | None, clear: list[Period]
    ) -> None:
        scope = GLOBAL if principal is None else f"p:{principal}"
        values = {f"{scope}:daily": daily_usd, f"{scope}:monthly": monthly_usd}
        async with self._redis.pipeline(transaction=True) as pipe:
            for field, value in values.items():
                if value is not None:
                    pipe.hset(BUDGET_LIMITS, field, nano(value))
            for period in clear:
                pipe.hdel(BUDGET_LIMITS, f"{scope}:{period}")
            await pipe.execute()
