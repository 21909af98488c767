"""TEST STAND-IN for the GitHub REST API (the pull request calls the code service makes), not GitHub.

GitHub cannot be reached from here, so this Starlette app answers the same routes in GitHub's shapes,
mounted under ``/api/v3`` as GitHub Enterprise Server serves them (which also proves the base URL is
configurable): create a pull request, get one, its reviews, and a commit's check runs and combined
status. It checks the bearer token, answers 422 for a head branch the bare remote does not have or a
duplicate pull request (GitHub's validation errors), and records every request for assertions.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

TOKEN = "ghp_test_token_not_a_secret"


@dataclass
class GitHubStandin:
    """State of the stand-in: repositories (owner/name → bare remote), pull requests, checks, reviews."""

    remotes: dict[str, Path]
    pulls: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)
    check_runs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    statuses: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    reviews: dict[tuple[str, int], list[dict[str, Any]]] = field(default_factory=dict)
    requests: list[tuple[str, str, dict[str, Any] | None]] = field(default_factory=list)

    def app(self) -> Starlette:
        api = [
            Route("/repos/{owner}/{name}/pulls", self.create, methods=["POST"]),
            Route("/repos/{owner}/{name}/pulls/{number:int}", self.get_pull, methods=["GET"]),
            Route("/repos/{owner}/{name}/pulls/{number:int}/reviews", self.get_reviews, methods=["GET"]),
            Route("/repos/{owner}/{name}/commits/{sha}/check-runs", self.get_checks, methods=["GET"]),
            Route("/repos/{owner}/{name}/commits/{sha}/status", self.get_status, methods=["GET"]),
        ]
        return Starlette(routes=[Mount("/api/v3", routes=api)])

    async def _authorised(self, request: Request) -> tuple[str, dict[str, Any] | None] | JSONResponse:
        body = await request.json() if request.method == "POST" else None
        self.requests.append((request.method, request.url.path, body))
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return JSONResponse({"message": "Bad credentials"}, status_code=401)
        slug = f"{request.path_params['owner']}/{request.path_params['name']}"
        if slug not in self.remotes:
            return JSONResponse({"message": "Not Found"}, status_code=404)
        return slug, body

    def _branch_sha(self, slug: str, branch: str) -> str | None:
        result = subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"],
            cwd=self.remotes[slug],
            capture_output=True,
            check=False,
        )
        return result.stdout.decode().strip() if result.returncode == 0 else None

    async def create(self, request: Request) -> JSONResponse:
        checked = await self._authorised(request)
        if isinstance(checked, JSONResponse):
            return checked
        slug, body = checked
        assert body is not None
        if not body.get("title"):
            return _invalid("title", "missing_field")
        head_sha = self._branch_sha(slug, body["head"])
        if head_sha is None:
            return _invalid("head", "invalid")
        if self._branch_sha(slug, body["base"]) is None:
            return _invalid("base", "invalid")
        for (other, _), pull in self.pulls.items():
            if other == slug and pull["head"]["ref"] == body["head"] and pull["state"] == "open":
                owner = slug.split("/")[0]
                return JSONResponse(
                    {
                        "message": "Validation Failed",
                        "errors": [
                            {
                                "resource": "PullRequest",
                                "code": "custom",
                                "message": f"A pull request already exists for {owner}:{body['head']}.",
                            }
                        ],
                    },
                    status_code=422,
                )
        number = len(self.pulls) + 1
        pull = {
            "number": number,
            "html_url": f"https://github.example.com/{slug}/pull/{number}",
            "state": "open",
            "title": body["title"],
            "body": body.get("body"),
            "draft": bool(body.get("draft")),
            "merged": False,
            "mergeable": True,
            "mergeable_state": "clean",
            "head": {"ref": body["head"], "sha": head_sha},
            "base": {"ref": body["base"]},
        }
        self.pulls[(slug, number)] = pull
        return JSONResponse(pull, status_code=201)

    async def get_pull(self, request: Request) -> JSONResponse:
        checked = await self._authorised(request)
        if isinstance(checked, JSONResponse):
            return checked
        pull = self.pulls.get((checked[0], request.path_params["number"]))
        if pull is None:
            return JSONResponse({"message": "Not Found"}, status_code=404)
        return JSONResponse(pull)

    async def get_reviews(self, request: Request) -> JSONResponse:
        checked = await self._authorised(request)
        if isinstance(checked, JSONResponse):
            return checked
        return JSONResponse(self.reviews.get((checked[0], request.path_params["number"]), []))

    async def get_checks(self, request: Request) -> JSONResponse:
        checked = await self._authorised(request)
        if isinstance(checked, JSONResponse):
            return checked
        runs = self.check_runs.get(request.path_params["sha"], [])
        return JSONResponse({"total_count": len(runs), "check_runs": runs})

    async def get_status(self, request: Request) -> JSONResponse:
        checked = await self._authorised(request)
        if isinstance(checked, JSONResponse):
            return checked
        statuses = self.statuses.get(request.path_params["sha"], [])
        state = "success" if all(s["state"] == "success" for s in statuses) else "failure"
        return JSONResponse({"state": state if statuses else "pending", "statuses": statuses})


def _invalid(field_name: str, code: str) -> JSONResponse:
    return JSONResponse(
        {"message": "Validation Failed", "errors": [{"resource": "PullRequest", "field": field_name, "code": code}]},
        status_code=422,
    )
