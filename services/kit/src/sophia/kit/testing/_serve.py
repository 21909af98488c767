from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import uvicorn
from starlette.types import ASGIApp

from sophia.kit._runner import bind


@contextlib.asynccontextmanager
async def serve_asgi(app: ASGIApp, lifespan: bool = True) -> AsyncIterator[str]:
    """Serve `app` with uvicorn in this event loop on a free loopback port; yield its base URL.

    For a kit HTTP app under test, and for stand-ins of external systems (LLM providers, GitHub,
    embeddings APIs): a Starlette app whose routes answer in the real system's HTTP shape.
    """
    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, lifespan="on" if lifespan else "off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(10):
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()
