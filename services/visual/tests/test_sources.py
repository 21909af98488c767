"""Where images may come from: files only under the allowed root, URLs only on the allow-list.

The URL tests download from a TEST STAND-IN web server on loopback (Starlette), since no real image
host can be reached here: it serves an image, a redirect that leaves the allow-list, a redirect that
stays on it, a body larger than the limit with no length declared, and a slow one.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from sophia.kit.testing import serve_asgi
from sophia.visual.images import ImageRejected
from sophia.visual.sources import download, on_allow_list, read_file

from . import rendered

PNG = rendered.png(rendered.scenes()[0].image)


def test_files_resolve_inside_the_root(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(PNG)
    assert read_file(tmp_path, "a.png", 10_000_000) == PNG
    assert read_file(tmp_path, str(tmp_path / "a.png"), 10_000_000) == PNG


@pytest.mark.parametrize("path", ["../secret.png", "sub/../../secret.png", "/etc/passwd", "missing.png", ""])
def test_paths_outside_the_root_or_missing_are_refused(tmp_path: Path, path: str) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "secret.png").write_bytes(PNG)
    with pytest.raises(ImageRejected):
        read_file(root, path, 10_000_000)


def test_symlinks_out_of_the_root_are_refused(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "secret.png").write_bytes(PNG)
    (root / "link.png").symlink_to(tmp_path / "secret.png")
    with pytest.raises(ImageRejected, match=r"no file 'link\.png' under the allowed root"):
        read_file(root, "link.png", 10_000_000)


def test_without_a_root_paths_are_not_configured() -> None:
    with pytest.raises(ImageRejected, match="not configured"):
        read_file(None, "a.png", 100)


def test_file_size_limit(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(PNG)
    with pytest.raises(ImageRejected, match="the limit is 100"):
        read_file(tmp_path, "a.png", 100)


def test_allow_list_matches_prefixes_not_lookalikes() -> None:
    allowed = on_allow_list(["https://cdn.example.com/shots/"])
    assert allowed("https://CDN.example.com/shots/a.png")
    assert not allowed("https://cdn.example.com/other/a.png")
    assert not allowed("https://cdn.example.com.evil.net/shots/a.png")
    assert not allowed("https://user:pw@cdn.example.com/shots/a.png")
    assert not allowed("file:///etc/passwd")


async def endless(_: Request) -> StreamingResponse:
    """4 MiB with no Content-Length: only counting the bytes received can stop it."""

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(64):
            yield b"\x00" * 65536

    return StreamingResponse(chunks(), media_type="image/png")


async def slow(_: Request) -> Response:
    await asyncio.sleep(2)
    return Response(PNG, media_type="image/png")


@pytest.fixture
async def host() -> AsyncIterator[str]:
    app = Starlette(
        routes=[
            Route("/shots/a.png", lambda _: Response(PNG, media_type="image/png")),
            Route("/shots/moved", lambda _: RedirectResponse("/shots/a.png")),
            Route("/shots/away", lambda _: RedirectResponse("/private/a.png")),
            Route("/private/a.png", lambda _: Response(PNG, media_type="image/png")),
            Route("/shots/endless", endless),
            Route("/shots/slow", slow),
            Route("/shots/gone", lambda _: Response(status_code=404)),
        ]
    )
    async with serve_asgi(app) as url:
        yield url


async def test_downloads_follow_redirects_only_on_the_list(host: str) -> None:
    allowed = on_allow_list([f"{host}/shots/"])
    async with httpx.AsyncClient() as client:
        assert await download(client, f"{host}/shots/a.png", allowed, 10_000_000, 5) == PNG
        assert await download(client, f"{host}/shots/moved", allowed, 10_000_000, 5) == PNG
        with pytest.raises(ImageRejected, match="not on the allow-list"):
            await download(client, f"{host}/shots/away", allowed, 10_000_000, 5)
        with pytest.raises(ImageRejected, match="not on the allow-list"):
            await download(client, f"{host}/private/a.png", allowed, 10_000_000, 5)
        with pytest.raises(ImageRejected, match="HTTP 404"):
            await download(client, f"{host}/shots/gone", allowed, 10_000_000, 5)


async def test_downloads_are_bounded_in_size_and_time(host: str) -> None:
    allowed = on_allow_list([f"{host}/shots/"])
    async with httpx.AsyncClient() as client:
        with pytest.raises(ImageRejected, match="larger than 1000000 bytes"):
            await download(client, f"{host}/shots/endless", allowed, 1_000_000, 5)
        with pytest.raises(ImageRejected, match=r"longer than 0\.5 s"):
            await download(client, f"{host}/shots/slow", allowed, 10_000_000, 0.5)


async def test_refusals_never_echo_a_url_query(host: str) -> None:
    """Signed URLs carry their secret in the query: error messages show the URL without it."""
    allowed = on_allow_list([f"{host}/shots/"])
    async with httpx.AsyncClient() as client:
        with pytest.raises(ImageRejected) as refused:
            await download(client, f"{host}/private/a.png?X-Amz-Signature=s3cr3t", allowed, 10_000_000, 5)
    assert "s3cr3t" not in str(refused.value) and "/private/a.png" in str(refused.value)
