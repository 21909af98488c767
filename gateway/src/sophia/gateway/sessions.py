"""Conversations for `ask`: recent turns (memory's session memory) resolve references, and each answer
is recorded.

With a session id, `ask` reads the conversation's recent turns before classifying. A request that
names nothing itself but refers back ("now deploy it", "the same repo", "post that there") has its
first reference replaced by the named things of the latest user turn that had some: "now deploy the
heron-staging stack". Replaced, not appended: the planner reads arguments from the words of each clause,
so "what do we know about it?" must recall "the kiwi repo", not "it". After the answer, the request and
the answer are appended as two turns.

Both calls are ordinary tool calls through the same pipeline as every other (`memory_recent_turns`,
`memory_append_turn`), so a caller's namespace and permissions apply; without a memory server the
session is simply not used, and the answer says nothing different.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import partial
from typing import Any

from sophia.gateway.entities import mentioned
from sophia.gateway.executor import Executor, StepOutcome
from sophia.gateway.intent.text import entities
from sophia.gateway.render import structured

RECENT = "memory_recent_turns"
APPEND = "memory_append_turn"
TURNS = 6
MAX_TURN_CHARS = 2000  # what is recorded of one answer
_REFERENCE = re.compile(
    r"\b(?:it|its|that one|this one|them|those|there|"
    r"(?:the same|that|this) (?:repo|stack|channel|branch|deal|project|file)|the same)\b",
    re.IGNORECASE,
)


def _named(text: str, known: Mapping[str, list[str]]) -> list[str]:
    """What a turn named, as words the planner's entity reading finds again: what its words show, and the
    names the fleet knows that it says ("README.md of orca": the orca repo)."""
    found = entities(text)
    live = [f"the {name} {kind}" for kind, names in known.items() for name in mentioned(names, text)]
    return list(
        dict.fromkeys(
            [
                *(f"the {stack} stack" for stack in found.stacks),
                *(f"the {repo} repo" for repo in found.repos if repo not in found.stacks),  # "the x-y stack": no repo
                *live,
                *found.branches,
                *found.channels,
                *found.paths,
            ]
        )
    )


def _replacement(said: str, reference: re.Match[str]) -> str:
    return f"in {said}" if reference.group(0).lower() == "there" else said


def refers_back(query: str) -> bool:
    """Whether the request points at something said before ("it", "the same repo", "there")."""
    return bool(_REFERENCE.search(query))


def resolve(query: str, turns: list[dict[str, Any]], known: Mapping[str, list[str]] | None = None) -> str:
    """`query` with the context its references point to (unchanged when it names its own things or
    refers to nothing). `known`: the names the fleet knows, by kind ("repo": [...], "stack": [...])."""
    known = known or {}
    if not refers_back(query) or _named(query, known):
        return query
    for turn in reversed(turns):
        if turn.get("role") != "user":
            continue
        named = _named(str(turn.get("text", "")), known)
        if named:
            return _REFERENCE.sub(partial(_replacement, " and ".join(dict.fromkeys(named))), query, count=1)
    return query


class Sessions:
    def __init__(self, executor: Executor, has_tool: Any) -> None:
        self._executor = executor
        self._has_tool = has_tool

    async def recent(self, session: str, namespace: str) -> list[dict[str, Any]]:
        if not self._has_tool(RECENT):
            return []
        arguments = {"session_id": session, "namespace": namespace, "n": TURNS}
        outcome = await self._call(RECENT, arguments, "read the conversation")
        data = structured(outcome.result) if outcome.status == "ok" else None
        turns = data.get("turns") if isinstance(data, dict) else None
        return [t for t in turns if isinstance(t, dict)] if isinstance(turns, list) else []

    async def record(self, session: str, namespace: str, query: str, answer: str) -> None:
        if not self._has_tool(APPEND):
            return
        for role, text in (("user", query), ("assistant", answer[:MAX_TURN_CHARS])):
            arguments = {"session_id": session, "namespace": namespace, "role": role, "text": text or "(empty)"}
            await self._call(APPEND, arguments, "record the conversation")

    async def _call(self, tool: str, arguments: dict[str, Any], why: str) -> StepOutcome:
        return await self._executor.call(tool, arguments, why)
