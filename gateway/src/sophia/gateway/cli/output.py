"""Where the CLI writes: rich consoles that stay readable when piped."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.markup import escape

# Piped output is read by tools and tests: wide lines beat a table folded at 80 columns.
_PIPE_WIDTH = 200


def console(stderr: bool = False) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    return Console(file=stream, width=None if stream.isatty() else _PIPE_WIDTH, highlight=False)


def fail(message: str, code: int = 1) -> int:
    """Print `message` to stderr and return `code`, so a command can `return fail(...)`."""
    console(stderr=True).print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    return code
