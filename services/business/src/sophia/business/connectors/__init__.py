"""One module per system, each on the system's own REST API shape, over the shared `sophia.business.http`."""

from sophia.business.connectors.asana import Asana
from sophia.business.connectors.base import Connector, Hit, Terms
from sophia.business.connectors.gong import Gong
from sophia.business.connectors.hubspot import HubSpot
from sophia.business.connectors.notion import Notion
from sophia.business.connectors.salesforce import Salesforce
from sophia.business.connectors.slack import Slack

CONNECTORS: tuple[type[Connector], ...] = (Slack, Gong, HubSpot, Salesforce, Notion, Asana)

__all__ = ["CONNECTORS", "Asana", "Connector", "Gong", "Hit", "HubSpot", "Notion", "Salesforce", "Slack", "Terms"]
