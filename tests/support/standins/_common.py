"""What every stand-in shares: its settings (the behaviour knobs), the echo answer, and tool declaration.

A stand-in tool is declared as a function whose signature and docstring are the real tool's contract
and whose body is empty; `Standin.tool` registers it on a kit `Service` with the shared behaviour:

1. append ``{"ts", "service", "tool", "arguments"}`` as one JSON line to ``CALL_LOG`` (when set), so a
   test can count exactly which calls reached the server, failed ones included;
2. sleep ``DELAY_MS`` milliseconds;
3. raise ``ToolError("injected failure")`` when the tool is named in ``FAIL_TOOLS``;
4. answer ``{"service", "tool", "arguments"}``: the arguments as the tool received them after
   validation (defaults filled in, in their JSON form). Nothing else is invented.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import time
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, Field, field_validator
from pydantic_core import to_jsonable_python
from pydantic_settings import NoDecode

from sophia.kit import Depends, Service, ServiceSettings, ToolError

VERSION = "0.0.0+standin"
INJECTED_FAILURE = "injected failure"

D = TypeVar("D", bound=Callable[..., Any])


class Settings(ServiceSettings):
    """A stand-in's settings: the kit's, plus knobs that tests turn through ``SOPHIA_<NAME>_*``."""

    delay_ms: int = Field(0, ge=0, description="Milliseconds every call waits before it answers (or fails).")
    fail_tools: Annotated[frozenset[str], NoDecode] = Field(
        frozenset(),
        description="Comma-separated tool names (without the service prefix) that answer "
        f"ToolError({INJECTED_FAILURE!r}); a name the server does not have stops it at startup.",
    )
    call_log: Path | None = Field(
        None, description="File that gets one JSON line per call that reached a tool; shareable between stand-ins."
    )

    @field_validator("fail_tools", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(name.strip() for name in value.split(",") if name.strip())
        return value


class Echo(BaseModel):
    """A stand-in's answer: which tool ran and the arguments it received."""

    service: str = Field(description="The stand-in that answered.")
    tool: str = Field(description="The tool's name on that server (without the service prefix).")
    arguments: dict[str, Any] = Field(description="The validated arguments, defaults filled in.")


class Standin:
    """A kit `Service` whose tools echo; `service` is what the kit runner serves."""

    def __init__(self, name: str, *, instructions: str, settings: type[Settings] = Settings) -> None:
        self.service = Service(name, version=VERSION, settings=settings, instructions=instructions)
        # One factory object per stand-in: the kit builds each `Depends` factory once per process.
        self.settings: Any = Depends(self._checked_settings)

    def tool(self, **options: Any) -> Callable[[D], D]:
        """Register a declaration as an echoing tool; `options` are `Service.tool`'s (risk, tags, ...)."""

        def register(declaration: D) -> D:
            name = declaration.__name__
            hints = typing.get_type_hints(declaration, include_extras=True)
            params = [
                p.replace(annotation=hints.get(p.name, p.annotation))
                for p in inspect.signature(declaration).parameters.values()
            ]
            if any(p.name == "knobs" for p in params):
                raise ValueError(f"{name}: `knobs` is reserved for the injected settings")
            knobs = inspect.Parameter(
                "knobs", inspect.Parameter.KEYWORD_ONLY, default=self.settings, annotation=self.service.settings_type
            )

            async def call(*, knobs: Settings, **arguments: Any) -> Echo:
                return await self.answer(name, arguments, knobs)

            call.__name__ = call.__qualname__ = name
            call.__doc__ = declaration.__doc__
            call.__module__ = declaration.__module__
            call.__signature__ = inspect.Signature([*params, knobs], return_annotation=Echo)  # type: ignore[attr-defined]
            call.__annotations__ = {p.name: p.annotation for p in (*params, knobs)} | {"return": Echo}
            self.service.tool(**options)(call)
            return declaration

        return register

    async def answer(self, tool: str, arguments: Mapping[str, Any], knobs: Settings) -> Echo:
        """Log, wait, fail if told to, echo: the behaviour of every stand-in tool."""
        echo = Echo(service=self.service.name, tool=tool, arguments=to_jsonable_python(dict(arguments)))
        if knobs.call_log is not None:
            _append_line(knobs.call_log, {"ts": time.time(), **echo.model_dump()})
        if knobs.delay_ms:
            await asyncio.sleep(knobs.delay_ms / 1000)
        if tool in knobs.fail_tools:
            raise ToolError(INJECTED_FAILURE)
        return echo

    def _checked_settings(self, settings: Settings) -> Settings:
        """The settings, once checked against the tools: a misspelt FAIL_TOOLS would silently test nothing."""
        unknown = settings.fail_tools - {spec.name for spec in self.service.tools}
        if unknown:
            raise ValueError(f"FAIL_TOOLS names tools {self.service.name} does not have: {sorted(unknown)}")
        return settings


def _append_line(path: Path, entry: dict[str, Any]) -> None:
    # One write on an O_APPEND descriptor: lines from several stand-ins sharing the file do not interleave.
    line = (json.dumps(entry) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)
