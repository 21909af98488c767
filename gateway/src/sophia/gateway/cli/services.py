"""Which capability services `sophia up` starts.

Installed services declare themselves as Python entry points, group ``sophia.services``
(``memory = "sophia.memory"``) and run as ``python -m <module>``. A service under development, not
installed yet, is added with ``SOPHIA_UP_EXTRA_SERVICES``: a JSON object mapping its name to its argv,
for example ``{"sample": ["python", "tests/support/sample_service.py"]}``. An extra service replaces
an installed one of the same name, so a working copy can stand in for the released one.
``SOPHIA_UP_SERVICES`` (comma-separated names) starts only those installed services; empty, none.
"""

from __future__ import annotations

import json
import os
import re
import sys
from importlib.metadata import entry_points

ENTRY_POINT_GROUP = "sophia.services"
EXTRA_ENV = "SOPHIA_UP_EXTRA_SERVICES"
ONLY_ENV = "SOPHIA_UP_SERVICES"
# The name becomes the SOPHIA_<NAME>_ prefix and the gateway's tool prefix: same rule as the kit's.
SERVICE_NAME = re.compile(r"^[a-z][a-z0-9]{0,30}$")


class ServiceConfigError(ValueError):
    """A service declaration that `sophia up` cannot start."""


def discover() -> dict[str, list[str]]:
    """Map each service name to the argv that starts it, sorted by name."""
    found = {ep.name: [sys.executable, "-m", ep.value] for ep in entry_points(group=ENTRY_POINT_GROUP)}
    if ONLY_ENV in os.environ:
        wanted = {name.strip() for name in os.environ[ONLY_ENV].split(",") if name.strip()}
        if unknown := wanted - found.keys():
            raise ServiceConfigError(f"{ONLY_ENV} names services that are not installed: {sorted(unknown)}")
        found = {name: argv for name, argv in found.items() if name in wanted}
    found.update(_extra(os.environ.get(EXTRA_ENV, "")))
    for name in found:
        if not SERVICE_NAME.match(name) or name == "gateway":
            rule = "lower-case letters and digits, no underscore, not 'gateway'"
            raise ServiceConfigError(f"service name {name!r} must be {rule}")
    return dict(sorted(found.items()))


def _extra(raw: str) -> dict[str, list[str]]:
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ServiceConfigError(f"{EXTRA_ENV} is not valid JSON: {exc}") from exc
    if not isinstance(value, dict) or not all(
        isinstance(argv, list) and argv and all(isinstance(a, str) for a in argv) for argv in value.values()
    ):
        raise ServiceConfigError(f"{EXTRA_ENV} must be a JSON object mapping a name to a non-empty argv list")
    # "python" means this interpreter: the one whose environment has sophia installed.
    return {
        name: [sys.executable if argv[0] in ("python", "python3") else argv[0], *argv[1:]]
        for name, argv in value.items()
    }
