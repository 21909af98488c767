"""Settings of the visual service (``SOPHIA_VISUAL_*``; ``SOPHIA_DATA_DIR`` too)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import NoDecode

from sophia.kit import ServiceSettings, comma_list


class VisualSettings(ServiceSettings):
    """What the visual service reads from its environment.

    `sophia up` exports ``SOPHIA_DATA_DIR`` without the service prefix, so it is accepted under either
    name; the prefixed one wins.
    """

    data_dir: Path = Field(
        Path(".sophia"),
        validation_alias=AliasChoices("SOPHIA_VISUAL_DATA_DIR", "SOPHIA_DATA_DIR", "data_dir"),
        description="Where local state lives; Qdrant's local mode keeps its files under <data_dir>/visual.",
    )
    qdrant_url: str | None = Field(
        None, description="URL of a Qdrant server (compose, Kubernetes). Unset: Qdrant's local mode on disk."
    )
    qdrant_api_key: SecretStr | None = Field(None, description="API key of the Qdrant server, when it needs one.")
    local_index: bool = Field(
        True,
        description="In local mode, answer searches, counts and facets from an exact in-process copy of the text "
        "and layout vectors (qdrant-client's local mode checks filters point by point: ~400 ms per search at 10k "
        "images; with the copy ~12 ms end to end). The local directory is locked to one process, so the copy "
        "cannot go stale. Ignored with qdrant_url.",
    )
    collection: str = Field("images", pattern=r"^[a-zA-Z0-9_-]{1,64}$", description="Qdrant collection name.")

    # What may be indexed, and from where.
    allowed_root: Path | None = Field(
        None,
        description="The one directory index may read image files from (symbolic links resolved, `..` refused). "
        "Unset: indexing files by path is refused.",
    )
    allowed_url_prefixes: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="URL prefixes index may download from (https://cdn.example.com/shots/); redirects must stay "
        "on the list. Comma-separated or a JSON array. Empty: downloading is refused.",
    )
    download_timeout_s: float = Field(10.0, gt=0, le=120, description="Whole-download limit for one image URL.")
    max_image_bytes: int = Field(20 * 1024 * 1024, gt=0, description="Largest encoded image accepted, in bytes.")
    max_image_pixels: int = Field(
        40_000_000, gt=0, description="Largest decoded image (width x height); more is refused as a decompression bomb."
    )
    max_images_per_call: int = Field(32, gt=0, le=500, description="Most images one index call accepts.")
    max_tags: int = Field(16, gt=0, description="Most tags on one image.")
    max_label_chars: int = Field(200, gt=0, description="Longest source, project, tag or title, in characters.")
    max_query_chars: int = Field(1_000, gt=0, description="Longest text query, in characters.")
    max_k: int = Field(50, gt=0, description="Largest k a search may ask for.")
    thumbnail_px: int = Field(256, ge=32, le=1024, description="Longest side of the stored thumbnail, in pixels.")

    # Embedding.
    embedder: Literal["default", "clip", "colpali"] = Field(
        "default",
        description="default: OCR text + the kit's local text model + a perceptual signature (no download). "
        "clip / colpali: a learned embedder loaded from learned_model_path when its library and weights are "
        "present; otherwise the service says why and falls back to default.",
    )
    learned_model_path: Path | None = Field(
        None, description="Local directory (or checkpoint file for clip) of the learned model's weights."
    )
    learned_model_name: str = Field(
        "ViT-B-32", description="open_clip architecture name of the checkpoint at learned_model_path (clip only)."
    )
    learned_device: Literal["auto", "cpu", "cuda"] = Field("auto", description="auto: cuda when torch sees a GPU.")
    ocr_threads: int = Field(2, gt=0, le=64, description="CPU threads each OCR model run may use.")
    ocr_workers: int = Field(1, gt=0, le=16, description="Images OCR'd at the same time.")
    ocr_min_confidence: float = Field(0.5, ge=0, le=1, description="OCR lines below this confidence are dropped.")
    text_threads: int = Field(2, gt=0, description="CPU threads the local text model may use.")

    # Figma.
    figma_token: SecretStr | None = Field(
        None, description="Figma personal access token (X-Figma-Token). Unset: index_figma says not configured."
    )
    figma_api_url: str = Field("https://api.figma.com", description="Base URL of the Figma REST API.")
    max_figma_frames: int = Field(50, gt=0, le=500, description="Most frames one index_figma call renders.")

    _lists = field_validator("allowed_url_prefixes", mode="before")(comma_list)

    @field_validator("allowed_url_prefixes")
    @classmethod
    def _https_prefixes(cls, value: list[str]) -> list[str]:
        for prefix in value:
            if not prefix.startswith(("https://", "http://")) or prefix.count("/") < 3:
                raise ValueError("each allowed URL prefix must be http(s)://host/... (with a path, at least '/')")
        return value

    @property
    def qdrant_path(self) -> Path:
        return self.data_dir / "visual"
