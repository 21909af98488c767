"""The capability graph: servers and their tools (from Describe), plus the edges that say which tool's
result feeds which — declared in `edges.yaml`, and derived from what tools produce and consume.

It is rebuilt from the catalog on every read (a few hundred tools at most), so it follows servers as
they come and go.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sophia.gateway.catalog import Catalog, Route
from sophia.gateway.errors import ConfigurationError
from sophia.gateway.intent.schema import CAPABILITIES

# Every tool takes and gives text: a shared "text" says nothing about order, so only declared edges use it.
GENERIC_KINDS = frozenset({"text"})
_END = re.compile(r"^([a-z][a-z0-9]{0,30})(?:\.([A-Za-z0-9_-]{1,64}))?$")


class EdgesFileError(ConfigurationError):
    """The edges file is unreadable or names something that cannot exist."""


class Edge(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    source: str = Field(alias="from", description="<service>.<tool> or <service>")
    target: str = Field(alias="to", description="<service>.<tool> or <service>")
    argument: str | None = Field(None, description="The target's argument that receives the source's result.")
    field: str | None = Field(
        None,
        description="Take this field of the source's structured result (an identifier such as a plan id) "
        "instead of its text. The planner then also plans the source first when the target lacks it.",
    )
    why: str = ""

    @field_validator("source", "target")
    @classmethod
    def _end(cls, value: str) -> str:
        if not _END.match(value):
            raise ValueError(f"{value!r} is not <service> or <service>.<tool>")
        return value

    def matches(self, source: Route, target: Route) -> bool:
        return _matches(self.source, source) and _matches(self.target, target)


def _matches(end: str, route: Route) -> bool:
    service, _, tool = end.partition(".")
    return route.service == service and (not tool or route.spec.name == tool)


class EdgesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    edges: list[Edge]


def load_edges(path: Path | None, known_services: set[str]) -> list[Edge]:
    """The edges of `path` (default: the shipped file); every end must name a known service."""
    try:
        if path is None:
            text = resources.files("sophia.gateway").joinpath("edges.yaml").read_text(encoding="utf-8")
        else:
            text = path.read_text(encoding="utf-8")
        edges = EdgesFile.model_validate(yaml.safe_load(text)).edges
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise EdgesFileError(f"edges file {path or 'edges.yaml'}: {exc}") from exc
    for edge in edges:
        for end in (edge.source, edge.target):
            service = end.partition(".")[0]
            if service not in known_services:
                raise EdgesFileError(
                    f"edges file {path or 'edges.yaml'}: {end!r} names unknown capability {service!r} "
                    f"(known: {', '.join(sorted(known_services))})"
                )
    return edges


def known_services(external: list[str]) -> set[str]:
    return set(CAPABILITIES) | set(external)


@dataclass(frozen=True)
class Link:
    """How one tool's result reaches another: a declared edge, or a shared data kind."""

    source: str
    target: str
    argument: str | None
    why: str
    declared: bool
    field: str | None = None


class CapabilityGraph:
    def __init__(self, catalog: Catalog, edges: list[Edge]) -> None:
        self.catalog = catalog
        self.edges = edges

    def link(self, source: Route, target: Route) -> Link | None:
        """The edge from `source` to `target`, declared ones first; None when the result does not flow."""
        if source.name == target.name:
            return None
        for edge in self.edges:
            if edge.matches(source, target):
                return Link(source.name, target.name, edge.argument, edge.why, declared=True, field=edge.field)
        shared = (set(source.spec.produces) & set(target.spec.consumes)) - GENERIC_KINDS
        if shared and source.service != target.service:
            kinds = ", ".join(sorted(shared))
            return Link(source.name, target.name, None, f"{source.name} produces {kinds}", declared=False)
        return None

    def producers(self, target: Route, argument: str) -> list[Route]:
        """Serving tools whose result gives `target` its `argument` through a declared field edge
        (a preview's `plan_id` for `up`): what to plan first when a request cannot name that value."""
        found = []
        for edge in self.edges:
            if edge.field is None or edge.argument != argument or not _matches(edge.target, target):
                continue
            found += [r for r in self.catalog.routes() if r.name != target.name and _matches(edge.source, r)]
        return found

    def snapshot(self) -> dict[str, Any]:
        """Servers, tools and the edges between present tools, for `GET /v1/capabilities`."""
        routes = self.catalog.routes()
        links = [link for a in routes for b in routes if (link := self.link(a, b)) is not None]
        present = {r.service for r in routes}
        return {
            "edges": [
                {
                    "from": link.source,
                    "to": link.target,
                    "argument": link.argument,
                    "field": link.field,
                    "why": link.why,
                    "declared": link.declared,
                }
                for link in links
            ],
            "declared_edges": [
                {
                    **edge.model_dump(by_alias=True),
                    "active": edge.source.partition(".")[0] in present and edge.target.partition(".")[0] in present,
                }
                for edge in self.edges
            ],
        }
