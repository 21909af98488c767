"""Salesforce REST API (``{instance}/services/data/vNN.N``): SOQL queries, opportunity read and update.

Auth: ``Authorization: Bearer <token>``: ``SALESFORCE_ACCESS_TOKEN``, or one obtained with the OAuth 2.0
client credentials flow (``POST /services/oauth2/token``, ``SALESFORCE_CLIENT_ID``/``_SECRET``), fetched
again once when Salesforce answers 401 ``INVALID_SESSION_ID``. Query pages follow ``nextRecordsUrl``.
Salesforce reports its daily budget in ``Sforce-Limit-Info: api-usage=N/M`` (kept for `health`) and
answers 403 ``REQUEST_LIMIT_EXCEEDED`` when it is spent. Errors are a list of ``{message, errorCode}``.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import httpx

from sophia.business.connectors.base import Connector, Hit, Terms, clip, dicts, require_dict
from sophia.business.http import AuthFailed, BadResponse, ConnectorError, NotConfigured, RateLimited, Rejected

RECORD_ID = re.compile(r"^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$")
OPPORTUNITY_FIELDS = [
    "Id",
    "Name",
    "StageName",
    "Amount",
    "CloseDate",
    "Probability",
    "NextStep",
    "ForecastCategoryName",
    "Account.Name",
    "Owner.Name",
    "LastModifiedDate",
]
# What an update may change: the fields a seller moves a deal with, nothing about ownership or accounts.
UPDATABLE = frozenset(
    {"StageName", "Amount", "CloseDate", "Probability", "NextStep", "Description", "Name", "ForecastCategoryName"}
)
WRITING_CLAUSES = re.compile(r"\bFOR\s+UPDATE\b|\bUPDATE\s+(TRACKING|VIEWSTAT)\b|\bFOR\s+(VIEW|REFERENCE)\b", re.I)
MAX_SOQL_CHARS = 20_000


class SoqlRefused(ConnectorError):
    kind = "refused"


def check_soql(soql: str, allow_writes: bool) -> str:
    """The query to send, or SoqlRefused: only SELECT, and none of the clauses that lock or mark records."""
    text = soql.strip()
    if not text:
        raise SoqlRefused("the SOQL query is empty")
    if len(text) > MAX_SOQL_CHARS:
        raise SoqlRefused(f"the SOQL query is longer than {MAX_SOQL_CHARS} characters")
    if not re.match(r"(?is)^select\s", text):
        raise SoqlRefused("only SELECT queries are allowed (SOQL reads; use update_opportunity to change data)")
    if not allow_writes and WRITING_CLAUSES.search(_without_literals(text)):
        raise SoqlRefused(
            "FOR UPDATE / FOR VIEW / FOR REFERENCE / UPDATE TRACKING|VIEWSTAT lock or mark records and are off "
            "(SOPHIA_BUSINESS_SALESFORCE_ALLOW_WRITES_IN_SOQL)"
        )
    return text


def _without_literals(soql: str) -> str:
    return re.sub(r"'(?:\\.|[^'\\])*'", "''", soql)


def soql_string(value: str) -> str:
    """`value` as the inside of a quoted SOQL string: backslashes and quotes escaped."""
    return value[:100].replace("\\", "\\\\").replace("'", "\\'")


def soql_like(value: str) -> str:
    """`value` as the inside of a quoted SOQL LIKE pattern: wildcards escaped as well."""
    return soql_string(value).replace("%", "\\%").replace("_", "\\_")


class Salesforce(Connector):
    name = "salesforce"
    title = "Salesforce"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._issued: str | None = None

    async def _instance(self) -> str:
        (instance,) = await self.require("SALESFORCE_INSTANCE_URL")
        parts = urlsplit(instance)
        if parts.scheme not in ("https", "http") or not parts.netloc or parts.query or parts.fragment:
            raise NotConfigured("SALESFORCE_INSTANCE_URL is not an http(s) URL")
        return instance.rstrip("/")

    async def _token(self, fresh: bool = False) -> str:
        static = await self.credentials.get("SALESFORCE_ACCESS_TOKEN")
        client_id = await self.credentials.get("SALESFORCE_CLIENT_ID")
        client_secret = await self.credentials.get("SALESFORCE_CLIENT_SECRET")
        if not (client_id and client_secret):
            if static:
                return static
            raise NotConfigured(
                "Salesforce is not configured (set SALESFORCE_INSTANCE_URL and SALESFORCE_ACCESS_TOKEN, or "
                "SALESFORCE_CLIENT_ID and SALESFORCE_CLIENT_SECRET)"
            )
        if self._issued and not fresh:
            return self._issued
        login = (self.settings.salesforce_login_url or await self._instance()).rstrip("/")
        secrets = await self.secrets()
        _, body = await self.http.request(
            "POST",
            f"{login}/services/oauth2/token",
            headers={"accept": "application/json"},
            secrets=secrets,
            idempotent=False,
            explain=_explain_oauth,
            data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret},
        )
        token = require_dict(body, "Salesforce", "the token request").get("access_token")
        if not isinstance(token, str) or not token:
            raise BadResponse("Salesforce answered the token request without an access_token")
        self._issued = token
        return token

    async def _call(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, body: dict[str, Any] | None = None
    ) -> Any:
        url = f"{await self._instance()}{path}"
        for attempt in (1, 2):
            token = await self._token(fresh=attempt == 2)
            headers = {"authorization": f"Bearer {token}", "accept": "application/json"}
            try:
                _, data = await self.http.request(
                    method,
                    url,
                    headers=headers,
                    params=params,
                    json=body,
                    secrets=await self.secrets(),
                    idempotent=method == "GET",
                    explain=_explain,
                )
                return data
            except AuthFailed:
                # An issued token expires: fetch a new one once. A static token cannot be renewed here.
                if attempt == 2 or self._issued is None:
                    raise
            except Rejected as exc:
                if "REQUEST_LIMIT_EXCEEDED" in str(exc):
                    raise RateLimited("Salesforce's API request limit for the day is spent") from None
                raise
        raise AssertionError("unreachable")

    def _data(self, rest: str) -> str:
        return f"/services/data/{self.settings.salesforce_api_version}{rest}"

    async def ping(self) -> None:
        await self._call("GET", self._data("/limits"))

    async def query(self, soql: str, limit: int) -> dict[str, Any]:
        text = check_soql(soql, self.settings.salesforce_allow_writes_in_soql)
        records: list[dict[str, Any]] = []
        path: str | None = self._data("/query")
        params: dict[str, Any] | None = {"q": text}
        total = None
        pages = 0
        while path and len(records) < limit and pages < self.settings.max_pages:
            data = require_dict(await self._call("GET", path, params=params), "Salesforce", "the query")
            pages += 1
            total = data.get("totalSize") if isinstance(data.get("totalSize"), int) else total
            records.extend(_plain_record(r) for r in dicts(data.get("records")))
            following = data.get("nextRecordsUrl")
            path = following if isinstance(following, str) and following.startswith("/services/data/") else None
            params = None
        return {
            "records": [self._clipped(r) for r in records[:limit]],
            "total": total,
            "more": bool(path) or len(records) > limit,
        }

    async def opportunity(self, opportunity_id: str) -> dict[str, Any]:
        _check_id(opportunity_id)
        fields = ",".join(f for f in OPPORTUNITY_FIELDS if "." not in f) + ",AccountId,OwnerId,Description"
        data = await self._call("GET", self._data(f"/sobjects/Opportunity/{opportunity_id}"), params={"fields": fields})
        return self._clipped(_plain_record(require_dict(data, "Salesforce", "the opportunity")))

    async def update_opportunity(self, opportunity_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        _check_id(opportunity_id)
        unknown = sorted(set(changes) - UPDATABLE)
        if unknown:
            raise Rejected(
                f"these fields cannot be changed here: {', '.join(unknown)} (allowed: {', '.join(sorted(UPDATABLE))})"
            )
        if not changes:
            raise Rejected("nothing to change: give at least one field")
        await self._call("PATCH", self._data(f"/sobjects/Opportunity/{opportunity_id}"), body=changes)
        return {"id": opportunity_id, "updated": sorted(changes), "opportunity": await self.opportunity(opportunity_id)}

    async def search(self, terms: Terms, limit: int) -> list[Hit]:
        like = soql_like(terms.focus)
        soql = (
            f"SELECT {', '.join(OPPORTUNITY_FIELDS)} FROM Opportunity WHERE Name LIKE '%{like}%' "  # noqa: S608
            f"OR Account.Name LIKE '%{like}%' ORDER BY LastModifiedDate DESC LIMIT {int(limit)}"
        )
        found = await self.query(soql, limit)
        return [
            Hit(
                "salesforce",
                "opportunity",
                str(r.get("Id")),
                str(r.get("Name")),
                f"stage {r.get('StageName')}; amount {r.get('Amount')}; closes {r.get('CloseDate')}; "
                f"account {r.get('Account.Name')}",
                None,
                str(r.get("LastModifiedDate") or "") or None,
            )
            for r in found["records"]
        ]

    async def deals(self, query: str | None, stage: str | None, limit: int) -> list[dict[str, Any]]:
        where = []
        if query:
            like = soql_like(query)
            where.append(f"(Name LIKE '%{like}%' OR Account.Name LIKE '%{like}%')")
        if stage:
            where.append(f"StageName = '{soql_string(stage)}'")
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        soql = (
            f"SELECT {', '.join(OPPORTUNITY_FIELDS)} FROM Opportunity{clause} ORDER BY CloseDate ASC LIMIT {int(limit)}"  # noqa: S608
        )
        return (await self.query(soql, limit))["records"]

    def _clipped(self, record: dict[str, Any]) -> dict[str, Any]:
        return {
            clip(k, 100): v if isinstance(v, int | float | bool) or v is None else self.text(v)
            for k, v in record.items()
        }


def _plain_record(record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A record without Salesforce's ``attributes``, related records flattened (``Account.Name``)."""
    flat: dict[str, Any] = {}
    for key, value in record.items():
        if key == "attributes":
            continue
        if isinstance(value, dict):
            flat |= _plain_record(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _check_id(record_id: str) -> None:
    if not RECORD_ID.match(record_id):
        raise Rejected("a Salesforce record id is 15 or 18 letters and digits")


def _explain(response: httpx.Response, body: Any) -> str | None:
    errors = dicts(body) if isinstance(body, list) else []
    return "; ".join(f"{clip(e.get('errorCode'), 60)}: {clip(e.get('message'), 200)}" for e in errors[:3]) or None


def _explain_oauth(response: httpx.Response, body: Any) -> str | None:
    if isinstance(body, dict) and body.get("error"):
        return f"{clip(body.get('error'), 60)}: {clip(body.get('error_description'), 200)}"
    return None
