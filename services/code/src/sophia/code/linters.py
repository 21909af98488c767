"""Linters behind `review`: ruff for Python, and built-in checks that apply to every text file.

ruff runs once per review over a temporary copy of the files being reviewed plus the repository's
ruff configuration files (``pyproject.toml``, ``ruff.toml``, ``.ruff.toml``) at the same revision, so a
reviewed ref is linted as it is at that ref, symbolic links in the working tree are never followed
by the linter, and nothing is written into the repository (``--no-cache``). The repository's ruff
configuration is honoured (``--force-exclude`` included) unless it reaches outside the repository (an
``extend``, or a path that is absolute or climbs with ``..``): a repository must not make the linter
read the server's files, so such a configuration is ignored and said so. With none (or an ignored one)
ruff runs ``--isolated`` with a review-oriented default: ruff's defaults plus bugbear (``B``) and the
bandit security rules (``S``, without ``S101``). ruff's own error text is never passed on: it can quote
the files it read.

Built-in checks on every changed text file: merge-conflict markers, likely committed secrets
(private keys, AWS access keys, GitHub and Slack tokens; the secret itself is never echoed), and
JSON/TOML that does not parse.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field
from ruff.__main__ import find_ruff_bin

Severity = Literal["error", "warning", "info"]
PYTHON_SUFFIXES = (".py", ".pyi")
RUFF_CONFIGS = ("pyproject.toml", "ruff.toml", ".ruff.toml")
DEFAULT_RULES = ["--select", "E4,E7,E9,F,B,S", "--ignore", "S101"]


class Finding(BaseModel):
    file: str
    line: int | None = Field(None, description="1-based line in the reviewed version; None for the whole file.")
    severity: Severity
    message: str
    source: str = Field(description="ruff, checks or llm.")
    rule: str | None = None


class LintError(Exception):
    """A linter could not run; review reports it instead of findings from that linter."""


def _ruff_severity(code: str | None) -> Severity:
    if code is None or code.startswith(("E9", "F63", "F7", "F82")):
        return "error"
    if code.startswith(("S", "B", "F")):
        return "warning"
    return "info"


def has_ruff_config(configs: dict[str, str]) -> bool:
    for rel, text in configs.items():
        name = rel.rsplit("/", 1)[-1]
        if name in ("ruff.toml", ".ruff.toml"):
            return True
        if name == "pyproject.toml" and re.search(r"(?m)^\[tool\.ruff", text):
            return True
    return False


_CLIMBS = re.compile(r"(^|[/\\])\.\.([/\\]|$)")


def unsafe_config_reason(configs: dict[str, str]) -> str | None:
    """Why the repository's ruff configuration must not be used (it reaches outside the repository), or None."""
    for rel, text in configs.items():
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            return f"{rel} does not parse"
        section = data.get("tool", {}).get("ruff") if rel.endswith("pyproject.toml") else data
        if not isinstance(section, dict):
            continue
        if "extend" in section:
            return f"{rel} extends another configuration file"
        for value in _strings(section):
            if value.startswith(("/", "~", "\\")) or re.match(r"^[A-Za-z]:[/\\]", value) or _CLIMBS.search(value):
                return f"{rel} names a path outside the repository"
    return None


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def ruff(files: dict[str, str], configs: dict[str, str], timeout_s: float) -> list[Finding]:
    """Lint the Python files among `files` (path → text) under the repository's ruff configuration (pass
    no `configs` when it must not be used: see `unsafe_config_reason`)."""
    python = {rel: text for rel, text in files.items() if rel.endswith(PYTHON_SUFFIXES)}
    if not python:
        return []
    with tempfile.TemporaryDirectory(prefix="sophia-review-") as folder:
        root = Path(folder) / "repo"
        for rel, text in {**configs, **python}.items():
            target = root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        # No repository configuration: --isolated, so no configuration above the copy (or the user's) is read.
        rules = [] if has_ruff_config(configs) else ["--isolated", *DEFAULT_RULES]
        argv = [find_ruff_bin(), "check", "--output-format=json", "--no-cache", "--exit-zero", "--force-exclude"]
        # The user-level configuration of whoever runs the service is not the repository's either.
        env = {"PATH": os.environ.get("PATH", ""), "HOME": folder, "XDG_CONFIG_HOME": folder}
        try:
            result = subprocess.run(
                [*argv, *rules, "--", *sorted(python)],
                cwd=root,
                capture_output=True,
                timeout=timeout_s,
                check=False,
                stdin=subprocess.DEVNULL,
                env=env,
            )
        except subprocess.TimeoutExpired as exc:
            raise LintError(f"ruff did not finish within {timeout_s:g}s") from exc
        if result.returncode != 0:
            # Its message may quote files it read (a configuration's, say): not passed on.
            raise LintError(f"ruff exited with status {result.returncode} (its message is withheld)")
        try:
            reports = json.loads(result.stdout or b"[]")
        except ValueError as exc:
            raise LintError("ruff printed no JSON") from exc
        resolved = root.resolve()
    findings = []
    for report in reports:
        filename = Path(report.get("filename", ""))
        try:
            rel = str(filename.resolve().relative_to(resolved)) if filename.is_absolute() else str(filename)
        except ValueError:
            continue
        code = report.get("code")
        location = report.get("location") or {}
        findings.append(
            Finding(
                file=rel,
                line=location.get("row"),
                severity=_ruff_severity(code),
                message=str(report.get("message", ""))[:1000],
                source="ruff",
                rule=code or "syntax-error",
            )
        )
    return findings


_CONFLICT = re.compile(r"^(<{7}|={7}|>{7})(\s|$)")
_SECRETS = [
    (re.compile(r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |PGP |ENCRYPTED )?PRIVATE KEY( BLOCK)?-----"), "a private key"),
    (re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), "an AWS access key id"),
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"), "a GitHub token"),
    (re.compile(r"\bgithub_pat_[A-Za-z0-9_]{50,}\b"), "a GitHub token"),
    (re.compile(r"\bxox[baprs]-[A-Za-z0-9-]{10,}\b"), "a Slack token"),
]


def _check(rel: str, line: int | None, rule: str, message: str) -> Finding:
    return Finding(file=rel, line=line, severity="error", message=message, source="checks", rule=rule)


def checks(files: dict[str, str], changed: dict[str, set[int] | None]) -> list[Finding]:
    """Built-in checks on the changed lines of each file (`changed[path]` None: every line is new)."""
    findings: list[Finding] = []
    for rel, text in files.items():
        lines = changed.get(rel)
        for number, line in enumerate(text.splitlines(), 1):
            if lines is not None and number not in lines:
                continue
            if _CONFLICT.match(line):
                findings.append(_check(rel, number, "conflict-marker", "merge conflict marker left in the file"))
            what = next((what for pattern, what in _SECRETS if pattern.search(line)), None)
            if what is not None:
                message = f"looks like {what} committed to the repository; remove it and rotate it"
                findings.append(_check(rel, number, "secret", message))
        findings.extend(_syntax(rel, text))
    return findings


def _syntax(rel: str, text: str) -> list[Finding]:
    if rel.endswith(".json"):
        try:
            json.loads(text)
        except ValueError as exc:
            message = getattr(exc, "msg", str(exc))
            return [_check(rel, getattr(exc, "lineno", None), "json-syntax", f"invalid JSON: {message}")]
    if rel.endswith(".toml"):
        try:
            tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            found = re.search(r"at line (\d+)", str(exc))
            return [_check(rel, int(found[1]) if found else None, "toml-syntax", f"invalid TOML: {exc}")]
    return []
