"""`sophia keys create`: a new API key, printed once, with the principals-file entry that accepts it."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from sophia.gateway.cli.commands import CommandError
from sophia.gateway.security.policy import Policy, PolicyError
from sophia.gateway.security.principals import PrincipalEntry, generate_key, hash_key


def create(name: str, roles: list[str], namespace: str, policy_path: Path | None = None) -> int:
    """Refuse a role the gateway's policy does not define before printing any key: a principal with an
    unknown role would be let in and then allowed nothing, which reads like a bug later."""
    try:
        policy = Policy.load(policy_path)
    except PolicyError as exc:
        raise CommandError(str(exc), 2) from exc
    if unknown := [role for role in roles if role not in policy.roles]:
        raise CommandError(
            f"unknown role {', '.join(map(repr, unknown))}; the policy ({policy_path or 'shipped'}) defines "
            f"{', '.join(sorted(policy.roles))}",
            2,
        )
    key = generate_key()
    entry = PrincipalEntry(name=name, roles=roles, namespace=namespace, key_sha256=hash_key(key))
    print(f"API key for {name} (shown once; the gateway keeps only its hash):\n\n  {key}\n", file=sys.stderr)
    print("# add to the principals file (SOPHIA_GATEWAY_PRINCIPALS_FILE) under `principals:`", file=sys.stderr)
    sys.stdout.write(yaml.safe_dump([entry.model_dump()], sort_keys=False))
    return 0
