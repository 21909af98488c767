"""The configured Pulumi projects: which folders the tools may touch, and a hash of each program."""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from sophia.infra.names import project_name
from sophia.kit import ToolError

logger = logging.getLogger("sophia.infra")

# Folders that are not the program: dependencies, caches, VCS data. Stack files of other stacks are
# skipped too, so changing staging's config never invalidates a production plan.
SKIPPED_DIRS = {".git", "__pycache__", "node_modules", "venv", ".venv", ".mypy_cache", ".pytest_cache", ".ruff_cache"}
MAX_PROGRAM_FILES = 5_000
MAX_PROGRAM_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Project:
    name: str
    path: Path
    runtime: str
    description: str

    def program_hash(self, stack: str) -> str:
        """SHA-256 over the program's files (paths and contents) and this stack's own config file."""
        digest = hashlib.sha256()
        files, size = 0, 0
        own_stack_file = f"Pulumi.{stack.rsplit('/', 1)[-1]}.yaml"
        for folder, dirs, names in os.walk(self.path):
            dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
            for name in sorted(names):
                if name.startswith("Pulumi.") and name not in ("Pulumi.yaml", "Pulumi.yml", own_stack_file):
                    continue
                path = Path(folder) / name
                if path.is_symlink() or not path.is_file():
                    continue
                files += 1
                size += path.stat().st_size
                if files > MAX_PROGRAM_FILES or size > MAX_PROGRAM_BYTES:
                    raise ToolError(
                        f"project {self.name} is too large to hash (over {MAX_PROGRAM_FILES} files or 64 MiB)"
                    )
                digest.update(str(path.relative_to(self.path)).encode() + b"\0")
                digest.update(hashlib.sha256(path.read_bytes()).digest())
        return digest.hexdigest()


class Projects:
    """The allow-list of projects, read once at start from the configured folders."""

    def __init__(self, folders: list[Path]) -> None:
        self._by_name: dict[str, Project] = {}
        for folder in folders:
            project = _load(folder)
            if project is None:
                continue
            if project.name in self._by_name:
                logger.warning(
                    "project %s configured twice; keeping %s", project.name, self._by_name[project.name].path
                )
                continue
            self._by_name[project.name] = project

    @property
    def all(self) -> list[Project]:
        return list(self._by_name.values())

    def get(self, name: str | None) -> Project:
        """The named project; with no name, the only one configured."""
        if name is None:
            if len(self._by_name) == 1:
                return next(iter(self._by_name.values()))
            if not self._by_name:
                raise ToolError("no Pulumi project is configured (SOPHIA_INFRA_PROJECTS)")
            raise ToolError(f"name a project: one of {', '.join(sorted(self._by_name))}")
        project_name(name)
        try:
            return self._by_name[name]
        except KeyError:
            known = ", ".join(sorted(self._by_name)) or "none"
            raise ToolError(f"unknown project {name!r}; configured: {known}") from None


def _load(folder: Path) -> Project | None:
    folder = folder.resolve()
    for file in ("Pulumi.yaml", "Pulumi.yml"):
        spec_path = folder / file
        if spec_path.is_file():
            break
    else:
        logger.warning("no Pulumi.yaml in %s; project skipped", folder)
        return None
    try:
        spec = yaml.safe_load(spec_path.read_text())
        name = str(spec["name"])
        project_name(name)
    except (yaml.YAMLError, KeyError, TypeError, ToolError) as exc:
        logger.warning("unreadable %s (%s); project skipped", spec_path, type(exc).__name__)
        return None
    runtime = spec.get("runtime")
    runtime_name = runtime.get("name") if isinstance(runtime, dict) else runtime
    return Project(name, folder, str(runtime_name or ""), str(spec.get("description") or ""))
