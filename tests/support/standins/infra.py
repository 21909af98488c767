"""TEST STAND-IN for the infra service (Pulumi stacks of the fleet's infrastructure), not the real one.

It exposes the infra service's tool contract and echoes each call (see `_common`).
Run as ``python -m tests.support.standins.infra`` from the repository root.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from sophia.kit import Risk
from tests.support.standins._common import Standin

standin = Standin(
    "infra",
    instructions="Infrastructure as code with Pulumi: list stacks, preview, deploy (up), destroy, refresh, "
    "outputs and update history, including the fleet's own Kubernetes program.",
)
service = standin.service

Stack = Annotated[str, Field(description="Pulumi stack name (e.g. 'dev', 'staging', 'prod').")]

TAGS = {"infra", "pulumi"}


@standin.tool(read_only=True, tags=TAGS, produces=["stack"])
def list_stacks():
    """List the Pulumi stacks of the infrastructure program with their last update time and resource count."""


@standin.tool(read_only=True, tags=TAGS, consumes=["commit"], produces=["preview"])
def preview(stack: Stack):
    """Dry-run a deploy of a Pulumi stack: show which resources an update would create, change or delete,
    without touching anything."""


@standin.tool(risk=Risk.HIGH, tags=TAGS | {"deploy"}, consumes=["preview"], produces=["deployment"])
def up(stack: Stack):
    """Deploy a Pulumi stack: apply its pending changes to the live cloud resources and return the new
    outputs."""


@standin.tool(risk=Risk.CRITICAL, destructive=True, tags=TAGS | {"deploy"}, consumes=["stack"])
def destroy(stack: Stack):
    """Tear down every cloud resource a Pulumi stack manages; this cannot be undone."""


@standin.tool(risk=Risk.MEDIUM, idempotent=True, tags=TAGS | {"drift"}, produces=["drift"])
def refresh(stack: Stack):
    """Compare a Pulumi stack's recorded state with the live cloud resources, report the drift and update the
    state to match."""


@standin.tool(read_only=True, tags=TAGS, consumes=["deployment"], produces=["outputs"])
def outputs(stack: Stack):
    """Return a Pulumi stack's exported outputs, such as endpoints, URLs and resource ids, with secrets
    masked."""


@standin.tool(read_only=True, tags=TAGS, produces=["history"])
def history(
    stack: Stack,
    limit: int = Field(10, ge=1, le=100, description="How many past updates to return at most."),
):
    """List a Pulumi stack's past updates, newest first, with kind, result, time and resource changes."""


if __name__ == "__main__":
    service.run()
