"""`sophia status`, `sophia tools` and `sophia call`: the gateway's HTTP API from a terminal."""

from __future__ import annotations

import argparse
import difflib
import json
import os
import sys
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
from rich.markup import escape
from rich.table import Table

from sophia.gateway.cli.control import ControlError, read_state, send
from sophia.gateway.cli.credentials import api_key_from_env
from sophia.gateway.cli.output import console

READ_TIMEOUT_S = 10.0
RESTART_TIMEOUT_S = 30.0  # `sophia up` stops the service (up to 10 s' grace), then starts it


class CommandError(Exception):
    """A failure the user should read, with the exit code it maps to."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def default_data_dir() -> Path:
    """Where `sophia up` keeps its data (and its state file and control socket)."""
    return Path(os.environ.get("SOPHIA_DATA_DIR") or ".sophia").resolve()


def default_url() -> str:
    """Where `sophia up` puts the gateway: loopback, SOPHIA_GATEWAY_PORT or 8080."""
    return f"http://127.0.0.1:{os.environ.get('SOPHIA_GATEWAY_PORT') or 8080}"


def base_url(raw: str) -> str:
    """`--url`: a gateway address. `127.0.0.1:8093` means `http://127.0.0.1:8093` (what people type);
    a scheme other than http(s) is refused with a reason rather than failing later as "not running"."""
    text = raw.strip()
    if "://" not in text:
        text = f"http://{text}"
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https"):
        raise argparse.ArgumentTypeError(f"{raw!r}: the gateway speaks http or https, not {parts.scheme}")
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r}: the port is not a number") from None
    if not parts.hostname:
        raise argparse.ArgumentTypeError(f"{raw!r}: no host; e.g. 127.0.0.1:8080 or http://127.0.0.1:8080")
    return text.rstrip("/")


def auth_headers() -> dict[str, str]:
    api_key = api_key_from_env()
    return {"authorization": f"Bearer {api_key}"} if api_key else {}


def unreachable(url: str, exc: httpx.HTTPError) -> CommandError:
    base = url.split("/v1/", 1)[0]
    return CommandError(
        f"the gateway at {base} did not answer ({type(exc).__name__}: {exc}); "
        "is `sophia up` running? (--url picks another gateway)"
    )


def waiting(message: str) -> AbstractContextManager[Any]:
    """A spinner on stderr while a long request runs, when a person is watching (nothing when piped)."""
    err = console(stderr=True)
    return err.status(message) if err.is_terminal else nullcontext()


def request(method: str, url: str, timeout: httpx.Timeout | float, **kwargs: Any) -> httpx.Response:
    kwargs["headers"] = {**kwargs.get("headers", {}), **auth_headers()}
    try:
        return httpx.request(method, url, timeout=timeout, **kwargs)
    except httpx.HTTPError as exc:
        raise unreachable(url, exc) from exc


def _capabilities(url: str) -> dict[str, Any]:
    response = request("GET", f"{url.rstrip('/')}/v1/capabilities", READ_TIMEOUT_S)
    if response.status_code != 200:
        raise CommandError(f"the gateway answered HTTP {response.status_code}: {response.text}")
    return response.json()


def status(url: str, as_json: bool = False, data_dir: Path | None = None) -> int:
    """Show every server the gateway federates: its health, how many tools it exposes, its last error;
    and, when this gateway is the local `sophia up` on `data_dir`, how often each service was restarted."""
    caps = _capabilities(url)
    local = read_state(data_dir) if data_dir is not None else None
    supervised: dict[str, Any] = local["services"] if local and local.get("url") == url.rstrip("/") else {}
    if as_json:
        servers = [
            {**s, "restarts": supervised[s["name"]]["restarts"]} if s["name"] in supervised else s
            for s in caps["servers"]
        ]
        print(json.dumps(servers, indent=2))
        return 0
    out = console()
    out.print(f"Gateway {url}: {len(caps['servers'])} servers, {len(caps['tools'])} tools")
    if not caps["servers"]:
        return 0
    columns = ["server", "status", "tools", "address", "error"]
    table = Table(*columns[:3], *(["restarts"] if supervised else []), *columns[3:])
    colour = {"serving": "green", "starting": "yellow", "down": "red"}
    for server in caps["servers"]:
        state = server["status"]
        restarts = [str(supervised.get(server["name"], {}).get("restarts", ""))] if supervised else []
        table.add_row(
            server["name"],
            f"[{colour.get(state, 'white')}]{escape(state)}[/]",
            str(len(server["tools"])),
            *restarts,
            escape(server["address"]),
            escape(server.get("error") or ""),
        )
    out.print(table)
    return 0


def restart(data_dir: Path, service: str) -> int:
    """Ask the `sophia up` running on `data_dir` to restart one service now (no backoff)."""
    try:
        with waiting(f"restarting {service}…"):
            reply = send(data_dir, {"restart": service}, timeout=RESTART_TIMEOUT_S)
    except ControlError as exc:
        raise CommandError(str(exc)) from exc
    console().print(f"{service} restarted (pid {reply['pid']}; {reply['restarts']} restarts this run)")
    return 0


def tools(url: str, as_json: bool = False) -> int:
    """List the tools the gateway exposes: name, risk and the first line of the description."""
    caps = _capabilities(url)
    if as_json:
        print(json.dumps(caps["tools"], indent=2))
        return 0
    out = console()
    if not caps["tools"]:
        out.print(f"The gateway at {url} exposes no tools yet (see `sophia status`).")
        return 0
    table = Table("tool", "risk", "description")
    for tool in sorted(caps["tools"], key=lambda t: t["name"]):
        first_line = (tool.get("description") or "").strip().splitlines()[:1]
        table.add_row(tool["name"], tool["risk"], escape(first_line[0] if first_line else ""))
    out.print(table)
    return 0


def parse_arguments(raw: str) -> dict[str, Any]:
    """The tool's arguments: a JSON object (`-` reads it from stdin)."""
    if raw == "-":
        raw = sys.stdin.read()
    try:
        arguments = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise CommandError(
            f'the arguments are not valid JSON ({exc}); pass an object like \'{{"text": "hi"}}\'', 2
        ) from exc
    if not isinstance(arguments, dict):
        raise CommandError(f"the arguments must be a JSON object, not {type(arguments).__name__}", 2)
    return arguments


def call(url: str, tool: str, raw_arguments: str, timeout: float, as_json: bool = False) -> int:
    """Call one tool through the gateway and print its result once: the structured result as JSON when the
    tool gave one, else its text (`--json`: the whole MCP result). Exit 1 when the call or the tool fails."""
    arguments = parse_arguments(raw_arguments)
    endpoint = f"{url.rstrip('/')}/v1/tools/{quote(tool, safe='')}"
    with waiting(f"calling {tool}…"):
        response = request("POST", endpoint, httpx.Timeout(timeout, connect=5.0), json=arguments)
    if response.status_code == 202:  # a risky tool: held, not run; the text says how to approve it
        result = response.json()
        print(json.dumps(result, indent=2, ensure_ascii=False) if as_json else text_of(result))
        return 0
    if response.status_code == 404:
        raise CommandError(f"the gateway has no tool {tool!r}{_suggestion(url, tool)}")
    if response.status_code != 200:
        try:
            body = json.dumps(response.json(), indent=2)
        except ValueError:
            body = response.text
        print(f"error: {tool} failed with HTTP {response.status_code}:\n{body}", file=sys.stderr)
        return 1
    result = response.json()
    if as_json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
    elif result.get("isError"):
        print(f"error: {tool} answered an error: {text_of(result)}", file=sys.stderr)
    else:
        print(shown(result))
    return 1 if result.get("isError") else 0


def shown(result: dict[str, Any]) -> str:
    """What `sophia call` prints of a result: its structured content as JSON when the tool gave one (the
    text block is usually the same data serialised), else its text."""
    if result.get("structuredContent") is not None:
        return json.dumps(result["structuredContent"], indent=2, ensure_ascii=False)
    return text_of(result)


def text_of(result: dict[str, Any]) -> str:
    """The text blocks of an MCP result, one after another."""
    return "\n".join(
        block.get("text", "") for block in result.get("content") or [] if isinstance(block, dict) and "text" in block
    )


def _suggestion(url: str, tool: str) -> str:
    """ "; did you mean …?" from the tools the gateway exposes; nothing when none is close or the list fails."""
    try:
        names = [t["name"] for t in _capabilities(url)["tools"]]
    except (CommandError, KeyError, TypeError, ValueError):
        return "; see `sophia tools`"
    # Tools share their service's prefix, so many look alike: keep only the ones nearly as close as the best.
    scores = sorted(((difflib.SequenceMatcher(None, tool, name).ratio(), name) for name in names), reverse=True)
    best = scores[0][0] if scores else 0.0
    close = [name for score, name in scores[:3] if score >= max(0.6, best - 0.1)]
    if not close:
        return "; see `sophia tools`"
    return "; did you mean " + " or ".join(f"`{name}`" for name in close) + "?"
