"""Tool declarations: what a tool is (risk, flags, data it consumes and produces) and its dependencies."""

from __future__ import annotations

import contextlib
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sophia.v1 import capabilities_pb2 as pb


class Risk(StrEnum):
    """How much harm a wrong call can do; the gateway holds `high` and `critical` calls for approval."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    def to_proto(self) -> pb.Risk.ValueType:
        return _RISK_TO_PROTO[self]

    @classmethod
    def from_proto(cls, value: pb.Risk.ValueType) -> Risk:
        return _RISK_FROM_PROTO.get(value, cls.MEDIUM)


_RISK_TO_PROTO = {
    Risk.LOW: pb.RISK_LOW,
    Risk.MEDIUM: pb.RISK_MEDIUM,
    Risk.HIGH: pb.RISK_HIGH,
    Risk.CRITICAL: pb.RISK_CRITICAL,
}
_RISK_FROM_PROTO = {v: k for k, v in _RISK_TO_PROTO.items()}


@dataclass(frozen=True)
class ToolSpec:
    """Everything the control plane says about one tool."""

    name: str
    description: str
    risk: Risk = Risk.LOW
    tags: frozenset[str] = frozenset()
    read_only: bool = False
    destructive: bool = False
    idempotent: bool = False
    consumes: tuple[str, ...] = ()
    produces: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.read_only and self.destructive:
            raise ValueError(f"tool {self.name!r} cannot be both read_only and destructive")
        if self.destructive and self.risk in (Risk.LOW, Risk.MEDIUM):
            # A destructive tool declared low-risk would slip past approvals: refuse it at import time.
            raise ValueError(f"destructive tool {self.name!r} must have risk high or critical")

    @classmethod
    def from_proto(cls, tool: pb.Tool) -> ToolSpec:
        return cls(
            name=tool.name,
            description=tool.description,
            risk=Risk.from_proto(tool.risk),
            tags=frozenset(tool.tags),
            read_only=tool.read_only,
            destructive=tool.destructive,
            idempotent=tool.idempotent,
            consumes=tuple(tool.consumes),
            produces=tuple(tool.produces),
        )

    def to_proto(self) -> pb.Tool:
        return pb.Tool(
            name=self.name,
            description=self.description,
            tags=sorted(self.tags),
            risk=self.risk.to_proto(),
            read_only=self.read_only,
            destructive=self.destructive,
            idempotent=self.idempotent,
            consumes=list(self.consumes),
            produces=list(self.produces),
        )


@dataclass(frozen=True, eq=False)
class Dependency:
    """The marker `Depends` puts in a parameter's default."""

    factory: Callable[..., Any]


def Depends(factory: Callable[..., Any]) -> Any:
    """Mark a tool parameter as injected: built once per process by `factory`, hidden from the schema.

    `factory` takes no argument or the service's settings. It may be async, and may be a
    generator (sync or async) that yields the value and cleans up after the yield at shutdown.
    Typed `Any` (as FastAPI's is) so `store: Store = Depends(open_store)` type-checks.
    """
    return Dependency(factory)


def split_dependencies(fn: Callable[..., Any]) -> tuple[inspect.Signature, dict[str, Dependency]]:
    """The signature a client sees (without injected parameters) and the injected ones by name."""
    # Resolve string annotations here: the wrapper that carries this signature lives in another module.
    hints = typing.get_type_hints(fn, include_extras=True)
    signature = inspect.signature(fn)
    signature = signature.replace(
        parameters=[p.replace(annotation=hints.get(p.name, p.annotation)) for p in signature.parameters.values()],
        return_annotation=hints.get("return", signature.return_annotation),
    )
    injected = {
        name: param.default for name, param in signature.parameters.items() if isinstance(param.default, Dependency)
    }
    visible = [p for name, p in signature.parameters.items() if name not in injected]
    return signature.replace(parameters=visible), injected


class Dependencies:
    """Values of `Depends` factories, built once per process and closed at shutdown."""

    def __init__(self) -> None:
        self._values: dict[Callable[..., Any], Any] = {}
        self._stack = contextlib.AsyncExitStack()

    async def build(self, factories: list[Callable[..., Any]], settings: Any) -> None:
        for factory in factories:
            if factory in self._values:
                continue
            args = (settings,) if inspect.signature(factory).parameters else ()
            if inspect.isasyncgenfunction(factory):
                value = await self._stack.enter_async_context(contextlib.asynccontextmanager(factory)(*args))
            elif inspect.isgeneratorfunction(factory):
                value = self._stack.enter_context(contextlib.contextmanager(factory)(*args))
            else:
                value = factory(*args)
                if inspect.isawaitable(value):
                    value = await value
            self._values[factory] = value

    def get(self, dependency: Dependency) -> Any:
        try:
            return self._values[dependency.factory]
        except KeyError:
            raise RuntimeError(f"dependency {dependency.factory.__name__} was not started") from None

    async def aclose(self) -> None:
        await self._stack.aclose()
        self._values.clear()
