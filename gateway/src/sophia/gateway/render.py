"""Tool results as short prose and bullets, for answers written without an LLM (and as the LLM's input).

A renderer is chosen by the shape of a result's structured content, not by the tool's name, so a
renamed tool or a new server with the same shapes reads well too: memories recalled (`items` with
`text`), a memory stored or updated (`id`, `namespace`, `supersedes`), the model the router chose
(`tier`, `model`, `reasons`), review findings (`findings`), search hits (`items`/`hits`/`results`),
repositories, stacks, counts. Anything else becomes "field: value" bullets of its plain fields. Never
JSON, never a cut mid-word: long values end at a word with "…".

Results are untrusted data: what they contain is shown, never followed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sophia.gateway.results import text_of

MAX_ITEMS = 8  # bullets per list; the rest is counted
MAX_VALUE_CHARS = 240
LABEL_FIELDS = ("title", "text", "summary", "subject", "message", "name", "path", "file", "url", "id")
DETAIL_FIELDS = ("object", "channel", "score", "stage", "amount", "state", "branch", "assignee", "due_on")
_UNKNOWN_NAMESPACE = re.compile(r"unknown namespace '([^']{1,64})'", re.IGNORECASE)


def shorten(value: Any, limit: int = MAX_VALUE_CHARS) -> str:
    """One line of at most `limit` characters, cut at a word boundary."""
    text = " ".join(str(value).split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0].rstrip(",;:")
    return cut + " …"


def structured(result: dict[str, Any] | None) -> Any:
    if not result:
        return None
    content = result.get("structuredContent")
    if isinstance(content, dict) and set(content) == {"result"}:
        return content["result"]  # a tool that returns a list or a scalar is wrapped by the SDK
    return content


def _label(item: Any) -> str:
    if not isinstance(item, dict):
        return shorten(item)
    for field in LABEL_FIELDS:
        if item.get(field):
            label = shorten(item[field])
            body = next((item[k] for k in ("text", "snippet", "summary") if k != field and item.get(k)), None)
            if field == "title" and body:  # a hit titled by where it is (a channel, a page): say what it holds
                label = f"{shorten(item[field], 60)}: {shorten(body)}"
            # What tells one listed record from the next: whose a task is and when it is due, what a CRM
            # hit is (a company or a deal), a deal's stage.
            extra = [f"{k.replace('_', ' ')} {shorten(item[k], 60)}" for k in DETAIL_FIELDS
                     if item.get(k) not in (None, "")]  # fmt: skip
            return label + (f" ({', '.join(extra)})" if extra else "")
    return "; ".join(f"{k}: {shorten(v, 60)}" for k, v in list(item.items())[:4] if _plain(v))


def _plain(value: Any) -> bool:
    return isinstance(value, str | int | float | bool) or value is None


def _bullets(items: list[Any], label: Callable[[Any], str] = _label) -> list[str]:
    lines = [f"- {label(item)}" for item in items[:MAX_ITEMS]]
    if len(items) > MAX_ITEMS:
        lines.append(f"- … and {len(items) - MAX_ITEMS} more")
    return lines


def _memories(data: dict[str, Any]) -> list[str]:
    items = data["items"]
    where = f" in namespace {data['namespace']}" if data.get("namespace") else ""
    if not items:
        if data.get("nothing_relevant") and isinstance(data.get("note"), str) and "relevant" in data["note"]:
            return [f"Nothing stored{where} is relevant to that."]
        return [
            f"Nothing is stored{where} yet."
            if data.get("nothing_relevant")
            else f"Nothing stored{where} matches that yet."
        ]
    head = f"{len(items)} memor{'y' if len(items) == 1 else 'ies'} found{where}, closest first:"
    return [head, *_bullets(items, lambda m: f"{shorten(m.get('text', ''))} (id {m.get('id')})")]


def _route(data: dict[str, Any]) -> list[str]:
    cost = data.get("estimated_cost_usd")
    line = f"The router would use {data['model']} (the {data['tier']} tier)"
    line += f", at about ${cost:.4f} per call." if isinstance(cost, int | float) else "."
    reasons = [r for r in data.get("reasons") or [] if isinstance(r, str)]
    return [line, *([f"Why: {shorten('; '.join(reasons), 400)}."] if reasons else [])]


def _findings(data: dict[str, Any]) -> list[str]:
    findings = data["findings"]
    if not findings:
        return ["The review found no problems."]

    def finding(f: Any) -> str:
        if not isinstance(f, dict):
            return shorten(f)
        where = f"{f.get('file', '')}{':' + str(f['line']) if f.get('line') else ''}"
        return f"{f.get('severity', 'note')}: {where} {shorten(f.get('message', ''), 200)}".strip()

    return [f"{len(findings)} finding(s):", *_bullets(findings, finding)]


def _listing(key: str, noun: str) -> Callable[[dict[str, Any]], list[str]]:
    def render(data: dict[str, Any]) -> list[str]:
        items = data[key]
        if not items:
            return [f"No {noun} found."]
        return [f"{len(items)} {noun}:", *_bullets(items)]

    return render


def _counts(data: dict[str, Any]) -> list[str]:
    if data.get("memories") == 0 or data.get("images") == 0:
        where = f" in namespace {data['namespace']}" if data.get("namespace") else ""
        return [f"Nothing is stored{where} yet."]
    return _fields(data)


def _fields(data: dict[str, Any]) -> list[str]:
    lines = []
    for key, value in data.items():
        if _plain(value) and value not in (None, ""):
            lines.append(f"- {key.replace('_', ' ')}: {shorten(value)}")
        elif isinstance(value, list):
            lines.append(f"- {key.replace('_', ' ')}: " + (", ".join(_label(v) for v in value[:5]) or "none")
                         + (f" (and {len(value) - 5} more)" if len(value) > 5 else ""))  # fmt: skip
        elif isinstance(value, dict) and value:
            # {"slack": {"status": "ok", ...}, ...}: each entry by its status or its first plain field.
            inner = ", ".join(
                f"{k} {shorten(v, 40)}" if _plain(v) else f"{k} {shorten(_status(v), 40)}"
                for k, v in list(value.items())[:8]
                if _plain(v) or isinstance(v, dict)
            )
            if inner:
                lines.append(f"- {key.replace('_', ' ')}: {inner}")
    return lines or ["Done."]


def _status(value: dict[str, Any]) -> str:
    for key in ("status", "state", "value", "name"):
        if _plain(value.get(key)) and value.get(key) not in (None, ""):
            return str(value[key])
    return next((str(v) for v in value.values() if _plain(v)), "")


# (a test on the structured content, its renderer), most specific first.
def _is_memories(data: dict[str, Any]) -> bool:
    items = data.get("items")
    return (
        isinstance(items, list)
        and "namespace" in data
        and not data.get("embedder")  # visual search hits carry their embedder
        and all(isinstance(i, dict) and "text" in i for i in items)
    )


def _is_stored_memory(data: dict[str, Any]) -> bool:
    """What memory's remember answers: the new memory's id in its namespace, and what it replaced, if any."""
    return set(data) <= {"id", "namespace", "supersedes"} and {"id", "namespace"} <= set(data)


def _stored_memory(data: dict[str, Any]) -> list[str]:
    where = f"in namespace {shorten(data['namespace'], 64)}"
    if data.get("supersedes"):
        return [
            f"Stored the new version {where} (id {shorten(data['id'], 64)}); the earlier one "
            f"(id {shorten(data['supersedes'], 64)}) stays in its history."
        ]
    return [f"Stored {where} (id {shorten(data['id'], 64)})."]


RENDERERS: list[tuple[Callable[[dict[str, Any]], bool], Callable[[dict[str, Any]], list[str]]]] = [
    (_is_memories, _memories),
    (_is_stored_memory, _stored_memory),
    (lambda d: {"tier", "model"} <= set(d), _route),
    (lambda d: isinstance(d.get("findings"), list), _findings),
    (lambda d: isinstance(d.get("repos"), list), _listing("repos", "repositories")),
    (lambda d: isinstance(d.get("stacks"), list), _listing("stacks", "stacks")),
    (lambda d: isinstance(d.get("items"), list), _listing("items", "results")),
    (lambda d: isinstance(d.get("hits"), list), _listing("hits", "results")),
    (lambda d: isinstance(d.get("results"), list), _listing("results", "results")),
    (lambda d: isinstance(d.get("deals"), list), _listing("deals", "deals")),
    (lambda d: isinstance(d.get("tasks"), list), _listing("tasks", "tasks")),
    (lambda d: isinstance(d.get("messages"), list), _listing("messages", "messages")),
    (lambda d: "memories" in d or "images" in d, _counts),
]


def render_result(result: dict[str, Any] | None) -> list[str]:
    """A successful result as lines of prose and bullets."""
    data = structured(result)
    if isinstance(data, dict):
        for matches, render in RENDERERS:
            try:
                if matches(data):
                    return render(data)
            except (KeyError, TypeError, ValueError):
                continue  # a shape that only looked familiar: try the next reading
        return _fields(data)
    if isinstance(data, list):
        return _bullets(data) if data else ["Nothing found."]
    text = text_of(result).strip()
    if not text:
        return ["Done."]
    return [shorten(line, 400) for line in text.splitlines()[:MAX_ITEMS] if line.strip()]


def render_error(message: str) -> str:
    """A tool's error in plain words; an empty namespace on a fresh install is not an error to the reader."""
    unknown = _UNKNOWN_NAMESPACE.search(message)
    if unknown:
        return f"Nothing is stored in namespace {unknown.group(1)} yet."
    return shorten(message, 400)
