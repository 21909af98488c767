"""`sophia keys create`: a new API key, printed once, with the principals-file entry that accepts it."""

from __future__ import annotations

import sys

import yaml

from sophia.gateway.security.principals import PrincipalEntry, generate_key, hash_key


def create(name: str, roles: list[str], namespace: str) -> int:
    key = generate_key()
    entry = PrincipalEntry(name=name, roles=roles, namespace=namespace, key_sha256=hash_key(key))
    print(f"API key for {name} (shown once; the gateway keeps only its hash):\n\n  {key}\n", file=sys.stderr)
    print("# add to the principals file (SOPHIA_GATEWAY_PRINCIPALS_FILE) under `principals:`", file=sys.stderr)
    sys.stdout.write(yaml.safe_dump([entry.model_dump()], sort_keys=False))
    return 0
