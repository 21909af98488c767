"""`sophia status`, `sophia tools` and `sophia call`: the gateway's HTTP API from a terminal."""

from __future__ import annotations

import json
import os
import sys
from typing import Any
from urllib.parse import quote

import httpx
from rich.markup import escape
from rich.table import Table

from sophia.gateway.cli.credentials import api_key_from_env
from sophia.gateway.cli.output import console

READ_TIMEOUT_S = 10.0


class CommandError(Exception):
    """A failure the user should read, with the exit code it maps to."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def default_url() -> str:
    """Where `sophia up` puts the gateway: loopback, SOPHIA_GATEWAY_PORT or 8080."""
    return f"http://127.0.0.1:{os.environ.get('SOPHIA_GATEWAY_PORT') or 8080}"


def request(method: str, url: str, timeout: httpx.Timeout | float, **kwargs: Any) -> httpx.Response:
    api_key = api_key_from_env()
    if api_key:
        kwargs["headers"] = {**kwargs.get("headers", {}), "authorization": f"Bearer {api_key}"}
    try:
        return httpx.request(method, url, timeout=timeout, **kwargs)
    except httpx.HTTPError as exc:
        base = url.split("/v1/", 1)[0]
        raise CommandError(
            f"the gateway at {base} did not answer ({type(exc).__name__}: {exc}); "
            "is `sophia up` running? (--url picks another gateway)"
        ) from exc


def _capabilities(url: str) -> dict[str, Any]:
    response = request("GET", f"{url.rstrip('/')}/v1/capabilities", READ_TIMEOUT_S)
    if response.status_code != 200:
        raise CommandError(f"the gateway answered HTTP {response.status_code}: {response.text}")
    return response.json()


def status(url: str, as_json: bool = False) -> int:
    """Show every server the gateway federates: its health, how many tools it exposes, its last error."""
    caps = _capabilities(url)
    if as_json:
        print(json.dumps(caps["servers"], indent=2))
        return 0
    out = console()
    out.print(f"Gateway {url}: {len(caps['servers'])} servers, {len(caps['tools'])} tools")
    if not caps["servers"]:
        return 0
    table = Table("server", "status", "tools", "address", "error")
    colour = {"serving": "green", "starting": "yellow", "down": "red"}
    for server in caps["servers"]:
        state = server["status"]
        table.add_row(
            server["name"],
            f"[{colour.get(state, 'white')}]{escape(state)}[/]",
            str(len(server["tools"])),
            escape(server["address"]),
            escape(server.get("error") or ""),
        )
    out.print(table)
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


def call(url: str, tool: str, raw_arguments: str, timeout: float) -> int:
    """Call one tool through the gateway and print its result as JSON; exit 1 when the call or the tool
    fails."""
    arguments = parse_arguments(raw_arguments)
    endpoint = f"{url.rstrip('/')}/v1/tools/{quote(tool, safe='')}"
    response = request("POST", endpoint, httpx.Timeout(timeout, connect=5.0), json=arguments)
    if response.status_code == 202:  # a risky tool: held, not run
        result = response.json()
        print(result["content"][0]["text"])
        return 0
    if response.status_code != 200:
        try:
            body = json.dumps(response.json(), indent=2)
        except ValueError:
            body = response.text
        print(f"error: {tool} failed with HTTP {response.status_code}:\n{body}", file=sys.stderr)
        return 1
    result = response.json()
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 1 if result.get("isError") else 0
