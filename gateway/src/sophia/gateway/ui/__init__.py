"""The operator console: one page at `/ui` with fleet health, the capability graph, the approval queue,
recent calls, router spend and index sizes, kept live over server-sent events. See README.md."""

from sophia.gateway.ui.routes import install

__all__ = ["install"]
