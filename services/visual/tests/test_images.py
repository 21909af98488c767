"""Untrusted image bytes: accepted formats decode, everything else fails clearly and stores nothing."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from sophia.visual.images import ImageRejected, decode, from_base64

from . import rendered
from .conftest import Tools, b64

LIMIT_BYTES = 5_000_000
LIMIT_PIXELS = 4_000_000


def encoded(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def bomb_png(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge canvas (a decompression bomb), built by hand."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF"])
def test_accepted_formats_decode_to_rgb(fmt: str) -> None:
    image = Image.new("RGB", (64, 48), (10, 200, 30))
    decoded = decode(encoded(image, fmt), LIMIT_BYTES, LIMIT_PIXELS)
    assert decoded.image.mode == "RGB" and decoded.image.size == (64, 48) and decoded.format == fmt


def test_gif_animation_gives_its_first_frame() -> None:
    frames = [Image.new("RGB", (32, 32), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    data = encoded(frames[0], "GIF", save_all=True, append_images=frames[1:])
    assert decode(data, LIMIT_BYTES, LIMIT_PIXELS).image.getpixel((5, 5))[0] > 200


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"not an image at all", "not a recognised image"),
        (encoded(Image.new("RGB", (40, 40)), "PNG")[:60], "malformed or truncated"),
        (bomb_png(30_000, 30_000), "over the limit of 4000000 pixels"),
        (encoded(Image.new("RGB", (8, 8)), "ICO"), "format ICO is not accepted"),
        (encoded(Image.new("RGB", (8, 8)), "PPM"), "not accepted"),
    ],
)
def test_bad_images_are_refused_with_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(ImageRejected, match=reason):
        decode(data, LIMIT_BYTES, LIMIT_PIXELS)


def test_pillow_bomb_guard_is_an_error_not_a_warning() -> None:
    # Just over our limit but under Pillow's hard limit (twice ours): Pillow only warns; we refuse.
    with pytest.raises(ImageRejected, match="pixels"):
        decode(bomb_png(2100, 2100), LIMIT_BYTES, LIMIT_PIXELS)


def test_byte_limits_apply_before_decoding() -> None:
    with pytest.raises(ImageRejected, match="limit is 10"):
        decode(b"x" * 11, 10, LIMIT_PIXELS)
    with pytest.raises(ImageRejected, match="larger than 10 bytes"):
        from_base64("A" * 100, 10)
    with pytest.raises(ImageRejected, match="not valid base64"):
        from_base64("%%%%", 1000)


def test_data_urls_are_accepted() -> None:
    assert from_base64("data:image/png;base64,aGVsbG8=", 100) == b"hello"


async def test_one_bad_image_stores_nothing_of_the_call(tools: Tools, namespace: str) -> None:
    good = b64(rendered.png(rendered.scenes()[0].image))
    message = await tools.error(
        "index", images=[{"data": good}, {"data": b64(bomb_png(30_000, 30_000))}], namespace=namespace
    )
    assert message.endswith(
        "image 2: the image is too large to decode safely, over the limit of 40000000 pixels; nothing was indexed"
    )
    assert (await tools.ok("stats", namespace=namespace))["images"] == 0


async def test_index_refuses_calls_with_too_many_or_no_images(tools: Tools, namespace: str) -> None:
    assert "give 1 to 32 images" in await tools.error("index", images=[], namespace=namespace)
    assert "exactly one of data, path or url" in await tools.error(
        "index", images=[{"data": "aGVsbG8=", "path": "x.png"}], namespace=namespace
    )
