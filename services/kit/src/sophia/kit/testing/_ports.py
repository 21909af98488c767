from __future__ import annotations

from sophia.kit.ports import free_port  # one helper for the kit, `sophia up` and tests

__all__ = ["free_port"]
