"""The one HTTP layer every connector uses: timeouts, retries that honour rate limits, typed errors.

- 429 (any method: the system did not act on the call): wait `Retry-After` (seconds or an HTTP date) when
  sent, capped at `max_retry_after_s` (a longer wait fails at once, saying when to retry); without it,
  exponential backoff with jitter. Up to `max_retries` times.
- 5xx and transport failures: retried with backoff only for idempotent calls (reads); a write is not
  repeated, since the system may have acted on it.
- Usage headers (HubSpot's ``X-HubSpot-RateLimit-*``, Salesforce's ``Sforce-Limit-Info``) are kept per
  system for `health`.
- Every message meant for the caller is scrubbed of the credentials in play: nothing a system returns is
  trusted, and an error body may echo what it was sent.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

RETRYABLE_STATUS = frozenset({500, 502, 503, 504})
USAGE_HEADERS = (
    "x-hubspot-ratelimit-daily",
    "x-hubspot-ratelimit-daily-remaining",
    "x-hubspot-ratelimit-max",
    "x-hubspot-ratelimit-remaining",
    "x-hubspot-ratelimit-interval-milliseconds",
    "sforce-limit-info",
    "x-ratelimit-remaining",
)


class ConnectorError(Exception):
    """A connector call failed; the message is meant for the caller (and holds no secret). `status` is the
    system's HTTP status when it answered one."""

    kind = "error"

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class NotConfigured(ConnectorError):
    kind = "not_configured"


class AuthFailed(ConnectorError):
    kind = "auth"


class RateLimited(ConnectorError):
    kind = "rate_limited"


class Unavailable(ConnectorError):
    kind = "unavailable"


class BadResponse(ConnectorError):
    kind = "bad_response"


class Rejected(ConnectorError):
    """The system refused the request itself (400, 403, 404, 409, 422): retrying will not help."""

    kind = "rejected"


@dataclass(frozen=True)
class RetryPolicy:
    timeout_s: float = 20.0
    max_retries: int = 3
    max_retry_after_s: float = 30.0
    backoff_s: float = 0.5
    max_response_bytes: int = 8_000_000

    @classmethod
    def from_settings(cls, settings: Any) -> RetryPolicy:
        return cls(
            settings.timeout_s,
            settings.max_retries,
            settings.max_retry_after_s,
            settings.backoff_s,
            settings.max_response_bytes,
        )


@dataclass
class Stats:
    """What one system has answered lately, for `health` and the benchmark."""

    calls: int = 0
    retries: int = 0
    rate_limited: int = 0
    usage: dict[str, str] = field(default_factory=dict)


def retry_after_s(value: str | None, now: float | None = None) -> float | None:
    """Seconds a `Retry-After` header asks for (delta-seconds or an HTTP date); None when absent or garbled."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def scrub(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    return text


class Http:
    """Calls to one system over one pooled `httpx.AsyncClient` (built once per connector)."""

    def __init__(
        self,
        system: str,
        client: httpx.AsyncClient,
        policy: RetryPolicy,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.system = system
        self.client = client
        self.policy = policy
        self.stats = Stats()
        self._sleep = sleep

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str],
        secrets: list[str],
        idempotent: bool,
        params: dict[str, Any] | None = None,
        json: Any = None,
        data: dict[str, str] | None = None,
        explain: Callable[[httpx.Response, Any], str | None] | None = None,
    ) -> tuple[httpx.Response, Any]:
        """The response and its JSON body (None for an empty body); a typed ConnectorError otherwise.

        `explain` turns the system's own error body into a sentence (Slack's `error`, Notion's `message`).
        """
        policy = self.policy
        attempt = 0
        while True:
            attempt += 1
            self.stats.calls += 1
            try:
                response = await self.client.request(
                    method, url, headers=headers, params=params, json=json, data=data, timeout=policy.timeout_s
                )
            except httpx.TimeoutException:
                if idempotent and attempt <= policy.max_retries:
                    await self._backoff(attempt)
                    continue
                raise Unavailable(f"{self.system} did not answer within {policy.timeout_s:g}s") from None
            except httpx.HTTPError as exc:
                if idempotent and attempt <= policy.max_retries:
                    await self._backoff(attempt)
                    continue
                raise Unavailable(f"{self.system} is unreachable ({type(exc).__name__})") from None
            self._note_usage(response)
            status = response.status_code
            if status == 429 or (status == 503 and "retry-after" in response.headers):
                self.stats.rate_limited += status == 429
                wait = retry_after_s(response.headers.get("retry-after"))
                if wait is not None and wait > policy.max_retry_after_s:
                    raise RateLimited(f"{self.system} is rate limiting this service; retry after {wait:.0f}s")
                if status == 429 or idempotent:
                    if attempt <= policy.max_retries:
                        await self._backoff(attempt, wait)
                        continue
                    raise RateLimited(f"{self.system} is still rate limiting after {policy.max_retries} retries")
            if status in RETRYABLE_STATUS and idempotent and attempt <= policy.max_retries:
                await self._backoff(attempt)
                continue
            body = self._body(response, secrets)
            if status >= 400:
                detail = scrub((explain(response, body) if explain else None) or "", secrets)[:300]
                raise _error_for(self.system, status, detail)
            return response, body

    async def _backoff(self, attempt: int, wait: float | None = None) -> None:
        self.stats.retries += 1
        if wait is None:
            wait = min(self.policy.max_retry_after_s, self.policy.backoff_s * 2 ** (attempt - 1))
            wait *= random.uniform(0.5, 1.0)  # noqa: S311 (jitter, not security)
        await self._sleep(wait)

    def _note_usage(self, response: httpx.Response) -> None:
        for name in USAGE_HEADERS:
            value = response.headers.get(name)
            if value is not None:
                self.stats.usage[name] = value[:100]

    def _body(self, response: httpx.Response, secrets: list[str]) -> Any:
        if len(response.content) > self.policy.max_response_bytes:
            raise BadResponse(f"{self.system} answered more than {self.policy.max_response_bytes} bytes")
        if not response.content.strip():
            return None
        try:
            return response.json()
        except ValueError:
            if response.status_code >= 400:
                return None  # an error page in HTML: the status says enough
            raise BadResponse(f"{self.system} answered HTTP {response.status_code} with malformed JSON") from None


def _error_for(system: str, status: int, detail: str) -> ConnectorError:
    suffix = f": {detail}" if detail else ""
    if status == 401:
        return AuthFailed(f"{system} refused the credentials (401: expired, revoked or wrong){suffix}", status)
    if status == 403:
        return Rejected(f"{system} forbade the call (403){suffix}", status)
    if status == 404:
        return Rejected(f"{system} found no such item (404){suffix}", status)
    if status >= 500:
        return Unavailable(f"{system} failed (HTTP {status}){suffix}", status)
    return Rejected(f"{system} rejected the request (HTTP {status}){suffix}", status)


async def collect(
    fetch: Callable[[str | None], Awaitable[tuple[list[Any], str | None]]], max_items: int, max_pages: int
) -> tuple[list[Any], bool]:
    """Follow a cursor: `fetch(cursor)` answers one page and the next cursor (None at the end).

    Returns the items (at most `max_items`) and whether more were left unread.
    """
    items: list[Any] = []
    cursor: str | None = None
    seen: set[str] = set()
    for _ in range(max_pages):
        page, cursor = await fetch(cursor)
        items.extend(page)
        if len(items) >= max_items:
            return items[:max_items], len(items) > max_items or bool(cursor)
        if not cursor or cursor in seen:  # a cursor that repeats would loop forever: stop
            return items, False
        seen.add(cursor)
    return items, bool(cursor)
