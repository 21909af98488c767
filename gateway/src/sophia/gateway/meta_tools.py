"""The gateway's own MCP tools: `ask`, `classify_intent` and `find_tools`.

They are listed beside the federated tools and called through the same pipeline as every other tool
(as `local` routes: policy, rate limit, validation and audit apply; there is no server to break or
time out). In the compact tool list (for clients that cap tool counts) they come first, followed by
pinned and most-used tools; `find_tools` reaches the rest.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sophia.gateway.ask import Asker
from sophia.gateway.ask_progress import STARTING, describe
from sophia.gateway.catalog import Catalog, Route
from sophia.gateway.errors import InvalidArguments
from sophia.gateway.intent.schema import Query
from sophia.gateway.results import ok_result
from sophia.gateway.security.guard import Guard
from sophia.gateway.settings import GatewaySettings
from sophia.gateway.toolsearch import ToolIndex
from sophia.kit import ToolSpec

Progress = Callable[[float, float | None, str], Awaitable[None]]


class AskArguments(BaseModel):
    model_config = ConfigDict(extra="forbid")
    query: Query
    dry_run: bool = Field(False, description="Return the intent and the plan without running anything.")
    namespace: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")] = Field(
        "default", description="Whose data memory tools read and write."
    )
    session: Annotated[str | None, Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")] = Field(
        None, description="A conversation id: recent turns resolve 'it' and 'the same repo'; each answer is recorded."
    )


class IntentArguments(BaseModel):
    model_config = ConfigDict(extra="forbid")
    query: Query


class FindToolsArguments(BaseModel):
    model_config = ConfigDict(extra="forbid")
    query: Query
    limit: int = Field(8, ge=1, le=50, description="How many tools to return.")
    service: str | None = Field(None, description="Only tools of this service (memory, code, ...).")


META_TOOLS: dict[str, tuple[type[BaseModel], str]] = {
    "ask": (
        AskArguments,
        "Do what a plain-language request asks across the whole fleet: classify it, plan the tool calls, run "
        "them in parallel and answer. Risky steps (deploys, deletions, protected pushes, outside messages) are "
        "held for an approver and reported as pending. Use dry_run to see the plan only.",
    ),
    "classify_intent": (
        IntentArguments,
        "Classify a request without running anything: domain, action, capabilities needed, targets, risk, "
        "whether it needs approval, urgency and a calibrated confidence.",
    ),
    "find_tools": (
        FindToolsArguments,
        "Search every tool of the fleet by what it does and return the best matches with their input schemas, "
        "for clients that list only a few tools. Call the tool you pick by its name.",
    ),
}


def _annotations(name: str) -> dict[str, Any]:
    read_only = name != "ask"
    return {"readOnlyHint": read_only, "destructiveHint": False, "openWorldHint": name == "ask"}


class MetaTools:
    """The gateway's own tools, and an `Upstream` that answers them in process."""

    service = "gateway"

    def __init__(
        self,
        asker: Asker,
        tools: ToolIndex,
        catalog: Catalog,
        guard: Guard,
        usage: Counter[str],
        settings: GatewaySettings,
    ) -> None:
        self.asker = asker
        self.tools = tools
        self.catalog = catalog
        self.guard = guard
        self.usage = usage  # calls per tool since start: the compact list's ranking
        self.settings = settings
        self.definitions: list[dict[str, Any]] = [
            {
                "name": name,
                "description": description,
                "inputSchema": model.model_json_schema(),
                "annotations": _annotations(name),
            }
            for name, (model, description) in META_TOOLS.items()
        ]

    def routes(self) -> dict[str, Route]:
        """The pipeline's routes to these tools."""
        return {
            d["name"]: Route(
                d["name"],
                "gateway",
                ToolSpec(name=d["name"], description=d["description"], read_only=d["name"] != "ask"),
                d,
                self,
                "local",
            )
            for d in self.definitions
        }

    async def list_tools(self) -> list[dict[str, Any]]:
        return self.definitions

    async def call_tool(
        self,
        tool: str,
        arguments: Mapping[str, Any] | None,
        timeout: float | None,
        *,
        meta: Mapping[str, Any] | None = None,
        progress: Progress | None = None,
        answers: dict[str, Any] | None = None,  # the gateway's own tools never ask their caller anything
    ) -> dict[str, Any]:
        return await self.call(tool, dict(arguments or {}), progress)

    def input_schema(self, name: str) -> dict[str, Any] | None:
        for definition in self.definitions:
            if definition["name"] == name:
                schema: dict[str, Any] = definition["inputSchema"]
                return schema
        return None

    def listing(self) -> list[dict[str, Any]]:
        federated = self.catalog.listing()
        if self.settings.tool_list == "all":
            return [*self.definitions, *federated]
        by_name = {tool["name"]: tool for tool in federated}
        chosen = [name for name in self.settings.pinned_tools if name in by_name]
        for name, _ in self.usage.most_common():
            if name in by_name and name not in chosen:
                chosen.append(name)
        chosen = chosen[: self.settings.compact_tools]
        # Fill up with the rest in catalog order, so a fresh gateway still lists something useful.
        for name in by_name:
            if len(chosen) >= self.settings.compact_tools:
                break
            if name not in chosen:
                chosen.append(name)
        return [*self.definitions, *(by_name[name] for name in chosen)]

    async def call(self, name: str, arguments: dict[str, Any] | None, progress: Progress | None) -> dict[str, Any]:
        model, _ = META_TOOLS[name]
        try:
            parsed = model.model_validate(arguments or {})
        except ValidationError as exc:
            raise InvalidArguments(f"invalid arguments for {name}: {_first_error(exc)}") from None
        if isinstance(parsed, IntentArguments):
            namespace = self.guard.namespace(self.guard.principal(), "default")
            intent = await self.asker.classify(parsed.query, namespace)
            return ok_result(intent.model_dump(), json.dumps(intent.model_dump()))
        if isinstance(parsed, FindToolsArguments):
            return await self._find_tools(parsed)
        assert isinstance(parsed, AskArguments)
        return await self._ask(parsed, progress)

    async def _find_tools(self, arguments: FindToolsArguments) -> dict[str, Any]:
        guard = self.guard
        routes = [
            r for r in self.catalog.routes() if arguments.service in (None, r.service) and guard.visible(r.name, r.spec)
        ]
        ranked = await self.tools.find(arguments.query, routes, arguments.limit)
        found = [
            {
                "name": route.name,
                "description": route.spec.description,
                "score": round(score, 4),
                "risk": route.spec.risk.value,
                "inputSchema": route.input_schema,
            }
            for route, score in ranked
        ]
        text = "\n".join(f"{t['name']} ({t['score']}): {t['description']}" for t in found) or "no tools match"
        return ok_result({"tools": found}, text)

    async def _ask(self, arguments: AskArguments, progress: Progress | None) -> dict[str, Any]:
        done = 0.0
        total: float | None = None

        async def emit(event: str, data: dict[str, Any]) -> None:
            nonlocal done, total
            if progress is None:
                return
            if event == "plan":
                # intent, plan, answer, and per step: started and finished (a held or skipped step only ends).
                total = 3.0 + 2 * len(data.get("steps", []))
            done = total if event == "answer" and total is not None else done + 1
            await progress(done, total, describe(event, data))

        namespace = self.guard.namespace(self.guard.principal(), arguments.namespace)
        if progress is not None:
            await progress(0.0, None, STARTING)  # classifying and planning come before the first event
        result = await self.asker.ask(
            arguments.query, dry_run=arguments.dry_run, namespace=namespace, emit=emit, session=arguments.session
        )
        data = result.model_dump(exclude_none=True)
        return ok_result(data, result.answer or json.dumps(data.get("plan", {})))


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(map(str, error["loc"])) or "arguments"
    return f"{where}: {error['msg']}"
