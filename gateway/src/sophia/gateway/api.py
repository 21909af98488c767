"""The gateway's HTTP API (FastAPI; OpenAPI at /openapi.json)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict, Field
from redis.exceptions import RedisError

from sophia.gateway.catalog import Route
from sophia.gateway.errors import GatewayError, StateUnavailable, http_error
from sophia.gateway.intent.schema import MAX_QUERY_CHARS
from sophia.gateway.pipeline import Call

if TYPE_CHECKING:
    from sophia.gateway.app import Gateway


async def current_gateway(request: Request) -> Gateway:  # async: FastAPI runs a sync one in a thread
    return request.app.state.gateway


GatewayDep = Annotated["Gateway", Depends(current_gateway)]


class ToolInfo(BaseModel):
    name: str = Field(description="Exposed name, <service>_<tool>.")
    service: str
    description: str
    risk: str = Field(description="low | medium | high | critical")
    tags: list[str]
    read_only: bool
    destructive: bool
    idempotent: bool
    consumes: list[str]
    produces: list[str]
    input_schema: dict[str, Any]


class ServerInfo(BaseModel):
    name: str
    kind: str = Field(description="kit (gRPC-described), url or stdio (external MCP servers)")
    address: str
    status: str = Field(description="starting | serving | down")
    status_since: float = Field(description="Unix time of the last status change")
    version: str
    mcp_endpoint: str
    error: str | None
    tools: list[str]


class EdgeInfo(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    source: str = Field(alias="from", description="<service>_<tool> whose result flows")
    target: str = Field(alias="to", description="<service>_<tool> that receives it")
    argument: str | None = Field(description="The argument that receives it (None: it only waits)")
    why: str
    declared: bool = Field(description="From the edges file (else derived from produces/consumes)")


class Capabilities(BaseModel):
    servers: list[ServerInfo]
    tools: list[ToolInfo]
    edges: list[EdgeInfo] = Field(description="Edges between the tools present now")
    declared_edges: list[dict[str, Any]] = Field(description="The edges file, each marked active when both ends serve")


class ErrorBody(BaseModel):
    error: dict[str, Any] = Field(description="{type, message} and, for a server's own error, its JSON-RPC error")


router = APIRouter()


@router.get("/healthz", tags=["operations"])
async def healthz() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get("/readyz", tags=["operations"], responses={503: {"description": "still starting"}})
async def readyz(gateway: GatewayDep) -> JSONResponse:
    """Readiness: started and discovery has made its first pass. One down server does not make the
    gateway unready; its tools are simply absent."""
    servers = {s.name: s.status for s in gateway.catalog.servers()}
    return JSONResponse({"ready": gateway.ready, "servers": servers}, status_code=200 if gateway.ready else 503)


@router.get("/metrics", tags=["operations"], response_class=Response)
async def metrics(gateway: GatewayDep) -> Response:
    """Prometheus metrics."""
    gateway.refresh_gauges()
    return Response(generate_latest(gateway.metrics.registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/v1/capabilities", tags=["capabilities"], response_model_by_alias=True)
async def capabilities(gateway: GatewayDep) -> Capabilities:
    """The capability graph: every known server with its health, every tool the gateway exposes, and the
    edges along which one tool's result feeds another."""
    servers = [
        ServerInfo(
            name=s.name,
            kind=s.kind,
            address=s.address,
            status=s.status,
            status_since=s.since,
            version=s.version,
            mcp_endpoint=s.mcp_endpoint,
            error=s.error,
            tools=sorted(r.name for r in s.routes.values() if gateway.guard.visible(r.name, r.spec)),
        )
        for s in gateway.catalog.servers()
    ]
    tools = [tool_info(r) for r in gateway.catalog.routes() if gateway.guard.visible(r.name, r.spec)]
    graph = gateway.graph.snapshot()
    return Capabilities(servers=servers, tools=tools, edges=graph["edges"], declared_edges=graph["declared_edges"])


def tool_info(route: Route) -> ToolInfo:
    spec = route.spec
    return ToolInfo(
        name=route.name,
        service=route.service,
        description=spec.description,
        risk=spec.risk.value,
        tags=sorted(spec.tags),
        read_only=spec.read_only,
        destructive=spec.destructive,
        idempotent=spec.idempotent,
        consumes=list(spec.consumes),
        produces=list(spec.produces),
        input_schema=route.input_schema,
    )


class FoundTool(ToolInfo):
    score: float = Field(description="Similarity to the query (higher is closer)")


@router.get("/v1/tools", tags=["tools"])
async def find_tools(
    gateway: GatewayDep,
    query: Annotated[str, Query(min_length=1, max_length=MAX_QUERY_CHARS, description="What the tool should do")],
    limit: Annotated[int, Query(ge=1, le=100)] = 8,
    service: Annotated[str | None, Query(description="Only this service's tools")] = None,
) -> list[FoundTool]:
    """Tool search (as the MCP tool `find_tools`): the tools that best match `query`, best first."""
    await gateway.guard.admit("find_tools")
    routes = [
        r for r in gateway.catalog.routes() if service in (None, r.service) and gateway.guard.visible(r.name, r.spec)
    ]
    ranked = await gateway.tools.find(query, routes, limit)
    return [FoundTool(**tool_info(route).model_dump(), score=round(score, 4)) for route, score in ranked]


@router.post(
    "/v1/tools/{name}",
    tags=["tools"],
    responses={
        400: {"model": ErrorBody, "description": "the arguments do not match the tool's input schema"},
        404: {"model": ErrorBody, "description": "no such tool (or one the caller may not call)"},
        429: {"model": ErrorBody, "description": "rate limit reached (see Retry-After)"},
        202: {"description": "held for approval: not run"},
        502: {"model": ErrorBody, "description": "the server answered something that is not MCP"},
        503: {"model": ErrorBody, "description": "the server is down"},
        504: {"model": ErrorBody, "description": "the server did not answer in time"},
    },
)
async def call_tool(
    name: str,
    gateway: GatewayDep,
    arguments: Annotated[dict[str, Any], Body(description="The tool's arguments as a JSON object.")] = {},  # noqa: B006
) -> dict[str, Any]:
    """Call one tool directly. Answers its MCP `CallToolResult` (`content`, `structuredContent`,
    `isError`); a tool that reports its own failure answers 200 with `isError: true`. A risky call is
    not run: 202 with the pending approval in `structuredContent`."""
    outcome = await gateway.pipeline.run(Call(name, arguments, "rest"))
    if outcome.held is not None:
        return JSONResponse(outcome.result, status_code=202)  # type: ignore[return-value]
    return outcome.result


async def request_validation_handler(request: Request, exc: Exception) -> JSONResponse:
    """422 for a body or query that does not fit the route, naming where and why but never repeating the
    value: FastAPI's default echoes the caller's input, which may be a secret, into the response."""
    assert isinstance(exc, RequestValidationError)
    details = [
        {"loc": list(error.get("loc", ())), "msg": str(error.get("msg", ""))[:300], "type": error.get("type", "")}
        for error in exc.errors()[:20]
    ]
    return JSONResponse({"detail": details}, status_code=422)


async def gateway_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """Every `GatewayError` an endpoint raises becomes its status and a `{"error": {type, message}}` body;
    Redis unreachable anywhere is a typed 503 (`StateUnavailable`), never a 500."""
    if isinstance(exc, RedisError):
        exc = StateUnavailable(f"shared state (Redis) is unavailable: {type(exc).__name__}")
    assert isinstance(exc, GatewayError)
    status, body, headers = http_error(exc)
    return JSONResponse(body, status_code=status, headers=headers or None)
