"""TEST STAND-IN for the business service (Slack, Gong, HubSpot, Salesforce, Notion, Asana, email), not the
real one.

It exposes the business connectors' tool contract and echoes each call (see `_common`); no connector is
called and no business data is made up.
Run as ``python -m tests.support.standins.business`` from the repository root.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from sophia.kit import Risk
from tests.support.standins._common import Standin

standin = Standin(
    "business",
    instructions="Business connectors: Slack, Gong, HubSpot, Salesforce, Notion, Asana and email, plus one "
    "search across all of them.",
)
service = standin.service

Source = Literal["slack", "gong", "hubspot", "salesforce", "notion", "asana"]
Channel = Annotated[str, Field(description="Slack channel name or id (e.g. '#sales').")]
Query = Annotated[str, Field(description="What to look for, in plain words.")]
Filter = Annotated[str | None, Field(description="Only items matching this text; everything when omitted.")]
Project = Annotated[str, Field(description="Asana project name or id.")]


@standin.tool(read_only=True, tags={"business", "search"}, produces=["text"])
def search(
    query: Query,
    sources: list[Source] | None = Field(None, description="Only these connectors; all configured ones by default."),
):
    """Search every connected business system (Slack, Gong, HubSpot, Salesforce, Notion, Asana) at once and
    return the merged hits, each with its source and link."""


@standin.tool(risk=Risk.MEDIUM, tags={"business", "slack", "messaging"}, consumes=["text"], produces=["message"])
def slack_post(channel: Channel, text: str = Field(description="The message, in Slack markdown.")):
    """Post a message to a Slack channel as the Sophia bot."""


@standin.tool(read_only=True, tags={"business", "slack"}, produces=["text", "messages"])
def slack_history(channel: Channel, query: Filter = None):
    """Read the recent messages of a Slack channel, optionally only those matching a query."""


@standin.tool(read_only=True, tags={"business", "gong", "sales"}, produces=["text", "calls"])
def gong_calls(
    query: Query,
    since: datetime | None = Field(None, description="Only calls at or after this ISO 8601 time."),
):
    """Find recorded Gong sales calls matching a query, with participants, date, summary and transcript
    highlights."""


@standin.tool(read_only=True, tags={"business", "crm", "sales"}, produces=["text", "deals"])
def crm_deals(
    query: Filter = None,
    stage: str | None = Field(None, description="Only deals in this pipeline stage (e.g. 'negotiation')."),
):
    """Look up CRM deals in HubSpot and Salesforce, with amount, stage, owner and expected close date."""


@standin.tool(read_only=True, tags={"business", "notion", "docs"}, produces=["text", "pages"])
def notion_search(query: Query):
    """Search Notion pages and databases by title and content."""


@standin.tool(risk=Risk.MEDIUM, tags={"business", "notion", "docs"}, consumes=["text"], produces=["page"])
def notion_create_page(
    title: str = Field(description="Page title."),
    body: str = Field(description="Page content, in Markdown."),
    parent: str | None = Field(None, description="Parent page or database id; the workspace's top level."),
):
    """Create a Notion page with a title and Markdown content under a parent page or database."""


@standin.tool(tags={"business", "asana", "tasks"}, consumes=["text"], produces=["task"])
def asana_create_task(
    title: str = Field(description="Task name, short and actionable."),
    notes: str = Field("", description="Task description."),
    project: str | None = Field(None, description="Asana project name or id; the assignee's My Tasks if omitted."),
    assignee: str | None = Field(None, description="Email or name of the person to assign; unassigned."),
):
    """Create an Asana task, optionally in a project and assigned to a person, with notes."""


@standin.tool(read_only=True, tags={"business", "asana", "tasks"}, produces=["text", "tasks"])
def asana_tasks(project: Project, query: Filter = None):
    """List the tasks of an Asana project, optionally matching a query, with assignee, due date and status."""


@standin.tool(risk=Risk.HIGH, tags={"business", "email", "messaging"}, consumes=["text"], produces=["email"])
def email_send(
    to: list[str] = Field(min_length=1, description="Recipient email addresses, inside or outside the company."),
    subject: str = Field(description="Subject line."),
    body: str = Field(description="Message body, plain text."),
):
    """Send an email from the company's account to one or more recipients, including customers and other people
    outside the company."""


if __name__ == "__main__":
    service.run()
