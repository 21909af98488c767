"""`Service`: declare tools once, get an MCP server, the gRPC control plane, health, metrics and tracing."""

from __future__ import annotations

import functools
import inspect
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, TypeVar, overload

import anyio.to_thread
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.utilities.context_injection import find_context_parameter
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS, ToolAnnotations
from opentelemetry import trace

from sophia.kit._metrics import ToolMetrics
from sophia.kit._settings import ServiceSettings
from sophia.kit._tools import Dependencies, Risk, ToolSpec, split_dependencies
from sophia.kit.approvals import (
    APPROVAL_READS,
    DECLARES,
    GRANT,
    PROBE,
    ApprovalCheck,
    GrantError,
    GrantVerifier,
    approval_required_result,
    probe_result,
)
from sophia.kit.security import InternalCredential
from sophia.v1 import capabilities_pb2 as pb

SERVICE_NAME = re.compile(r"^[a-z][a-z0-9]{0,30}$")
#: The caller's own namespace, as the gateway sends it to kit servers with auth on.
NAMESPACE_META = "sophia/namespace"
TOOL_NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9_-]{0,40}$")
# The gateway exposes `<service>_<tool>`, and clients accept names of at most 64 characters.
GATEWAY_NAME_MAX = 64

logger = logging.getLogger("sophia.kit")
tracer = trace.get_tracer("sophia.kit")

F = TypeVar("F", bound=Callable[..., Any])
ReadinessCheck = Callable[[], Awaitable[bool]]


class Service:
    """A capability server.

    ```python
    service = Service("memory", settings=MemorySettings)

    @service.tool(risk=Risk.LOW, tags={"memory"}, read_only=True)
    async def recall(query: str, k: int = 5, store: Store = Depends(open_store)) -> RecallResult:
        \"\"\"Return the k stored memories closest in meaning to query.\"\"\"
    ```

    `python -m sophia.<name>` calls `service.run()`.
    """

    def __init__(
        self,
        name: str,
        *,
        version: str = "0.1.0",
        settings: type[ServiceSettings] = ServiceSettings,
        instructions: str | None = None,
        stream_responses: bool = False,
    ) -> None:
        """`stream_responses`: answer MCP calls as SSE so tools can send progress notifications
        (`Context.report_progress`) before their result; off, answers are plain JSON."""
        if not SERVICE_NAME.match(name):
            raise ValueError(f"service name {name!r} must be lower-case letters and digits (no underscore)")
        self.name = name
        self.version = version
        self.settings_type = settings
        self.stream_responses = stream_responses
        self.mcp: MCPServer[Any] = MCPServer(name, version=version, instructions=instructions)
        self.metrics = ToolMetrics(name)
        self.dependencies = Dependencies()
        self._specs: dict[str, ToolSpec] = {}
        self._factories: list[Callable[..., Any]] = []
        # Per-call approval checks and the dependencies they are given, by tool: `would_hold` runs them alone.
        self._checks: dict[str, tuple[ApprovalCheck, dict[str, Any]]] = {}
        self._readiness: list[ReadinessCheck] = []
        self.grants = GrantVerifier(lambda: ())
        self.started = False

    @property
    def tools(self) -> list[ToolSpec]:
        return list(self._specs.values())

    def load_settings(self, **overrides: Any) -> ServiceSettings:
        """Settings from the environment (prefix ``SOPHIA_<NAME>_``), then `overrides`."""
        prefix = f"SOPHIA_{self.name.upper()}_"
        return self.settings_type(_env_prefix=prefix, **overrides)

    @overload
    def tool(self, fn: F, /) -> F: ...
    @overload
    def tool(
        self,
        fn: None = None,
        /,
        *,
        name: str | None = None,
        risk: Risk | str = Risk.LOW,
        tags: Iterable[str] = (),
        read_only: bool = False,
        destructive: bool = False,
        idempotent: bool = False,
        consumes: Iterable[str] = (),
        produces: Iterable[str] = (),
        approval: ApprovalCheck | None = None,
        approval_reads: Iterable[str] = (),
    ) -> Callable[[F], F]: ...
    def tool(
        self,
        fn: F | None = None,
        /,
        *,
        name: str | None = None,
        risk: Risk | str = Risk.LOW,
        tags: Iterable[str] = (),
        read_only: bool = False,
        destructive: bool = False,
        idempotent: bool = False,
        consumes: Iterable[str] = (),
        produces: Iterable[str] = (),
        approval: ApprovalCheck | None = None,
        approval_reads: Iterable[str] = (),
    ) -> F | Callable[[F], F]:
        """Register a tool (`@service.tool` or `@service.tool(risk=...)`).

        Type hints are its schema and the docstring its description; `Depends` parameters are
        injected and hidden from the schema. `approval`: a check that gets the call's keyword
        arguments (injected ones included) and returns a reason when this call must wait for an
        approver, None to run now (see `sophia.kit.approvals`); it must have no side effects.
        `approval_reads`: the arguments that check reads, when it reads only those (a Slack post's
        channel, not its text): the gateway may then ask before the others are known.
        """

        def register(fn: F) -> F:
            tool_name = name or fn.__name__
            if not TOOL_NAME.match(tool_name):
                raise ValueError(f"tool name {tool_name!r} must match {TOOL_NAME.pattern}")
            if len(self.name) + 1 + len(tool_name) > GATEWAY_NAME_MAX:
                raise ValueError(
                    f"tool {tool_name!r}: its gateway name {self.name}_{tool_name} is longer than {GATEWAY_NAME_MAX}"
                )
            if tool_name in self._specs:
                raise ValueError(f"tool {tool_name!r} is already registered on {self.name}")
            spec = ToolSpec(
                name=tool_name,
                description=inspect.cleandoc(fn.__doc__ or ""),
                risk=Risk(risk),
                tags=frozenset(tags),
                read_only=read_only,
                destructive=destructive,
                idempotent=idempotent or read_only,
                consumes=tuple(consumes),
                produces=tuple(produces),
            )
            if not spec.description:
                raise ValueError(f"tool {tool_name!r} needs a docstring: it is what the model reads")
            self._specs[tool_name] = spec
            meta: dict[str, Any] = {"sophia/risk": spec.risk.value, "sophia/tags": sorted(spec.tags)}
            if approval is not None:
                meta[DECLARES] = "per-call"
            reads = sorted(set(approval_reads))
            if reads:
                unknown = set(reads) - set(inspect.signature(fn).parameters)
                if approval is None or unknown:
                    raise ValueError(
                        f"tool {tool_name!r}: approval_reads needs an approval check and names only its parameters"
                        + (f" (not {sorted(unknown)})" if unknown else "")
                    )
                meta[APPROVAL_READS] = reads
            self.mcp.add_tool(
                self._instrument(fn, spec, approval),
                name=tool_name,
                description=spec.description,
                annotations=ToolAnnotations(
                    read_only_hint=spec.read_only,
                    destructive_hint=spec.destructive,
                    idempotent_hint=spec.idempotent,
                    open_world_hint=False,
                ),
                meta=meta,
            )
            return fn

        return register(fn) if fn is not None else register

    def resource(self, uri: str, *, name: str | None = None, mime_type: str = "application/json") -> Callable[[F], F]:
        """Register a resource read by the decorated function: a fixed URI, or a template whose `{params}` are
        the function's parameters (`memory://{namespace}/stats`). The docstring is its description;
        `Depends` parameters are injected as for tools. A dict or list answer is sent as JSON. The gateway
        federates it as `<service>+<uri>`."""

        def register(fn: F) -> F:
            description = inspect.cleandoc(fn.__doc__ or "")
            if not description:
                raise ValueError(f"resource {uri!r} needs a docstring: it is what the client shows")
            self.mcp.resource(uri, name=name or fn.__name__, description=description, mime_type=mime_type)(
                self._with_dependencies(fn, as_json=True)
            )
            return fn

        return register

    def prompt(self, fn: F | None = None, /, *, name: str | None = None) -> Any:
        """Register a prompt (`@service.prompt`): its parameters are the prompt's arguments, its docstring the
        description; it returns the text (or messages) of the prompt. Federated as `<service>_<name>`."""

        def register(fn: F) -> F:
            description = inspect.cleandoc(fn.__doc__ or "")
            if not description:
                raise ValueError(f"prompt {name or fn.__name__!r} needs a docstring")
            self.mcp.prompt(name=name or fn.__name__, description=description)(self._with_dependencies(fn))
            return fn

        return register(fn) if fn is not None else register

    def _with_dependencies(self, fn: Callable[..., Any], as_json: bool = False) -> Callable[..., Any]:
        """`fn` with its `Depends` parameters injected and hidden, run off the loop when it is sync."""
        visible, injected = split_dependencies(fn)
        self._factories.extend(dep.factory for dep in injected.values())
        is_async = inspect.iscoroutinefunction(fn)
        # A `namespace` parameter is the caller's to choose only when the gateway says nothing: with auth on
        # it sends the caller's own namespace (`_meta["sophia/namespace"]`), and no other is readable.
        scoped = "namespace" in visible.parameters
        if scoped:
            extra = inspect.Parameter("sophia_request_context", inspect.Parameter.KEYWORD_ONLY, annotation=Context)
            visible = visible.replace(parameters=[*visible.parameters.values(), extra])

        @functools.wraps(fn)
        async def call(**kwargs: Any) -> Any:
            if scoped:
                context: Context[Any] = kwargs.pop("sophia_request_context")
                own = (context.request_context.meta or {}).get(NAMESPACE_META)
                if own is not None and kwargs.get("namespace") != own:
                    message = f"namespace {str(kwargs.get('namespace'))[:100]!r} is not the caller's"
                    raise MCPError(INVALID_PARAMS, message)
            for param, dependency in injected.items():
                kwargs[param] = self.dependencies.get(dependency)
            if is_async:
                result = await fn(**kwargs)
            else:
                result = await anyio.to_thread.run_sync(functools.partial(fn, **kwargs))
            return json.dumps(result) if as_json and isinstance(result, dict | list) else result

        call.__signature__ = visible  # type: ignore[attr-defined]
        call.__annotations__ = {p.name: p.annotation for p in visible.parameters.values()}
        call.__annotations__["return"] = Any
        return call

    def use_credential(self, credential: InternalCredential) -> None:
        """The fleet's internal credential: approval grants are verified with keys derived from it."""
        self.grants = GrantVerifier(credential.signing_keys)

    def readiness(self, check: ReadinessCheck) -> ReadinessCheck:
        """Register an async check that must return True before `/readyz` and gRPC health say serving."""
        self._readiness.append(check)
        return check

    async def is_ready(self) -> bool:
        if not self.started:
            return False
        for check in self._readiness:
            try:
                if not await check():
                    return False
            except Exception:
                logger.warning("readiness check %s failed", check.__name__, exc_info=True)
                return False
        return True

    def describe(self, settings: ServiceSettings) -> pb.DescribeResponse:
        return pb.DescribeResponse(
            name=self.name,
            version=self.version,
            mcp_endpoint=f"{settings.base_url}/mcp",
            tools=[spec.to_proto() for spec in self._specs.values()],
        )

    async def start(self, settings: ServiceSettings) -> None:
        """Build every injected dependency; the server answers calls only after this."""
        self.use_credential(InternalCredential.from_settings(settings))
        await self.dependencies.build(self._factories, settings)
        self.started = True

    async def stop(self) -> None:
        self.started = False
        await self.dependencies.aclose()

    def _instrument(
        self, fn: Callable[..., Any], spec: ToolSpec, approval: ApprovalCheck | None = None
    ) -> Callable[..., Any]:
        """Wrap a tool with its dependencies, its approval check, a span, metrics and error masking."""
        visible, injected = split_dependencies(fn)
        # A per-call approval check needs the request's `_meta` and raw arguments: take the Context.
        own_context = find_context_parameter(fn)
        context_param = own_context or "sophia_request_context"
        if approval is not None and own_context is None:
            extra = inspect.Parameter(context_param, inspect.Parameter.KEYWORD_ONLY, annotation=Context)
            visible = visible.replace(parameters=[*visible.parameters.values(), extra])
        self._factories.extend(dep.factory for dep in injected.values())
        if approval is not None:
            self._checks[spec.name] = (approval, injected)
        is_async = inspect.iscoroutinefunction(fn)
        labels = {"service": self.name, "tool": spec.name}
        calls = self.metrics.calls.labels(**labels)
        latency = self.metrics.latency.labels(**labels)
        errors = self.metrics.errors

        @functools.wraps(fn)
        async def call(**kwargs: Any) -> Any:
            for param, dependency in injected.items():
                kwargs[param] = self.dependencies.get(dependency)
            if approval is not None:
                context = kwargs[context_param] if own_context else kwargs.pop(context_param)
                held = await self._approval(spec, approval, kwargs, context)
                if held is not None:
                    return held
            started = time.perf_counter()
            with tracer.start_as_current_span(f"tool {spec.name}", attributes={"sophia.tool": spec.name}):
                try:
                    if is_async:
                        return await fn(**kwargs)
                    # Sync tools (GitPython, file I/O) block: keep them off the event loop.
                    return await anyio.to_thread.run_sync(functools.partial(fn, **kwargs))
                except ToolError:
                    errors.labels(kind="tool", **labels).inc()
                    raise
                except Exception as exc:
                    # Only ToolError messages are meant for the caller; anything else may leak internals.
                    errors.labels(kind="internal", **labels).inc()
                    logger.exception("tool %s raised %s", spec.name, type(exc).__name__)
                    raise ToolError(f"{spec.name} failed with an internal error") from None
                finally:
                    calls.inc()
                    latency.observe(time.perf_counter() - started)

        call.__signature__ = visible  # type: ignore[attr-defined]
        call.__annotations__ = {p.name: p.annotation for p in visible.parameters.values()}
        call.__annotations__["return"] = visible.return_annotation
        return call

    @property
    def checked_per_call(self) -> frozenset[str]:
        """The tools whose calls this server may hold (a per-call approval check)."""
        return frozenset(self._checks)

    async def would_hold(self, tool: str, arguments: Mapping[str, Any]) -> str | None:
        """Whether this server would hold one call of `tool` (its per-call approval check, run in this process
        with the call's arguments and its dependencies, never the body): the reason, or None. What a probe
        over MCP answers, for a process that holds the service itself (the bench's dry planner); needs
        `start`. A tool without a per-call check is never held by its server."""
        found = self._checks.get(tool)
        if found is None:
            return None
        check, injected = found
        kwargs = dict(arguments)
        for param, dependency in injected.items():
            kwargs[param] = self.dependencies.get(dependency)
        reason = check(kwargs)
        if inspect.isawaitable(reason):
            reason = await reason
        return None if reason is None else str(reason)

    async def _approval(
        self, spec: ToolSpec, check: ApprovalCheck, kwargs: dict[str, Any], context: Context[Any]
    ) -> Any:
        """None when the call may run now; else the typed answer (held, or the probe's verdict)."""
        reason = check(dict(kwargs))
        if inspect.isawaitable(reason):
            reason = await reason
        request = context.request_context
        extra: Mapping[str, Any] = request.meta or {}
        if extra.get(PROBE) is True:
            return probe_result(reason)
        if reason is None:
            return None
        grant = extra.get(GRANT)
        if grant is None:
            return approval_required_result(str(reason))
        params = request.params or {}
        try:
            approval_id = self.grants.verify(grant, spec.name, params.get("arguments"))
        except GrantError as exc:
            logger.warning("refused an approval grant for %s: %s", spec.name, exc)
            raise ToolError(f"{spec.name}: {exc}") from None
        logger.info("running %s under approval %s", spec.name, approval_id)
        return None

    def run(self, **overrides: Any) -> None:
        """Serve until SIGINT/SIGTERM: the entry point of ``python -m sophia.<name>``."""
        from sophia.kit._runner import run

        run(self, self.load_settings(**overrides))
