"""STAND-IN for Pulumi Cloud's ESC REST API (not Pulumi Cloud): open an environment
(``POST /api/esc/environments/{org}/{project}/{env}/open``, answering a session id) and read the opened
session (``GET .../open/{id}``, answering resolved values wrapped as ``{"value", "secret"}``). Auth is
``Authorization: token <PULUMI_ACCESS_TOKEN>``."""

from __future__ import annotations

import secrets

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sophia.business.standins._base import Handler, Standin

ENV = "/api/esc/environments/{org}/{project}/{env}"


class EscStandin(Standin):
    system = "esc"

    def __init__(self, environment: str, variables: dict[str, str], token: str) -> None:
        super().__init__(token)
        self.environment = environment
        self.variables = variables
        self.sessions: set[str] = set()

    def authorised(self, request: Request) -> bool:
        return request.headers.get("authorization") == f"token {self.token}"

    def refused(self) -> Response:
        return JSONResponse(
            {"code": 401, "message": "Unauthorized: No credentials provided or are invalid."}, status_code=401
        )

    def routes(self) -> list[tuple[str, Handler, list[str]]]:
        return [(ENV + "/open", self.open, ["POST"]), (ENV + "/open/{session}", self.read, ["GET"])]

    def _known(self, request: Request) -> bool:
        p = request.path_params
        return f"{p['org']}/{p['project']}/{p['env']}" == self.environment

    async def open(self, request: Request) -> Response:
        if not self._known(request):
            return JSONResponse({"code": 404, "message": "Environment not found"}, status_code=404)
        session = secrets.token_hex(8)
        self.sessions.add(session)
        return JSONResponse({"id": session, "diagnostics": []})

    async def read(self, request: Request) -> Response:
        if not self._known(request) or request.path_params["session"] not in self.sessions:
            return JSONResponse({"code": 404, "message": "Open session not found"}, status_code=404)
        wrapped = {name: {"value": value, "secret": True} for name, value in self.variables.items()}
        return JSONResponse({"properties": {"environmentVariables": {"value": wrapped}}})
