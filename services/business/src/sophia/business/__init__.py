"""sophia.business: Slack, Gong, HubSpot, Salesforce, Notion and Asana connectors and one fan-out query.

`python -m sophia.business` serves the tools of `sophia.business.server` with the kit.
"""

from sophia.business.server import service
from sophia.business.settings import BusinessSettings

__all__ = ["BusinessSettings", "service"]
