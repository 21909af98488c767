"""The Pulumi Automation API, one blocking call per function (the service runs them in worker threads).

Every stack name, config key and value reaches the CLI as an argv element through the Automation API
(never a shell). CLI failures become ToolErrors that carry the CLI's own `error:` lines, scrubbed of
every secret this process knows, never the command line (the Automation API's CommandError text can
hold a config value).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pulumi import automation as auto
from pulumi.automation.errors import CommandError, ConcurrentUpdateError, StackNotFoundError

from sophia.infra.changes import EventCollector
from sophia.infra.projects import Project
from sophia.infra.settings import InfraSettings
from sophia.kit import ToolError

logger = logging.getLogger("sophia.infra")

SECRET = "[secret]"  # noqa: S105 (the mask shown in place of a secret)
# The CLI's own failure lines ("error: …"); CommandError's text prefixes them with " stderr: ".
ERROR_LINE = re.compile(r"(?:^|\s)error:\s*(.+)$", re.IGNORECASE)
MAX_ERROR_CHARS = 2_000


class Engine:
    """Stacks of the configured projects through `pulumi.automation`."""

    def __init__(self, settings: InfraSettings) -> None:
        self.settings = settings
        self._command: auto.PulumiCommand | None = None
        self._command_lock = threading.Lock()
        self._secrets: set[str] = set()
        for secret in (settings.passphrase_value(), settings.access_token and settings.access_token.get_secret_value()):
            if secret:
                self._secrets.add(secret)

    # -- workspace ---------------------------------------------------------------------------------

    def command(self) -> auto.PulumiCommand:
        """The CLI, version-checked once per process (the Automation API refuses too-old versions)."""
        with self._command_lock:
            if self._command is None:
                root = self.settings.pulumi_root
                if root is None and shutil.which("pulumi") is None:
                    raise ToolError("infra is not configured: the pulumi CLI is not installed (put it on PATH or set "
                                    "SOPHIA_INFRA_PULUMI_ROOT)")  # fmt: skip
                try:
                    self._command = auto.PulumiCommand(root=str(root) if root else None)
                except (OSError, auto.InvalidVersionError) as exc:
                    raise ToolError(f"the pulumi CLI cannot be used: {type(exc).__name__}") from None
            return self._command

    def env(self) -> dict[str, str]:
        backend = self.settings.backend
        env = {"PULUMI_BACKEND_URL": backend, "PULUMI_SKIP_UPDATE_CHECK": "true"}
        if backend.startswith("file://"):
            Path(backend.removeprefix("file://")).mkdir(parents=True, exist_ok=True)
        passphrase = self.settings.passphrase_value()
        if passphrase is not None:
            env["PULUMI_CONFIG_PASSPHRASE"] = passphrase
        elif not backend.startswith("https://"):
            raise ToolError("infra is not configured: the state backend needs a passphrase (SOPHIA_INFRA_PASSPHRASE or "
                            "SOPHIA_INFRA_PASSPHRASE_FILE)")  # fmt: skip
        if self.settings.access_token is not None:
            env["PULUMI_ACCESS_TOKEN"] = self.settings.access_token.get_secret_value()
        elif backend.startswith("https://"):
            raise ToolError("infra is not configured: a Pulumi Cloud backend needs SOPHIA_INFRA_ACCESS_TOKEN")
        return env

    def workspace(self, project: Project) -> auto.LocalWorkspace:
        home = self.settings.pulumi_home or self.settings.state_dir / "home"
        home.mkdir(parents=True, exist_ok=True)
        return auto.LocalWorkspace(
            work_dir=str(project.path), pulumi_home=str(home), env_vars=self.env(), pulumi_command=self.command()
        )

    def select(self, project: Project, stack: str) -> auto.Stack:
        with self.errors(stack):
            try:
                return auto.Stack.select(stack, self.workspace(project))
            except StackNotFoundError:
                raise ToolError(f"unknown stack {stack!r} in project {project.name}; see the stacks tool") from None

    def create(self, project: Project, stack: str) -> auto.Stack:
        with self.errors(stack):
            try:
                return auto.Stack.create(stack, self.workspace(project))
            except auto.StackAlreadyExistsError:
                raise ToolError(f"stack {stack!r} already exists in project {project.name}") from None

    # -- reads -------------------------------------------------------------------------------------

    def list_stacks(self, project: Project) -> list[auto.StackSummary]:
        with self.errors(None):
            return self.workspace(project).list_stacks()

    def state_hash(self, stack: auto.Stack) -> str:
        """SHA-256 of the stack's exported state: any update, refresh or import changes it."""
        with self.errors(stack.name):
            deployment = stack.export_stack()
        blob = json.dumps({"version": deployment.version, "deployment": deployment.deployment}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()

    def outputs(self, stack: auto.Stack) -> dict[str, Any]:
        with self.errors(stack.name):
            outputs = stack.outputs()
        return {key: SECRET if out.secret else out.value for key, out in outputs.items()}

    def history(self, stack: auto.Stack, limit: int, show_secrets: bool = False) -> list[auto.UpdateSummary]:
        with self.errors(stack.name):
            return stack.history(page_size=limit, page=1, show_secrets=show_secrets)

    def get_config(self, stack: auto.Stack, key: str) -> auto.ConfigValue | None:
        with self.errors(stack.name):
            config = stack.get_all_config()
        return config.get(key)

    def all_config(self, stack: auto.Stack) -> dict[str, auto.ConfigValue]:
        with self.errors(stack.name):
            config = stack.get_all_config()
        self.remember_secrets(v.value for v in config.values() if v.secret)
        return dict(config)

    # -- changes -----------------------------------------------------------------------------------

    def set_config(self, stack: auto.Stack, key: str, value: str, secret: bool) -> None:
        if secret:
            self.remember_secrets([value])
        with self.errors(stack.name):
            stack.set_config(key, auto.ConfigValue(value=value, secret=secret))

    def remove_config(self, stack: auto.Stack, key: str) -> None:
        with self.errors(stack.name):
            stack.remove_config(key)

    def preview(self, stack: auto.Stack, plan_file: Path, events: EventCollector, destroy: bool = False) -> None:
        with self.errors(stack.name, events):
            if destroy:
                stack.preview_destroy(on_event=events)
            else:
                stack.preview(plan=str(plan_file), on_event=events, diff=False)

    def up(self, stack: auto.Stack, plan_file: Path, events: EventCollector, message: str) -> None:
        with self.errors(stack.name, events):
            stack.up(plan=str(plan_file), on_event=events, message=message)

    def destroy(self, stack: auto.Stack, events: EventCollector, message: str) -> None:
        with self.errors(stack.name, events):
            stack.destroy(on_event=events, message=message)

    def refresh(self, stack: auto.Stack, events: EventCollector, preview_only: bool) -> None:
        with self.errors(stack.name, events):
            if preview_only:
                stack.preview_refresh(on_event=events)
            else:
                stack.refresh(on_event=events)

    def cancel(self, stack: auto.Stack) -> None:
        with self.errors(stack.name):
            stack.cancel()

    # -- errors ------------------------------------------------------------------------------------

    def remember_secrets(self, values: Iterable[str]) -> None:
        """Values to scrub from every error text from now on (secret config seen by this process)."""
        self._secrets.update(v for v in values if isinstance(v, str) and len(v) >= 4)

    def scrub(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, SECRET)
        return text

    def errors(self, stack: str | None, events: EventCollector | None = None) -> _Errors:
        return _Errors(self, stack, events)


class _Errors:
    """Turns the Automation API's CommandErrors into ToolErrors a caller can act on."""

    def __init__(self, engine: Engine, stack: str | None, events: EventCollector | None) -> None:
        self.engine, self.stack, self.events = engine, stack, events

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if exc is None or not isinstance(exc, CommandError) or isinstance(exc, StackNotFoundError):
            return
        if isinstance(exc, ConcurrentUpdateError):
            raise ToolError(f"stack {self.stack} is locked by another pulumi update (outside this service)") from None
        lines: list[str] = []
        if self.events is not None:
            if self.events.failed:
                lines.append("failed resource: " + ", ".join(self.events.failed))
            lines.extend(self.events.errors)
        stdout = getattr(exc, "stdout", "") or ""
        stderr = getattr(exc, "stderr", "") or ""
        # CommandError keeps only str(result); the texts are in its args. Pick the CLI's own error lines.
        text = str(exc)
        for line in (stderr + "\n" + stdout + "\n" + text).splitlines():
            match = ERROR_LINE.search(line)
            if match and match.group(1).strip() not in lines:
                lines.append(match.group(1).strip())
        message = "; ".join(dict.fromkeys(lines)) or "the pulumi CLI failed without an error message"
        message = self.engine.scrub(message)[:MAX_ERROR_CHARS]
        logger.warning("pulumi failed on stack %s: %s", self.stack, message)
        raise ToolError(f"pulumi failed on stack {self.stack}: {message}") from None
