"""The visual service's tools. Checks happen here, at the edge; the work lives in the domain modules."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, model_validator
from qdrant_client import models

from sophia.kit import Context, Depends, Risk, Service, ToolError
from sophia.visual import figma, keywords, ranking, records, sources
from sophia.visual import images as imaging
from sophia.visual.embedding import Embedder, Progress, open_embedder
from sophia.visual.images import Decoded, ImageRejected
from sophia.visual.settings import VisualSettings
from sophia.visual.store import LAYOUT, LEARNED, TEXT, Hit, Store, Where, open_store

service = Service(
    "visual",
    settings=VisualSettings,
    stream_responses=True,  # index sends progress as each image is read
    instructions="Visual search: index images, screenshots, UI mockups, slides, diagrams and scanned pages "
    "(text read by OCR), then find them by a text description or by an example image.",
)
TAGS = {"visual", "images"}
# Candidates fetched per vector before re-ranking: keyword matches deeper in the list can still rise.
CANDIDATES = 100


@dataclass
class Visual:
    settings: VisualSettings
    embedder: Embedder
    store: Store
    http: httpx.AsyncClient


async def open_visual(settings: VisualSettings) -> AsyncIterator[Visual]:
    """The embedder, the index and one HTTP client for downloads and Figma (a kit dependency)."""
    async with contextlib.AsyncExitStack() as stack:
        embedder = await stack.enter_async_context(contextlib.asynccontextmanager(open_embedder)(settings))
        store = await stack.enter_async_context(contextlib.asynccontextmanager(open_store)(settings, embedder))
        http = await stack.enter_async_context(
            httpx.AsyncClient(timeout=httpx.Timeout(settings.download_timeout_s), follow_redirects=False)
        )
        yield Visual(settings, embedder, store, http)


Index = Depends(open_visual)


class ImageInput(BaseModel):
    """One image: exactly one of data, path or url."""

    model_config = ConfigDict(extra="forbid")

    data: str | None = Field(None, description="The image bytes as base64 (a data: URL is fine).")
    path: str | None = Field(None, description="A file under the server's allowed root (relative or absolute).")
    url: str | None = Field(None, description="An http(s) URL on the server's allow-list.")
    title: str | None = Field(None, description="A name for the image (searchable, shown in results).")

    @model_validator(mode="after")
    def _exactly_one(self) -> ImageInput:
        if sum(value is not None for value in (self.data, self.path, self.url)) != 1:
            raise ValueError("give exactly one of data, path or url")
        return self


async def _read(visual: Visual, item: ImageInput) -> tuple[bytes, str]:
    """The bytes of `item` and a reference to where they came from (no query strings: they may hold secrets)."""
    limit = visual.settings.max_image_bytes
    if item.data is not None:
        return imaging.from_base64(item.data, limit), "upload"
    if item.path is not None:
        data = await asyncio.to_thread(sources.read_file, visual.settings.allowed_root, item.path, limit)
        return data, f"file:{item.path}"
    assert item.url is not None
    if not visual.settings.allowed_url_prefixes:
        raise ImageRejected("downloading images is not configured (set SOPHIA_VISUAL_ALLOWED_URL_PREFIXES)")
    allowed = sources.on_allow_list(visual.settings.allowed_url_prefixes)
    data = await sources.download(visual.http, item.url, allowed, limit, visual.settings.download_timeout_s)
    return data, sources.shown(item.url)


async def _decode(visual: Visual, data: bytes) -> Decoded:
    s = visual.settings
    return await asyncio.to_thread(imaging.decode, data, s.max_image_bytes, s.max_image_pixels)


def _where(
    visual: Visual,
    namespace: str,
    source: str | None,
    project: str | None,
    tags: list[str] | None,
    since: datetime | None,
    until: datetime | None,
) -> Where:
    s = visual.settings
    where = Where(
        namespace=records.check_namespace(namespace),
        source=records.check_label(source, "source", s.max_label_chars),
        project=records.check_label(project, "project", s.max_label_chars),
        tags=frozenset(records.check_tags(tags or [], s.max_tags, s.max_label_chars)),
        since=records.seconds(since, "since"),
        until=records.seconds(until, "until"),
    )
    if where.since is not None and where.until is not None and where.since > where.until:
        raise ToolError("since is after until: no image can match")
    return where


def reporter(ctx: Context | None) -> Progress | None:
    """MCP progress notifications for a caller that asked for them (best effort: never fails the call)."""
    if ctx is None:
        return None

    async def report(done: int, total: int) -> None:
        with contextlib.suppress(Exception):
            await ctx.report_progress(done, total, f"read {done} of {total} images")

    return report


async def ingest(
    visual: Visual,
    loaded: list[tuple[Decoded, str | None, str]],
    namespace: str,
    source: str | None,
    project: str | None,
    tags: list[str],
    progress: Progress | None = None,
) -> list[dict[str, Any]]:
    """Read, embed and store decoded images (title, origin for each); one upsert for all."""
    embedder = visual.embedder
    labels = [" ".join([title or "", *tags]) for _, title, _ in loaded]
    features = await embedder.features([decoded.image for decoded, _, _ in loaded], labels, progress)
    points = []
    results = []
    for (decoded, title, origin), feature in zip(loaded, features, strict=True):
        thumbnail = await asyncio.to_thread(imaging.thumbnail, decoded.image, visual.settings.thumbnail_px)
        stored = records.payload(
            decoded,
            feature,
            namespace=namespace,
            title=title,
            origin=origin,
            source=source,
            project=project,
            tags=tags,
            thumbnail=thumbnail,
            embedder=embedder.name,
        )
        vectors: dict[str, Any] = {TEXT: feature.text_vector.tolist(), LAYOUT: feature.layout.tolist()}
        if feature.learned is not None:
            vectors[LEARNED] = feature.learned.tolist()
        point_id = records.point_id(namespace, decoded.sha256)
        points.append(models.PointStruct(id=point_id, vector=vectors, payload=stored))
        results.append(
            {
                "id": point_id,
                "title": title,
                "origin": origin,
                "width": decoded.width,
                "height": decoded.height,
                "words_read": len(keywords.words(feature.reading.text)),
                "ocr_rotation": feature.reading.rotation,
            }
        )
    await visual.store.upsert(points)
    return results


@service.tool(risk=Risk.MEDIUM, idempotent=True, tags=TAGS | {"index"}, produces=["image"])
async def index(
    images: list[ImageInput] = Field(description="The images to add: each one {data | path | url, title}."),
    source: str | None = Field(None, description="Where the images come from (figma, jira, slack, scanner...)."),
    project: str | None = Field(None, description="The project they belong to."),
    tags: list[str] = Field(default_factory=list, description="Labels to file every image under."),
    namespace: str = Field("default", description="Whose index this is (a team or user); search stays inside it."),
    ctx: Context | None = None,
    visual: Visual = Index,
) -> dict[str, Any]:
    """Add images (screenshots, UI mockups, slides, diagrams, scanned pages) to the visual index: their text
    is read (OCR) and embedded, and a perceptual signature is kept, so search and search_image find them.
    All images are checked first; if any is refused (too large, not an image, path or URL not allowed),
    nothing is stored. Indexing the same image again updates its labels."""
    s = visual.settings
    if not 1 <= len(images) <= s.max_images_per_call:
        raise ToolError(f"give 1 to {s.max_images_per_call} images, got {len(images)}")
    records.check_namespace(namespace)
    source = records.check_label(source, "source", s.max_label_chars)
    project = records.check_label(project, "project", s.max_label_chars)
    tags = records.check_tags(tags, s.max_tags, s.max_label_chars)
    loaded: list[tuple[Decoded, str | None, str]] = []
    for position, item in enumerate(images):
        title = records.check_label(item.title, "title", s.max_label_chars)
        try:
            data, origin = await _read(visual, item)
            loaded.append((await _decode(visual, data), title, origin))
        except ImageRejected as exc:
            raise ToolError(f"image {position + 1}: {exc}; nothing was indexed") from exc
    indexed = await ingest(visual, loaded, namespace, source, project, tags, reporter(ctx))
    return {"namespace": namespace, "indexed": indexed}


def _results(ranked: list[ranking.Ranked], k: int) -> list[dict[str, Any]]:
    return [{**records.summary(r.hit.id, r.hit.payload), "score": round(r.score, 4), "why": r.why} for r in ranked[:k]]


@service.tool(read_only=True, tags=TAGS | {"search"}, consumes=["text"], produces=["image"])
async def search(
    query: str = Field(description="What the images should show or contain, in plain words."),
    k: int = Field(5, description="How many images to return at most (1 to the server's max_k)."),
    namespace: str = Field("default", description="The namespace to search; nothing outside it is returned."),
    source: str | None = Field(None, description="Only images from this source."),
    project: str | None = Field(None, description="Only images of this project."),
    tags: list[str] | None = Field(None, description="Only images carrying at least one of these tags."),
    since: datetime | None = Field(None, description="Only images indexed at or after this ISO 8601 time."),
    until: datetime | None = Field(None, description="Only images indexed at or before this ISO 8601 time."),
    visual: Visual = Index,
) -> dict[str, Any]:
    """Find indexed images, screenshots, UI mockups, slides, diagrams and scanned documents that match a text
    description, best match first. Each result has its score and why it matched: the query words read in
    the image, the regions (OCR lines with boxes as fractions of the image) and the text similarity."""
    s = visual.settings
    query = query.strip()
    if not query or len(query) > s.max_query_chars:
        raise ToolError(f"query must be 1-{s.max_query_chars} characters")
    if not 1 <= k <= s.max_k:
        raise ToolError(f"k must be between 1 and {s.max_k}, got {k}")
    where = _where(visual, namespace, source, project, tags, since, until)
    vector = (await visual.embedder.embed_texts([query]))[0]
    limit = max(CANDIDATES, 4 * k)
    hits = {hit.id: hit for hit in await visual.store.search(vector, TEXT, where, limit)}
    learned_scores: dict[str, float] | None = None
    learned_query = await visual.embedder.embed_learned_query(query)
    if learned_query is not None:
        learned_hits = await visual.store.search(learned_query, LEARNED, where, limit)
        learned_scores = {hit.id: hit.score for hit in learned_hits}
        for hit in learned_hits:
            hits.setdefault(hit.id, Hit(hit.id, 0.0, hit.payload))
    ranked = ranking.rank_text(query, list(hits.values()), learned_scores)
    return {"namespace": namespace, "embedder": visual.embedder.name, "items": _results(ranked, k)}


@service.tool(read_only=True, tags=TAGS | {"search"}, consumes=["image"], produces=["image"])
async def search_image(
    image: ImageInput = Field(description="The example image: {data | path | url}."),
    k: int = Field(5, description="How many images to return at most (1 to the server's max_k)."),
    namespace: str = Field("default", description="The namespace to search; nothing outside it is returned."),
    source: str | None = Field(None, description="Only images from this source."),
    project: str | None = Field(None, description="Only images of this project."),
    tags: list[str] | None = Field(None, description="Only images carrying at least one of these tags."),
    since: datetime | None = Field(None, description="Only images indexed at or after this ISO 8601 time."),
    until: datetime | None = Field(None, description="Only images indexed at or before this ISO 8601 time."),
    visual: Visual = Index,
) -> dict[str, Any]:
    """Find indexed images that look like an example image (the same screen, a crop of it, a resized or
    recompressed copy), best match first, with the layout, pHash and text similarities behind each score."""
    s = visual.settings
    if not 1 <= k <= s.max_k:
        raise ToolError(f"k must be between 1 and {s.max_k}, got {k}")
    where = _where(visual, namespace, source, project, tags, since, until)
    try:
        data, _ = await _read(visual, image)
        decoded = await _decode(visual, data)
    except ImageRejected as exc:
        raise ToolError(f"the example image: {exc}") from exc
    feature = (await visual.embedder.features([decoded.image], [""]))[0]
    limit = max(CANDIDATES // 2, 4 * k)
    layout_hits = await visual.store.search(feature.layout, LAYOUT, where, limit)
    by_layout = {h.id: h.score for h in layout_hits}
    hits = {h.id: h for h in layout_hits}
    by_text: dict[str, float] = {}
    query_words = keywords.query_terms(feature.reading.text)[:50] if feature.reading.lines else []
    if feature.reading.lines:
        text_hits = await visual.store.search(feature.text_vector, TEXT, where, limit)
        by_text = {h.id: h.score for h in text_hits}
        hits.update({h.id: h for h in text_hits})
    ranked = ranking.rank_image(feature.phash, by_layout, by_text, hits, query_words)
    return {"namespace": namespace, "embedder": visual.embedder.name, "items": _results(ranked, k)}


@service.tool(read_only=True, tags=TAGS, consumes=["image"], produces=["image", "text"])
async def get(
    id: str = Field(description="The image's id, as index or search returned it."),
    namespace: str = Field("default", description="The namespace the image belongs to."),
    thumbnail: bool = Field(True, description="Include a small WebP thumbnail (base64)."),
    visual: Visual = Index,
) -> dict[str, Any]:
    """Return one indexed image: its labels, size, the text read from it line by line (with boxes) and a
    thumbnail."""
    records.check_namespace(namespace)
    found = await visual.store.get(namespace, [records.check_id(id)])
    if not found:
        raise ToolError(f"no image {id} in namespace {namespace!r}")
    return records.detail(found[0].id, found[0].payload, thumbnail)


@service.tool(risk=Risk.HIGH, destructive=True, idempotent=True, tags=TAGS, consumes=["image"])
async def delete(
    ids: list[str] = Field(description="The images to delete (ids from index or search)."),
    namespace: str = Field("default", description="The namespace they belong to."),
    visual: Visual = Index,
) -> dict[str, Any]:
    """Delete images and their embeddings from the visual index for good. Ids not in the namespace are
    reported as missing and left alone."""
    records.check_namespace(namespace)
    if not 1 <= len(ids) <= visual.settings.max_images_per_call:
        raise ToolError(f"give 1 to {visual.settings.max_images_per_call} ids, got {len(ids)}")
    wanted = list(dict.fromkeys(records.check_id(i) for i in ids))
    present = [hit.id for hit in await visual.store.get(namespace, wanted)]
    if present:
        await visual.store.delete(present)
    return {"namespace": namespace, "deleted": present, "missing": [i for i in wanted if i not in present]}


@service.tool(read_only=True, tags=TAGS)
async def stats(
    namespace: str = Field("default", description="The namespace to describe."),
    visual: Visual = Index,
) -> dict[str, Any]:
    """Return how many images a namespace holds, by project and source, and which embedder, OCR engine and
    storage are active (and, when a learned embedder was asked for but is not active, why)."""
    where = Where(records.check_namespace(namespace))
    return {
        "namespace": namespace,
        "images": await visual.store.count(where),
        "by_project": await visual.store.facet("project", where),
        "by_source": await visual.store.facet("source", where),
        "embedder": visual.embedder.describe(),
        "storage": "qdrant server" if visual.settings.qdrant_url else "qdrant local mode",
        "collection": visual.store.collection,
    }


@service.tool(risk=Risk.MEDIUM, idempotent=True, tags=TAGS | {"index", "figma"}, produces=["image"])
async def index_figma(
    file_key: str = Field(description="The Figma file key (from figma.com/design/<key>/...)."),
    frame_ids: list[str] | None = Field(None, description="Only these frame ids (1:23); default: every top frame."),
    project: str | None = Field(None, description="The project the frames belong to."),
    tags: list[str] = Field(default_factory=list, description="Labels to file every frame under."),
    namespace: str = Field("default", description="Whose index this is."),
    ctx: Context | None = None,
    visual: Visual = Index,
) -> dict[str, Any]:
    """Index the top-level frames of a Figma file (mockups, screens) through the Figma REST API: each frame is
    rendered to PNG, read and embedded like any image, with source "figma" and the frame's page and name as
    its title. Needs a Figma token on the server."""
    s = visual.settings
    if s.figma_token is None:
        raise ToolError("Figma is not configured (set SOPHIA_VISUAL_FIGMA_TOKEN)")
    if not figma.FILE_KEY.match(file_key):
        raise ToolError("file_key must be the 10-64 letters and digits of a Figma file key")
    records.check_namespace(namespace)
    project = records.check_label(project, "project", s.max_label_chars)
    tags = records.check_tags(tags, s.max_tags, s.max_label_chars)
    if frame_ids is not None and not all(figma.NODE_ID.match(i) for i in frame_ids):
        raise ToolError("frame ids look like 1:23")
    client = figma.Figma(visual.http, s.figma_api_url, s.figma_token.get_secret_value())
    try:
        name, frames = await client.frames(file_key)
        if frame_ids is not None:
            frames = [f for f in frames if f.id in set(frame_ids)]
        skipped = max(0, len(frames) - s.max_figma_frames)
        frames = frames[: s.max_figma_frames]
        urls = await client.render_urls(file_key, [f.id for f in frames]) if frames else {}
    except figma.FigmaError as exc:
        raise ToolError(str(exc)) from exc
    allowed = client.render_url_allowed()
    loaded: list[tuple[Decoded, str | None, str]] = []
    failed: dict[str, str] = {}
    for frame in frames:
        if frame.id not in urls:
            failed[frame.id] = "Figma did not render this frame"
            continue
        try:
            data = await sources.download(visual.http, urls[frame.id], allowed, s.max_image_bytes, s.download_timeout_s)
            decoded = await _decode(visual, data)
        except ImageRejected as exc:
            failed[frame.id] = str(exc)
            continue
        title = f"{name} / {frame.page} / {frame.name}"[: s.max_label_chars]
        loaded.append((decoded, title, f"figma:{file_key}/{frame.id}"))
    indexed = await ingest(visual, loaded, namespace, "figma", project, tags, reporter(ctx)) if loaded else []
    return {"file": name, "frames": len(frames), "indexed": indexed, "failed": failed, "over_limit": skipped}
