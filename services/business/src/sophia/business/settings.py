"""Settings of the business service (``SOPHIA_BUSINESS_*``) and the connectors' credentials.

Credentials keep the names every vendor's documentation uses (``SLACK_BOT_TOKEN``, ``HUBSPOT_ACCESS_TOKEN``,
...), read unprefixed from the environment (the prefixed form works too); the secrets file and a Pulumi ESC
environment fill in the ones the environment lacks (`credentials.py`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import NoDecode

from sophia.kit import ServiceSettings, comma_list

# The credential names the connectors read, by connector. A connector is configured when all of one of
# its alternatives are present (Salesforce: a token, or client credentials).
CREDENTIALS: dict[str, tuple[tuple[str, ...], ...]] = {
    "slack": (("SLACK_BOT_TOKEN",),),
    "gong": (("GONG_ACCESS_KEY", "GONG_ACCESS_KEY_SECRET"),),
    "hubspot": (("HUBSPOT_ACCESS_TOKEN",),),
    "salesforce": (
        ("SALESFORCE_INSTANCE_URL", "SALESFORCE_ACCESS_TOKEN"),
        ("SALESFORCE_INSTANCE_URL", "SALESFORCE_CLIENT_ID", "SALESFORCE_CLIENT_SECRET"),
    ),
    "notion": (("NOTION_API_KEY",),),
    "asana": (("ASANA_ACCESS_TOKEN",),),
}
# Optional extras: Slack's search.messages accepts only a user token.
OPTIONAL_CREDENTIALS = ("SLACK_USER_TOKEN",)
CREDENTIAL_NAMES = (
    tuple(dict.fromkeys(name for options in CREDENTIALS.values() for names in options for name in names))
    + OPTIONAL_CREDENTIALS
)


# Optional fields where an empty value (compose's unset ``${NAME:-}``) means unset.
OPTIONAL_FIELDS = (
    *(name.lower() for name in CREDENTIAL_NAMES),
    "secrets_file",
    "pulumi_access_token",
    "esc_environment",
    "salesforce_login_url",
    "notion_default_parent",
    "asana_workspace",
    "router_url",
)


def _credential(name: str, description: str) -> Any:
    return Field(
        None,
        validation_alias=AliasChoices(f"SOPHIA_BUSINESS_{name}", name, name.lower()),
        description=description,
    )


class BusinessSettings(ServiceSettings):
    """What the business service reads from its environment."""

    # -- credentials (vendor names, unprefixed) ----------------------------------------------------
    slack_bot_token: SecretStr | None = _credential("SLACK_BOT_TOKEN", "Slack bot token (xoxb-...).")
    slack_user_token: SecretStr | None = _credential(
        "SLACK_USER_TOKEN", "Slack user token (xoxp-...); only search.messages needs it (Slack refuses bot tokens)."
    )
    gong_access_key: SecretStr | None = _credential("GONG_ACCESS_KEY", "Gong API access key.")
    gong_access_key_secret: SecretStr | None = _credential("GONG_ACCESS_KEY_SECRET", "Gong API access key secret.")
    hubspot_access_token: SecretStr | None = _credential("HUBSPOT_ACCESS_TOKEN", "HubSpot private app access token.")
    salesforce_instance_url: str | None = _credential(
        "SALESFORCE_INSTANCE_URL", "Salesforce instance URL (https://acme.my.salesforce.com)."
    )
    salesforce_access_token: SecretStr | None = _credential(
        "SALESFORCE_ACCESS_TOKEN", "Salesforce OAuth access token (or use client credentials)."
    )
    salesforce_client_id: SecretStr | None = _credential(
        "SALESFORCE_CLIENT_ID", "Connected app consumer key, for the OAuth client credentials flow."
    )
    salesforce_client_secret: SecretStr | None = _credential(
        "SALESFORCE_CLIENT_SECRET", "Connected app consumer secret, for the OAuth client credentials flow."
    )
    notion_api_key: SecretStr | None = _credential("NOTION_API_KEY", "Notion internal integration secret.")
    asana_access_token: SecretStr | None = _credential("ASANA_ACCESS_TOKEN", "Asana personal access token.")

    # -- where credentials may also come from ------------------------------------------------------
    secrets_file: Path | None = Field(
        None,
        description="A dotenv (NAME=value) or JSON object file holding credentials under the names above; "
        "read when it changes. The environment wins over it.",
    )
    pulumi_access_token: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("SOPHIA_BUSINESS_PULUMI_ACCESS_TOKEN", "PULUMI_ACCESS_TOKEN"),
        description="Pulumi Cloud token used to open the ESC environment (with esc_environment).",
    )
    esc_environment: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}$",
        description="Pulumi ESC environment as org/project/env; its environmentVariables (or top-level "
        "values) supply credentials the environment and secrets file lack.",
    )
    esc_url: str = Field("https://api.pulumi.com", description="Pulumi Cloud API base URL.")
    esc_cache_s: float = Field(300.0, gt=0, le=3600, description="How long opened ESC values are kept in memory.")

    # -- API base URLs (tests and demo mode point these at local stand-ins) -------------------------
    slack_url: str = Field("https://slack.com/api", description="Slack Web API base URL.")
    gong_url: str = Field(
        "https://api.gong.io", description="Gong API base URL (your tenant's, e.g. us-1234.api.gong.io)."
    )
    hubspot_url: str = Field("https://api.hubapi.com", description="HubSpot API base URL.")
    salesforce_api_version: str = Field("v60.0", pattern=r"^v\d{2}\.\d$", description="Salesforce REST API version.")
    salesforce_login_url: str | None = Field(
        None, description="Where the client credentials flow asks for tokens; the instance URL when unset."
    )
    notion_url: str = Field("https://api.notion.com", description="Notion API base URL.")
    notion_version: str = Field("2022-06-28", description="Notion-Version header sent with every call.")
    asana_url: str = Field("https://app.asana.com/api/1.0", description="Asana API base URL.")

    # -- behaviour ---------------------------------------------------------------------------------
    slack_customer_channels: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Slack channel names or ids that reach customers (comma-separated); a post there needs "
        "approval like one into a Slack Connect channel.",
    )
    salesforce_allow_writes_in_soql: bool = Field(
        False,
        description="Allow SOQL beyond plain SELECT (FOR UPDATE locks, UPDATE TRACKING/VIEWSTAT); off: refused.",
    )
    notion_default_parent: str | None = Field(
        None, description="Page id new Notion pages go under when the caller names no parent."
    )
    asana_workspace: str | None = Field(
        None, description="Asana workspace gid for search, creates and project names; the first workspace if unset."
    )
    timeout_s: float = Field(20.0, gt=0, le=300, description="Time one HTTP call to a system may take.")
    max_retries: int = Field(3, ge=0, le=10, description="Retries after a 429, and after a 5xx for reads.")
    max_retry_after_s: float = Field(
        30.0, ge=0, le=600, description="Longest Retry-After honoured; a longer one fails the call at once."
    )
    backoff_s: float = Field(0.5, ge=0, le=30, description="First backoff when a system sends no Retry-After.")
    max_response_bytes: int = Field(8_000_000, gt=0, description="Largest response body read from a system.")
    max_results: int = Field(50, gt=0, le=500, description="Most items one tool call returns.")
    max_pages: int = Field(10, gt=0, le=100, description="Most pages one paginated read follows.")
    max_text_chars: int = Field(20_000, gt=0, description="Most characters of one text field in a result.")
    query_timeout_s: float = Field(25.0, gt=0, le=120, description="Time each connector gets in a fan-out.")
    router_url: str | None = Field(
        None,
        description="MCP endpoint of the router service (http://router:8000/mcp); query asks its `complete` "
        "for a short cited synthesis. Unset: ranked results only.",
    )
    router_timeout_s: float = Field(60.0, gt=0, description="Time one synthesis may take.")

    _lists = field_validator("slack_customer_channels", mode="before")(comma_list)

    @field_validator(*OPTIONAL_FIELDS, mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        """``NAME=`` (as compose passes an unset ``${NAME:-}``) means unset, not an empty value."""
        return None if value == "" else value

    @field_validator("esc_environment")
    @classmethod
    def _no_dot_segments(cls, value: str | None) -> str | None:
        if value is not None and any(part in (".", "..") for part in value.split("/")):
            raise ValueError("esc_environment segments cannot be . or ..")
        return value

    def credential(self, name: str) -> str | None:
        """The value of credential `name` set directly in the environment (never logged)."""
        value = getattr(self, name.lower(), None)
        if isinstance(value, SecretStr):
            return value.get_secret_value() or None
        return value or None
