"""TEST STAND-IN for the visual service (visual search over images), not the real one.

It exposes the visual service's tool contract and echoes each call (see `_common`).
Run as ``python -m tests.support.standins.visual`` from the repository root.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from sophia.kit import Risk
from tests.support.standins._common import Standin

standin = Standin(
    "visual",
    instructions="Visual search: index images, screenshots, UI mockups and scanned documents, then find them by "
    "a text description.",
)
service = standin.service

ImageId = Annotated[str, Field(description="The image's id, as search or index_image returned it.")]

TAGS = {"visual", "images"}


@standin.tool(read_only=True, tags=TAGS | {"search"}, consumes=["text"], produces=["image"])
def search(
    query: str = Field(description="What the images should show or contain, in plain words."),
    k: int = Field(5, ge=1, le=50, description="How many images to return at most."),
):
    """Find indexed images, screenshots, UI mockups and scanned documents that match a text description, best
    match first."""


@standin.tool(risk=Risk.MEDIUM, idempotent=True, tags=TAGS, produces=["image"])
def index_image(
    path: str = Field(description="Path or URL of the image file (PNG, JPEG, WebP or a scanned PDF page)."),
    tags: list[str] = Field(default_factory=list, description="Labels to file the image under."),
):
    """Add an image file to the visual index, reading any text in it (OCR), so that search can find it."""


@standin.tool(read_only=True, tags=TAGS, consumes=["image"], produces=["text"])
def describe(image_id: ImageId):
    """Describe an indexed image in words: what it shows, and the text read from it."""


@standin.tool(risk=Risk.HIGH, destructive=True, idempotent=True, tags=TAGS, consumes=["image"])
def remove_image(image_id: ImageId):
    """Delete an image and its embedding from the visual index for good."""


if __name__ == "__main__":
    service.run()
