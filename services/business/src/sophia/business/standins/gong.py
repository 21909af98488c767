"""STAND-IN for the Gong API v2 (not Gong): users, calls/extensive, calls/transcript with Basic auth,
``records.cursor`` pagination, 404 ``No calls found`` for an empty period, 429 with ``Retry-After``."""

from __future__ import annotations

import base64
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sophia.business.standins._base import Handler, Standin, cursor_of, json_body, offset_of
from sophia.business.standins.data import Dataset


class GongStandin(Standin):
    system = "gong"

    def __init__(self, data: Dataset, key: str, secret: str, page_size: int = 2) -> None:
        super().__init__(base64.b64encode(f"{key}:{secret}".encode()).decode(), page_size)
        self.data = data

    def authorised(self, request: Request) -> bool:
        return request.headers.get("authorization") == f"Basic {self.token}"

    def refused(self) -> Response:
        return JSONResponse({"requestId": "demo", "errors": ["Invalid access key or secret"]}, status_code=401)

    def routes(self) -> list[tuple[str, Handler, list[str]]]:
        return [
            ("/v2/users", self.users, ["GET"]),
            ("/v2/calls/extensive", self.extensive, ["POST"]),
            ("/v2/calls/transcript", self.transcript, ["POST"]),
        ]

    def _records(self, total: int, start: int, size: int) -> dict[str, Any]:
        records: dict[str, Any] = {
            "totalRecords": total,
            "currentPageSize": size,
            "currentPageNumber": start // self.page_size,
        }
        if start + self.page_size < total:
            records["cursor"] = cursor_of(start + self.page_size)
        return records

    async def users(self, request: Request) -> Response:
        users = [{"id": "900", "emailAddress": "dana@sophia-demo.example", "firstName": "Dana", "lastName": "Rivera"}]
        return JSONResponse({"requestId": "demo", "records": self._records(1, 0, 1), "users": users})

    async def extensive(self, request: Request) -> Response:
        body = await json_body(request)
        wanted = body.get("filter") if isinstance(body.get("filter"), dict) else {}
        calls = self.data.gong_calls
        if wanted.get("callIds"):
            calls = [c for c in calls if c["metaData"]["id"] in wanted["callIds"]]
        else:
            start_at, end_at = wanted.get("fromDateTime", ""), wanted.get("toDateTime", "9999")
            calls = [c for c in calls if start_at <= c["metaData"]["started"] < end_at]
        if not calls:
            return JSONResponse(
                {"requestId": "demo", "errors": ["No calls found corresponding to the provided filters"]},
                status_code=404,
            )
        start = offset_of(body.get("cursor"))
        if start < 0:
            return JSONResponse({"requestId": "demo", "errors": ["cursor is invalid"]}, status_code=400)
        page = calls[start : start + self.page_size]
        return JSONResponse(
            {"requestId": "demo", "records": self._records(len(calls), start, len(page)), "calls": page}
        )

    async def transcript(self, request: Request) -> Response:
        body = await json_body(request)
        ids = (body.get("filter") or {}).get("callIds") or []
        found = [
            {"callId": i, "transcript": self.data.gong_transcripts[i]} for i in ids if i in self.data.gong_transcripts
        ]
        if not found:
            return JSONResponse(
                {"requestId": "demo", "errors": ["No calls found corresponding to the provided filters"]},
                status_code=404,
            )
        return JSONResponse(
            {"requestId": "demo", "records": self._records(len(found), 0, len(found)), "callTranscripts": found}
        )
