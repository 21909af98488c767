"""Asana API (https://app.asana.com/api/1.0): list projects, list and search tasks, create and update tasks.

Auth: ``Authorization: Bearer <ASANA_ACCESS_TOKEN>``. Bodies are wrapped in ``{"data": ...}``; lists
paginate with ``limit`` and ``offset`` from ``next_page.offset``. Project names resolve through the
workspace typeahead; text search is ``GET /workspaces/{gid}/tasks/search`` (Asana answers 402 on plans
without it). Asana answers 429 with ``Retry-After``; errors are ``{"errors": [{"message"}]}``.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import httpx

from sophia.business.connectors.base import Connector, Hit, Terms, clip, dicts, obj, require_dict
from sophia.business.http import Rejected, collect

GID = re.compile(r"^\d{1,30}$")
PROJECT_FIELDS = "name,archived,team.name,owner.name,permalink_url"
TASK_FIELDS = "name,notes,assignee.name,assignee.email,due_on,completed,permalink_url,modified_at,projects.name"


class Asana(Connector):
    name = "asana"
    title = "Asana"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._workspace: str | None = self.settings.asana_workspace

    async def _call(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, data: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        (token,) = await self.require("ASANA_ACCESS_TOKEN")
        headers = {"authorization": f"Bearer {token}", "accept": "application/json"}
        _, body = await self.http.request(
            method,
            f"{self.settings.asana_url.rstrip('/')}{path}",
            headers=headers,
            params=params,
            json={"data": data} if data is not None else None,
            secrets=await self.secrets(),
            idempotent=method == "GET",
            explain=_explain,
        )
        return require_dict(body, "Asana", path)

    async def ping(self) -> None:
        await self._call("GET", "/users/me")

    async def workspace(self) -> str:
        if self._workspace is None:
            found = dicts((await self._call("GET", "/workspaces", params={"limit": 10})).get("data"))
            if not found:
                raise Rejected("Asana shows this token no workspace")
            self._workspace = str(found[0].get("gid"))
        return self._workspace

    async def projects(self, query: str | None, limit: int, archived: bool = False) -> dict[str, Any]:
        """The workspace's projects (``GET /projects?workspace=``, paged by ``offset``), the archived ones
        only when asked; optionally only those whose name holds `query`."""
        workspace = await self.workspace()

        async def page(offset: str | None) -> tuple[list[Any], str | None]:
            params: dict[str, Any] = {
                "workspace": workspace,
                "archived": "true" if archived else "false",
                "opt_fields": PROJECT_FIELDS,
                "limit": 100,
            }
            if offset:
                params["offset"] = offset
            data = await self._call("GET", "/projects", params=params)
            return dicts(data.get("data")), _next_offset(data)

        wanted = limit if not query else 100 * self.settings.max_pages
        projects, more = await collect(page, wanted, self.settings.max_pages)
        if query:
            lowered = query.lower()
            projects = [p for p in projects if lowered in str(p.get("name", "")).lower()]
        return {"projects": [self._project(p) for p in projects[:limit]], "more": more or len(projects) > limit}

    def _project(self, project: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": clip(project.get("gid"), 40),
            "name": clip(project.get("name"), 200),
            "archived": project.get("archived") is True,
            "team": clip(obj(project.get("team")).get("name"), 200) or None,
            "owner": clip(obj(project.get("owner")).get("name"), 120) or None,
            "url": clip(project.get("permalink_url"), 500) or None,
        }

    async def project_gid(self, project: str) -> str:
        project = project.strip()
        if GID.match(project):
            return project
        data = await self._call(
            "GET",
            f"/workspaces/{await self.workspace()}/typeahead",
            params={"resource_type": "project", "query": project[:100], "count": 10},
        )
        found = dicts(data.get("data"))
        exact = [p for p in found if str(p.get("name", "")).lower() == project.lower()]
        if not (exact or found):
            raise Rejected(f"Asana has no project named {clip(project, 100)!r}")
        return str((exact or found)[0].get("gid"))

    async def user_gid(self, person: str) -> str:
        """A user identifier Asana accepts: a gid or an email as given, 'me' as the token's user, a name
        through the workspace typeahead."""
        person = person.strip()
        if person.lower() == "me":
            return clip(obj((await self._call("GET", "/users/me")).get("data")).get("gid"), 40)
        if GID.match(person) or "@" in person:
            return person
        found = await self._users(person)
        if not found:
            raise Rejected(f"Asana has no member named {clip(person, 100)!r}")
        return found[0]

    async def _users(self, name: str) -> list[str]:
        data = await self._call(
            "GET",
            f"/workspaces/{await self.workspace()}/typeahead",
            params={"resource_type": "user", "query": name[:100], "count": 10},
        )
        return [str(u.get("gid")) for u in dicts(data.get("data")) if u.get("gid")]

    async def tasks(
        self,
        project: str | None,
        query: str | None,
        limit: int,
        assignee: str | None = None,
        completed: bool | None = None,
    ) -> dict[str, Any]:
        if project is None:
            return await self._search(query, assignee, completed, limit)
        gid = await self.project_gid(project)

        async def page(offset: str | None) -> tuple[list[Any], str | None]:
            params: dict[str, Any] = {"opt_fields": TASK_FIELDS, "limit": 100}
            if offset:
                params["offset"] = offset
            data = await self._call("GET", f"/projects/{gid}/tasks", params=params)
            return dicts(data.get("data")), _next_offset(data)

        tasks, more = await collect(page, 100 * self.settings.max_pages, self.settings.max_pages)
        shaped = [self._task(t) for t in tasks]
        if query:
            lowered = query.lower()
            shaped = [t for t in shaped if lowered in f"{t['name']} {t['notes']}".lower()]
        if assignee:
            user = await self.user_gid(assignee)
            shaped = [t for t in shaped if user in (t["assignee_id"], t["assignee_email"])]
        if completed is not None:
            shaped = [t for t in shaped if t["completed"] is completed]
        return {"tasks": shaped[:limit], "more": more or len(shaped) > limit}

    async def _search(
        self, query: str | None, assignee: str | None, completed: bool | None, limit: int
    ) -> dict[str, Any]:
        """The workspace's task search. Without any filter it lists the open tasks (everything ever done
        is rarely what a listing means); a text that matches no task but names a member lists that
        member's tasks, as Asana's own search box does ("which tasks does Dana have")."""
        params: dict[str, Any] = {"opt_fields": TASK_FIELDS, "limit": min(100, limit)}
        if assignee:
            params["assignee.any"] = await self.user_gid(assignee)
        if completed is not None or not (query or assignee):
            params["completed"] = "true" if completed else "false"
        path = f"/workspaces/{await self.workspace()}/tasks/search"
        text = {"text": query[:200]} if query else {}
        tasks = dicts((await self._call("GET", path, params={**params, **text})).get("data"))
        if not tasks and query and not assignee:
            members = await self._users(query)
            if members:
                params["assignee.any"] = ",".join(members[:10])
                tasks = dicts((await self._call("GET", path, params=params)).get("data"))
        return {"tasks": [self._task(t) for t in tasks[:limit]], "more": len(tasks) > limit}

    async def create(
        self, title: str, notes: str, project: str | None, assignee: str | None, due_on: date | None
    ) -> dict[str, Any]:
        data: dict[str, Any] = {"name": title, "notes": notes}
        if project:
            data["projects"] = [await self.project_gid(project)]
        else:
            data["workspace"] = await self.workspace()
            data.setdefault("assignee", "me")  # a task outside any project lands in someone's My Tasks
        if assignee:
            data["assignee"] = assignee
        if due_on:
            data["due_on"] = due_on.isoformat()
        created = await self._call("POST", "/tasks", data=data, params={"opt_fields": TASK_FIELDS})
        return self._task(require_dict(created.get("data"), "Asana", "the new task"))

    async def update(self, task_gid: str, changes: dict[str, Any]) -> dict[str, Any]:
        if not GID.match(task_gid):
            raise Rejected("an Asana task id is its numeric gid")
        if not changes:
            raise Rejected("nothing to change: give at least one field")
        updated = await self._call("PUT", f"/tasks/{task_gid}", data=changes, params={"opt_fields": TASK_FIELDS})
        return self._task(require_dict(updated.get("data"), "Asana", "the task"))

    async def search(self, terms: Terms, limit: int) -> list[Hit]:
        found = await self.tasks(None, terms.focus, limit)
        return [
            Hit("asana", "task", t["id"], t["name"], t["notes"][:300], t["url"], t["modified"]) for t in found["tasks"]
        ]

    def _task(self, task: dict[str, Any]) -> dict[str, Any]:
        assignee = obj(task.get("assignee"))
        return {
            "id": clip(task.get("gid"), 40),
            "name": clip(task.get("name"), 500),
            "notes": self.text(task.get("notes")),
            "assignee": clip(assignee.get("name"), 120) or None,
            "assignee_id": clip(assignee.get("gid"), 40) or None,
            "assignee_email": clip(assignee.get("email"), 200) or None,
            "due_on": clip(task.get("due_on"), 20) or None,
            "completed": task.get("completed") is True,
            "url": clip(task.get("permalink_url"), 500) or None,
            "modified": clip(task.get("modified_at"), 40) or None,
            "projects": [clip(p.get("name"), 200) for p in dicts(task.get("projects"))[:10]],
        }


def _next_offset(data: dict[str, Any]) -> str | None:
    offset = obj(data.get("next_page")).get("offset")
    return offset if isinstance(offset, str) and offset else None


def _explain(response: httpx.Response, body: Any) -> str | None:
    if response.status_code == 402:
        return "task search needs a paid Asana plan; name a project instead"
    errors = dicts(body.get("errors")) if isinstance(body, dict) else []
    return "; ".join(clip(e.get("message"), 200) for e in errors[:3]) or None
