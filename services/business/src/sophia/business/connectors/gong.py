"""Gong API v2 (https://api.gong.io): calls in a period, transcripts, per-call interaction stats.

Auth: HTTP Basic with ``GONG_ACCESS_KEY:GONG_ACCESS_KEY_SECRET``. Reads used: ``POST /v2/calls/extensive``
(calls with parties, brief and interaction stats; a read despite the verb), ``POST /v2/calls/transcript``.
Pages follow ``records.cursor`` (sent back as ``cursor`` in the body). Gong answers 404 with
``errors: ["No calls found ..."]`` for an empty period, and 429 with ``Retry-After`` over its rate limit.
Gong has no text search: calls in the period are matched against title, parties and brief here.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from sophia.business.connectors.base import Connector, Hit, Terms, clip, dicts, obj, require_dict, search_text
from sophia.business.http import Rejected, collect

DEFAULT_PERIOD = timedelta(days=90)
EXPOSED = {
    "parties": True,
    "content": {"brief": True, "topics": True},
    "interaction": {"interactionStats": True, "speakers": True},
}


class Gong(Connector):
    name = "gong"
    title = "Gong"

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any] | None:
        """A Gong read; None when Gong says nothing matched (its 404)."""
        key, secret = await self.require("GONG_ACCESS_KEY", "GONG_ACCESS_KEY_SECRET")
        basic = base64.b64encode(f"{key}:{secret}".encode()).decode()
        try:
            _, data = await self.http.request(
                "POST",
                f"{self.settings.gong_url.rstrip('/')}{path}",
                secrets=await self.secrets(),
                headers={"authorization": f"Basic {basic}", "content-type": "application/json"},
                json=body,
                idempotent=True,
                explain=_explain,
            )
        except Rejected as exc:
            if exc.status == 404:
                return None
            raise
        return require_dict(data, "Gong", path)

    async def ping(self) -> None:
        key, secret = await self.require("GONG_ACCESS_KEY", "GONG_ACCESS_KEY_SECRET")
        basic = base64.b64encode(f"{key}:{secret}".encode()).decode()
        await self.http.request(
            "GET",
            f"{self.settings.gong_url.rstrip('/')}/v2/users",
            headers={"authorization": f"Basic {basic}"},
            secrets=await self.secrets(),
            idempotent=True,
            explain=_explain,
        )

    async def calls(
        self, since: datetime | None, until: datetime | None, ids: list[str] | None = None, limit: int | None = None
    ) -> tuple[list[dict[str, Any]], bool]:
        """Calls in the period (newest first) with parties, brief and stats, as Gong describes them."""
        until = until or datetime.now(UTC)
        since = since or until - DEFAULT_PERIOD
        filter_: dict[str, Any] = {"fromDateTime": _iso(since), "toDateTime": _iso(until)}
        if ids:
            filter_ = {"callIds": ids}

        async def page(cursor: str | None) -> tuple[list[Any], str | None]:
            body: dict[str, Any] = {"filter": filter_, "contentSelector": {"exposedFields": EXPOSED}}
            if cursor:
                body["cursor"] = cursor
            data = await self._post("/v2/calls/extensive", body)
            if data is None:
                return [], None
            records = obj(data.get("records"))
            cursor = records.get("cursor")
            return dicts(data.get("calls")), cursor if isinstance(cursor, str) and cursor else None

        calls, more = await collect(page, 5_000, self.settings.max_pages)
        shaped = [self._call(c) for c in calls]
        shaped.sort(key=lambda c: c["started"] or "", reverse=True)
        return (shaped[:limit] if limit else shaped), more

    async def find(
        self, query: str | None, since: datetime | None, until: datetime | None, limit: int
    ) -> dict[str, Any]:
        calls, more = await self.calls(since, until)
        wanted = search_text(query)
        if wanted:
            calls = [c for c in calls if wanted.lower() in _haystack(c).lower()]
        return {"calls": calls[:limit], "more": more or len(calls) > limit}

    async def latest(self, query: str) -> str:
        """The id of the newest call (in the default period) matching `query`; the newest of all when the
        query names nothing ("the last call")."""
        found = await self.find(query, None, None, 1)
        if not found["calls"]:
            raise Rejected(f"Gong has no recent call matching {clip(search_text(query) or query, 100)!r}")
        return str(found["calls"][0]["id"])

    async def transcript(self, call_id: str, max_chars: int) -> dict[str, Any]:
        data = await self._post("/v2/calls/transcript", {"filter": {"callIds": [call_id]}})
        transcripts = dicts((data or {}).get("callTranscripts"))
        if not transcripts:
            raise Rejected(f"Gong has no transcript for call {clip(call_id, 40)}")
        calls, _ = await self.calls(None, None, ids=[call_id])
        speakers = {p["speaker_id"]: p["name"] for c in calls for p in c["parties"] if p.get("speaker_id")}
        lines: list[str] = []
        size = 0
        cut = False
        for part in dicts(transcripts[0].get("transcript")):
            who = speakers.get(str(part.get("speakerId")), f"speaker {clip(part.get('speakerId'), 20)}")
            for sentence in dicts(part.get("sentences")):
                line = f"{who}: {clip(sentence.get('text'), 2_000)}"
                if size + len(line) > max_chars:
                    cut = True
                    break
                lines.append(line)
                size += len(line) + 1
            if cut:
                break
        return {"call": calls[0] if calls else {"id": call_id}, "transcript": "\n".join(lines), "truncated": cut}

    async def stats(self, call_id: str) -> dict[str, Any]:
        calls, _ = await self.calls(None, None, ids=[call_id])
        if not calls:
            raise Rejected(f"Gong has no call {clip(call_id, 40)}")
        return calls[0]

    async def search(self, terms: Terms, limit: int) -> list[Hit]:
        calls, _ = await self.calls(None, None)
        hits = []
        for call in calls:
            if terms.matches(_haystack(call)):
                hits.append(Hit("gong", "call", call["id"], call["title"], call["brief"], call["url"], call["started"]))
        return hits[:limit]

    def _call(self, call: dict[str, Any]) -> dict[str, Any]:
        meta = obj(call.get("metaData"))
        content = obj(call.get("content"))
        interaction = obj(call.get("interaction"))
        return {
            "id": clip(meta.get("id"), 40),
            "title": clip(meta.get("title"), 300),
            "started": clip(meta.get("started"), 40) or None,
            "duration_s": meta.get("duration") if isinstance(meta.get("duration"), int | float) else None,
            "url": clip(meta.get("url"), 500) or None,
            "parties": [
                {
                    "name": clip(p.get("name"), 120),
                    "email": clip(p.get("emailAddress"), 200),
                    "affiliation": clip(p.get("affiliation"), 20),
                    "speaker_id": clip(p.get("speakerId"), 40),
                }
                for p in dicts(call.get("parties"))[:50]
            ],
            "brief": self.text(content.get("brief")),
            "topics": [clip(t.get("name"), 100) for t in dicts(content.get("topics"))[:20]],
            "stats": {
                clip(s.get("name"), 60): s.get("value")
                for s in dicts(interaction.get("interactionStats"))[:20]
                if isinstance(s.get("value"), int | float)
            },
        }


def _haystack(call: dict[str, Any]) -> str:
    parties = " ".join(f"{p['name']} {p['email']}" for p in call["parties"])
    return f"{call['title']} {parties} {call['brief']}"


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _explain(response: httpx.Response, body: Any) -> str | None:
    errors = body.get("errors") if isinstance(body, dict) else None
    return "; ".join(str(e) for e in errors[:3]) if isinstance(errors, list) else None
