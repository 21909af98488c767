"""Server-to-client messages of an upstream session, relayed to the clients whose requests caused them.

An upstream server may, while it answers one of our forwarded requests, log (`notifications/message`),
ask for a model completion (`sampling/createMessage`) or ask the user (`elicitation/create`). The
upstream session is shared by every caller, so each forwarded request registers the requesting
client's context (its `peer`) for as long as it runs; what the server sends goes to the peers in
flight on that server: log lines to all of them, a request to the most recent one. A request the
client did not declare the capability for (or cannot be asked, having no back-channel) is refused
with an error that says so, never left hanging. A peer is either the SDK's request context or, for a
2025-11-25 client's call to an external server, the call's own event stream (`event_stream.StreamPeer`),
whose questions are answered by a separate POST routed back by id (`client_requests`). At 2026-07-28 an
upstream asks with an `input_required` result; the SDK client fulfils it through the same handlers, except
for a 2026-07-28 caller, which gets the round itself and answers it in its retry (`input_required`).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from typing import Any, Protocol, TypeVar

import mcp_types
from mcp.client.session import ClientRequestContext
from mcp.server.context import ServerRequestContext

logger = logging.getLogger("sophia.gateway.relay")

_SAMPLING = mcp_types.ClientCapabilities(sampling=mcp_types.SamplingCapability())
_ELICITATION = mcp_types.ClientCapabilities(elicitation=mcp_types.ElicitationCapability())
_Answer = TypeVar("_Answer", mcp_types.CreateMessageResult, mcp_types.ElicitResult)


class Peer(Protocol):
    """A client whose request is being forwarded: what the relay needs of its connection."""

    def can_ask(self, capability: mcp_types.ClientCapabilities) -> bool:
        """Whether it declared `capability` and this connection can carry a request to it and the answer back."""
        ...

    async def log(self, params: mcp_types.LoggingMessageNotificationParams) -> None: ...

    async def ask(self, request: Any, answer: type[_Answer]) -> _Answer:
        """Send a server-to-client request; its result, or `MCPError` carrying the client's error."""
        ...


class SdkPeer:
    """A client served by the SDK's server (its request context)."""

    def __init__(self, ctx: ServerRequestContext[Any]) -> None:
        self.ctx = ctx

    def can_ask(self, capability: mcp_types.ClientCapabilities) -> bool:
        return self.ctx.session.check_client_capability(capability) and self.ctx.session.can_send_request

    async def log(self, params: mcp_types.LoggingMessageNotificationParams) -> None:
        await self.ctx.session.send_log_message(
            params.level, params.data, params.logger, related_request_id=self.ctx.request_id
        )

    async def ask(self, request: Any, answer: type[_Answer]) -> _Answer:
        return await self.ctx.session.send_request(request, answer)


#: The client whose request is being forwarded now (set by the MCP endpoint).
CURRENT_PEER: ContextVar[Peer | None] = ContextVar("sophia_peer", default=None)


class Relay:
    """The peers in flight on one upstream server, and the handlers its SDK client calls."""

    def __init__(self, service: str) -> None:
        self.service = service
        self._peers: list[Peer] = []
        #: Where an upstream `resources/updated` goes (the watch points it at the catalog's announcements).
        self.on_resource_updated: Callable[[str], Awaitable[None]] | None = None

    async def resource_updated(self, uri: str) -> None:
        if self.on_resource_updated is not None:
            await self.on_resource_updated(uri)

    @contextlib.contextmanager
    def forwarding(self) -> Iterator[None]:
        """Register the current peer (if any) for the duration of one forwarded request."""
        peer = CURRENT_PEER.get()
        if peer is None:
            yield
            return
        self._peers.append(peer)
        try:
            yield
        finally:
            self._peers.remove(peer)

    def has_peer(self) -> bool:
        """Whether the request being forwarded now comes from a client that can hear notifications."""
        return CURRENT_PEER.get() is not None

    async def on_log(self, params: mcp_types.LoggingMessageNotificationParams) -> None:
        for peer in list(self._peers):
            try:
                await peer.log(params)
            except Exception as exc:  # a client that went away loses its log line, nothing else
                logger.debug("log line of %s not relayed: %s", self.service, exc)

    async def on_sampling(
        self, context: ClientRequestContext, params: mcp_types.CreateMessageRequestParams
    ) -> mcp_types.CreateMessageResult | mcp_types.CreateMessageResultWithTools | mcp_types.ErrorData:
        request = mcp_types.CreateMessageRequest(params=params)
        return await self._ask_client(_SAMPLING, request, mcp_types.CreateMessageResult, "sampling")

    async def on_elicitation(
        self, context: ClientRequestContext, params: mcp_types.ElicitRequestParams
    ) -> mcp_types.ElicitResult | mcp_types.ErrorData:
        request = mcp_types.ElicitRequest(params=params)
        return await self._ask_client(_ELICITATION, request, mcp_types.ElicitResult, "elicitation")

    async def _ask_client(
        self, capability: mcp_types.ClientCapabilities, request: Any, answer: type[_Answer], what: str
    ) -> _Answer | mcp_types.ErrorData:
        """An upstream's question, asked of the client whose call caused it (or refused, saying why)."""
        peer = self._asked(capability)
        if isinstance(peer, mcp_types.ErrorData):
            return peer
        try:
            return await peer.ask(request, answer)
        except Exception as exc:
            return self._failed(what, exc)

    def _asked(self, capability: mcp_types.ClientCapabilities) -> Peer | mcp_types.ErrorData:
        what = "sampling" if capability.sampling is not None else "elicitation"
        for peer in reversed(self._peers):
            if peer.can_ask(capability):
                return peer
        reason = (
            f"the gateway's client did not declare the {what} capability (or cannot be asked on this connection)"
            if self._peers
            else "no client request of the gateway is in flight on this server"
        )
        return mcp_types.ErrorData(code=mcp_types.INVALID_REQUEST, message=f"{what} refused: {reason}")

    def _failed(self, what: str, exc: Exception) -> mcp_types.ErrorData:
        logger.warning("%s for %s failed at the client: %s: %s", what, self.service, type(exc).__name__, exc)
        error = getattr(exc, "error", None)  # the client's own JSON-RPC error (MCPError) passes through
        if isinstance(error, mcp_types.ErrorData):
            return error
        return mcp_types.ErrorData(code=mcp_types.INTERNAL_ERROR, message=f"{what} failed at the client")
