"""STAND-IN for the Asana API (not Asana): users/me, workspaces, projects of a workspace (``archived``),
project and user typeahead, project tasks
with ``limit``/``offset`` and ``next_page``, workspace task search (``text``, ``assignee.any``,
``completed``), task create and update. Bodies wrapped in
``{"data": ...}``; errors as ``{"errors": [{"message"}]}``; 429 with ``Retry-After``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sophia.business.standins._base import Handler, Standin, cursor_of, json_body, offset_of


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse(
        {"errors": [{"message": message, "help": "See https://developers.asana.com/docs/errors"}]}, status_code=status
    )


class AsanaStandin(Standin):
    system = "asana"

    def __init__(self, data: Any, token: str, page_size: int = 2, premium: bool = True) -> None:
        super().__init__(token, page_size)
        self.data = data
        self.premium = premium
        self.next_gid = 5000

    def refused(self) -> Response:
        return _error(401, "Not Authorized")

    def routes(self) -> list[tuple[str, Handler, list[str]]]:
        return [
            ("/users/me", self.me, ["GET"]),
            ("/workspaces", self.workspaces, ["GET"]),
            ("/workspaces/{ws}/typeahead", self.typeahead, ["GET"]),
            ("/workspaces/{ws}/tasks/search", self.search, ["GET"]),
            ("/projects", self.projects, ["GET"]),
            ("/projects/{gid}/tasks", self.project_tasks, ["GET"]),
            ("/tasks", self.create, ["POST"]),
            ("/tasks/{gid}", self.update, ["PUT"]),
        ]

    async def me(self, request: Request) -> Response:
        return JSONResponse(
            {"data": {"gid": "1400", "name": "Dana Rivera (demo)", "email": "dana@sophia-demo.example"}}
        )

    async def workspaces(self, request: Request) -> Response:
        return JSONResponse({"data": self.data.asana_workspaces, "next_page": None})

    async def typeahead(self, request: Request) -> Response:
        query = request.query_params.get("query", "").lower()
        kind = request.query_params.get("resource_type")
        if kind not in ("project", "user"):
            return _error(400, "resource_type: Not a supported type: " + str(kind))
        pool = self.data.asana_projects if kind == "project" else self.data.asana_users
        found = [p for p in pool if query in p["name"].lower()]
        return JSONResponse({"data": found[: int(request.query_params.get("count", 20))]})

    async def search(self, request: Request) -> Response:
        if not self.premium:
            return _error(402, "Search is only available to premium users.")
        params = request.query_params
        text = params.get("text", "").lower()
        assignees = {a for a in params.get("assignee.any", "").split(",") if a}
        completed = params.get("completed")
        if completed not in (None, "true", "false"):
            return _error(400, "completed: Not a boolean: " + completed)
        found = [
            t
            for t in self.data.asana_tasks
            if text in f"{t['name']} {t['notes']}".lower()
            and (not assignees or (t.get("assignee") or {}).get("gid") in assignees)
            and (completed is None or t["completed"] is (completed == "true"))
        ]
        return JSONResponse({"data": found[: int(request.query_params.get("limit", 20))]})

    def _paged(self, items: list[Any], request: Request, path: str) -> Response:
        start = offset_of(request.query_params.get("offset"))
        if start < 0:
            return _error(400, "offset: Your pagination token is invalid.")
        size = min(self.page_size, int(request.query_params.get("limit", 100)))
        more = start + size < len(items)
        next_page = {"offset": cursor_of(start + size), "path": f"{path}?offset=...", "uri": "..."} if more else None
        return JSONResponse({"data": items[start : start + size], "next_page": next_page})

    async def projects(self, request: Request) -> Response:
        """``GET /projects``: Asana wants a workspace or team; ``archived`` filters when given."""
        workspace = request.query_params.get("workspace")
        if not workspace:
            return _error(400, "workspace: Must specify exactly one of project, tag, team, or workspace")
        if not any(w["gid"] == workspace for w in self.data.asana_workspaces):
            return _error(404, "workspace: Unknown object: " + workspace)
        archived = request.query_params.get("archived")
        if archived not in (None, "true", "false"):
            return _error(400, "archived: Not a boolean: " + archived)
        found = [
            p for p in self.data.asana_projects if archived is None or bool(p.get("archived")) is (archived == "true")
        ]
        return self._paged(found, request, "/projects")

    async def project_tasks(self, request: Request) -> Response:
        gid = request.path_params["gid"]
        if not any(p["gid"] == gid for p in self.data.asana_projects):
            return _error(404, "project: Unknown object: " + gid)
        tasks = [t for t in self.data.asana_tasks if any(p["gid"] == gid for p in t["projects"])]
        return self._paged(tasks, request, f"/projects/{gid}/tasks")

    async def create(self, request: Request) -> Response:
        data = (await json_body(request)).get("data") or {}
        if not data.get("name"):
            return _error(400, "name: Missing input")
        if not data.get("projects") and not data.get("workspace"):
            return _error(400, "workspace: Missing input")
        projects = [p for p in self.data.asana_projects if p["gid"] in (data.get("projects") or [])]
        self.next_gid += 1
        task = {
            "gid": str(self.next_gid),
            "resource_type": "task",
            "name": data["name"],
            "notes": data.get("notes", ""),
            "assignee": {"gid": "1400", "name": str(data.get("assignee"))} if data.get("assignee") else None,
            "due_on": data.get("due_on"),
            "completed": False,
            "permalink_url": f"https://app.asana.com/0/0/{self.next_gid}",
            "modified_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "projects": projects,
        }
        self.data.asana_tasks.append(task)
        return JSONResponse({"data": task}, status_code=201)

    async def update(self, request: Request) -> Response:
        task = next((t for t in self.data.asana_tasks if t["gid"] == request.path_params["gid"]), None)
        if task is None:
            return _error(404, "task: Unknown object: " + request.path_params["gid"])
        data = (await json_body(request)).get("data") or {}
        for key in ("name", "notes", "completed", "due_on"):
            if key in data:
                task[key] = data[key]
        if "assignee" in data:
            task["assignee"] = {"gid": "1400", "name": str(data["assignee"])}
        return JSONResponse({"data": task})
