"""sophia.infra: Pulumi stacks through the Automation API, served as a kit capability server."""

from sophia.infra import tools as _tools  # noqa: F401  (registers the tools on the service)
from sophia.infra.service import service
from sophia.infra.settings import InfraSettings

__all__ = ["InfraSettings", "service"]
