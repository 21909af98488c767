"""Decoding untrusted image bytes within bounds, and thumbnails.

Every image that reaches OCR or the signature went through `decode`: size in bytes, format, pixel
count (decompression bombs) and a full decode are checked first, so a malformed file fails here with a
clear message and nothing downstream (or in the index) ever sees it.
"""

from __future__ import annotations

import base64
import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

# Formats we accept, as Pillow names them. GIF and TIFF contribute their first frame only.
FORMATS = frozenset({"PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF", "MPO"})


class ImageRejected(ValueError):
    """The bytes are not an image we accept; the message says why and is safe to show the caller."""


@dataclass(frozen=True)
class Decoded:
    image: Image.Image  # RGB, EXIF orientation applied
    format: str
    sha256: str
    byte_size: int

    @property
    def width(self) -> int:
        return self.image.width

    @property
    def height(self) -> int:
        return self.image.height


def decode(data: bytes, max_bytes: int, max_pixels: int) -> Decoded:
    """Open `data` as an RGB image, or raise `ImageRejected`."""
    if not data:
        raise ImageRejected("the image is empty")
    if len(data) > max_bytes:
        raise ImageRejected(f"the image is {len(data)} bytes; the limit is {max_bytes}")
    # Pillow's own bomb guard: above MAX_IMAGE_PIXELS it warns, above twice it raises. We turn the
    # warning into an error too, and check our own limit from the header before decoding anything.
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as opened:
                fmt = opened.format or "?"
                if fmt not in FORMATS:
                    raise ImageRejected(f"format {fmt} is not accepted (PNG, JPEG, WebP, GIF, BMP or TIFF)")
                width, height = opened.size
                if width < 1 or height < 1:
                    raise ImageRejected("the image has no pixels")
                if width * height > max_pixels:
                    raise ImageRejected(f"the image is {width}x{height} pixels, over the limit of {max_pixels} pixels")
                opened.seek(0)  # first frame of an animation or a multi-page TIFF
                opened.load()
                image = ImageOps.exif_transpose(opened.convert("RGB"))
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected(f"the image is too large to decode safely, over the limit of {max_pixels} pixels") from exc
    except UnidentifiedImageError as exc:
        raise ImageRejected("the data is not a recognised image") from exc
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        # Truncated or corrupt files raise any of these from the decoder.
        raise ImageRejected(f"the image is malformed or truncated ({type(exc).__name__})") from exc
    return Decoded(image=image, format=fmt, sha256=hashlib.sha256(data).hexdigest(), byte_size=len(data))


def from_base64(text: str, max_bytes: int) -> bytes:
    """Base64 (optionally a data: URL) to bytes, refusing more than `max_bytes` before decoding."""
    if text.startswith("data:"):
        _, _, text = text.partition(",")
    text = "".join(text.split())
    if len(text) > (max_bytes * 4) // 3 + 4:
        raise ImageRejected(f"the base64 image is larger than {max_bytes} bytes")
    try:
        return base64.b64decode(text, validate=True)
    except ValueError as exc:
        raise ImageRejected("the image is not valid base64") from exc


def thumbnail(image: Image.Image, longest_side: int) -> str:
    """A small WebP of `image` as base64 (what `get` shows)."""
    small = image.copy()
    small.thumbnail((longest_side, longest_side), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    small.save(buffer, format="WEBP", quality=80)
    return base64.b64encode(buffer.getvalue()).decode("ascii")
