"""`sophia mcp`: a stdio MCP server that forwards to the gateway, for clients that only start local
commands (Claude Desktop).

One MCP client to the gateway is kept for the bridge's lifetime: a new session per call would cost
tens of milliseconds each. Tools, resources, templates, prompts and completion are forwarded as they
are, with a call's `_meta`, its progress and the gateway's log lines (at the level the client set); a
tool's own failure stays a tool result with `isError`, a JSON-RPC error from the gateway stays a
JSON-RPC error, and a gateway that cannot be reached becomes a tool error the model can read. Not
built: forwarding `list_changed` notifications and resource subscriptions.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio
import mcp_types
from anyio.abc import TaskGroup, TaskStatus
from mcp.client import Client
from mcp.client.session import LoggingFnT
from mcp.client.streamable_http import streamable_http_client
from mcp.server import Server, ServerRequestContext
from mcp.server.stdio import stdio_server
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.exceptions import MCPDeprecationWarning, MCPError

from sophia.gateway.cli.credentials import api_key_from_env

logger = logging.getLogger("sophia.gateway.cli.bridge")
T = TypeVar("T")


class GatewayUnreachable(RuntimeError):
    """The gateway could not be reached, or the connection to it broke."""


def _root_cause(exc: BaseException) -> BaseException:
    """The first real error inside the task-group wrappers the SDK raises."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


class GatewayLink:
    """The bridge's one client to the gateway.

    The client lives in a task of its own: when its transport fails (a request sent while the gateway
    is down), the SDK cancels the scope that opened the client, and that must not be the stdio
    server's. A client that failed is replaced on the next request, so a restarted gateway is picked
    up without restarting the bridge or its MCP client.
    """

    def __init__(self, url: str, tasks: TaskGroup, on_log: LoggingFnT | None = None) -> None:
        self.url = url
        self._tasks = tasks
        self._on_log = on_log
        self._lock = anyio.Lock()
        self._client: Client | None = None
        self._scope: anyio.CancelScope | None = None

    async def request(self, send: Callable[[Client], Awaitable[T]]) -> T:
        """Run `send` with the client, opening one first if needed; raise `GatewayUnreachable` when the
        gateway cannot be reached."""
        try:
            client = await self.client()
        except Exception as exc:
            cause = _root_cause(exc)
            raise GatewayUnreachable(
                f"the Sophia gateway at {self.url} did not answer ({type(cause).__name__}: {cause})"
            ) from exc
        try:
            return await send(client)
        except MCPError as exc:
            if exc.code != mcp_types.CONNECTION_CLOSED:
                raise
            self._discard(client)
            raise GatewayUnreachable(f"the connection to the Sophia gateway at {self.url} was lost") from exc

    async def client(self) -> Client:
        async with self._lock:
            if self._client is None:
                await self._tasks.start(self._hold)
            assert self._client is not None
            return self._client

    def _discard(self, client: Client) -> None:
        if self._client is client and self._scope is not None:
            self._client = None
            self._scope.cancel()

    async def _hold(self, *, task_status: TaskStatus[None]) -> None:
        # The client on the far side of the bridge keeps its own cache.
        api_key = api_key_from_env()
        if api_key:  # a gateway with auth on: one HTTP client carrying the key, kept for the connection's life
            http = create_mcp_http_client(headers={"authorization": f"Bearer {api_key}"})
            client = Client(
                streamable_http_client(self.url, http_client=http), cache=None, logging_callback=self._on_log
            )
        else:
            http, client = None, Client(self.url, cache=None, logging_callback=self._on_log)
        started = False
        with anyio.CancelScope() as scope:
            try:
                async with contextlib.AsyncExitStack() as stack, client:
                    if http is not None:
                        stack.push_async_callback(http.aclose)
                    self._client, self._scope, started = client, scope, True
                    task_status.started()
                    await anyio.sleep_forever()
            except Exception as exc:
                if not started:
                    raise  # to the caller of `client()`
                logger.warning("connection to %s lost: %s", self.url, _root_cause(exc))
            finally:
                if self._client is client:
                    self._client = None


def _error_result(message: str) -> mcp_types.CallToolResult:
    return mcp_types.CallToolResult(content=[mcp_types.TextContent(type="text", text=message)], is_error=True)


class Downstream:
    """The one client on the stdio side: where the gateway's log lines go, and the level it asked for."""

    def __init__(self) -> None:
        self.session: Any = None
        self.level: mcp_types.LoggingLevel = "info"

    async def log(self, params: mcp_types.LoggingMessageNotificationParams) -> None:
        if self.session is not None:
            with contextlib.suppress(Exception):  # a log line is never worth failing a call
                await self.session.send_log_message(params.level, params.data, params.logger)


def build_server(link: GatewayLink, instructions: str | None, downstream: Downstream | None = None) -> Server[Any]:
    """A low-level MCP server whose tools, resources, prompts, completion and logging are the gateway's."""
    downstream = downstream if downstream is not None else Downstream()

    async def forward(ctx: ServerRequestContext[Any], send: Callable[[Client], Awaitable[T]]) -> T:
        downstream.session = ctx.session
        try:
            return await link.request(send)
        except GatewayUnreachable as exc:
            raise MCPError(mcp_types.INTERNAL_ERROR, str(exc)) from exc

    async def list_tools(
        ctx: ServerRequestContext[Any], params: mcp_types.PaginatedRequestParams | None
    ) -> mcp_types.ListToolsResult:
        cursor = params.cursor if params else None
        return await forward(ctx, lambda client: client.list_tools(cursor=cursor))

    async def call_tool(
        ctx: ServerRequestContext[Any], params: mcp_types.CallToolRequestParams
    ) -> mcp_types.CallToolResult:
        downstream.session = ctx.session

        async def progress(progress: float, total: float | None, message: str | None) -> None:
            await ctx.session.report_progress(progress, total, message)

        # The caller's `_meta` goes on (its progress token is the bridge's own upstream); the log level it asked
        # for opts in at 2026-07-28, where the gateway logs only for requests that ask.
        meta = {k: v for k, v in dict(params.meta or {}).items() if k != "progressToken"}
        meta.setdefault(mcp_types.LOG_LEVEL_META_KEY, downstream.level)
        wants_progress = params.meta is not None and "progressToken" in dict(params.meta)
        try:
            return await link.request(
                lambda client: client.call_tool(
                    params.name,
                    params.arguments,
                    progress_callback=progress if wants_progress else None,
                    meta=meta,  # type: ignore[arg-type]
                )
            )
        except GatewayUnreachable as exc:
            # Never retried: the call may have reached the gateway, and tools are not all idempotent.
            logger.warning("%s not forwarded: %s", params.name, exc)
            return _error_result(f"{params.name} was not run or its result was lost: {exc}")

    async def list_resources(
        ctx: ServerRequestContext[Any], params: mcp_types.PaginatedRequestParams | None
    ) -> mcp_types.ListResourcesResult:
        return await forward(ctx, lambda client: client.list_resources(cache_mode="bypass"))

    async def list_templates(
        ctx: ServerRequestContext[Any], params: mcp_types.PaginatedRequestParams | None
    ) -> mcp_types.ListResourceTemplatesResult:
        return await forward(ctx, lambda client: client.list_resource_templates(cache_mode="bypass"))

    async def read_resource(
        ctx: ServerRequestContext[Any], params: mcp_types.ReadResourceRequestParams
    ) -> mcp_types.ReadResourceResult:
        return await forward(ctx, lambda client: client.read_resource(str(params.uri), cache_mode="bypass"))

    async def list_prompts(
        ctx: ServerRequestContext[Any], params: mcp_types.PaginatedRequestParams | None
    ) -> mcp_types.ListPromptsResult:
        return await forward(ctx, lambda client: client.list_prompts(cache_mode="bypass"))

    async def get_prompt(
        ctx: ServerRequestContext[Any], params: mcp_types.GetPromptRequestParams
    ) -> mcp_types.GetPromptResult:
        return await forward(ctx, lambda client: client.get_prompt(params.name, params.arguments))

    async def complete(
        ctx: ServerRequestContext[Any], params: mcp_types.CompleteRequestParams
    ) -> mcp_types.CompleteResult:
        argument = {"name": params.argument.name, "value": params.argument.value}
        context = params.context.arguments if params.context else None
        return await forward(ctx, lambda client: client.complete(params.ref, argument, context))

    async def set_level(ctx: ServerRequestContext[Any], params: mcp_types.SetLevelRequestParams) -> Any:
        downstream.session, downstream.level = ctx.session, params.level
        return mcp_types.EmptyResult()

    with warnings.catch_warnings():  # logging/setLevel is deprecated at 2026-07-28; stdio clients still send it
        warnings.simplefilter("ignore", MCPDeprecationWarning)
        return Server(
            "sophia",
            version="0.1.0",
            instructions=instructions,
            on_list_tools=list_tools,
            on_call_tool=call_tool,
            on_list_resources=list_resources,
            on_list_resource_templates=list_templates,
            on_read_resource=read_resource,
            on_list_prompts=list_prompts,
            on_get_prompt=get_prompt,
            on_completion=complete,
            on_set_logging_level=set_level,
        )


async def serve(url: str) -> None:
    """Bridge stdin/stdout to the gateway's MCP endpoint at `url` until stdin closes."""
    async with anyio.create_task_group() as tasks:
        downstream = Downstream()
        link = GatewayLink(url, tasks, downstream.log)
        # Connect before serving: a bridge started with no gateway says so at once, where the MCP
        # client's log shows it, instead of answering every request with an error.
        instructions = await link.request(_instructions)
        server = build_server(link, instructions, downstream)
        async with stdio_server() as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())
        tasks.cancel_scope.cancel()


async def _instructions(client: Client) -> str | None:
    return client.instructions


def run(url: str) -> None:
    # stdout carries the protocol: logs go to stderr, where MCP clients collect them.
    logging.basicConfig(level=logging.WARNING, format="sophia mcp: %(levelname)s %(message)s")
    try:
        anyio.run(serve, url)
    except* GatewayUnreachable as group:
        raise group.exceptions[0] from None
