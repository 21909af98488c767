"""HubSpot CRM v3 (https://api.hubapi.com): search deals, contacts and companies; a deal pipeline summary.

Auth: ``Authorization: Bearer <HUBSPOT_ACCESS_TOKEN>`` (a private app token). Search is
``POST /crm/v3/objects/{type}/search`` with ``query``, ``filterGroups``, ``properties``, ``limit`` and
``after``; pages follow ``paging.next.after``. Stage ids are named through ``GET /crm/v3/pipelines/deals``.
HubSpot reports its budget in ``X-HubSpot-RateLimit-*`` headers (kept for `health`) and answers 429
(``errorType: RATE_LIMIT``) when it is spent; search is limited to a few calls per second per account.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Literal

import httpx

from sophia.business.connectors.base import Connector, Hit, Terms, clip, dicts, obj, require_dict
from sophia.business.http import collect

ObjectType = Literal["deals", "contacts", "companies"]
OBJECT_TYPES: tuple[ObjectType, ...] = ("companies", "contacts", "deals")
OBJECT_NAMES = {"companies": "company", "contacts": "contact", "deals": "deal"}
PROPERTIES: dict[str, list[str]] = {
    "deals": ["dealname", "amount", "dealstage", "pipeline", "closedate", "hubspot_owner_id", "hs_lastmodifieddate"],
    "contacts": ["firstname", "lastname", "email", "company", "jobtitle", "lifecyclestage", "hs_lastmodifieddate"],
    "companies": ["name", "domain", "industry", "city", "lifecyclestage", "annualrevenue", "hs_lastmodifieddate"],
}
PIPELINE_CACHE_S = 300.0


class HubSpot(Connector):
    name = "hubspot"
    title = "HubSpot"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pipelines: list[dict[str, Any]] = []
        self._pipelines_expire = 0.0

    async def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        (token,) = await self.require("HUBSPOT_ACCESS_TOKEN")
        headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
        _, data = await self.http.request(
            method,
            f"{self.settings.hubspot_url.rstrip('/')}{path}",
            headers=headers,
            json=body,
            secrets=await self.secrets(),
            idempotent=True,
            explain=_explain,  # search is a read despite POST
        )
        return require_dict(data, "HubSpot", path)

    async def ping(self) -> None:
        await self._call("GET", "/crm/v3/objects/deals?limit=1")

    async def pipelines(self) -> list[dict[str, Any]]:
        if time.monotonic() > self._pipelines_expire:
            data = await self._call("GET", "/crm/v3/pipelines/deals")
            self._pipelines = [
                {
                    "id": clip(p.get("id"), 60),
                    "label": clip(p.get("label"), 120),
                    "stages": [
                        {
                            "id": clip(s.get("id"), 60),
                            "label": clip(s.get("label"), 120),
                            "order": s.get("displayOrder") if isinstance(s.get("displayOrder"), int) else 0,
                        }
                        for s in dicts(p.get("stages"))
                    ],
                }
                for p in dicts(data.get("results"))
            ]
            self._pipelines_expire = time.monotonic() + PIPELINE_CACHE_S
        return self._pipelines

    async def _stage_labels(self) -> dict[str, tuple[str, str]]:
        return {s["id"]: (p["label"], s["label"]) for p in await self.pipelines() for s in p["stages"]}

    async def search_objects(
        self, object_type: ObjectType, query: str | None, limit: int, stage: str | None = None
    ) -> dict[str, Any]:
        filters: list[dict[str, Any]] = []
        labels = await self._stage_labels() if object_type == "deals" else {}
        if stage and object_type == "deals":
            wanted = stage.strip().lower()
            ids = [sid for sid, (_, label) in labels.items() if wanted in (sid.lower(), label.lower())]
            if not ids:
                return {"items": [], "more": False, "note": f"HubSpot has no deal stage named {clip(stage, 80)!r}"}
            filters.append({"propertyName": "dealstage", "operator": "IN", "values": ids})

        async def page(after: str | None) -> tuple[list[Any], str | None]:
            body: dict[str, Any] = {"properties": PROPERTIES[object_type], "limit": min(100, limit)}
            if query:
                body["query"] = query[:300]
            if filters:
                body["filterGroups"] = [{"filters": filters}]
            if after:
                body["after"] = after
            data = await self._call("POST", f"/crm/v3/objects/{object_type}/search", body)
            paging = obj(data.get("paging"))
            following = obj(paging.get("next"))
            after = following.get("after")
            return dicts(data.get("results")), str(after) if after else None

        results, more = await collect(page, limit, self.settings.max_pages)
        return {"items": [self._item(object_type, r, labels) for r in results], "more": more}

    async def search_all(self, query: str, limit: int) -> dict[str, Any]:
        """A name looked up without saying what it is: companies, contacts and deals searched together
        (HubSpot has no cross-object search), each hit saying which object it is, companies first."""
        found = await asyncio.gather(*(self.search_objects(kind, query, limit) for kind in OBJECT_TYPES))
        return {
            "items": [item for result in found for item in result["items"]],
            "more": any(result["more"] for result in found),
        }

    async def pipeline_summary(self) -> dict[str, Any]:
        labels = await self._stage_labels()

        async def page(after: str | None) -> tuple[list[Any], str | None]:
            body: dict[str, Any] = {"properties": ["amount", "dealstage", "pipeline"], "limit": 100}
            if after:
                body["after"] = after
            data = await self._call("POST", "/crm/v3/objects/deals/search", body)
            paging = obj(data.get("paging"))
            following = obj(paging.get("next"))
            return dicts(data.get("results")), str(following["after"]) if following.get("after") else None

        deals, more = await collect(page, 100 * self.settings.max_pages, self.settings.max_pages)
        totals: dict[tuple[str, str], dict[str, Any]] = {}
        for deal in deals:
            props = obj(deal.get("properties"))
            stage_id = str(props.get("dealstage") or "")
            pipeline, stage = labels.get(stage_id, (str(props.get("pipeline") or "unknown"), stage_id or "unknown"))
            row = totals.setdefault(
                (pipeline, stage), {"pipeline": pipeline, "stage": stage, "deals": 0, "amount": 0.0}
            )
            row["deals"] += 1
            row["amount"] += _number(props.get("amount"))
        order = {
            (p["label"], s["label"]): (i, s["order"]) for i, p in enumerate(await self.pipelines()) for s in p["stages"]
        }
        rows = sorted(totals.values(), key=lambda r: order.get((r["pipeline"], r["stage"]), (999, 999)))
        return {"stages": rows, "deals": len(deals), "amount": sum(r["amount"] for r in rows), "partial": more}

    async def search(self, terms: Terms, limit: int) -> list[Hit]:
        hits: list[Hit] = []
        for object_type in ("deals", "companies"):
            found = await self.search_objects(object_type, terms.focus, limit)
            for item in found["items"]:
                hits.append(
                    Hit(
                        "hubspot",
                        object_type[:-1] if object_type == "deals" else "company",
                        item["id"],
                        item["name"],
                        item["summary"],
                        None,
                        item.get("updated"),
                    )
                )
        return hits[:limit]

    def _item(self, object_type: str, record: dict[str, Any], labels: dict[str, tuple[str, str]]) -> dict[str, Any]:
        props = obj(record.get("properties"))
        p = {key: clip(props.get(key), 300) for key in PROPERTIES[object_type]}
        item: dict[str, Any] = {
            "object": OBJECT_NAMES[object_type],
            "id": clip(record.get("id"), 40),
            "updated": p["hs_lastmodifieddate"] or None,
        }
        if object_type == "deals":
            pipeline, stage = labels.get(p["dealstage"], (p["pipeline"], p["dealstage"]))
            item |= {
                "name": p["dealname"],
                "stage": stage,
                "pipeline": pipeline,
                "amount": _number(p["amount"]) or None,
                "close_date": p["closedate"] or None,
                "owner_id": p["hubspot_owner_id"] or None,
            }
            item["summary"] = f"stage {stage}; amount {p['amount'] or 'n/a'}; closes {p['closedate'] or 'n/a'}"
        elif object_type == "contacts":
            item |= {
                "name": f"{p['firstname']} {p['lastname']}".strip(),
                "email": p["email"],
                "company": p["company"],
                "title": p["jobtitle"],
                "lifecycle": p["lifecyclestage"],
            }
            item["summary"] = f"{p['jobtitle']} at {p['company']}".strip()
        else:
            item |= {
                "name": p["name"],
                "domain": p["domain"],
                "industry": p["industry"],
                "city": p["city"],
                "lifecycle": p["lifecyclestage"],
            }
            item["summary"] = f"{p['industry']} {p['domain']}".strip()
        return item


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _explain(response: httpx.Response, body: Any) -> str | None:
    return str(body.get("message")) if isinstance(body, dict) and body.get("message") else None
