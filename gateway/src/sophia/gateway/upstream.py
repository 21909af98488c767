"""Connections to capability servers: one long-lived client per server, never a session per call.

`HttpUpstream` speaks stateless MCP 2026-07-28 to a kit server as raw JSON-RPC over the gateway's lean
keep-alive pool (`keepalive`): no handshake and no session, so a call costs one POST on a kept-alive
connection. (Not httpx, nor aiohttp's client: measured on this hot path, httpx cost about 0.8 ms more
per request than aiohttp, and aiohttp's client about a fifth of the gateway's Python time per call.)
External servers that may only speak older revisions, or stdio, go through `SessionUpstream`, which
keeps one SDK client session open for the server's lifetime; a URL server's calls that nobody listens
in on take a pooled raw path beside it: at 2026-07-28 the same lean pool (one answer, read whole; a
server that redirects goes to aiohttp's client, `AiohttpUpstream`), before it aiohttp's client
(`legacy_http.LegacyHttpUpstream`: a 2025-11-25 answer is a stream to read as it comes).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import AsyncExitStack
from types import TracebackType
from typing import Any, Protocol

import aiohttp
import mcp_types
import orjson
import yarl
from mcp.client import Client
from mcp.client._transport import Transport, TransportStreams
from mcp.client.subscriptions import ResourceUpdated
from mcp.shared._stream_protocols import ReadStream
from mcp.shared.dispatcher import ProgressFnT
from mcp.shared.exceptions import MCPError
from mcp.shared.message import SessionMessage
from mcp_types.jsonrpc import JSONRPCResponse
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import ValidationError

from sophia.gateway import input_required, keepalive
from sophia.gateway.errors import (
    InvalidRequest,
    UpstreamError,
    UpstreamProtocolError,
    UpstreamRejected,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from sophia.gateway.keepalive import KeepAlivePool
from sophia.gateway.relay import Relay
from sophia.kit import inject_headers, wire
from sophia.kit.security import InternalCredential

logger = logging.getLogger("sophia.gateway.upstream")

CLIENT_INFO = {"name": "sophia-gateway", "version": "0.1.0"}
_ENVELOPE = wire.envelope(CLIENT_INFO)


#: A call's timeout when the caller gave none (the pipeline always gives one for servers).
DEFAULT_TIMEOUT_S = 60.0
#: Resource subscriptions one 2026-07-28 upstream holds open for the gateway's clients (a stream each).
MAX_SUBSCRIPTIONS = 100
Progress = Callable[[float, float | None, str], Awaitable[None]]


class Upstream(Protocol):
    """What the gateway needs from a server: its tools, and calls to them."""

    service: str

    async def list_tools(self) -> list[dict[str, Any]]: ...

    async def call_tool(
        self,
        tool: str,
        arguments: Mapping[str, Any] | None,
        timeout: float | None,
        *,
        meta: Mapping[str, Any] | None = None,
        progress: Progress | None = None,
        answers: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The server's `CallToolResult` as a dict. `meta` goes to the server in `params._meta`. `answers`: a
        2026-07-28 caller's answers to the server's last `input_required` round (see `input_required`), for a
        server that speaks 2026-07-28 (others ignore them); None refuses such a round."""
        ...


class RawUpstream:
    """A server reached with raw JSON-RPC POSTs on pooled connections; how one POST is exchanged is the
    subclass's (`HttpUpstream` for kit servers and external ones at 2026-07-28, `AiohttpUpstream` for an
    external one that redirects, `legacy_http.LegacyHttpUpstream` before 2026-07-28).

    Each request carries exactly the headers built here: the internal credential when one is given,
    never anything of the caller's (their own Authorization header stays at the gateway).
    """

    def __init__(
        self,
        service: str,
        endpoint: str,
        credential: InternalCredential | None = None,
        features: frozenset[str] = frozenset(),
    ) -> None:
        self.service = service
        self.endpoint = endpoint
        self._features = features
        self._credential = credential
        self._ids = itertools.count(1)

    async def _rpc(self, method: str, params: dict[str, Any], name: str | None, timeout: float) -> dict[str, Any]:
        request_id = next(self._ids)
        body = orjson.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
        try:
            status, message = await self._exchange(body, self._headers(method, name), request_id, timeout)
        except asyncio.CancelledError:
            self._abandoned(request_id)
            raise
        return self._result(status, message)

    def _abandoned(self, request_id: int) -> None:
        """A request given up on (its caller cancelled or timed out). At 2026-07-28 the closed request is the
        cancellation; nothing more to say."""

    def _headers(self, method: str, name: str | None) -> dict[str, str]:
        headers = wire.request_headers(method, name)
        if self._credential is not None and (authorization := self._credential.authorization()):
            headers["authorization"] = authorization
        inject_headers(headers)
        return headers

    async def _exchange(
        self, body: bytes, headers: dict[str, str], request_id: int, timeout: float
    ) -> tuple[int, dict[str, Any]]:
        """POST one request; the HTTP status and the JSON-RPC reply to it (from a JSON body or an event stream)."""
        raise NotImplementedError

    def _from_stream(self, status: int, content: bytes, request_id: int) -> dict[str, Any]:
        """The reply to `request_id` inside an event-stream body read whole."""
        try:
            return wire.reply_in_event_stream(content, request_id)
        except ValueError as exc:
            raise UpstreamProtocolError(self.service, f"invalid MCP response (HTTP {status})") from exc

    def _decoded(self, status: int, content: bytes) -> Any:
        if status == 401:
            raise UpstreamUnavailable(self.service, "refused the gateway's internal credential (HTTP 401)")
        try:
            return orjson.loads(content)
        except ValueError as exc:
            raise UpstreamProtocolError(self.service, f"invalid MCP response (HTTP {status})") from exc

    def _result(self, status: int, message: Any) -> dict[str, Any]:
        if not isinstance(message, dict):
            raise UpstreamProtocolError(self.service, "invalid MCP response")
        if "error" in message and isinstance(message["error"], dict):
            raise UpstreamRejected(self.service, message["error"])
        result = message.get("result")
        if not isinstance(result, dict):
            raise UpstreamProtocolError(self.service, f"MCP response without a result (HTTP {status})")
        return result

    async def list_tools(self) -> list[dict[str, Any]]:
        tools: list[dict[str, Any]] = []
        params: dict[str, Any] = {"_meta": _ENVELOPE}
        for _ in range(100):  # a server whose cursor never ends must not hang discovery
            result = await self._rpc("tools/list", params, None, timeout=10)
            tools.extend(t for t in result.get("tools", []) if isinstance(t, dict))
            cursor = result.get("nextCursor")
            if not isinstance(cursor, str):
                break
            params = {"_meta": _ENVELOPE, "cursor": cursor}
        return tools

    @property
    def features(self) -> frozenset[str]:
        """What this server offers besides tools, as its `server/discover` said (see `discover`)."""
        return self._features

    async def discover(self) -> None:
        """Learn the server's capabilities (resources, prompts, ...). A server that cannot say offers tools."""
        try:
            result = await self._rpc("server/discover", {"_meta": _ENVELOPE}, None, timeout=10)
        except UpstreamError as exc:
            logger.info("server/discover of %s failed (%s): serving its tools only", self.service, exc)
            return
        caps = result.get("capabilities") if isinstance(result.get("capabilities"), dict) else {}
        assert isinstance(caps, dict)
        # Not `subscribe`: at 2026-07-28 that is a listen stream, which this raw path does not hold.
        self._features = frozenset(name for name in ("resources", "prompts", "completions", "logging") if name in caps)

    async def request(self, method: str, params: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
        """Any other request (resources, prompts, completion), forwarded as it is, with the envelope."""
        params = {**params, "_meta": {**(params.get("_meta") or {}), **_ENVELOPE}}
        name = params.get("name") if method == "prompts/get" else params.get("uri") if "uri" in params else None
        return await self._rpc(method, params, name if isinstance(name, str) else None, timeout or DEFAULT_TIMEOUT_S)

    async def call_tool(
        self,
        tool: str,
        arguments: Mapping[str, Any] | None,
        timeout: float | None,
        *,
        meta: Mapping[str, Any] | None = None,
        progress: Progress | None = None,
        answers: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        envelope = {**meta, **_ENVELOPE} if meta else _ENVELOPE  # the protocol's own keys always win
        params = {"name": tool, "arguments": arguments or {}, "_meta": envelope, **(answers or {})}
        result = await self._rpc("tools/call", params, tool, timeout or DEFAULT_TIMEOUT_S)
        return input_required.passed_on(self.service, result, answers)


class HttpUpstream(RawUpstream):
    """A server reached over the gateway's lean keep-alive pool (see `keepalive`): one POST per call, its
    answer read whole. Kit servers answer one POST with one JSON body or one short event stream; so does an
    external server at 2026-07-28 on a call nobody listens in on (it sends nothing else unless asked to).

    The pool follows no redirect. Given `redirected` (an external server's aiohttp path), a 307 or 308, which
    says the request was not acted on, sends it again there, and every later call goes there too (a server
    mounted at `/mcp/` that redirects `/mcp`); without it a redirect is an invalid answer."""

    def __init__(
        self,
        service: str,
        endpoint: str,
        client: KeepAlivePool,
        credential: InternalCredential | None = None,
        features: frozenset[str] = frozenset(),
        redirected: AiohttpUpstream | None = None,
    ) -> None:
        super().__init__(service, endpoint, credential, features)
        self._endpoint = client.endpoint(endpoint)  # parsed once, not on every call
        self._redirected = redirected
        self._follows_redirect = False

    async def _exchange(
        self, body: bytes, headers: dict[str, str], request_id: int, timeout: float
    ) -> tuple[int, dict[str, Any]]:
        if self._follows_redirect and self._redirected is not None:
            return await self._redirected._exchange(body, headers, request_id, timeout)
        try:
            head = self._endpoint.head(headers, len(body))
        except ValueError as exc:  # a name or URI with a line break: never sent as a header
            raise InvalidRequest(str(exc)) from exc
        try:
            answer = await self._endpoint.send(head, body, timeout)
        except TimeoutError as exc:
            raise UpstreamTimeout(self.service, f"no answer within {timeout:g}s") from exc
        except (OSError, keepalive.BodyTooLarge) as exc:
            raise UpstreamUnavailable(self.service, "server unavailable") from exc
        status = answer.status
        if status in (307, 308) and self._redirected is not None:
            logger.info("%s redirects its MCP endpoint: its calls go through the client that follows", self.service)
            self._follows_redirect = True
            return await self._redirected._exchange(body, headers, request_id, timeout)
        if answer.content_type.startswith("text/event-stream"):
            return status, self._from_stream(status, answer.body, request_id)
        return status, self._decoded(status, answer.body)


class AiohttpUpstream(RawUpstream):
    """An external server's raw path on aiohttp's client, which follows redirects: at 2026-07-28 for a server
    that redirects (see `HttpUpstream`); `legacy_http` extends it before, for streams read as they come."""

    def __init__(
        self,
        service: str,
        endpoint: str,
        client: aiohttp.ClientSession,
        credential: InternalCredential | None = None,
        features: frozenset[str] = frozenset(),
    ) -> None:
        super().__init__(service, endpoint, credential, features)
        self._url = yarl.URL(endpoint)  # parsed once, not on every call
        self._client = client

    async def _exchange(
        self, body: bytes, headers: dict[str, str], request_id: int, timeout: float
    ) -> tuple[int, dict[str, Any]]:
        try:
            async with self._client.post(
                self._url, data=body, headers=headers, timeout=aiohttp.ClientTimeout(total=timeout)
            ) as response:
                status = response.status
                self._received(response)
                if response.content_type == "text/event-stream":
                    return status, await self._reply_in_stream(response, request_id)
                content = await response.read()
        except TimeoutError as exc:
            raise UpstreamTimeout(self.service, f"no answer within {timeout:g}s") from exc
        except aiohttp.ClientError as exc:
            raise UpstreamUnavailable(self.service, "server unavailable") from exc
        return status, self._decoded(status, content)

    def _received(self, response: aiohttp.ClientResponse) -> None:
        """Look at a response before its body is read (a session keeps the session id it carries)."""

    async def _reply_in_stream(self, response: aiohttp.ClientResponse, request_id: int) -> dict[str, Any]:
        return self._from_stream(response.status, await response.read(), request_id)


class SessionUpstream:
    """An external server behind one SDK client session that stays open (URL or stdio), in either era.

    Every failure is logged here once, with the server's name and its cause, before it becomes the typed
    error the pipeline maps (the caller sees "server unavailable", the operator sees why).
    """

    def __init__(self, service: str, client: Client, relay: Relay | None = None) -> None:
        self.service = service
        self._client = client
        self.relay = relay if relay is not None else Relay(service)
        self._listening: dict[str, asyncio.Task[None]] = {}
        #: For a 2026-07-28 URL server: the pooled raw path, used for a call nobody listens in on (no
        #: progress, no logs, no client to relay to): one POST, without the SDK client's per-call work.
        self.direct: RawUpstream | None = None

    @property
    def features(self) -> frozenset[str]:
        """What the server declared besides tools: `resources`, `subscribe`, `prompts`, `completions`, `logging`."""
        caps = self._client.server_capabilities
        found = {name for name in ("resources", "prompts", "completions", "logging") if getattr(caps, name) is not None}
        if caps.resources is not None and caps.resources.subscribe:
            found.add("subscribe")
        return frozenset(found)

    async def request(self, method: str, params: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
        """Another request (resources, prompts, completion, logging) through the SDK client's typed call."""
        client, meta = self._client, params.get("_meta") or None
        uri = params["uri"] if isinstance(params.get("uri"), str) else ""
        name = params["name"] if isinstance(params.get("name"), str) else ""
        if (method.startswith("resources/") and method.endswith(("read", "subscribe")) and not uri) or (
            method == "prompts/get" and not name
        ):
            refusal = {
                "code": mcp_types.INVALID_PARAMS,
                "message": f"{method} needs a {'name' if method == 'prompts/get' else 'uri'}",
            }
            raise UpstreamRejected(self.service, refusal)
        with self.relay.forwarding(), self._translated(method, timeout):
            result: Any
            if method == "resources/list":
                result = await client.list_resources(cursor=params.get("cursor"), meta=meta, cache_mode="bypass")
            elif method == "resources/templates/list":
                result = await client.list_resource_templates(
                    cursor=params.get("cursor"), meta=meta, cache_mode="bypass"
                )
            elif method == "resources/read":
                result = await client.read_resource(uri, meta=meta, cache_mode="bypass")
            elif method == "resources/subscribe" and self.modern:
                result = await self._listen(uri)
            elif method == "resources/unsubscribe" and self.modern:
                result = await self._stop_listening(uri)
            elif method == "resources/subscribe":
                result = await client.session.subscribe_resource(uri, meta=meta)
            elif method == "resources/unsubscribe":
                result = await client.session.unsubscribe_resource(uri, meta=meta)
            elif method == "prompts/list":
                result = await client.list_prompts(cursor=params.get("cursor"), meta=meta, cache_mode="bypass")
            elif method == "prompts/get":
                result = await client.get_prompt(name, params.get("arguments"), meta=meta)
            elif method == "completion/complete":
                request = mcp_types.CompleteRequestParams.model_validate(params)
                result = await client.complete(
                    request.ref,
                    request.argument.model_dump(by_alias=True),
                    request.context.arguments if request.context else None,
                )
            elif method == "logging/setLevel":
                result = await client.session.set_logging_level(params["level"])
            else:
                raise UpstreamRejected(self.service, {"code": mcp_types.METHOD_NOT_FOUND, "message": method})
        dumped: dict[str, Any] = result.model_dump(mode="json", by_alias=True, exclude_none=True)
        return dumped

    @property
    def protocol_version(self) -> str:
        return self._client.protocol_version

    @property
    def modern(self) -> bool:
        return self.protocol_version in MODERN_PROTOCOL_VERSIONS

    async def list_tools(self) -> list[dict[str, Any]]:
        """Every page of the server's tools, fresh from the server (never the client's response cache)."""
        tools: list[dict[str, Any]] = []
        cursor: str | None = None
        for _ in range(100):  # a server whose cursor never ends must not hang discovery
            result = await self._client.list_tools(cursor=cursor, cache_mode="bypass")
            tools.extend(t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in result.tools)
            cursor = result.next_cursor
            if not cursor:
                break
        return tools

    async def learn_capabilities(self) -> None:
        """A session pinned to 2026-07-28 starts from a synthesized discover result (no capabilities): ask
        the server for its real one. A server that cannot answer keeps the pinned, tools-only view."""
        if not self.modern:
            return
        try:
            raw = await self._client.session.send_discover(self.protocol_version)
            self._client.session.adopt(mcp_types.DiscoverResult.model_validate(raw))
        except (MCPError, ValidationError, RuntimeError) as exc:
            logger.warning("server/discover of %s failed: %s; serving its tools only", self.service, exc)

    async def _listen(self, uri: str) -> mcp_types.EmptyResult:
        """2026-07-28 has no resources/subscribe: a `subscriptions/listen` stream for the URI, kept open until
        unsubscribed (or the session ends), whose updates go where the relay sends them."""
        if uri in self._listening and not self._listening[uri].done():
            return mcp_types.EmptyResult()
        self._listening = {u: task for u, task in self._listening.items() if not task.done()}
        if len(self._listening) >= MAX_SUBSCRIPTIONS:  # each is an open stream upstream: callers must not pile them up
            raise UpstreamRejected(
                self.service,
                {"code": mcp_types.INVALID_REQUEST, "message": f"at most {MAX_SUBSCRIPTIONS} resource subscriptions"},
            )
        acknowledged: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        async def follow() -> None:
            try:
                async with self._client.listen(resource_subscriptions=[uri]) as subscription:
                    acknowledged.set_result(None)
                    async for event in subscription:
                        if isinstance(event, ResourceUpdated):
                            await self.relay.resource_updated(event.uri)
            except Exception as exc:
                if not acknowledged.done():
                    acknowledged.set_exception(exc)
                else:
                    logger.warning("subscription of %s to %s ended: %s", self.service, uri[:200], exc)

        self._listening[uri] = asyncio.create_task(follow(), name=f"listen {self.service}")
        async with asyncio.timeout(DEFAULT_TIMEOUT_S):
            await asyncio.shield(acknowledged)
        return mcp_types.EmptyResult()

    async def _stop_listening(self, uri: str) -> mcp_types.EmptyResult:
        task = self._listening.pop(uri, None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        return mcp_types.EmptyResult()

    async def close(self) -> None:
        """End the subscriptions' streams (the session is going away)."""
        for uri in list(self._listening):
            await self._stop_listening(uri)

    async def check(self) -> list[dict[str, Any]] | None:
        """A liveness check valid in the session's era: `ping` before 2026-07-28, where it exists; at
        2026-07-28 (no ping) a fresh `tools/list`, whose answer is returned so a changed list is noticed."""
        if self.modern:
            return await self.list_tools()
        await self._client.session.send_ping()
        return None

    async def call_tool(
        self,
        tool: str,
        arguments: Mapping[str, Any] | None,
        timeout: float | None,
        *,
        meta: Mapping[str, Any] | None = None,
        progress: Progress | None = None,
        answers: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        timeout = timeout or DEFAULT_TIMEOUT_S
        if not self.modern:
            answers = None  # 2025-11-25 holds the call open while it asks: the relay's way, not the caller's
        if self.direct is not None and progress is None and (answers is not None or not self.relay.has_peer()):
            try:
                return await self.direct.call_tool(tool, arguments, timeout, meta=meta, answers=answers)
            except UpstreamError as exc:
                if not isinstance(exc, UpstreamRejected):
                    self._log_failure(tool, exc.__cause__ if exc.__cause__ is not None else exc)
                raise
        on_progress: ProgressFnT | None = None
        if progress is not None:
            relay = progress

            async def relay_progress(progress: float, total: float | None, message: str | None) -> None:
                await relay(progress, total, message or "")

            on_progress = relay_progress

        if self.modern and self.relay.has_peer() and mcp_types.LOG_LEVEL_META_KEY not in (meta or {}):
            # At 2026-07-28 a server logs only for a request that opts in: the gateway opts in for a client
            # that can hear it, whose own session then filters by the level it asked for.
            meta = {**(meta or {}), mcp_types.LOG_LEVEL_META_KEY: "debug"}
        if answers is not None:
            return await self._call_asking_caller(tool, arguments, timeout, meta, on_progress, answers)
        with self.relay.forwarding(), self._translated(tool, timeout):
            result = await self._client.call_tool(
                tool,
                dict(arguments or {}),
                read_timeout_seconds=timeout,
                progress_callback=on_progress,
                meta=dict(meta) if meta else None,  # type: ignore[arg-type]
            )
        return result.model_dump(mode="json", by_alias=True, exclude_none=True)

    async def _call_asking_caller(
        self,
        tool: str,
        arguments: Mapping[str, Any] | None,
        timeout: float,
        meta: Mapping[str, Any] | None,
        on_progress: ProgressFnT | None,
        answers: dict[str, Any],
    ) -> dict[str, Any]:
        """A 2026-07-28 caller's call on the SDK session (stdio, or a caller listening in): an `input_required`
        round goes back to the caller instead of to the relay, and the caller's answers come with the retry."""
        try:
            given = mcp_types.CallToolRequestParams.model_validate({"name": tool, **answers})
        except ValidationError as exc:
            raise InvalidRequest(f"inputResponses are not valid answers: {str(exc)[:300]}") from exc
        with self.relay.forwarding(), self._translated(tool, timeout):
            result = await self._client.session.call_tool(
                tool,
                dict(arguments or {}),
                read_timeout_seconds=timeout,
                progress_callback=on_progress,
                input_responses=given.input_responses,
                request_state=given.request_state,
                meta=dict(meta) if meta else None,  # type: ignore[arg-type]
                allow_input_required=True,
            )
        dumped = result.model_dump(mode="json", by_alias=True, exclude_none=True)
        return input_required.passed_on(self.service, dumped, answers)

    @contextlib.contextmanager
    def _translated(self, what: str, timeout: float | None) -> Iterator[None]:
        """The session's failures as the typed errors the pipeline maps, each logged once with its cause."""
        late = f"no answer within {timeout:g}s" if timeout else "no answer in time"
        try:
            yield
        except MCPError as exc:
            if exc.error.code == mcp_types.CONNECTION_CLOSED:
                raise self._failed(UpstreamUnavailable, exc, what) from exc
            if exc.error.code == mcp_types.REQUEST_TIMEOUT:
                raise self._failed(UpstreamTimeout, exc, what, late) from exc
            raise UpstreamRejected(self.service, exc.error.model_dump(mode="json", exclude_none=True)) from exc
        except UpstreamError:
            raise
        except TimeoutError as exc:
            raise self._failed(UpstreamTimeout, exc, what, late) from exc
        except ValidationError as exc:  # a result the negotiated revision does not allow
            raise self._failed(UpstreamProtocolError, exc, what, "invalid MCP result") from exc
        except Exception as exc:  # the session broke: the supervisor will reconnect
            raise self._failed(UpstreamUnavailable, exc, what) from exc

    def _failed(
        self, kind: type[UpstreamError], cause: BaseException, tool: str, message: str = "server unavailable"
    ) -> UpstreamError:
        self._log_failure(tool, cause)
        return kind(self.service, message)

    def _log_failure(self, tool: str, cause: BaseException) -> None:
        """Once per failed call, with the server's name and the real cause (the caller sees a typed error)."""
        logger.warning(
            "call to %s on external server %s failed: %s: %s",
            tool,
            self.service,
            type(cause).__name__,
            str(cause)[:500],
            extra={"server": self.service, "tool": tool},
        )


class TolerantTransport:
    """A client transport that accepts results without `resultType`.

    2026-07-28 requires `resultType` on every result and the SDK rejects a result without it, but the
    revision also says an absent one means "complete", and deployed servers omit it. Adding the default
    to each response as it arrives keeps those servers usable; at 2025-11-25 the SDK drops the key again.
    """

    def __init__(self, inner: Transport) -> None:
        self._inner = inner
        self._stack = AsyncExitStack()

    async def __aenter__(self) -> TransportStreams:
        read, write = await self._stack.enter_async_context(self._inner)
        return _DefaultResultType(read), write

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        return await self._stack.__aexit__(exc_type, exc, tb)


class _DefaultResultType:
    def __init__(self, inner: ReadStream[SessionMessage | Exception]) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:  # last_context and whatever else a dispatcher reads
        return getattr(self._inner, name)

    async def receive(self) -> SessionMessage | Exception:
        return _with_result_type(await self._inner.receive())

    async def aclose(self) -> None:
        await self._inner.aclose()

    def __aiter__(self) -> _DefaultResultType:
        return self

    async def __anext__(self) -> SessionMessage | Exception:
        return _with_result_type(await self._inner.__anext__())

    async def __aenter__(self) -> _DefaultResultType:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        await self.aclose()
        return None


def _with_result_type(item: SessionMessage | Exception) -> SessionMessage | Exception:
    if isinstance(item, SessionMessage) and isinstance(item.message, JSONRPCResponse):
        item.message.result.setdefault("resultType", "complete")
    return item
