"""sophia.visual: index screenshots, mockups, slides, diagrams and scans; search them by text or by example image.

`python -m sophia.visual` serves the tools of `sophia.visual.server` with the kit.
"""

from sophia.visual.server import service
from sophia.visual.settings import VisualSettings

__all__ = ["VisualSettings", "service"]
