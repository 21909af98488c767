"""The business service's tools, in the order clients list them: the fan-out (`health`, `search`,
`query`), Slack, Gong, CRM (HubSpot, Salesforce), then Notion and Asana."""

from sophia.business import tools_calls, tools_crm, tools_fanout, tools_slack, tools_work
from sophia.business.service import service

TOOL_MODULES = (tools_fanout, tools_slack, tools_calls, tools_crm, tools_work)

__all__ = ["service"]
