#!/usr/bin/env bash
# Creates the fleet's Secrets once per cluster, before `kubectl apply -k kubernetes/overlays/<dev|prod>`:
#   kubernetes/bootstrap.sh                       # namespace sophia (SOPHIA_NAMESPACE=... for another)
# Idempotent: a Secret that already exists is kept (delete it to rotate). Nothing secret is written to disk.
#   sophia-internal-token      token        the fleet's internal credential (gateway -> servers)
#   sophia-redis               password     Redis requirepass; every Redis client gets it
#   sophia-qdrant              api-key      Qdrant's API key; memory and visual get it
#   sophia-infra               passphrase   the Pulumi state passphrase of the infra service
#   sophia-gateway-principals  principals.yaml  one `admin` API key: the key is printed once, here, and the
#                              Secret keeps only its SHA-256 (more keys: `sophia keys create NAME --role R`)
# Values come from the environment when set (SOPHIA_INTERNAL_TOKEN, SOPHIA_REDIS_PASSWORD, SOPHIA_QDRANT_API_KEY,
# SOPHIA_INFRA_PASSPHRASE), else 32 random bytes in hex. Needs kubectl and the `sophia` CLI (`make sync`).
# SOPHIA_BOOTSTRAP_DRY_RUN=1 prints the manifests instead of applying them (and contacts no cluster).
set -euo pipefail

ns="${SOPHIA_NAMESPACE:-sophia}"
here="$(cd "$(dirname "$0")" && pwd)"
sophia="$(command -v sophia || echo "$here/../.venv/bin/sophia")"
kubectl="${KUBECTL:-kubectl}"

emit() {  # a manifest on stdin: applied, or printed in a dry run
  if [ -n "${SOPHIA_BOOTSTRAP_DRY_RUN:-}" ]; then cat; echo "---"; else "$kubectl" apply -f -; fi
}
missing() {  # true when the Secret $1 is not in the cluster (always, in a dry run)
  [ -n "${SOPHIA_BOOTSTRAP_DRY_RUN:-}" ] || ! "$kubectl" -n "$ns" get secret "$1" >/dev/null 2>&1
}
random() { od -An -tx1 -N32 /dev/urandom | tr -d ' \n'; }
secret() {  # secret NAME KEY VALUE
  if missing "$1"; then
    "$kubectl" -n "$ns" create secret generic "$1" --from-literal="$2=$3" --dry-run=client -o yaml | emit
  else
    echo "kept: secret $1" >&2
  fi
}

"$kubectl" create namespace "$ns" --dry-run=client -o yaml | emit
secret sophia-internal-token token "${SOPHIA_INTERNAL_TOKEN:-$(random)}"
secret sophia-redis password "${SOPHIA_REDIS_PASSWORD:-$(random)}"
secret sophia-qdrant api-key "${SOPHIA_QDRANT_API_KEY:-$(random)}"
secret sophia-infra passphrase "${SOPHIA_INFRA_PASSPHRASE:-$(random)}"
if missing sophia-gateway-principals; then
  # The key goes to stderr (your terminal), the hashed entry into the Secret.
  entry="$("$sophia" keys create admin --role admin)"
  secret sophia-gateway-principals principals.yaml "principals:
$entry"
  echo "The admin API key above is shown once; use it as 'Authorization: Bearer <key>'." >&2
else
  echo "kept: secret sophia-gateway-principals" >&2
fi
