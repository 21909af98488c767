"""The federated MCP endpoint (Streamable HTTP at /mcp).

Everything MCP defines (initialize for 2025-11-25 clients, server/discover, tools/list,
subscriptions/listen, ping, error ladders) is served by the SDK's low-level server in stateless
mode, so no replica holds session state another would need. `tools/call` — the hot path — is
answered here directly: it is validated with the SDK's own inbound ladder (routing headers,
envelope, Host check), forwarded on a pooled connection, and its result written back, without
building the SDK's per-request connection machinery. That keeps the added latency under a
millisecond.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import warnings
from collections.abc import Awaitable, Iterator
from typing import Any

import mcp_types
import orjson
from mcp.server import Server
from mcp.server.context import ServerRequestContext
from mcp.server.streamable_http import check_accept_headers
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.subscriptions import ListenHandler, SubscriptionBus
from mcp.server.transport_security import TransportSecurityMiddleware
from mcp.shared.exceptions import MCPDeprecationWarning, MCPError
from mcp.shared.inbound import (
    ERROR_CODE_HTTP_STATUS,
    InboundLadderRejection,
    classify_inbound_request,
    find_duplicated_routing_header,
)
from mcp_types.version import MODERN_PROTOCOL_VERSIONS, SUPPORTED_PROTOCOL_VERSIONS
from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.types import Message, Receive, Scope, Send

from sophia.gateway.bodies import parse_json, replay_once
from sophia.gateway.catalog import Catalog
from sophia.gateway.client_capabilities import declared, session_id
from sophia.gateway.client_requests import AnswerTooLarge, ClientRequests, NotWaiting, is_answer
from sophia.gateway.errors import GatewayError, InvalidRequest, as_tool_result, jsonrpc_error
from sophia.gateway.event_stream import EventStream, StreamPeer
from sophia.gateway.federation import Federation, without_envelope
from sophia.gateway.input_required import caller_input
from sophia.gateway.meta_tools import META_TOOLS, MetaTools
from sophia.gateway.pipeline import Call, Pipeline, Progress
from sophia.gateway.relay import CURRENT_PEER, SdkPeer
from sophia.gateway.results import error_result
from sophia.gateway.security.guard import Guard
from sophia.kit.security import transport_security

logger = logging.getLogger("sophia.gateway.mcp")

SERVER_INFO = {"name": "sophia", "version": "0.1.0"}
_JSON_HEADERS = [(b"content-type", b"application/json")]


class FederatedMCP:
    """ASGI app for /mcp."""

    def __init__(
        self,
        catalog: Catalog,
        pipeline: Pipeline,
        guard: Guard,
        meta: MetaTools,
        bus: SubscriptionBus,
        allowed_hosts: list[str],
        max_body: int,
        requests: ClientRequests,
    ) -> None:
        self.catalog = catalog
        self.pipeline = pipeline
        self.guard = guard
        self.meta = meta
        #: What this replica asked of its clients on an upstream's behalf, waiting for their answers.
        self.requests = requests
        self._listed: tuple[int, list[mcp_types.Tool]] = (-1, [])
        self.federation = federation = Federation(catalog, guard)
        #: SDK-path calls in flight, by caller and request id, so a cancellation notification can find them.
        self._in_flight: dict[tuple[str, str, str], asyncio.Task[Any]] = {}
        with warnings.catch_warnings():  # logging/setLevel is deprecated at 2026-07-28, still ours to forward
            warnings.simplefilter("ignore", MCPDeprecationWarning)
            self.server = self._build_server(bus, federation)
        security = transport_security(allowed_hosts)
        self.sessions = StreamableHTTPSessionManager(
            self.server, stateless=True, security_settings=security, max_request_body_size=max_body
        )
        self._security = TransportSecurityMiddleware(security)
        self._max_body = max_body

    def _build_server(self, bus: SubscriptionBus, federation: Federation) -> Server[Any]:
        return Server(
            SERVER_INFO["name"],
            version=SERVER_INFO["version"],
            instructions="Sophia federates capability servers; tools are named <service>_<tool>. `ask` does a "
            "plain-language request end to end; `find_tools` finds a tool by what it does.",
            on_list_tools=self._list_tools,
            on_call_tool=self._call_tool,
            on_subscriptions_listen=ListenHandler(bus),
            get_tool_input_schema=self._input_schema,
            on_list_resources=federation.list_resources,
            on_list_resource_templates=federation.list_resource_templates,
            on_read_resource=federation.read_resource,
            on_subscribe_resource=federation.subscribe,
            on_unsubscribe_resource=federation.unsubscribe,
            on_list_prompts=federation.list_prompts,
            on_get_prompt=federation.get_prompt,
            on_completion=federation.complete,
            on_set_logging_level=federation.set_logging_level,
        )

    # -- SDK handlers -----------------------------------------------------------------------

    def _input_schema(self, name: str) -> dict[str, Any] | None:
        return self.meta.input_schema(name) or self.catalog.input_schema(name)

    async def _list_tools(
        self, ctx: ServerRequestContext[Any], params: mcp_types.PaginatedRequestParams | None
    ) -> mcp_types.ListToolsResult:
        if self.meta.settings.tool_list == "compact":  # ranked by use: rebuilt each time
            tools = [mcp_types.Tool.model_validate(d) for d in self.meta.listing()]
        else:
            version, tools = self._listed
            if version != self.catalog.version:
                tools = [mcp_types.Tool.model_validate(d) for d in self.meta.listing()]
                self._listed = (self.catalog.version, tools)
        # You see only what you may call.
        return mcp_types.ListToolsResult(tools=[tool for tool in tools if self._visible(tool.name)])

    def _visible(self, name: str) -> bool:
        spec = self.catalog.route(name).spec if self.catalog.has(name) else None
        return self.guard.visible(name, spec)

    async def _call_tool(
        self, ctx: ServerRequestContext[Any], params: mcp_types.CallToolRequestParams
    ) -> mcp_types.CallToolResult | mcp_types.InputRequiredResult:
        """The SDK path (`ask` and other tools whose progress streams as events)."""

        async def progress(done: float, total: float | None, message: str) -> None:
            await ctx.session.report_progress(done, total, message)

        answers = None
        if ctx.session.protocol_version in MODERN_PROTOCOL_VERSIONS:  # it can be asked with input_required
            answers = params.model_dump(mode="json", by_alias=True, include={"input_responses", "request_state"})
            answers = {k: v for k, v in answers.items() if v is not None}
        token = CURRENT_PEER.set(SdkPeer(ctx))  # the upstream's log lines, sampling and elicitation come back here
        try:
            with self._cancellable(ctx.request, ctx.request_id):
                meta = _forwarded_meta(params.meta)
                outcome = await self.answer(params.name, params.arguments, progress, meta, answers)
        finally:
            CURRENT_PEER.reset(token)
        if "error" in outcome:
            raise MCPError(outcome["error"]["code"], outcome["error"]["message"], outcome["error"].get("data"))
        if outcome["result"].get("resultType") == "input_required":
            return mcp_types.InputRequiredResult.model_validate(outcome["result"])
        return mcp_types.CallToolResult.model_validate(outcome["result"])

    async def answer(
        self,
        name: str,
        arguments: dict[str, Any] | None,
        progress: Progress | None = None,
        meta: dict[str, Any] | None = None,
        answers: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """One tools/call through the pipeline, as `{"result": ...}` or `{"error": ..., "status", "headers"}`:
        the one translation of outcomes to MCP, shared by both paths. `meta`: the caller's `_meta`, passed on;
        `answers`: a 2026-07-28 caller's `inputResponses`/`requestState` (None for a caller of another era)."""
        try:
            if answers:
                answers = caller_input(answers)
            call = Call(name, dict(arguments or {}), "mcp", meta=meta or {}, progress=progress, answers=answers)
            outcome = await self.pipeline.run(call)
        except GatewayError as exc:
            if exc.as_result:
                return {"result": as_tool_result(exc)}
            headers = [(k.encode(), v.encode()) for k, v in exc.headers().items()]
            error = jsonrpc_error(exc)
            # A code the protocol maps to a status (invalid params: 400 at 2026-07-28, 200 before) keeps the
            # protocol's; our own codes (forbidden, rate limited, server down) carry their HTTP status.
            status = None if error.get("code") in ERROR_CODE_HTTP_STATUS else exc.http_status
            return {"error": error, "status": status, "headers": headers}
        except Exception:
            logger.exception("tools/call %s failed inside the gateway", name)
            return {"result": error_result(f"{name} failed inside the gateway")}
        return {"result": without_envelope(outcome.result)}

    # -- ASGI -------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.sessions.handle_request(scope, receive, send)
            return
        body = await _read_body(receive, self._max_body)
        if body is None:
            await _too_large(send)
            return
        replay = replay_once({"type": "http.request", "body": body, "more_body": False}, receive)
        try:
            message = parse_json(body)
        except InvalidRequest as exc:  # both paths: the SDK's parser would let some of these through
            error = {"code": mcp_types.PARSE_ERROR, "message": str(exc)}
            await _reply(send, None, error=error, modern=False, status=400)
            return
        if is_answer(message):  # a client's answer to a sampling or elicitation request the gateway sent it
            await self._route_answer(message, len(body), send)
            return
        if isinstance(message, dict) and message.get("method") == "initialize":
            send = _with_session_id(send, message)  # what the client declared, for whichever replica serves it
        if isinstance(message, dict) and message.get("method") == "notifications/cancelled":
            self._cancel(Request(scope, replay), message)  # then the SDK acknowledges it as usual
        if (
            isinstance(message, dict)
            and message.get("method") == "tools/call"
            and (verdict := _envelope_rejection(message))
        ):
            await _reply(send, None, error=verdict, modern=False, status=400)
            return
        is_call = isinstance(message, dict) and message.get("method") == "tools/call" and "id" in message
        talks_back = is_call and self._may_talk_back(message, scope)
        if not is_call or (
            not talks_back
            and (
                _tool_name(message) in META_TOOLS  # the SDK path: `ask` streams progress notifications
                or _streams(message)  # and so does any call whose caller asked for progress or logs
            )
        ):
            await self.sessions.handle_request(scope, replay, send)
            return
        request = Request(scope, replay)
        version = request.headers.get("mcp-protocol-version")
        has_json, has_sse = check_accept_headers(request)
        if version not in SUPPORTED_PROTOCOL_VERSIONS or not has_json or (talks_back and not has_sse):
            await self.sessions.handle_request(scope, replay, send)  # the SDK says what is wrong
            return
        rejected = await self._security.validate_request(request, is_post=True)
        if rejected is not None:
            await rejected(scope, replay, send)
            return
        if talks_back:
            await self._stream_call(message, request, version, send, receive)
            return
        modern = version in MODERN_PROTOCOL_VERSIONS
        if modern:
            verdict = _modern_rejection(message, request)
            if verdict is not None:
                await _reply(send, message.get("id"), error=verdict, modern=True)
                return
        await self._forward(message, send, modern, receive)

    @contextlib.contextmanager
    def _cancellable(self, request: Any, request_id: Any) -> Iterator[None]:
        """While the current task answers this caller's request, a cancellation notification finds it."""
        key = _caller_key(request, request_id)
        task = asyncio.current_task()
        if key is None or task is None:
            yield
            return
        self._in_flight[key] = task
        try:
            yield
        finally:
            if self._in_flight.get(key) is task:
                del self._in_flight[key]

    def _cancel(self, request: Request, message: dict[str, Any]) -> None:
        """A 2025-11-25 client cancels with a notification on a new POST; the endpoint is stateless, so the call
        is found by the caller's address, credential and request id (2026-07-28 clients close the stream)."""
        params = message.get("params")
        request_id = params.get("requestId") if isinstance(params, dict) else None
        key = _caller_key(request, request_id)
        task = self._in_flight.pop(key, None) if key is not None else None
        if task is not None:
            logger.info("tools/call cancelled by its caller")
            task.cancel()

    async def _route_answer(self, message: dict[str, Any], size: int, send: Send) -> None:
        """A client's JSON-RPC response to a request the gateway sent it: to the call waiting for it, on this
        replica or another; refused, saying why, when no such request waits for this caller's answer."""
        try:
            await self.requests.answer(self.guard.principal().key, message, size)
        except NotWaiting:
            error = {"code": mcp_types.INVALID_REQUEST, "message": "no request of the gateway waits for this answer"}
            await _reply(send, None, error=error, modern=False, status=404)
            return
        except AnswerTooLarge as exc:
            await _reply(
                send, None, error={"code": mcp_types.INVALID_REQUEST, "message": str(exc)}, modern=False, status=413
            )
            return
        except GatewayError as exc:
            await _reply(send, None, error=jsonrpc_error(exc), modern=False, status=exc.http_status)
            return
        except RedisError:
            logger.warning("a client's answer could not be routed to another replica: Redis is unavailable")
            error = {"code": mcp_types.INTERNAL_ERROR, "message": "the answer could not be delivered; try again"}
            await _reply(send, None, error=error, modern=False, status=503)
            return
        await send({"type": "http.response.start", "status": 202, "headers": [(b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})

    async def _stream_call(
        self, message: dict[str, Any], request: Request, version: str, send: Send, receive: Receive
    ) -> None:
        """A 2025-11-25 call to an external server, answered as an event stream: the upstream's log lines,
        progress and questions (sampling, elicitation) reach the caller on it, then the call's response."""
        request_id = message["id"]
        call = _call_params(message)
        if call is None:
            await _reply(send, request_id, error=_BAD_CALL, modern=False)
            return
        name, arguments, meta = call
        stream = EventStream(send)
        capabilities = declared(request.headers.get("mcp-session-id"))
        peer = StreamPeer(stream, version, capabilities, self.guard.principal().key, self.requests)
        progress: Progress | None = None
        token = meta.get("progressToken") if isinstance(meta, dict) else None
        if isinstance(token, str | int) and not isinstance(token, bool):
            progress_token = token

            async def progress(done: float, total: float | None, text: str) -> None:
                await peer.progress(progress_token, done, total, text)

        peer_token = CURRENT_PEER.set(peer)
        try:
            with self._cancellable(request, request_id):
                answering = self.answer(name, arguments, progress, _forwarded_meta(meta))
                outcome = await _unless_disconnected(answering, receive)
        finally:
            CURRENT_PEER.reset(peer_token)
        if outcome is None:
            return
        if "error" in outcome and not stream.started:  # nothing sent yet: the error keeps its HTTP status
            await _reply_failure(send, request_id, outcome, modern=False)
            return
        member = "error" if "error" in outcome else "result"
        await stream.event({"jsonrpc": "2.0", "id": request_id, member: outcome[member]})
        await stream.close()

    def _may_talk_back(self, message: dict[str, Any], scope: Scope) -> bool:
        """An external server may log, report progress or ask the client something during any call: a 2025-11-25
        caller that reads event streams gets its call answered as one (`_stream_call`), where that reaches it.
        (A 2026-07-28 caller hears only what it opted in to with `_meta`, which `_streams` sees; kit servers
        never talk back: both stay fast.)"""
        route = self.catalog.find(_tool_name(message))
        if route is None or route.kind not in ("url", "stdio"):
            return False
        version = next((v for k, v in scope["headers"] if k == b"mcp-protocol-version"), b"").decode("latin-1")
        if version in MODERN_PROTOCOL_VERSIONS:
            return False
        accept = next((v for k, v in scope["headers"] if k == b"accept"), b"")
        return b"text/event-stream" in accept

    async def _forward(self, message: dict[str, Any], send: Send, modern: bool, receive: Receive) -> None:
        request_id = message["id"]
        call = _call_params(message)
        if call is None:
            await _reply(send, request_id, error=_BAD_CALL, modern=modern)
            return
        name, arguments, meta = call
        answers = _round_params(message) if modern else None
        answering = self.answer(name, arguments, meta=_forwarded_meta(meta), answers=answers)
        route = self.catalog.find(name)
        if route is not None and route.kind in ("url", "stdio"):
            # A 2026-07-28 client cancels by closing its request: the external server's call is cancelled
            # with it. (Kit calls skip the watch: two tasks a call is most of their latency budget.)
            found = await _unless_disconnected(answering, receive)
            if found is None:
                return
            outcome = found
        else:
            outcome = await answering
        if "error" in outcome:
            # Real HTTP statuses (403, 429 with Retry-After, 503), so any client and any proxy sees them.
            await _reply_failure(send, request_id, outcome, modern=modern)
            return
        result = outcome["result"]
        if modern:
            result.setdefault("resultType", "complete")  # required at 2026-07-28; our own error results lack it
            result["_meta"] = {**(result.get("_meta") or {}), mcp_types.SERVER_INFO_META_KEY: SERVER_INFO}
        await _reply(send, request_id, result=result, modern=modern)


#: `_meta` keys that belong to the hop between the client and the gateway, not to the upstream server.
_HOP_META = frozenset({"progressToken", mcp_types.SERVER_INFO_META_KEY})


def _forwarded_meta(meta: Any) -> dict[str, Any] | None:
    """The caller's `_meta` as the upstream should see it (the progress token is the gateway's own there;
    the gateway's own keys and the envelope are not the caller's to set)."""
    if meta is None:
        return None
    if hasattr(meta, "model_dump"):
        meta = meta.model_dump(mode="json", by_alias=True, exclude_none=True)
    if not isinstance(meta, dict):
        return None
    kept = {k: v for k, v in meta.items() if _forwarded(k)}
    return kept or None


def _forwarded(key: str) -> bool:
    if key in _HOP_META or key.startswith("sophia/"):  # the gateway's own keys (grants) are never a caller's
        return False
    # The protocol's envelope keys are the gateway's to set on its own hop; the log level is the caller's wish.
    return not key.startswith("io.modelcontextprotocol/") or key == mcp_types.LOG_LEVEL_META_KEY


def _caller_key(request: Any, request_id: Any) -> tuple[str, str, str] | None:
    """Who asked (client address and a digest of its credential) and which request: ids are only unique per
    client, and a caller must never cancel another's call."""
    if not isinstance(request, Request) or not isinstance(request_id, str | int) or isinstance(request_id, bool):
        return None
    host = request.client.host if request.client else ""
    credential = request.headers.get("authorization", "")
    return host, hashlib.sha256(credential.encode()).hexdigest(), str(request_id)


_BAD_CALL = {"code": mcp_types.INVALID_PARAMS, "message": "tools/call needs a string name and object arguments"}


def _call_params(message: dict[str, Any]) -> tuple[str, dict[str, Any] | None, Any] | None:
    """A tools/call's name, arguments and `_meta`; None when the name is not a string or the arguments not an
    object."""
    params = message.get("params")
    if not isinstance(params, dict):
        return None
    name, arguments = params.get("name"), params.get("arguments")
    if not isinstance(name, str) or not (arguments is None or isinstance(arguments, dict)):
        return None
    return name, arguments, params.get("_meta")


def _round_params(message: dict[str, Any]) -> dict[str, Any]:
    """A 2026-07-28 call's answers to an earlier `input_required` round, unchecked (`answer` checks them)."""
    params = message["params"]
    return {key: params[key] for key in ("inputResponses", "requestState") if key in params}


def _with_session_id(send: Send, initialize: dict[str, Any]) -> Send:
    """`send`, adding to the `initialize` response a session id that carries the capabilities the client declared
    (the endpoint is stateless: this is how any replica later knows what it may ask of that client)."""
    params = initialize.get("params")
    issued = session_id(params.get("capabilities") if isinstance(params, dict) else None).encode()

    async def sending(event: Message) -> None:
        if event["type"] == "http.response.start" and event.get("status") == 200:
            headers = [(k, v) for k, v in event.get("headers", []) if k.lower() != b"mcp-session-id"]
            event = {**event, "headers": [*headers, (b"mcp-session-id", issued)]}
        await send(event)

    return sending


def _streams(message: dict[str, Any]) -> bool:
    """Whether the caller asked for notifications during the call (progress or, at 2026-07-28, logs)."""
    params = message.get("params")
    meta = params.get("_meta") if isinstance(params, dict) else None
    return isinstance(meta, dict) and ("progressToken" in meta or mcp_types.LOG_LEVEL_META_KEY in meta)


async def _unless_disconnected(answering: Awaitable[dict[str, Any]], receive: Receive) -> dict[str, Any] | None:
    """The answer, or None when the client disconnected first (the call is cancelled then)."""

    async def disconnected() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    call = asyncio.ensure_future(answering)
    watch = asyncio.ensure_future(disconnected())
    try:
        await asyncio.wait({call, watch}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (call, watch):
            if not task.done():
                task.cancel()
    if not call.done() or call.cancelled():
        logger.info("tools/call cancelled: its caller went away")
        with contextlib.suppress(asyncio.CancelledError):
            await call
        return None
    return call.result()


def _tool_name(message: dict[str, Any]) -> Any:
    params = message.get("params")
    return params.get("name") if isinstance(params, dict) else None


def _envelope_rejection(message: dict[str, Any]) -> dict[str, Any] | None:
    """JSON-RPC 2.0's envelope, as the SDK path checks it: `"jsonrpc": "2.0"` and an id that is a string or
    an integer (not null, a boolean, a fraction or an object). A request without an id is a notification:
    the SDK answers it (tools/call must have one)."""
    if message.get("jsonrpc") != "2.0":
        return {"code": mcp_types.INVALID_REQUEST, "message": 'Invalid Request: "jsonrpc" must be "2.0"'}
    if "id" in message and (isinstance(message["id"], bool) or not isinstance(message["id"], str | int)):
        return {"code": mcp_types.INVALID_REQUEST, "message": "Invalid Request: id must be a string or an integer"}
    return None


def _modern_rejection(message: dict[str, Any], request: Request) -> dict[str, Any] | None:
    """Run the SDK's 2026-07-28 inbound ladder: routing headers must agree with the body."""
    duplicated = find_duplicated_routing_header(request.headers.items())
    if duplicated is not None:
        return {"code": mcp_types.HEADER_MISMATCH, "message": f"{duplicated} header appears more than once"}
    verdict = classify_inbound_request(message, headers=dict(request.headers))
    if isinstance(verdict, InboundLadderRejection):
        error: dict[str, Any] = {"code": verdict.code, "message": verdict.message}
        if verdict.data is not None:
            error["data"] = verdict.data
        return error
    return None


async def _reply_failure(send: Send, request_id: Any, outcome: dict[str, Any], *, modern: bool) -> None:
    """A call's failure with the HTTP status and headers the pipeline's error mapper chose for it."""
    await _reply(
        send, request_id, error=outcome["error"], modern=modern, status=outcome["status"], headers=outcome["headers"]
    )


async def _reply(
    send: Send,
    request_id: Any,
    *,
    result: dict[str, Any] | None = None,
    error: dict[str, Any] | None = None,
    modern: bool,
    status: int | None = None,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    if error is not None:
        payload: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "error": error}
        status = status or (ERROR_CODE_HTTP_STATUS.get(int(error.get("code", 0)), 200) if modern else 200)
    else:
        payload, status = {"jsonrpc": "2.0", "id": request_id, "result": result}, 200
    body = orjson.dumps(payload)
    # A Content-Length spares the client a chunked decode.
    headers = [*_JSON_HEADERS, (b"content-length", str(len(body)).encode()), *(headers or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The request body, or None once it grows past `limit` (checked as it streams in, so a huge
    body is never held in memory)."""
    chunks = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _too_large(send: Send) -> None:
    body = b"Request body too large"
    headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})
