"""Demo mode: the stand-in APIs with sample records, and the environment that points the connectors at them.

For a newcomer without accounts: ``sophia up --demo`` calls `start_demo()` before starting the services,
adds `Demo.env` to the business service's environment and calls `Demo.stop()` at shutdown. Every record
served says it is demo data; the tokens are made up per run and only valid against these stand-ins.
``python -m sophia.business.demo`` runs the stand-ins alone and prints the environment.
"""

from __future__ import annotations

import secrets
import signal
import socket
import threading
import time
from dataclasses import dataclass

import uvicorn

from sophia.business.standins import (
    AsanaStandin,
    GongStandin,
    HubSpotStandin,
    NotionStandin,
    SalesforceStandin,
    SlackStandin,
    Standin,
    combined,
)
from sophia.business.standins.data import demo_dataset

PREFIXES = {
    "slack": "/slack/api",
    "gong": "/gong",
    "hubspot": "/hubspot",
    "salesforce": "/salesforce",
    "notion": "/notion",
    "asana": "/asana/api/1.0",
}
NOTION_PARENT = "1d1f0c1e-0000-4000-8000-0000000000a1"


@dataclass
class Demo:
    """The running stand-ins: their base URL, the environment for the business service, and `stop`."""

    url: str
    env: dict[str, str]
    server: uvicorn.Server
    thread: threading.Thread
    standins: dict[str, Standin]

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)


def start_demo(host: str = "127.0.0.1", port: int = 0, page_size: int = 2) -> Demo:
    """Start the stand-in APIs in a background thread and return where they are and the env to use them."""
    tokens = {
        name: f"demo-{name}-{secrets.token_hex(8)}"
        for name in ("slack", "slack_user", "gong_key", "gong_secret", "hubspot", "salesforce", "notion", "asana")
    }
    data = demo_dataset()
    standins: dict[str, Standin] = {
        PREFIXES["slack"]: SlackStandin(data, tokens["slack"], tokens["slack_user"], page_size),
        PREFIXES["gong"]: GongStandin(data, tokens["gong_key"], tokens["gong_secret"], page_size),
        PREFIXES["hubspot"]: HubSpotStandin(data, tokens["hubspot"], page_size),
        PREFIXES["salesforce"]: SalesforceStandin(data, tokens["salesforce"], page_size=page_size),
        PREFIXES["notion"]: NotionStandin(data, tokens["notion"], page_size),
        PREFIXES["asana"]: AsanaStandin(data, tokens["asana"], page_size),
    }
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(combined(standins), log_config=None, lifespan="off", access_log=False))
    # uvicorn installs signal handlers only on the main thread: in this thread the caller keeps its own.
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="business-demo", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the business demo stand-ins did not start")
        time.sleep(0.02)
    url = f"http://{host}:{port}"
    env = {
        "SOPHIA_BUSINESS_SLACK_URL": url + PREFIXES["slack"],
        "SOPHIA_BUSINESS_GONG_URL": url + PREFIXES["gong"],
        "SOPHIA_BUSINESS_HUBSPOT_URL": url + PREFIXES["hubspot"],
        "SOPHIA_BUSINESS_NOTION_URL": url + PREFIXES["notion"],
        "SOPHIA_BUSINESS_ASANA_URL": url + PREFIXES["asana"],
        "SOPHIA_BUSINESS_NOTION_DEFAULT_PARENT": NOTION_PARENT,
        "SLACK_BOT_TOKEN": tokens["slack"],
        "SLACK_USER_TOKEN": tokens["slack_user"],
        "GONG_ACCESS_KEY": tokens["gong_key"],
        "GONG_ACCESS_KEY_SECRET": tokens["gong_secret"],
        "HUBSPOT_ACCESS_TOKEN": tokens["hubspot"],
        "SALESFORCE_INSTANCE_URL": url + PREFIXES["salesforce"],
        "SALESFORCE_ACCESS_TOKEN": tokens["salesforce"],
        "NOTION_API_KEY": tokens["notion"],
        "ASANA_ACCESS_TOKEN": tokens["asana"],
    }
    return Demo(url, env, server, thread, standins)


def main() -> None:
    demo = start_demo()
    print(f"Business demo stand-ins (sample data, every record says DEMO DATA) at {demo.url}")
    print("Environment for the business service:")
    for name, value in demo.env.items():
        print(f"export {name}={value}")
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    demo.stop()


if __name__ == "__main__":
    main()
