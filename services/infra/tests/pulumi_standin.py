"""TEST STAND-IN for the `pulumi` executable, not the real CLI.

The Automation API drives the `pulumi` binary, which cannot be installed here (its installers download
it). This script speaks the part of the CLI surface the Automation API (pulumi 3.x, `pulumi.automation`)
uses, with the same argv, the same JSON on stdout, the same error texts its error mapping looks for
(`no stack named 'x' found`, `the stack is currently locked by`) and the same engine events in the
`--event-log` file:

    version · whoami · stack init/select/ls/output/history/export · config get/set/rm and the whole map
    preview [--save-plan] · up [--plan] · destroy [--preview-only] · refresh [--preview-only] · cancel

Programs are Pulumi YAML (`runtime: yaml` in `Pulumi.yaml`): `resources:` (type, properties,
`options.replaceOnChanges`), `outputs:` (literals, `${resource.property}`, `${configKey}`,
`fn::secret`). State is the DIY backend's layout under `PULUMI_BACKEND_URL` (`file://…`): checkpoints in
`.pulumi/stacks/<project>/<stack>.json`, history next to them, and a lock file while an update runs. The
"cloud" the resources live in is `cloud.json` beside the state, so a test can change a live resource to
make drift. Secret config is encrypted with a key derived from `PULUMI_CONFIG_PASSPHRASE` (a stand-in
cipher, not Pulumi's AES-GCM). Test hooks: `PULUMI_STANDIN_FAIL_ON=<resource name>` fails that
resource's step; `PULUMI_STANDIN_STEP_DELAY=<seconds>` slows each step (locks, cancel, progress).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

VERSION = "v3.205.0"
SECRET = "[secret]"
REF = re.compile(r"\$\{([A-Za-z0-9_.:-]+)\}")
VALUE_FLAGS = {
    "--stack", "-s", "--event-log", "--exec-kind", "--save-plan", "--plan", "--page-size", "--page",
    "--message", "-m", "--color", "--secrets-provider", "--client", "--parallel", "--target", "--config-file",
}  # fmt: skip


class Fail(Exception):
    """An error the CLI prints as `error: <message>` on stderr, exiting 255."""


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parse(argv: list[str]) -> tuple[list[str], dict[str, Any]]:
    positional: list[str] = []
    flags: dict[str, Any] = {}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            positional.extend(argv[i + 1 :])
            break
        if arg.startswith("-"):
            name, _, inline = arg.partition("=")
            if inline:
                flags[name] = inline
            elif name in VALUE_FLAGS:
                i += 1
                flags[name] = argv[i]
            else:
                flags[name] = True
        else:
            positional.append(arg)
        i += 1
    if "-s" in flags:
        flags["--stack"] = flags.pop("-s")
    return positional, flags


# -- the backend --------------------------------------------------------------------------------


class Backend:
    def __init__(self, project_dir: Path) -> None:
        url = os.environ.get("PULUMI_BACKEND_URL", "")
        if not url.startswith("file://"):
            raise Fail("this stand-in serves only a file:// backend (PULUMI_BACKEND_URL)")
        self.root = Path(url.removeprefix("file://")).expanduser()
        self.project_dir = project_dir
        spec = yaml.safe_load((project_dir / "Pulumi.yaml").read_text())
        self.project = str(spec["name"])
        self.program = spec
        self.stacks_dir = self.root / ".pulumi" / "stacks" / self.project
        self.cloud_path = self.root / "cloud.json"

    def state_path(self, stack: str) -> Path:
        return self.stacks_dir / f"{stack}.json"

    def lock_dir(self, stack: str) -> Path:
        return self.root / ".pulumi" / "locks" / self.project / stack

    def history_dir(self, stack: str) -> Path:
        return self.root / ".pulumi" / "history" / self.project / stack

    def exists(self, stack: str) -> bool:
        return self.state_path(stack).exists()

    def require(self, stack: str | None) -> str:
        stack = stack or self.current()
        if not stack or not self.exists(stack):
            raise Fail(f"no stack named '{stack}' found")
        return stack

    def current(self) -> str | None:
        marker = self.root / ".pulumi" / "current" / self.project
        return marker.read_text().strip() if marker.exists() else None

    def select(self, stack: str) -> None:
        marker = self.root / ".pulumi" / "current" / self.project
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(stack)

    def load(self, stack: str) -> dict[str, Any]:
        return dict(json.loads(self.state_path(stack).read_text()))

    def save(self, stack: str, state: dict[str, Any]) -> None:
        # Write-then-rename, as the DIY backend does: a checkpoint is never half written.
        path = self.state_path(stack)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        tmp.replace(path)

    def cloud(self) -> dict[str, Any]:
        return dict(json.loads(self.cloud_path.read_text())) if self.cloud_path.exists() else {}

    def save_cloud(self, cloud: dict[str, Any]) -> None:
        self.cloud_path.parent.mkdir(parents=True, exist_ok=True)
        self.cloud_path.write_text(json.dumps(cloud, indent=2))

    def history(self, stack: str) -> list[dict[str, Any]]:
        folder = self.history_dir(stack)
        if not folder.exists():
            return []
        entries = [json.loads(p.read_text()) for p in folder.glob("*.history.json")]
        return sorted(entries, key=lambda e: e["version"], reverse=True)

    def add_history(self, stack: str, entry: dict[str, Any]) -> None:
        folder = self.history_dir(stack)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{stack}-{entry['version']:06d}.history.json").write_text(json.dumps(entry))


# -- stack config -------------------------------------------------------------------------------


class StackConfig:
    """`Pulumi.<stack>.yaml` in the project folder, as the real CLI keeps it."""

    def __init__(self, backend: Backend, stack: str) -> None:
        self.path = backend.project_dir / f"Pulumi.{stack}.yaml"
        self.project = backend.project
        self.data = (yaml.safe_load(self.path.read_text()) or {}) if self.path.exists() else {}
        self.data.setdefault("config", {})

    def _key(self) -> bytes:
        passphrase = os.environ.get("PULUMI_CONFIG_PASSPHRASE")
        if passphrase is None:
            raise Fail("passphrase must be set with PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE")
        salt = self.data.get("encryptionsalt", "")
        key = hashlib.sha256(f"{salt}:{passphrase}".encode()).digest()
        check = self.data.get("standincheck")
        if check and check != hashlib.sha256(key).hexdigest():
            raise Fail("incorrect passphrase, please set PULUMI_CONFIG_PASSPHRASE to the correct passphrase")
        return key

    def init_secrets(self) -> None:
        if "encryptionsalt" not in self.data:
            self.data["encryptionsalt"] = "v1:" + base64.b64encode(os.urandom(8)).decode()
            self.data["standincheck"] = hashlib.sha256(self._key()).hexdigest()

    def _stream(self, key: bytes, nonce: bytes, size: int) -> bytes:
        out = b""
        counter = 0
        while len(out) < size:
            out += hashlib.sha256(key + nonce + counter.to_bytes(8, "big")).digest()
            counter += 1
        return out[:size]

    def encrypt(self, text: str) -> str:
        key, nonce, raw = self._key(), os.urandom(12), text.encode()
        sealed = bytes(a ^ b for a, b in zip(raw, self._stream(key, nonce, len(raw)), strict=True))
        return "v1:" + base64.b64encode(nonce + sealed).decode()

    def decrypt(self, token: str) -> str:
        blob = base64.b64decode(token.removeprefix("v1:"))
        nonce, sealed = blob[:12], blob[12:]
        return bytes(a ^ b for a, b in zip(sealed, self._stream(self._key(), nonce, len(sealed)), strict=True)).decode()

    def full_key(self, key: str) -> str:
        return key if ":" in key else f"{self.project}:{key}"

    def items(self, show_secrets: bool) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for key, raw in self.data["config"].items():
            if isinstance(raw, dict) and "secure" in raw:
                out[key] = {"value": self.decrypt(raw["secure"]) if show_secrets else SECRET, "secret": True}
            else:
                out[key] = {"value": raw, "secret": False}
        return out

    def plain(self) -> dict[str, tuple[str, bool]]:
        return {k: (str(v["value"]), v["secret"]) for k, v in self.items(show_secrets=True).items()}

    def set(self, key: str, value: str, secret: bool) -> None:
        self.data["config"][self.full_key(key)] = {"secure": self.encrypt(value)} if secret else value

    def remove(self, key: str) -> None:
        self.data["config"].pop(self.full_key(key), None)

    def save(self) -> None:
        self.path.write_text(yaml.safe_dump(self.data, sort_keys=True))


# -- the program --------------------------------------------------------------------------------


def urn(stack: str, project: str, type_: str, name: str) -> str:
    return f"urn:pulumi:{stack}::{project}::{type_}::{name}"


def desired(backend: Backend, stack: str, config: StackConfig) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """The resources and outputs the program declares for this stack, config references resolved."""
    values = {k.split(":", 1)[1]: v for k, v in config.plain().items()}
    secrets = {k.split(":", 1)[1] for k, v in config.plain().items() if v[1]}

    def resolve(value: Any, resources: dict[str, dict[str, Any]] | None = None) -> tuple[Any, bool]:
        if isinstance(value, dict) and "fn::secret" in value:
            inner, _ = resolve(value["fn::secret"], resources)
            return inner, True
        if isinstance(value, dict):
            return {k: resolve(v, resources)[0] for k, v in value.items()}, False
        if isinstance(value, list):
            return [resolve(v, resources)[0] for v in value], False
        if not isinstance(value, str):
            return value, False
        secret = False
        whole = REF.fullmatch(value)

        def lookup(ref: str) -> Any:
            nonlocal secret
            head, _, prop = ref.partition(".")
            if prop and resources is not None and head in resources:
                res = resources[head]
                return res["id"] if prop == "id" else res["outputs"].get(prop)
            if head in values:
                secret = secret or head in secrets
                return values[head][0]
            raise Fail(f"Pulumi.yaml: unknown reference ${{{ref}}}")

        if whole:
            return lookup(whole.group(1)), secret
        return REF.sub(lambda m: str(lookup(m.group(1))), value), secret

    project = backend.project
    stack_urn = urn(stack, project, "pulumi:pulumi:Stack", f"{project}-{stack}")
    resources: dict[str, dict[str, Any]] = {
        stack_urn: {"type": "pulumi:pulumi:Stack", "name": f"{project}-{stack}", "inputs": {}, "replace": []}
    }
    for name, spec in (backend.program.get("resources") or {}).items():
        props = {k: resolve(v)[0] for k, v in (spec.get("properties") or {}).items()}
        resources[urn(stack, project, spec["type"], name)] = {
            "type": spec["type"],
            "name": name,
            "inputs": props,
            "replace": list((spec.get("options") or {}).get("replaceOnChanges") or []),
        }
    return resources, backend.program.get("outputs") or {}


def plan_steps(current: dict[str, dict[str, Any]], wanted: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = []
    for u, res in wanted.items():
        old = current.get(u)
        if old is None:
            steps.append({"op": "create", "urn": u, "type": res["type"], "new": res, "old": None, "diffs": []})
            continue
        diffs = sorted(
            k for k in set(old["inputs"]) | set(res["inputs"]) if old["inputs"].get(k) != res["inputs"].get(k)
        )
        op = "same" if not diffs else ("replace" if set(diffs) & set(res["replace"]) else "update")
        steps.append({"op": op, "urn": u, "type": res["type"], "new": res, "old": old, "diffs": diffs})
    for u, old in reversed(list(current.items())):
        if u not in wanted:
            steps.append({"op": "delete", "urn": u, "type": old["type"], "new": None, "old": old, "diffs": []})
    return steps


# -- events -------------------------------------------------------------------------------------


class EventLog:
    def __init__(self, path: str | None) -> None:
        self.path = path
        self.sequence = 0
        if path and path.startswith("tcp://"):
            raise Fail("this stand-in writes file event logs only (report a version <= 3.205.0)")

    def emit(self, **event: Any) -> None:
        if not self.path:
            return
        self.sequence += 1
        line = json.dumps({"sequence": self.sequence, "timestamp": int(time.time()), **event})
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")

    def step(self, kind: str, step: dict[str, Any], planning: bool, **extra: Any) -> None:
        def state(res: dict[str, Any] | None) -> dict[str, Any] | None:
            if res is None:
                return None
            return {
                "type": res["type"],
                "urn": step["urn"],
                "inputs": res.get("inputs", {}),
                "outputs": res.get("outputs", {}),
            }

        metadata = {
            "op": step["op"], "urn": step["urn"], "type": step["type"], "provider": "",
            "old": state(step["old"]), "new": state(step["new"]), "diffs": step["diffs"],
            "detailedDiff": {k: {"diffKind": "update", "inputDiff": True} for k in step["diffs"]},
            "logical": True,
        }  # fmt: skip
        self.emit(**{kind: {"metadata": metadata, "planning": planning, **extra}})

    def close(self, changes: dict[str, int], started: float) -> None:
        self.emit(summaryEvent={"maybeCorrupt": False, "durationSeconds": int(time.time() - started),
                                "resourceChanges": changes, "PolicyPacks": {}})  # fmt: skip
        self.emit(cancelEvent={})


def count(steps: list[dict[str, Any]]) -> dict[str, int]:
    changes: dict[str, int] = {}
    for step in steps:
        changes[step["op"]] = changes.get(step["op"], 0) + 1
    return changes


def outputs_of(program_outputs: dict[str, Any], resources: dict[str, Any], config: StackConfig) -> dict[str, Any]:
    by_name = {res["name"]: res for res in resources.values()}
    values = {k.split(":", 1)[1]: v for k, v in config.plain().items()}
    out: dict[str, Any] = {}
    for key, spec in program_outputs.items():
        secret = isinstance(spec, dict) and "fn::secret" in spec
        raw = spec["fn::secret"] if secret else spec
        if isinstance(raw, str):
            match = REF.fullmatch(raw)
            if match:
                head, _, prop = match.group(1).partition(".")
                if prop and head in by_name:
                    res = by_name[head]
                    raw = res["id"] if prop == "id" else res["outputs"].get(prop)
                elif head in values:
                    raw, is_secret = values[head]
                    secret = secret or is_secret
        out[key] = {"value": raw, "secret": secret}
    return out


# -- commands -----------------------------------------------------------------------------------


def empty_state(stack: str) -> dict[str, Any]:
    return {"version": 3, "checkpoint": {"stack": stack, "latest": {"manifest": {"time": now()}, "resources": []}},
            "outputs": {}, "version_counter": 0}  # fmt: skip


def resources_of(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["urn"]: r for r in state["checkpoint"]["latest"]["resources"]}


@contextlib.contextmanager
def locked(backend: Backend, stack: str) -> Any:
    folder = backend.lock_dir(stack)
    folder.mkdir(parents=True, exist_ok=True)
    held = list(folder.glob("*.json"))
    if held:
        raise Fail(
            f"the stack is currently locked by {len(held)} lock(s). Either wait for the other process(es) to end "
            f"or delete the lock file with `pulumi cancel`.\n  {held[0]}"
        )
    lock = folder / f"{uuid.uuid4()}.json"
    lock.write_text(json.dumps({"pid": os.getpid(), "timestamp": now()}))
    try:
        yield lock
    finally:
        lock.unlink(missing_ok=True)


def cancelled(lock: Path) -> bool:
    return lock.with_suffix(".cancel").exists()


def run_update(backend: Backend, kind: str, stack: str, flags: dict[str, Any]) -> int:
    """preview, up, destroy and refresh: one engine pass over the steps, applied unless previewing."""
    events = EventLog(flags.get("--event-log"))
    preview_only = kind == "preview" or bool(flags.get("--preview-only"))
    started = time.time()
    config = StackConfig(backend, stack)
    state = backend.load(stack)
    current = resources_of(state)
    if kind == "refresh":
        return run_refresh(backend, stack, state, events, preview_only, started)
    wanted, program_outputs = desired(backend, stack, config) if kind != "destroy" else ({}, {})
    steps = plan_steps(current, wanted)
    events.emit(preludeEvent={"config": {k: v[0] if not v[1] else SECRET for k, v in config.plain().items()}})
    if flags.get("--plan"):
        check_plan(Path(flags["--plan"]), steps)
    if preview_only:
        for step in steps:
            events.step("resourcePreEvent", step, planning=True)
        changes = count(steps)
        events.close(changes, started)
        if flags.get("--save-plan"):
            plan = {"resourcePlans": {s["urn"]: {"steps": [s["op"]], "goal": s["new"]} for s in steps}}
            Path(flags["--save-plan"]).write_text(json.dumps(plan, indent=2))
        if flags.get("--json"):
            print(json.dumps({"steps": [{"op": s["op"], "urn": s["urn"]} for s in steps], "changeSummary": changes}))
        else:
            print("Previewing update (" + stack + "):")
            for step in steps:
                print(f"    {step['op']} {step['type']} {step['urn'].rsplit('::', 1)[-1]}")
        return 0
    return apply(backend, kind, stack, state, steps, wanted, program_outputs, config, events, started, flags)


def check_plan(path: Path, steps: list[dict[str, Any]]) -> None:
    plan = json.loads(path.read_text())["resourcePlans"]
    for step in steps:
        expected = plan.get(step["urn"])
        if expected is None or expected["steps"] != [step["op"]] or (step["new"] and expected["goal"] != step["new"]):
            raise Fail(f"resource {step['urn']} violates plan: the {step['op']} step was not in the plan")
    missing = set(plan) - {s["urn"] for s in steps}
    if missing:
        raise Fail(f"resource {sorted(missing)[0]} violates plan: a planned step did not happen")


def apply(
    backend: Backend,
    kind: str,
    stack: str,
    state: dict[str, Any],
    steps: list[dict[str, Any]],
    wanted: dict[str, dict[str, Any]],
    program_outputs: dict[str, Any],
    config: StackConfig,
    events: EventLog,
    started: float,
    flags: dict[str, Any],
) -> int:
    fail_on = os.environ.get("PULUMI_STANDIN_FAIL_ON")
    delay = float(os.environ.get("PULUMI_STANDIN_STEP_DELAY", "0"))
    start_time = now()
    done: list[dict[str, Any]] = []
    error: str | None = None
    with locked(backend, stack) as lock:
        cloud = backend.cloud()
        current = resources_of(state)
        for step in steps:
            if cancelled(lock):
                error = "update canceled"
                break
            events.step("resourcePreEvent", step, planning=False)
            time.sleep(delay)
            name = step["urn"].rsplit("::", 1)[-1]
            if fail_on and name == fail_on and step["op"] != "same":
                error = f"{step['op']} of {step['urn']} failed: the provider refused the request (stand-in failure)"
                events.step("resOpFailedEvent", step, planning=False, status=1, steps=len(done))
                events.emit(diagnosticEvent={"message": f"error: {error}\n", "severity": "error", "urn": step["urn"],
                                             "color": "never"})  # fmt: skip
                print(f"  {step['type']} ({name}):\n    error: {error}")
                break
            if step["op"] == "delete":
                current.pop(step["urn"], None)
                cloud.pop(step["urn"], None)
            else:
                old = step["old"] or {}
                res_id = old.get("id") if step["op"] in ("same", "update") else None
                res_id = res_id or f"{name}-{uuid.uuid4().hex[:8]}"
                res = {"urn": step["urn"], "type": step["type"], "name": step["new"]["name"], "id": res_id,
                       "inputs": step["new"]["inputs"], "outputs": dict(step["new"]["inputs"]),
                       "replace": step["new"]["replace"]}  # fmt: skip
                current[step["urn"]] = res
                if step["type"] != "pulumi:pulumi:Stack":
                    cloud[step["urn"]] = dict(res["outputs"])
            # Checkpoint after each step, as the engine does: a failure later leaves a true state.
            state["checkpoint"]["latest"]["resources"] = list(current.values())
            backend.save(stack, state)
            backend.save_cloud(cloud)
            events.step("resOutputsEvent", step, planning=False)
            done.append(step)
        if error is None and kind == "up":
            state["outputs"] = outputs_of(program_outputs, current, config)
        elif error is None:
            state["outputs"] = {}
        state["checkpoint"]["latest"]["manifest"]["time"] = now()
        state["version_counter"] = state.get("version_counter", 0) + 1
        backend.save(stack, state)
    changes = count(done)
    events.close(changes, started)
    backend.add_history(stack, history_entry(kind, state["version_counter"], start_time, error, changes, config, flags))
    if error:
        print(f"error: {error}", file=sys.stderr)
        return 255
    print(f"Resources: {json.dumps(changes)}")
    return 0


def history_entry(
    kind: str, version: int, start: str, error: str | None, changes: dict[str, int], config: StackConfig,
    flags: dict[str, Any],
) -> dict[str, Any]:  # fmt: skip
    stored = {k: {"secure": v["secure"]} if isinstance(v, dict) else v for k, v in config.data["config"].items()}
    return {"kind": "update" if kind == "up" else kind, "startTime": start, "endTime": now(),
            "message": flags.get("--message", ""), "environment": {"exec.kind": flags.get("--exec-kind", "cli")},
            "config": stored, "result": "failed" if error else "succeeded", "version": version,
            "resourceChanges": changes}  # fmt: skip


def run_refresh(
    backend: Backend, stack: str, state: dict[str, Any], events: EventLog, preview_only: bool, started: float
) -> int:
    cloud = backend.cloud()
    steps: list[dict[str, Any]] = []
    current = resources_of(state)
    for u, res in current.items():
        if res["type"] == "pulumi:pulumi:Stack":
            continue
        live = cloud.get(u)
        if live is None:
            steps.append({"op": "delete", "urn": u, "type": res["type"], "old": res, "new": None, "diffs": []})
        elif live != res["outputs"]:
            diffs = sorted(k for k in set(live) | set(res["outputs"]) if live.get(k) != res["outputs"].get(k))
            new = {**res, "outputs": live}
            steps.append({"op": "update", "urn": u, "type": res["type"], "old": res, "new": new, "diffs": diffs})
        else:
            steps.append({"op": "same", "urn": u, "type": res["type"], "old": res, "new": res, "diffs": []})
    for step in steps:
        events.step("resourcePreEvent", step, planning=preview_only)
        if not preview_only:
            if step["op"] == "delete":
                current.pop(step["urn"])
            elif step["op"] == "update":
                current[step["urn"]] = step["new"]
            events.step("resOutputsEvent", step, planning=False)
    changes = count(steps)
    if not preview_only:
        with locked(backend, stack):
            state["checkpoint"]["latest"]["resources"] = list(current.values())
            state["version_counter"] = state.get("version_counter", 0) + 1
            backend.save(stack, state)
            config = StackConfig(backend, stack)
            backend.add_history(
                stack, history_entry("refresh", state["version_counter"], now(), None, changes, config, {})
            )
    events.close(changes, started)
    return 0


def stack_command(backend: Backend, positional: list[str], flags: dict[str, Any]) -> int:
    sub = positional[0] if positional else ""
    if sub == "init":
        name = positional[1] if len(positional) > 1 else flags.get("--stack")
        if not name:
            raise Fail("missing stack name")
        if backend.exists(name):
            raise Fail(f"stack '{name}' already exists")
        config = StackConfig(backend, name)
        config.init_secrets()
        config.save()
        backend.stacks_dir.mkdir(parents=True, exist_ok=True)
        backend.save(name, empty_state(name))
        backend.select(name)
        print(f"Created stack '{name}'")
        return 0
    if sub == "select":
        name = backend.require(positional[1] if len(positional) > 1 else flags.get("--stack"))
        backend.select(name)
        return 0
    if sub == "ls":
        listing = []
        current = backend.current()
        for path in sorted(backend.stacks_dir.glob("*.json")) if backend.stacks_dir.exists() else []:
            state = json.loads(path.read_text())
            entry: dict[str, Any] = {"name": path.stem, "current": path.stem == current,
                                     "updateInProgress": any(backend.lock_dir(path.stem).glob("*.json"))}  # fmt: skip
            if state.get("version_counter"):
                entry["lastUpdate"] = state["checkpoint"]["latest"]["manifest"]["time"]
                entry["resourceCount"] = len(state["checkpoint"]["latest"]["resources"])
            entry["url"] = f"file://{backend.state_path(path.stem)}"
            listing.append(entry)
        print(json.dumps(listing))
        return 0
    stack = backend.require(flags.get("--stack"))
    state = backend.load(stack)
    if sub == "output":
        show = bool(flags.get("--show-secrets"))
        out = {k: (v["value"] if show or not v["secret"] else SECRET) for k, v in state.get("outputs", {}).items()}
        print(json.dumps(out))
        return 0
    if sub == "history":
        entries = backend.history(stack)
        if "--page-size" in flags:
            size, page = int(flags["--page-size"]), int(flags.get("--page", 1))
            entries = entries[(page - 1) * size : page * size]
        config = StackConfig(backend, stack)
        for entry in entries:
            shown = {}
            for key, raw in entry["config"].items():
                if isinstance(raw, dict):
                    value = config.decrypt(raw["secure"]) if flags.get("--show-secrets") else SECRET
                    shown[key] = {"value": value, "secret": True}
                else:
                    shown[key] = {"value": raw, "secret": False}
            entry["config"] = shown
        print(json.dumps(entries))
        return 0
    if sub == "export":
        print(json.dumps({"version": 3, "deployment": state["checkpoint"]["latest"]}))
        return 0
    raise Fail(f"unknown command 'stack {sub}' in this stand-in")


def config_command(backend: Backend, positional: list[str], flags: dict[str, Any]) -> int:
    stack = backend.require(flags.get("--stack"))
    config = StackConfig(backend, stack)
    sub = positional[0] if positional else ""
    if sub == "" and flags.get("--json"):
        print(json.dumps(config.items(show_secrets=bool(flags.get("--show-secrets")))))
        return 0
    if sub == "get":
        key = config.full_key(positional[1])
        items = config.items(show_secrets=True)
        if key not in items:
            raise Fail(f"configuration key '{positional[1]}' not found for stack '{stack}'")
        print(json.dumps(items[key]))
        return 0
    if sub == "set":
        if len(positional) < 3:
            raise Fail("config set needs a key and a value")
        config.set(positional[1], positional[2], secret=bool(flags.get("--secret")))
        config.save()
        return 0
    if sub == "rm":
        config.remove(positional[1])
        config.save()
        return 0
    raise Fail(f"unknown command 'config {sub}' in this stand-in")


def cancel_command(backend: Backend, flags: dict[str, Any]) -> int:
    stack = backend.require(flags.get("--stack"))
    held = list(backend.lock_dir(stack).glob("*.json"))
    if not held:
        raise Fail(f"stack '{stack}' has no update in progress")
    for lock in held:
        lock.with_suffix(".cancel").write_text(now())
    print(f"The currently running update for '{stack}' has been canceled!")
    return 0


def main(argv: list[str]) -> int:
    positional, flags = parse(argv)
    command = positional[0] if positional else ""
    if command == "version":
        print(VERSION)
        return 0
    if command == "whoami":
        print(json.dumps({"user": "standin", "organizations": [], "url": ""}) if flags.get("--json") else "standin")
        return 0
    if flags.get("--help"):
        print(f"Usage: pulumi {command} [flags]\n\nFlags:\n      --json\n      --save-plan string\n")
        return 0
    backend = Backend(Path.cwd())
    rest = positional[1:]
    if command == "stack":
        return stack_command(backend, rest, flags)
    if command == "config":
        return config_command(backend, rest, flags)
    if command == "cancel":
        return cancel_command(backend, flags)
    if command in ("preview", "up", "destroy", "refresh"):
        return run_update(backend, command, backend.require(flags.get("--stack")), flags)
    raise Fail(f"unknown command {command!r} for pulumi (stand-in)")


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except Fail as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(255)
