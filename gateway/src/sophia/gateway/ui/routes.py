"""The console's routes: the page and its assets, the live feed, `/` (a redirect) and an offline `/docs`.

The page and its static assets carry no data and are open, like `/docs`; everything they show comes
from `/ui/api/events` and the existing `/v1/approvals/...` routes, which authenticate every request
with the API's own credentials (see README.md beside this file for why there is no cookie session).
"""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

from sophia.gateway.api import GatewayDep
from sophia.gateway.ui.stream import Streams, feed

#: The page runs only its own script and style, talks only to this origin, and cannot be framed.
PAGE_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cache-control": "no-store",
}
STATIC = "/ui/static"
DOCS_STATIC = "/docs/static"

router = APIRouter(include_in_schema=False)


@router.get("/")
async def root() -> RedirectResponse:
    return RedirectResponse("/ui", status_code=302)


@router.get("/ui")
@router.get("/ui/")
async def page() -> HTMLResponse:
    html = resources.files("sophia.gateway.ui").joinpath("static", "index.html").read_text(encoding="utf-8")
    return HTMLResponse(html, headers=PAGE_HEADERS)


@router.get("/ui/api/events", include_in_schema=True, tags=["console"])
async def events(request: Request, gateway: GatewayDep) -> Response:
    """The operator console's live feed (server-sent events): `identity` first, then `fleet`, `graph`,
    `approvals`, `calls` and `usage` whenever one changes, heartbeats in between, `bye` at its end."""
    streams: Streams = request.app.state.ui_streams
    if streams.full():
        raise streams.refusal()
    principal = gateway.guard.principal()
    # Opening a feed counts against the caller's rate limit, so a reconnect loop cannot hammer the gateway.
    await gateway.guard.within_limit(principal, "console_feed")
    return StreamingResponse(
        feed(gateway, principal, streams),
        media_type="text/event-stream",
        headers={"cache-control": "no-store", "x-accel-buffering": "no", "x-content-type-options": "nosniff"},
    )


@router.get("/docs")
async def docs(request: Request) -> HTMLResponse:
    """Swagger UI from the assets installed with the gateway (swagger-ui-bundle), so it works offline."""
    return get_swagger_ui_html(
        openapi_url=request.app.openapi_url or "/openapi.json",
        title=f"{request.app.title} - API",
        swagger_js_url=f"{DOCS_STATIC}/swagger-ui-bundle.js",
        swagger_css_url=f"{DOCS_STATIC}/swagger-ui.css",
        swagger_favicon_url=f"{DOCS_STATIC}/favicon-32x32.png",
        oauth2_redirect_url="/docs/oauth2-redirect",
    )


@router.get("/docs/oauth2-redirect")
async def docs_oauth2_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


def install(app: FastAPI) -> None:
    """Mount the console, `/` and `/docs` on `app` (created with `docs_url=None, redoc_url=None`)."""
    app.state.ui_streams = Streams()
    app.include_router(router)
    app.mount(STATIC, StaticFiles(packages=[("sophia.gateway.ui", "static")]), name="ui-static")
    app.mount(DOCS_STATIC, StaticFiles(directory=str(swagger_ui_path)), name="docs-static")
