"""A kit server that tells what Authorization header a call arrived with, defined by the tests.

It answers a digest, never the header itself, so even this test server does not echo a credential.
Run as ``python tests/support/headers_service.py``; settings come from ``SOPHIA_HEADERS_*``.
"""

from __future__ import annotations

import hashlib

from sophia.kit import Context, Service

service = Service("headers")


@service.tool(read_only=True)
async def authorization(ctx: Context) -> dict[str, object]:
    """Return whether this call carried an Authorization header and the SHA-256 of its value ("" when absent)."""
    value = (ctx.headers or {}).get("authorization", "")
    return {"present": bool(value), "sha256": hashlib.sha256(value.encode()).hexdigest()}


if __name__ == "__main__":
    service.run()
