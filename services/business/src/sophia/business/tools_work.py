"""Notion and Asana tools: find and read pages, write pages; list projects; list, create and update tasks."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import Field

from sophia.business.connectors.base import search_text
from sophia.business.service import Filter, Fleet, Limit, Query, Systems, answers, audit, service
from sophia.kit import Risk

PageId = Annotated[str, Field(min_length=32, max_length=36, description="Notion page id.")]
TaskId = Annotated[str, Field(pattern=r"^\d{1,30}$", description="Asana task gid.")]
Project = Annotated[str | None, Field(max_length=200, description="Asana project name or gid.")]
Assignee = Annotated[str | None, Field(max_length=200, description="Email or gid of the assignee, or 'me'.")]
Member = Annotated[
    str | None, Field(max_length=200, description="Whose tasks: a member's name, email or gid, or 'me'.")
]
DueOn = Annotated[date | None, Field(description="Due date (YYYY-MM-DD).")]


@service.tool(read_only=True, tags={"business", "notion", "docs"}, produces=["text", "pages"])
@answers
async def notion_search(query: Query, limit: Limit = 20, fleet: Fleet = Systems) -> dict[str, Any]:
    """Search Notion pages and databases by title, most recently edited first."""
    return {**await fleet.notion.search_pages(search_text(query) or query, limit), "untrusted": True}


@service.tool(read_only=True, tags={"business", "notion", "docs"}, produces=["text", "page"])
@answers
async def notion_read_page(
    page_id: PageId,
    max_chars: Annotated[int, Field(ge=200, le=200_000, description="Longest text returned.")] = 20_000,
    fleet: Fleet = Systems,
) -> dict[str, Any]:
    """Read a Notion page as plain text (headings, lists, to-dos, quotes, code; nested blocks indented)."""
    return {**await fleet.notion.read_page(page_id, max_chars), "untrusted": True}


@service.tool(risk=Risk.MEDIUM, tags={"business", "notion", "docs"}, consumes=["text"], produces=["page"])
@answers
async def notion_create_page(
    title: Annotated[str, Field(min_length=1, max_length=2_000, description="Page title.")],
    body: Annotated[str, Field(max_length=100_000, description="Page content, in Markdown.")],
    parent: Annotated[str | None, Field(max_length=36, description="Parent page id; the configured default.")] = None,
    fleet: Fleet = Systems,
) -> dict[str, Any]:
    """Create a Notion page with a title and Markdown content under a parent page."""
    created = await fleet.notion.create_page(title, body, parent)
    audit.info("notion_create_page", extra={"page": created["id"]})
    return created


@service.tool(read_only=True, tags={"business", "asana", "projects", "directory"}, produces=["projects"])
@answers
async def asana_projects(
    query: Filter = None,
    archived: Annotated[bool, Field(description="List the archived projects instead of the active ones.")] = False,
    limit: Limit = 100,
    fleet: Fleet = Systems,
) -> dict[str, Any]:
    """List the Asana projects of the workspace (the active ones unless archived is set): name, id, team,
    owner and link; optionally only those whose name holds a text."""
    return {**await fleet.asana.projects(search_text(query), limit, archived), "untrusted": True}


@service.tool(read_only=True, tags={"business", "asana", "tasks"}, produces=["text", "tasks"])
@answers
async def asana_tasks(
    project: Project = None,
    query: Filter = None,
    assignee: Member = None,
    completed: Annotated[
        bool | None, Field(description="Only done tasks (true) or open ones (false); both when unset.")
    ] = None,
    limit: Limit = 50,
    fleet: Fleet = Systems,
) -> dict[str, Any]:
    """List Asana tasks with assignee, due date and status: a project's tasks, or the workspace's tasks
    searched by text, assignee or status (the open ones when nothing narrows it). A query that matches no
    task but names a workspace member lists that member's tasks."""
    found = await fleet.asana.tasks(project, search_text(query), limit, assignee, completed)
    return {**found, "untrusted": True}


@service.tool(risk=Risk.MEDIUM, tags={"business", "asana", "tasks"}, consumes=["text"], produces=["task"])
@answers
async def asana_create_task(
    title: Annotated[str, Field(min_length=1, max_length=1_000, description="Task name, short and actionable.")],
    notes: Annotated[str, Field(max_length=50_000, description="Task description.")] = "",
    project: Project = None,
    assignee: Assignee = None,
    due_on: DueOn = None,
    fleet: Fleet = Systems,
) -> dict[str, Any]:
    """Create an Asana task, optionally in a project, assigned and with a due date."""
    created = await fleet.asana.create(title, notes, project, assignee, due_on)
    audit.info("asana_create_task", extra={"task": created["id"]})
    return created


@service.tool(risk=Risk.MEDIUM, idempotent=True, tags={"business", "asana", "tasks"}, produces=["task"])
@answers
async def asana_update_task(
    task_id: TaskId,
    name: Annotated[str | None, Field(max_length=1_000, description="New name.")] = None,
    notes: Annotated[str | None, Field(max_length=50_000, description="New description.")] = None,
    completed: Annotated[bool | None, Field(description="Mark done (true) or open (false).")] = None,
    assignee: Assignee = None,
    due_on: DueOn = None,
    fleet: Fleet = Systems,
) -> dict[str, Any]:
    """Mark an Asana task complete, or change its name, notes, assignee or due date."""
    changes: dict[str, Any] = {
        "name": name,
        "notes": notes,
        "completed": completed,
        "assignee": assignee,
        "due_on": due_on.isoformat() if due_on else None,
    }
    updated = await fleet.asana.update(task_id, {k: v for k, v in changes.items() if v is not None})
    audit.info("asana_update_task", extra={"task": task_id})
    return updated
