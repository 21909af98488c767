"""STAND-IN for the Salesforce REST API (not Salesforce): OAuth client credentials token, limits, SOQL
query with ``nextRecordsUrl`` pages, Opportunity read and PATCH. Answers ``Sforce-Limit-Info`` on every
call and errors as a list of ``{message, errorCode}`` (401 ``INVALID_SESSION_ID`` for an expired token).

Its SOQL is a small subset, enough for what the connector and the tests send: ``SELECT fields FROM
Opportunity`` with ``Name``/``Account.Name`` ``LIKE`` patterns (OR'ed), ``StageName = '...'``, ``LIMIT``.
"""

from __future__ import annotations

import re
import secrets
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sophia.business.standins._base import Handler, Standin
from sophia.business.standins.data import Dataset

VERSION = "/services/data/{version}"
LIKE = re.compile(r"(Name|Account\.Name)\s+LIKE\s+'((?:\\.|[^'\\])*)'", re.I)
EQUALS = re.compile(r"StageName\s*=\s*'((?:\\.|[^'\\])*)'", re.I)


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


class SalesforceStandin(Standin):
    system = "salesforce"

    def __init__(
        self,
        data: Dataset,
        token: str,
        client_id: str | None = None,
        client_secret: str | None = None,
        page_size: int = 2,
    ) -> None:
        super().__init__(token, page_size)
        self.data = data
        self.client = (client_id, client_secret)
        self.issued: set[str] = set()
        self.used = 0

    def authorised(self, request: Request) -> bool:
        if request.url.path.endswith("/oauth2/token"):
            return True
        presented = request.headers.get("authorization", "").removeprefix("Bearer ")
        return presented == self.token or presented in self.issued

    def refused(self) -> Response:
        return JSONResponse(
            [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}], status_code=401
        )

    def expire_tokens(self) -> None:
        """Every issued token stops working, as when a session times out."""
        self.issued.clear()

    def decorate(self, response: Response) -> Response:
        self.used += 1
        response.headers["sforce-limit-info"] = f"api-usage={self.used}/15000"
        return response

    def routes(self) -> list[tuple[str, Handler, list[str]]]:
        return [
            ("/services/oauth2/token", self.token_request, ["POST"]),
            (VERSION + "/limits", self.limits, ["GET"]),
            (VERSION + "/query", self.query, ["GET"]),
            (VERSION + "/query/{locator}", self.more, ["GET"]),
            (VERSION + "/sobjects/Opportunity/{id}", self.opportunity, ["GET", "PATCH"]),
        ]

    async def token_request(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        if (
            form.get("grant_type") != "client_credentials"
            or (form.get("client_id"), form.get("client_secret")) != self.client
        ):
            return JSONResponse(
                {"error": "invalid_client", "error_description": "invalid client credentials"}, status_code=400
            )
        token = "00Dissued!" + secrets.token_hex(16)
        self.issued.add(token)
        return JSONResponse(
            {
                "access_token": token,
                "instance_url": str(request.base_url).rstrip("/"),
                "token_type": "Bearer",
                "issued_at": "0",
                "signature": "demo",
            }
        )

    async def limits(self, request: Request) -> Response:
        return JSONResponse({"DailyApiRequests": {"Max": 15000, "Remaining": 15000 - self.used}})

    def _pages(self, records: list[dict[str, Any]], start: int, version: str) -> Response:
        page = records[start : start + self.page_size]
        answer: dict[str, Any] = {
            "totalSize": len(records),
            "done": start + self.page_size >= len(records),
            "records": page,
        }
        if not answer["done"]:
            answer["nextRecordsUrl"] = f"/services/data/{version}/query/01gDEMO-{start + self.page_size}"
        return JSONResponse(answer)

    def _select(self, soql: str) -> list[dict[str, Any]] | Response:
        match = re.match(r"(?is)^\s*select\s+(.+?)\s+from\s+(\w+)(.*)$", soql)
        if match is None or match.group(2).lower() != "opportunity":
            return JSONResponse([{"message": "unexpected token", "errorCode": "MALFORMED_QUERY"}], status_code=400)
        rest = match.group(3)
        records = self.data.salesforce_opportunities
        likes = [(field, _unescape(pattern).strip("%").lower()) for field, pattern in LIKE.findall(rest)]
        if likes:
            records = [r for r in records if any(needle in _field(r, field).lower() for field, needle in likes)]
        for stage in EQUALS.findall(rest):
            records = [r for r in records if r["StageName"] == _unescape(stage)]
        limit = re.search(r"(?i)\blimit\s+(\d+)", rest)
        return records[: int(limit.group(1))] if limit else records

    async def query(self, request: Request) -> Response:
        selected = self._select(request.query_params.get("q", ""))
        if isinstance(selected, Response):
            return selected
        self._last = selected
        return self._pages(selected, 0, request.path_params["version"])

    async def more(self, request: Request) -> Response:
        start = int(request.path_params["locator"].rsplit("-", 1)[-1])
        return self._pages(getattr(self, "_last", []), start, request.path_params["version"])

    async def opportunity(self, request: Request) -> Response:
        found = next((r for r in self.data.salesforce_opportunities if r["Id"] == request.path_params["id"]), None)
        if found is None:
            return JSONResponse(
                [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}], status_code=404
            )
        if request.method == "PATCH":
            changes = await request.json()
            unknown = [k for k in changes if k not in found]
            if unknown:
                return JSONResponse(
                    [{"message": f"No such column '{unknown[0]}'", "errorCode": "INVALID_FIELD"}], status_code=400
                )
            found.update(changes)
            return Response(status_code=204)
        return JSONResponse({k: v for k, v in found.items() if k not in ("Account", "Owner")})


def _field(record: dict[str, Any], field: str) -> str:
    if field.lower() == "account.name":
        return str(record.get("Account", {}).get("Name", ""))
    return str(record.get("Name", ""))
