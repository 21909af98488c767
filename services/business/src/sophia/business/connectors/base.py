"""What every connector shares: its credentials, its own HTTP client, hits, and the words of a question."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import httpx

from sophia.business.credentials import Credentials
from sophia.business.http import BadResponse, ConnectorError, Http, NotConfigured, RetryPolicy
from sophia.business.settings import CREDENTIALS, BusinessSettings

STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "of",
        "on",
        "in",
        "at",
        "to",
        "for",
        "from",
        "by",
        "with",
        "about",
        "what",
        "whats",
        "what's",
        "which",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "how",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "do",
        "does",
        "did",
        "done",
        "have",
        "has",
        "had",
        "it",
        "its",
        "it's",
        "this",
        "that",
        "these",
        "those",
        "there",
        "their",
        "they",
        "them",
        "we",
        "our",
        "us",
        "you",
        "your",
        "i",
        "me",
        "my",
        "mine",
        "he",
        "she",
        "his",
        "her",
        "hers",
        "any",
        "all",
        "some",
        "last",
        "latest",
        "recent",
        "newest",
        "new",
        "say",
        "said",
        "says",
        "tell",
        "show",
        "find",
        "get",
        "give",
        "list",
        "me",
        "please",
        "can",
        "could",
        "would",
        "should",
        "will",
        "shall",
        "may",
        "might",
        "must",
        "anything",
        "everything",
        "something",
        "stage",
        "status",
        "deal",
        "deals",
        "call",
        "calls",
        "meeting",
        "meetings",
        "page",
        "pages",
        "task",
        "tasks",
        "message",
        "messages",
        "doc",
        "docs",
        "note",
        "notes",
        "latest",
        "update",
        "updates",
        "check",
        "up",
        "on",
        "over",
        "our",
        "team",
        "people",
        "company",
        "slack",
        "gong",
        "hubspot",
        "salesforce",
        "notion",
        "asana",
        "crm",
    ]
)
SOURCE_WORDS = {
    "slack": "slack",
    "gong": "gong",
    "hubspot": "hubspot",
    "salesforce": "salesforce",
    "notion": "notion",
    "asana": "asana",
    "crm": "hubspot",
}
# Words that say what kind of item the question is after.
KIND_WORDS = {
    "deal": {"deal", "opportunity"},
    "deals": {"deal", "opportunity"},
    "opportunity": {"deal", "opportunity"},
    "stage": {"deal", "opportunity"},
    "pipeline": {"deal", "opportunity"},
    "amount": {"deal", "opportunity"},
    "call": {"call"},
    "calls": {"call"},
    "said": {"call", "message"},
    "say": {"call", "message"},
    "meeting": {"call"},
    "transcript": {"call"},
    "task": {"task"},
    "tasks": {"task"},
    "todo": {"task"},
    "page": {"page"},
    "doc": {"page"},
    "docs": {"page"},
    "plan": {"page"},
    "policy": {"page"},
    "message": {"message"},
    "channel": {"message"},
    "thread": {"message"},
    "company": {"company"},
    "account": {"company", "opportunity"},
    "contact": {"contact"},
}
WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9&'._-]*")


@dataclass(frozen=True)
class Terms:
    """A question taken apart for systems that search by keyword: its `keywords` (stop words and system
    names dropped), its `focus` (the most telling one: a proper name when there is one) and the systems
    it names."""

    question: str
    keywords: tuple[str, ...]
    focus: str
    named_sources: frozenset[str]
    kinds: frozenset[str] = frozenset()

    @classmethod
    def of(cls, question: str) -> Terms:
        words = [w.strip("'.-_") for w in WORD.findall(question)]
        words = [w[:-2] if w.lower().endswith("'s") else w for w in words if w]
        named = frozenset(SOURCE_WORDS[w.lower()] for w in words if w.lower() in SOURCE_WORDS)
        keywords = tuple(dict.fromkeys(w for w in words if w.lower() not in STOPWORDS and len(w) > 1))
        # A capitalised word that is not the question's first word is most likely a name (Acme, Globex).
        names = [w for i, w in enumerate(words) if i > 0 and w[0].isupper() and w.lower() not in STOPWORDS]
        if not names and words and words[0][0].isupper() and words[0].lower() not in STOPWORDS:
            names = [words[0]]  # "Acme renewal": a request may start with the name
        focus = names[0] if names else (max(keywords, key=len) if keywords else question.strip())
        kinds = frozenset(kind for w in words for kind in KIND_WORDS.get(w.lower(), ()))
        return cls(question, keywords, focus[:100], named, kinds)

    def matches(self, text: str) -> int:
        """How many keywords `text` holds (case-insensitive)."""
        lowered = text.lower()
        return sum(1 for word in self.keywords if word.lower() in lowered)


def search_text(query: str | None) -> str | None:
    """What to send a system that matches text literally: a short query as given; a sentence ("what's the
    stage of the Acme deal") by its most telling word, since no system matches the whole sentence; None
    when nothing in it narrows the search ("what did they say on the last call")."""
    if not query or not query.strip():
        return None
    if len(WORD.findall(query)) <= 3:
        return query.strip()
    terms = Terms.of(query)
    return terms.focus if terms.keywords else None


@dataclass
class Hit:
    """One item a system returned for a search, labelled with where it came from."""

    source: str
    kind: str
    id: str
    title: str
    snippet: str = ""
    url: str | None = None
    when: str | None = None
    score: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def clip(value: Any, limit: int) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Connector:
    """One system. Subclasses set `name`/`title` and implement `ping` and `search`."""

    name: ClassVar[str]
    title: ClassVar[str]

    def __init__(self, settings: BusinessSettings, credentials: Credentials) -> None:
        self.settings = settings
        self.credentials = credentials
        # One pooled client per connector, built once; redirects off so a credential never follows one.
        self.client = httpx.AsyncClient(follow_redirects=False, headers={"user-agent": "sophia-business/0.1"})
        self.http = Http(self.title, self.client, RetryPolicy.from_settings(settings))

    async def aclose(self) -> None:
        await self.client.aclose()

    async def configured(self) -> bool:
        for names in CREDENTIALS[self.name]:
            if all([await self.credentials.get(name) for name in names]):
                return True
        return False

    async def require(self, *names: str) -> list[str]:
        values = [await self.credentials.get(name) for name in names]
        missing = [name for name, value in zip(names, values, strict=True) if not value]
        if missing:
            raise NotConfigured(f"{self.title} is not configured (set {', '.join(missing)})")
        return [value for value in values if value]

    async def secrets(self) -> list[str]:
        return await self.credentials.values()

    async def ping(self) -> None:
        """One cheap authenticated call; a ConnectorError when it fails."""
        raise NotImplementedError

    async def search(self, terms: Terms, limit: int) -> list[Hit]:
        raise NotImplementedError

    def text(self, value: Any) -> str:
        return clip(value, self.settings.max_text_chars)


def require_dict(body: Any, system: str, what: str) -> dict[str, Any]:
    """A system's answer must be a JSON object; anything else is a bad response, never a crash."""
    if not isinstance(body, dict):
        raise BadResponse(f"{system} answered {what} in an unexpected shape")
    return body


def obj(value: Any) -> dict[str, Any]:
    """`value` when a system returned an object there, else an empty one."""
    return value if isinstance(value, dict) else {}


def dicts(value: Any) -> list[dict[str, Any]]:
    """The objects of a list a system returned, skipping anything else in it."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


__all__ = ["Connector", "ConnectorError", "Hit", "Terms", "clip", "dicts", "obj", "require_dict", "search_text"]
