"""Text handling shared by the rules and the planner: typo repair, clauses, entities.

Requests arrive terse and misspelt ("dploy the api to stagng"). Before any rule reads a request, each
word that is not an English word (the model's 30k-word vocabulary) and is one or two edits away from
a word the rules care about is replaced by that word.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from importlib import resources

from rapidfuzz.distance import OSA
from rapidfuzz.process import extractOne

# Words the rules and capability cues look for; a misspelling of one of them is repaired.
KEYWORDS = [
    "deploy",
    "deployed",
    "deployment",
    "redeploy",
    "rollback",
    "rollout",
    "release",
    "staging",
    "production",
    "prod",
    "destroy",
    "teardown",
    "delete",
    "remove",
    "forget",
    "prune",
    "purge",
    "wipe",
    "erase",
    "merge",
    "push",
    "branch",
    "commit",
    "review",
    "preview",
    "refresh",
    "cluster",
    "stack",
    "stacks",
    "pulumi",
    "kubernetes",
    "slack",
    "asana",
    "notion",
    "hubspot",
    "salesforce",
    "gong",
    "channel",
    "customer",
    "customers",
    "email",
    "mockup",
    "mockups",
    "screenshot",
    "screenshots",
    "image",
    "images",
    "diagram",
    "design",
    "memory",
    "memories",
    "remember",
    "recall",
    "summarize",
    "summarise",
    "summary",
    "repository",
    "repo",
    "pull",
    "request",
    "approve",
    "tomorrow",
    "urgent",
    "immediately",
    "asap",
    "outputs",
    "drift",
    "history",
    "index",
    "indexed",
    "search",
    "find",
    "create",
    "draft",
    "update",
    "modify",
    "change",
    "revert",
    # Verbs that make a change needing approval, misspelt as often as the rest ("aplly the changes").
    "apply",
    "reply",
    "send",
    "message",
    "resize",
    "scale",
    "upgrade",
    "restart",
]

_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")


@functools.cache
def _english() -> frozenset[str]:
    vocab = resources.files("sophia.kit").joinpath("vocab.txt").read_text(encoding="utf-8")
    return frozenset(word for word in vocab.split() if word.isalpha())


@functools.lru_cache(maxsize=4096)
def _repair(word: str) -> str:
    lower = word.lower()
    if len(lower) < 4 or lower in _english() or lower in KEYWORDS:
        return word
    cutoff = 1 if len(lower) < 8 else 2
    match = extractOne(lower, KEYWORDS, scorer=OSA.distance, score_cutoff=cutoff)
    return match[0] if match else word


def repair(text: str) -> str:
    """`text` with misspelt keywords corrected ("stagng" → "staging"); everything else unchanged."""
    return _WORD.sub(lambda m: _repair(m.group(0)), text)


# "X and Y", "X, then Y", "X; Y", "X. Y": a clause boundary when a verb starts the next part. A word that
# only opens a noun phrase ("the", "our", "all") starts no order: "check router spend and the analytics
# stack" is one clause, not a read and a bare "the analytics stack" (read alone as a deletion).
_DETERMINER = r"(?:the|a|an|our|my|your|their|its|his|her|this|that|these|those|all|every|each|any|some|both)"
# A run of spaces is matched whole from its first character (`(?<!\s)\s++`): tried from every position inside
# it, the split took time quadratic in the run's length (8,000 spaces, the longest request: 1.4 s).
_CLAUSE = re.compile(
    r"(?:[.;!?]\s+|,?(?<!\s)\s++(?:and\s+)?then\s+|,\s*and\s+|(?<!\s)\s++and\s+(?=(?:also\s+)?(?!"
    + _DETERMINER
    + r"\s)[a-z]+\s))",
    re.IGNORECASE,
)
# A list of orders joined by bare commas ("search the calls about X, find the Y screenshot and list Z"): a
# comma is a boundary only inside a part that itself opens with an order, and before another order with
# its object; "I shared the password, remove it" or "per the note, email it" keep their commas.
_ORDER = (
    r"(?:find|search|list|show|get|check|look up|read|review|summari[sz]e|compare|count|post|send|email|"
    r"remember|recall|forget|delete|remove|deploy|preview|open|create|add|draft|write|update|merge|push|"
    r"index|route|scale|destroy|tear down|roll back)\s+(?:the|a|an|all|every|our|my|its|their)\b"
)
_OPENS_WITH_ORDER = re.compile(rf"^(?:please\s+)?{_ORDER}", re.IGNORECASE)
_COMMA_ORDER = re.compile(rf",\s+(?={_ORDER})", re.IGNORECASE)


def _orders(part: str) -> list[str]:
    return _COMMA_ORDER.split(part) if _OPENS_WITH_ORDER.search(part) else [part]


# Quoted text is a name or a piece of data ("the mockup called \"delete me\""), never an instruction.
_QUOTED_SPAN = re.compile(r'"[^"\n]*"|“[^”\n]*”|`[^`\n]*`')


def clauses(text: str) -> list[str]:
    """Split a request into its parts; each part that has at least two words. Never inside quotes."""
    quoted: list[str] = []

    def hide(match: re.Match[str]) -> str:
        quoted.append(match.group(0))
        return f"\x00{len(quoted) - 1}\x00"

    masked = _QUOTED_SPAN.sub(hide, text)
    parts = [
        re.sub(r"\x00(\d+)\x00", lambda m: quoted[int(m.group(1))], part).strip(" ,")
        for clause in _CLAUSE.split(masked)
        for part in _orders(clause)
    ]
    kept = [part for part in parts if len(part.split()) >= 2 and not _courtesy(part)]
    return kept or [text.strip()]


# Greetings, thanks and asides that open or close a request ("Good morning!", "Thanks a lot!", "Nothing
# urgent."): as parts of their own they give no order, and read alone they carried no signal but the
# model's priors (a bare "good morning" read as a deploy that needs approval).
_COURTESY_WORDS = frozenset({"hi", "hello", "hey", "morning", "afternoon", "evening", "good", "team", "all",
                             "folks", "everyone", "there", "thanks", "thank", "you", "a", "lot", "so", "much",
                             "many", "cheers", "in", "advance", "nothing", "urgent", "no", "rush", "quick",
                             "question", "one", "ok", "okay", "great", "have", "nice", "day"})  # fmt: skip


def _courtesy(part: str) -> bool:
    return all(word in _COURTESY_WORDS for word in re.findall(r"[a-z']+", part.lower()))


def unquoted(text: str) -> str:
    """`text` with quoted spans blanked, for the rules: words in quotes name things, they do not ask."""
    return _QUOTED_SPAN.sub('""', text)


@dataclass
class Entities:
    """Named things in a request that become tool arguments or intent targets."""

    channels: list[str] = field(default_factory=list)
    branches: list[str] = field(default_factory=list)
    stacks: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    repos: list[str] = field(default_factory=list)
    quoted: list[str] = field(default_factory=list)
    people: list[str] = field(default_factory=list)
    numbers: list[str] = field(default_factory=list)

    def all(self) -> list[str]:
        seen: dict[str, None] = {}
        for group in (self.quoted, self.stacks, self.repos, self.branches, self.channels, self.paths, self.people):
            for item in group:
                seen.setdefault(item, None)
        return list(seen)


_CHANNEL = re.compile(r"(?<![\w&])#[a-z0-9][a-z0-9_-]{0,79}", re.IGNORECASE)
_QUOTED = re.compile(r"[\"“`']([^\"”`']{2,80})[\"”`']")
# Names and path segments are read up to 128 characters: a pattern retried from every position of a long run
# ("a-a-a-…", "------") with an unbounded repeat costs time quadratic in the run (8,000 characters: 0.5 s).
_PATH = re.compile(
    r"(?<![\w/])(?:[\w.-]{1,128}/)+[\w.-]{1,128}|(?<![\w/])[\w-]{1,128}\.(?:py|ts|tsx|js|go|rs|java|md|ya?ml|json|toml|"
    r"sql|sh|tf)\b"
)
_BRANCH = re.compile(
    r"\b(?:branch(?:\s+(?:called|named))?|into|onto|to|from)\s+[`'\"]?((?:main|master|develop|trunk)\b|"
    r"(?:release|feature|hotfix|fix|bugfix|chore)[/-][\w./-]+|[\w-]+/[\w./-]+)",
    re.IGNORECASE,
)
# The usual prefixes of a branch's name: "push fix/lmod-cache", "my commits on feat/ward-log".
BRANCH_PREFIXES = ("release/", "feature/", "feat/", "hotfix/", "fix/", "bugfix/", "chore/")
_NAMED_BRANCH = re.compile(r"\b((?:release|feature|feat|hotfix|fix|bugfix|chore)/[\w.-]+|main|master)\b")
# "push my fix-flaky-login branch": a name before the word counts when it looks like one (a hyphen or a
# slash), so "the duckdb spike branch" does not make "spike" a branch.
_BRANCH_BEFORE = re.compile(r"(?<![\w/-])([A-Za-z0-9][\w.]*(?:[-/][\w.]+)+)\s+branch\b")
_STACK = re.compile(
    r"\b(?:([\w-]{1,128})\s+stack|stack\s+(?!for\b|of\b|to\b)([\w-]+)|(prod(?:uction)?|staging|stage|dev|qa|sandbox|perf)\b)",
    re.IGNORECASE,
)
_REPO = re.compile(r"\b([a-z][a-z0-9]*(?:-[a-z0-9]+)+)\b")
# A repository named as one ("the sophia repo", "repository orion", "the 'ledger' codebase"): one-word
# names count too, quoted or not.
_NAMED_REPO = (
    re.compile(r"(?:\b|[\"'`])([A-Za-z][\w.-]{0,99})[\"'`]?\s+(?:repo|repository|codebase)\b", re.IGNORECASE),
    re.compile(r"\b(?:repo|repository)\s+(?:called\s+|named\s+)?[\"'`]?([A-Za-z][\w.-]{0,99})", re.IGNORECASE),
)
_NOT_A_REPO = {"the", "a", "an", "our", "my", "this", "that", "which", "each", "every", "code", "git", "github",
               "same", "whole", "new", "old", "main", "default", "in", "of", "for", "and", "or", "to", "is", "are",
               "has", "have", "was", "with", "any", "some", "what", "its", "their", "your"}  # fmt: skip
_MENTION = re.compile(r"(?<![\w.])@([A-Za-z][\w.-]{1,40})")
_NUMBER = re.compile(r"(?:#|\bPR\s*|\bpull request\s*)(\d{1,7})\b", re.IGNORECASE)
_NOT_A_STACK = {"the", "a", "an", "our", "my", "this", "that", "whole", "full", "tech", "new", "old", "each", "every",
                "we", "i", "you", "they", "which", "is", "are", "was", "and", "or", "in", "on", "with", "please",
                "so", "it", "now", "trace", "traces", "overflow", "outputs", "history", "state"}  # fmt: skip


def entities(request: str) -> Entities:
    """Named things; those inside quotes count only as quoted names (a quoted "prod" is not a stack)."""
    found = Entities()
    found.quoted = _unique(_QUOTED.findall(request))
    text = unquoted(request)
    found.channels = _unique(_CHANNEL.findall(text))
    found.paths = _unique(p for p in _PATH.findall(text) if not p.startswith(BRANCH_PREFIXES))
    found.branches = _unique(
        [m.group(1).rstrip(".,") for m in _BRANCH.finditer(text)]
        + _NAMED_BRANCH.findall(text)
        + _BRANCH_BEFORE.findall(text)
    )
    stacks = []
    for match in _STACK.finditer(text):
        name = next(group for group in match.groups() if group)
        if name.lower() not in _NOT_A_STACK:
            stacks.append("production" if name.lower() == "prod" else name)
    found.stacks = _unique(stacks)
    branch_like = {b.split("/")[-1] for b in found.branches} | set(found.branches)
    named_repos: list[str] = []
    for pattern in _NAMED_REPO:  # "the X repo" first; "repo X" only when no name precedes the word
        named_repos = named_repos or [n for n in pattern.findall(request) if n.lower() not in _NOT_A_REPO]
    found.repos = _unique(
        named_repos
        + [
            r
            for r in _REPO.findall(text)
            if r not in branch_like and not r.startswith(("e-mail", "follow-up", "on-call"))
        ]
    )
    found.people = _unique(_MENTION.findall(text))
    found.numbers = _unique(_NUMBER.findall(text))
    return found


def _unique(items: object) -> list[str]:
    return list(dict.fromkeys(items))  # type: ignore[call-overload]
