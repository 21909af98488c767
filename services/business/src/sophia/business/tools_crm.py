"""CRM tools: deals across HubSpot and Salesforce, HubSpot search and pipeline, Salesforce SOQL and
opportunities."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import Field

from sophia.business.connectors.base import search_text
from sophia.business.http import ConnectorError
from sophia.business.service import Filter, Fleet, Limit, Query, Systems, answers, audit, service
from sophia.kit import Risk

OpportunityId = Annotated[
    str, Field(pattern=r"^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$", description="Salesforce Opportunity id.")
]


@service.tool(read_only=True, tags={"business", "crm", "sales", "deals"}, produces=["text", "deals"])
async def crm_deals(
    query: Filter = None,
    stage: Annotated[
        str | None, Field(max_length=100, description="Only deals in this stage (e.g. 'negotiation').")
    ] = None,
    limit: Limit = 20,
    fleet: Fleet = Systems,
) -> dict[str, Any]:
    """List the deals (opportunities) in the HubSpot and Salesforce pipelines (whichever are configured), or
    look some up by name or stage: name, amount, stage, pipeline, owner and expected close date, labelled
    by system."""

    query = search_text(query)

    async def hubspot() -> list[dict[str, Any]]:
        found = await fleet.hubspot.search_objects("deals", query, limit, stage)
        return [{"source": "hubspot", **item} for item in found["items"]]

    async def salesforce() -> list[dict[str, Any]]:
        return [{"source": "salesforce", **r} for r in await fleet.salesforce.deals(query, stage, limit)]

    systems = {"hubspot": hubspot, "salesforce": salesforce}
    statuses: dict[str, Any] = {}
    deals: list[dict[str, Any]] = []
    configured = [name for name in systems if await fleet.connectors[name].configured()]
    results = await asyncio.gather(*(systems[name]() for name in configured), return_exceptions=True)
    for name in systems:
        if name not in configured:
            statuses[name] = {"status": "not_configured"}
    for name, result in zip(configured, results, strict=True):
        if isinstance(result, ConnectorError):
            statuses[name] = {"status": "error", "error": str(result)}
        elif isinstance(result, BaseException):
            raise result
        else:
            statuses[name] = {"status": "ok", "deals": len(result)}
            deals.extend(result)
    return {"deals": deals, "sources": statuses, "untrusted": True}


@service.tool(read_only=True, tags={"business", "crm", "hubspot"}, produces=["text", "deals"])
@answers
async def hubspot_search(
    query: Query,
    object_type: Annotated[
        Literal["deals", "contacts", "companies"] | None,
        Field(description="What to search; companies, contacts and deals together when unset."),
    ] = None,
    limit: Limit = 20,
    fleet: Fleet = Systems,
) -> dict[str, Any]:
    """Look up a name, email, domain or other text in HubSpot CRM: companies, contacts and deals, or only
    one of them; each hit says which object it is."""
    text = search_text(query) or query
    if object_type is None:
        return {**await fleet.hubspot.search_all(text, limit), "untrusted": True}
    return {**await fleet.hubspot.search_objects(object_type, text, limit), "untrusted": True}


@service.tool(read_only=True, tags={"business", "crm", "hubspot", "pipeline"}, produces=["deals"])
@answers
async def hubspot_pipeline(fleet: Fleet = Systems) -> dict[str, Any]:
    """Summarise the HubSpot deal pipeline: deals and total amount per pipeline stage, in stage order."""
    return await fleet.hubspot.pipeline_summary()


@service.tool(read_only=True, tags={"business", "crm", "salesforce"}, produces=["text", "records"])
@answers
async def salesforce_query(
    soql: Annotated[str, Field(min_length=1, max_length=20_000, description="A SOQL SELECT query.")],
    limit: Annotated[int, Field(ge=1, le=2_000, description="Most records to return.")] = 200,
    fleet: Fleet = Systems,
) -> dict[str, Any]:
    """Query Salesforce records (opportunities, accounts, contacts, cases) with read-only SOQL, SELECT only;
    related fields come flattened (Account.Name)."""
    return {**await fleet.salesforce.query(soql, limit), "untrusted": True}


@service.tool(read_only=True, tags={"business", "crm", "salesforce", "deals"}, produces=["deals"])
@answers
async def salesforce_opportunity(opportunity_id: OpportunityId, fleet: Fleet = Systems) -> dict[str, Any]:
    """Read one Salesforce opportunity by its id: stage, amount, close date, probability, next step, account,
    owner."""
    return {"opportunity": await fleet.salesforce.opportunity(opportunity_id), "untrusted": True}


@service.tool(risk=Risk.MEDIUM, idempotent=True, tags={"business", "crm", "salesforce", "deals"}, produces=["deals"])
@answers
async def salesforce_update_opportunity(
    opportunity_id: OpportunityId,
    stage: Annotated[str | None, Field(max_length=100, description="New StageName.")] = None,
    amount: Annotated[float | None, Field(ge=0, description="New Amount.")] = None,
    close_date: Annotated[date | None, Field(description="New CloseDate.")] = None,
    probability: Annotated[float | None, Field(ge=0, le=100, description="New Probability (%).")] = None,
    next_step: Annotated[str | None, Field(max_length=255, description="New NextStep.")] = None,
    fleet: Fleet = Systems,
) -> dict[str, Any]:
    """Update a Salesforce opportunity's stage, amount, close date, probability or next step; returns it
    as saved."""
    changes: dict[str, Any] = {
        "StageName": stage,
        "Amount": amount,
        "Probability": probability,
        "NextStep": next_step,
        "CloseDate": close_date.isoformat() if close_date else None,
    }
    changes = {key: value for key, value in changes.items() if value is not None}
    updated = await fleet.salesforce.update_opportunity(opportunity_id, changes)
    audit.info("salesforce_update_opportunity", extra={"opportunity": opportunity_id, "fields": sorted(changes)})
    return updated
