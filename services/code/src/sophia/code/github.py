"""GitHub REST (api.github.com or GitHub Enterprise Server's /api/v3) for pull requests, over httpx.

Calls used: ``POST /repos/{owner}/{repo}/pulls`` (open), ``GET /repos/{owner}/{repo}/pulls/{n}``,
``GET .../pulls/{n}/reviews``, ``GET .../commits/{sha}/check-runs`` and ``GET .../commits/{sha}/status``
(status). The token travels only in the Authorization header and is never logged or echoed.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from pydantic import SecretStr

NOT_CONFIGURED = "GitHub is not configured (set SOPHIA_CODE_GITHUB_TOKEN, and SOPHIA_CODE_GITHUB_URL for Enterprise)"
API_VERSION = "2022-11-28"


class GitHubError(Exception):
    """A GitHub call failed; the message is meant for the caller."""


class GitHub:
    def __init__(self, base_url: str, token: SecretStr | None, client: httpx.AsyncClient, timeout_s: float) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._client = client
        self._timeout = timeout_s

    @property
    def configured(self) -> bool:
        return self._token is not None

    async def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        if self._token is None:
            raise GitHubError(NOT_CONFIGURED)
        headers = {
            "accept": "application/vnd.github+json",
            "authorization": f"Bearer {self._token.get_secret_value()}",
            "x-github-api-version": API_VERSION,
            "user-agent": "sophia-code",
        }
        try:
            response = await self._client.request(
                method, f"{self.base_url}{path}", json=body, headers=headers, timeout=self._timeout
            )
        except httpx.TimeoutException as exc:
            raise GitHubError(f"GitHub did not answer within {self._timeout:g}s") from exc
        except httpx.HTTPError as exc:
            raise GitHubError(f"GitHub is unreachable at {self.base_url} ({type(exc).__name__})") from exc
        if response.status_code >= 400:
            raise GitHubError(_explain(response))
        try:
            return response.json()
        except ValueError as exc:
            raise GitHubError(f"GitHub answered HTTP {response.status_code} without JSON") from exc

    async def open_pull(self, slug: str, head: str, base: str, title: str, body: str, draft: bool) -> dict[str, Any]:
        data = await self._call(
            "POST", f"/repos/{slug}/pulls", {"title": title, "head": head, "base": base, "body": body, "draft": draft}
        )
        return {
            "number": data.get("number"),
            "url": data.get("html_url"),
            "state": data.get("state"),
            "draft": data.get("draft", draft),
            "head": _ref(data.get("head")),
            "base": _ref(data.get("base")),
        }

    async def pull_status(self, slug: str, number: int) -> dict[str, Any]:
        pull = await self._call("GET", f"/repos/{slug}/pulls/{number}")
        sha = (pull.get("head") or {}).get("sha")
        reviews, runs, combined = await asyncio.gather(
            self._call("GET", f"/repos/{slug}/pulls/{number}/reviews?per_page=100"),
            self._call("GET", f"/repos/{slug}/commits/{sha}/check-runs?per_page=100"),
            self._call("GET", f"/repos/{slug}/commits/{sha}/status"),
        )
        checks = [
            {"name": run.get("name"), "status": run.get("status"), "conclusion": run.get("conclusion")}
            for run in (runs or {}).get("check_runs", [])
        ]
        checks += [
            {"name": status.get("context"), "status": "completed", "conclusion": status.get("state")}
            for status in (combined or {}).get("statuses", [])
        ]
        latest: dict[str, str] = {}
        for review in reviews or []:
            user = (review.get("user") or {}).get("login")
            state = review.get("state")
            if user and state in ("APPROVED", "CHANGES_REQUESTED", "DISMISSED"):
                latest[user] = state  # reviews come oldest first: the last one counts
        return {
            "number": pull.get("number"),
            "title": pull.get("title"),
            "url": pull.get("html_url"),
            "state": "merged" if pull.get("merged") else pull.get("state"),
            "draft": pull.get("draft"),
            "head": _ref(pull.get("head")),
            "base": _ref(pull.get("base")),
            "head_sha": sha,
            "mergeable": pull.get("mergeable"),
            "mergeable_state": pull.get("mergeable_state"),
            "checks": checks,
            "checks_summary": _summary(checks),
            "approved_by": sorted(u for u, s in latest.items() if s == "APPROVED"),
            "changes_requested_by": sorted(u for u, s in latest.items() if s == "CHANGES_REQUESTED"),
        }


def _ref(side: Any) -> str | None:
    return side.get("ref") if isinstance(side, dict) else None


def _summary(checks: list[dict[str, Any]]) -> dict[str, int]:
    counts = {"passed": 0, "failed": 0, "pending": 0, "other": 0}
    for check in checks:
        conclusion = check.get("conclusion")
        if check.get("status") != "completed" or conclusion in (None, "pending"):
            counts["pending"] += 1
        elif conclusion in ("success", "neutral", "skipped"):
            counts["passed"] += 1
        elif conclusion in ("failure", "error", "timed_out", "cancelled", "action_required"):
            counts["failed"] += 1
        else:
            counts["other"] += 1
    return counts


def _explain(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        data = {}
    message = str(data.get("message", "")) if isinstance(data, dict) else ""
    details = []
    for error in data.get("errors", []) if isinstance(data, dict) else []:
        if isinstance(error, dict):
            details.append(str(error.get("message") or f"{error.get('field')} {error.get('code')}"))
    detail = "; ".join(filter(None, [message, *details]))[:500]
    status = response.status_code
    if status == 401:
        return f"GitHub refused the token (401): {detail or 'bad credentials'}"
    if status == 403:
        return f"GitHub forbade the call (403): {detail or 'the token lacks permission or hit a rate limit'}"
    if status == 404:
        return "GitHub found no such repository or pull request (404), or the token cannot see it"
    if status == 422:
        return f"GitHub rejected the request (422): {detail or 'validation failed'}"
    return f"GitHub answered HTTP {status}: {detail or response.reason_phrase}"
