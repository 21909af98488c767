"""The role policy: which tools a principal may see and call, and who approves and audits."""

from __future__ import annotations

from fnmatch import fnmatchcase
from importlib import resources
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sophia.gateway.errors import ConfigurationError
from sophia.gateway.security.principals import Principal
from sophia.kit import ToolSpec


class Role(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tools: list[str] = Field(default_factory=list, description="Patterns of tools this role may call.")
    deny: list[str] = Field(default_factory=list, description="Patterns it may not, whatever `tools` says.")
    read_only: bool = False
    destructive: bool = False
    approve: bool = False
    audit: bool = False

    def allows(self, tool: str, spec: ToolSpec | None) -> bool:
        if not any(fnmatchcase(tool, p) for p in self.tools) or any(fnmatchcase(tool, p) for p in self.deny):
            return False
        if spec is None:  # the gateway's own tools: patterns decide
            return True
        if self.read_only and not spec.read_only:
            return False
        return self.destructive or not spec.destructive


class PolicyError(ConfigurationError):
    pass


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    roles: dict[str, Role]
    self_approval: bool = False

    @classmethod
    def load(cls, path: Path | None) -> Policy:
        try:
            if path is None:
                text = resources.files("sophia.gateway").joinpath("policy.yaml").read_text(encoding="utf-8")
            else:
                text = path.read_text(encoding="utf-8")
            return cls.model_validate(yaml.safe_load(text))
        except (OSError, yaml.YAMLError, ValidationError) as exc:
            raise PolicyError(f"policy file {path or 'policy.yaml'}: {exc}") from exc

    def _roles(self, principal: Principal) -> list[Role]:
        return [self.roles[name] for name in principal.roles if name in self.roles]

    def may_call(self, principal: Principal, tool: str, spec: ToolSpec | None) -> bool:
        return any(role.allows(tool, spec) for role in self._roles(principal))

    def may_approve(self, principal: Principal, requester: str) -> bool:
        """`requester`: the `Principal.key` of whoever asked ("" to ask whether this one approves at all)."""
        if not any(role.approve for role in self._roles(principal)):
            return False
        # With auth off there is one anonymous user, who must be able to approve their own requests.
        return self.self_approval or principal.via == "anonymous" or principal.key != requester

    def may_audit(self, principal: Principal) -> bool:
        return any(role.audit for role in self._roles(principal))
