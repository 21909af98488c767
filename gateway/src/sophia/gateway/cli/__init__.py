"""The `sophia` command: run the fleet on this machine and talk to its gateway.

sophia up       start the gateway and every capability service; Ctrl-C stops them all
sophia status   the servers the gateway federates, their health (and restarts, for `sophia up`)
sophia restart SERVICE
                restart one service of the running `sophia up`
sophia tools    the tools the gateway exposes
sophia call     call one tool with JSON arguments (a risky one is held for approval)
sophia ask      ask the fleet in plain words: intent, plan, results, answer
sophia approvals / approve ID / deny ID
                the approval queue
sophia mcp      a stdio MCP server bridging to the gateway (for Claude Desktop)
sophia keys create NAME --role R
                a new API key and its principals-file entry
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from sophia.gateway.cli.commands import CommandError, base_url, default_data_dir, default_url
from sophia.gateway.cli.output import fail

__all__ = ["main"]

_UP_EPILOG = """\
Services are the installed packages that declare an entry point in the group `sophia.services`
(name = module, run as `python -m <module>`). To add a service under development, set
SOPHIA_UP_EXTRA_SERVICES to a JSON object mapping its name to its argv, e.g.
  SOPHIA_UP_EXTRA_SERVICES='{"sample": ["python", "tests/support/sample_service.py"]}' sophia up
("python" means the interpreter running sophia). Each service gets free HTTP and gRPC ports through
SOPHIA_<NAME>_HTTP_PORT / _GRPC_PORT, plus REDIS_URL and SOPHIA_DATA_DIR; logs go to
<data-dir>/logs/<name>.log. Redis: REDIS_URL if set, else a private redis-server (data under
<data-dir>/redis), else none, with a warning that state is not durable.
"""


def _up(args: argparse.Namespace) -> int:
    from sophia.gateway.cli import up  # imported per command: `sophia mcp` should start fast

    return up.run(args.host, args.port, args.data_dir, demo=args.demo)


def _status(args: argparse.Namespace) -> int:
    from sophia.gateway.cli import commands

    return commands.status(args.url, args.json, args.data_dir)


def _restart(args: argparse.Namespace) -> int:
    from sophia.gateway.cli import commands

    return commands.restart(args.data_dir, args.service)


def _tools(args: argparse.Namespace) -> int:
    from sophia.gateway.cli import commands

    return commands.tools(args.url, args.json)


def _call(args: argparse.Namespace) -> int:
    from sophia.gateway.cli import commands

    return commands.call(args.url, args.tool, args.arguments, args.timeout, args.json)


def _ask(args: argparse.Namespace) -> int:
    from sophia.gateway.cli import approvals

    return approvals.ask(args.url, args.query, args.dry_run, args.json, args.timeout)


def _approvals(args: argparse.Namespace) -> int:
    from sophia.gateway.cli import approvals

    return approvals.approvals(args.url, args.status, args.json)


def _decide(args: argparse.Namespace) -> int:
    from sophia.gateway.cli import approvals

    return approvals.decide(args.url, args.id, args.decision, args.approver)


def _keys(args: argparse.Namespace) -> int:
    from sophia.gateway.cli import keys

    return keys.create(args.name, args.role, args.namespace, args.policy)


def _mcp(args: argparse.Namespace) -> int:
    from sophia.gateway.cli import bridge

    try:
        bridge.run(args.url)
    except bridge.GatewayUnreachable as exc:
        return fail(f"{exc}; is `sophia up` running?")
    except KeyboardInterrupt:
        pass
    return 0


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("sophia-gateway")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sophia", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"sophia {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    up = commands.add_parser(
        "up",
        help="run the gateway and every capability service until Ctrl-C",
        description="Run the gateway and every capability service with embedded defaults; "
        "Ctrl-C or SIGTERM stops them all.",
        epilog=_UP_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    up.add_argument("--port", type=int, help="gateway port (default: SOPHIA_GATEWAY_PORT, else 8080)")
    up.add_argument("--host", help="gateway interface (default: SOPHIA_GATEWAY_HOST, else 127.0.0.1)")
    up.add_argument(
        "--data-dir", type=Path, help="logs, Redis and Qdrant data (default: SOPHIA_DATA_DIR, else .sophia)"
    )
    up.add_argument(
        "--demo",
        action="store_true",
        help="also start local stand-in business APIs with labelled sample data and point the connectors at them",
    )
    up.set_defaults(handler=_up)

    data_dir_help = "the data dir of the `sophia up` to ask (default: SOPHIA_DATA_DIR, else .sophia)"
    url_help = "gateway base URL (default: http://127.0.0.1:$SOPHIA_GATEWAY_PORT, else port 8080)"
    status = commands.add_parser("status", help="servers the gateway federates and their health")
    status.add_argument("--url", type=base_url, default=default_url(), help=url_help)
    status.add_argument("--json", action="store_true", help="print the servers as JSON")
    status.add_argument("--data-dir", type=Path, default=default_data_dir(), help=data_dir_help)
    status.set_defaults(handler=_status)

    restart = commands.add_parser("restart", help="restart one service of the running `sophia up`")
    restart.add_argument("service", help="the service's name, as in `sophia status`")
    restart.add_argument("--data-dir", type=Path, default=default_data_dir(), help=data_dir_help)
    restart.set_defaults(handler=_restart)

    tools = commands.add_parser("tools", help="tools the gateway exposes")
    tools.add_argument("--url", type=base_url, default=default_url(), help=url_help)
    tools.add_argument("--json", action="store_true", help="print the tools (with their schemas) as JSON")
    tools.set_defaults(handler=_tools)

    call = commands.add_parser("call", help='call one tool, e.g. sophia call sample_echo \'{"text": "hi"}\'')
    call.add_argument("tool", help="exposed tool name, <service>_<tool>")
    call.add_argument("arguments", nargs="?", default="{}", help="JSON object of arguments; - reads stdin")
    call.add_argument("--url", type=base_url, default=default_url(), help=url_help)
    call.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the result")
    call.add_argument("--json", action="store_true", help="print the whole MCP result (content, structuredContent)")
    call.set_defaults(handler=_call)

    ask = commands.add_parser("ask", help='ask in plain words, e.g. sophia ask "what did we decide about pricing?"')
    ask.add_argument("query", help="the request")
    ask.add_argument("--dry-run", action="store_true", help="show the intent and the plan; run nothing")
    ask.add_argument("--json", action="store_true", help="print the whole answer as JSON")
    ask.add_argument("--url", type=base_url, default=default_url(), help=url_help)
    ask.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the answer")
    ask.set_defaults(handler=_ask)

    queue = commands.add_parser("approvals", help="the approval queue")
    queue.add_argument(
        "--status",
        default="pending",
        choices=["pending", "approved", "denied", "expired", "executed", "failed", "all"],
        help="which approvals to list (default: pending)",
    )
    queue.add_argument("--json", action="store_true", help="print the approvals as JSON")
    queue.add_argument("--url", type=base_url, default=default_url(), help=url_help)
    queue.set_defaults(handler=_approvals)

    for decision, text in (("approve", "run exactly the held call, once"), ("deny", "drop the held call")):
        command = commands.add_parser(decision, help=text)
        command.add_argument("id", help="the approval id (see `sophia approvals`)")
        command.add_argument(
            "--approver", help="who decides, recorded when auth is off (default: you, the same principal that asked)"
        )
        command.add_argument("--url", type=base_url, default=default_url(), help=url_help)
        command.set_defaults(handler=_decide, decision=decision)

    keys = commands.add_parser("keys", help="API keys for the gateway's principals file")
    key_commands = keys.add_subparsers(dest="keys_command", required=True, metavar="KEYS_COMMAND")
    create = key_commands.add_parser("create", help="print a new API key (once) and its principals-file entry")
    create.add_argument("name", help="the principal's name (shown in audit entries and approvals)")
    create.add_argument("--role", action="append", required=True, help="a role from the policy (repeatable)")
    create.add_argument("--namespace", default="default", help="whose data the principal's calls touch")
    create.add_argument(
        "--policy",
        type=Path,
        default=os.environ.get("SOPHIA_GATEWAY_POLICY_FILE") or None,
        help="the gateway's role policy, whose roles --role must name "
        "(default: SOPHIA_GATEWAY_POLICY_FILE, else the shipped policy)",
    )
    create.set_defaults(handler=_keys)

    mcp = commands.add_parser("mcp", help="stdio MCP server bridging to the gateway (for Claude Desktop)")
    mcp.add_argument("--url", type=base_url, default=f"{default_url()}/mcp", help="the gateway's MCP endpoint")
    mcp.set_defaults(handler=_mcp)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `sophia` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    # A line per HTTP request is never the CLI's output, whoever configured logging (the MCP SDK does on import).
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        return int(args.handler(args))
    except CommandError as exc:
        return fail(str(exc), exc.code)
    except KeyboardInterrupt:
        return 130  # the shell's code for "stopped by Ctrl-C", without a traceback
    except BrokenPipeError:
        # The reader went away (`sophia tools | head`); say nothing more, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
