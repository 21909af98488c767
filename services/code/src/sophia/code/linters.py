"""Linters behind `review`: ruff for Python, and built-in checks that apply to every text file.

ruff runs once per review over a temporary copy of the files being reviewed plus the repository's
ruff configuration files (``pyproject.toml``, ``ruff.toml``, ``.ruff.toml``) at the same revision, so a
reviewed ref is linted as it is at that ref, symbolic links in the working tree are never followed
by the linter, and nothing is written into the repository (``--no-cache``). The repository's ruff
configuration is honoured (``--force-exclude`` included); with none, a review-oriented default is
used: ruff's defaults plus bugbear (``B``) and the bandit security rules (``S``, without ``S101``).

Built-in checks on every changed text file: merge-conflict markers, likely committed secrets
(private keys, AWS access keys, GitHub and Slack tokens; the secret itself is never echoed), and
JSON/TOML that does not parse.
"""

from __future__ import annotations

import json
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


def ruff(files: dict[str, str], configs: dict[str, str], timeout_s: float) -> list[Finding]:
    """Lint the Python files among `files` (path → text) under the repository's ruff configuration."""
    python = {rel: text for rel, text in files.items() if rel.endswith(PYTHON_SUFFIXES)}
    if not python:
        return []
    with tempfile.TemporaryDirectory(prefix="sophia-review-") as folder:
        root = Path(folder)
        for rel, text in {**configs, **python}.items():
            target = root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        rules = [] if has_ruff_config(configs) else DEFAULT_RULES
        argv = [find_ruff_bin(), "check", "--output-format=json", "--no-cache", "--exit-zero", "--force-exclude"]
        try:
            result = subprocess.run(
                [*argv, *rules, "--", *sorted(python)],
                cwd=root,
                capture_output=True,
                timeout=timeout_s,
                check=False,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as exc:
            raise LintError(f"ruff did not finish within {timeout_s:g}s") from exc
        if result.returncode != 0:
            last = result.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no message"]
            raise LintError(f"ruff failed: {last[0][:300]}")
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
