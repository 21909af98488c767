"""LOCAL STAND-INS for the business systems' REST APIs (Slack, Gong, HubSpot, Salesforce, Notion, Asana,
Pulumi ESC), not the systems themselves.

The real systems cannot be reached from tests or from a newcomer's laptop without accounts, so each
stand-in is a small Starlette app that answers the calls the connectors make in that system's own shape:
the same paths, auth header, pagination style, error bodies and rate-limit signals. Tests use them to
inject 429s with Retry-After, 5xx, expired tokens, malformed JSON and slow answers (`Fault`); demo mode
(`sophia.business.demo`) serves them with sample records that all say they are demo data.
"""

from sophia.business.standins._base import Fault, Standin, combined
from sophia.business.standins.asana import AsanaStandin
from sophia.business.standins.esc import EscStandin
from sophia.business.standins.gong import GongStandin
from sophia.business.standins.hubspot import HubSpotStandin
from sophia.business.standins.notion import NotionStandin
from sophia.business.standins.salesforce import SalesforceStandin
from sophia.business.standins.slack import SlackStandin

__all__ = [
    "AsanaStandin",
    "EscStandin",
    "Fault",
    "GongStandin",
    "HubSpotStandin",
    "NotionStandin",
    "SalesforceStandin",
    "SlackStandin",
    "Standin",
    "combined",
]
