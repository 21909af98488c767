"""STAND-IN for HubSpot's CRM v3 API (not HubSpot): object search with ``query``/``filterGroups``/``after``,
``paging.next.after`` pages, deal pipelines, ``X-HubSpot-RateLimit-*`` usage headers on every answer, and
429 ``RATE_LIMIT`` errors as HubSpot words them."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sophia.business.standins._base import Handler, Standin, json_body
from sophia.business.standins.data import Dataset

DAILY = 250_000


class HubSpotStandin(Standin):
    system = "hubspot"

    def __init__(self, data: Dataset, token: str, page_size: int = 2) -> None:
        super().__init__(token, page_size)
        self.data = data
        self.used = 0

    def refused(self) -> Response:
        return JSONResponse(
            {
                "status": "error",
                "message": "Authentication credentials not found.",
                "category": "INVALID_AUTHENTICATION",
            },
            status_code=401,
        )

    def expired(self) -> Response:
        return JSONResponse(
            {
                "status": "error",
                "message": "The OAuth token used to make this call expired.",
                "category": "EXPIRED_AUTHENTICATION",
            },
            status_code=401,
        )

    def rate_limited(self, retry_after: str | None) -> Response:
        headers = {"retry-after": retry_after} if retry_after is not None else {}
        return JSONResponse(
            {
                "status": "error",
                "message": "You have reached your secondly limit.",
                "errorType": "RATE_LIMIT",
                "policyName": "SECONDLY",
            },
            status_code=429,
            headers=headers,
        )

    def decorate(self, response: Response) -> Response:
        self.used += 1
        response.headers["x-hubspot-ratelimit-daily"] = str(DAILY)
        response.headers["x-hubspot-ratelimit-daily-remaining"] = str(DAILY - self.used)
        response.headers["x-hubspot-ratelimit-max"] = "190"
        response.headers["x-hubspot-ratelimit-remaining"] = "189"
        response.headers["x-hubspot-ratelimit-interval-milliseconds"] = "10000"
        return response

    def routes(self) -> list[tuple[str, Handler, list[str]]]:
        return [
            ("/crm/v3/objects/{kind}", self.list_objects, ["GET"]),
            ("/crm/v3/objects/{kind}/search", self.search, ["POST"]),
            ("/crm/v3/pipelines/deals", self.pipelines, ["GET"]),
        ]

    async def list_objects(self, request: Request) -> Response:
        items = self.data.hubspot_objects.get(request.path_params["kind"], [])
        return JSONResponse({"results": items[: int(request.query_params.get("limit", 10))]})

    async def pipelines(self, request: Request) -> Response:
        return JSONResponse({"results": self.data.hubspot_pipelines})

    async def search(self, request: Request) -> Response:
        kind = request.path_params["kind"]
        if kind not in self.data.hubspot_objects:
            return JSONResponse(
                {"status": "error", "message": f"Unable to infer object type from: {kind}"}, status_code=400
            )
        body = await json_body(request)
        items = self.data.hubspot_objects[kind]
        query = str(body.get("query") or "").lower()
        if query:
            items = [i for i in items if any(query in str(v).lower() for v in i["properties"].values())]
        for group in body.get("filterGroups") or []:
            for rule in group.get("filters") or []:
                items = [i for i in items if _matches(i["properties"].get(rule.get("propertyName")), rule)]
        start = int(body.get("after") or 0)
        size = min(self.page_size, int(body.get("limit") or 10))
        page = items[start : start + size]
        wanted = body.get("properties") or []
        results = [
            {**i, "properties": {k: v for k, v in i["properties"].items() if not wanted or k in wanted}} for i in page
        ]
        answer: dict[str, Any] = {"total": len(items), "results": results}
        if start + size < len(items):
            answer["paging"] = {"next": {"after": str(start + size), "link": "?after=" + str(start + size)}}
        return JSONResponse(answer)


def _matches(value: Any, rule: dict[str, Any]) -> bool:
    operator = rule.get("operator")
    if operator == "IN":
        return value in (rule.get("values") or [])
    if operator == "EQ":
        return str(value) == str(rule.get("value"))
    return True
