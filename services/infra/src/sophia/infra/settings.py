"""Settings of the infra service (``SOPHIA_INFRA_*``; ``SOPHIA_DATA_DIR`` and ``REDIS_URL`` too)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import NoDecode

from sophia.kit import ServiceSettings, comma_list

PRICES = Path(__file__).with_name("prices.yaml")


class InfraSettings(ServiceSettings):
    """What the infra service reads from its environment.

    `sophia up` exports ``SOPHIA_DATA_DIR`` and ``REDIS_URL`` without the service prefix, so both are
    accepted under either name; the prefixed one wins.
    """

    data_dir: Path = Field(
        Path(".sophia"),
        validation_alias=AliasChoices("SOPHIA_INFRA_DATA_DIR", "SOPHIA_DATA_DIR", "data_dir"),
        description="Where local state lives: <data_dir>/infra holds saved plans and the default file:// backend.",
    )
    projects: Annotated[list[Path], NoDecode] = Field(
        default_factory=lambda: [Path("deploy")],
        description="Pulumi project folders (each with a Pulumi.yaml) the tools may touch, comma-separated or a "
        "JSON array; a project is named by its Pulumi.yaml `name`. Folders that do not exist are skipped with a "
        "warning. Default: the fleet's own program in ./deploy.",
    )
    backend_url: str | None = Field(
        None,
        description="Pulumi state backend: file:///path, s3://bucket/prefix, https://api.pulumi.com (Pulumi Cloud). "
        "Unset: file://<data_dir>/infra/state.",
    )
    passphrase: SecretStr | None = Field(
        None,
        description="Passphrase of the passphrase secrets provider (file and S3 backends); given to pulumi as "
        "PULUMI_CONFIG_PASSPHRASE, never logged.",
    )
    passphrase_file: Path | None = Field(
        None, description="The passphrase in a file (a mounted Secret); used when PASSPHRASE is unset."
    )
    access_token: SecretStr | None = Field(
        None, description="Pulumi Cloud access token (PULUMI_ACCESS_TOKEN) for an https:// backend; never logged."
    )
    pulumi_root: Path | None = Field(
        None, description="Folder of a Pulumi CLI installation (<root>/bin/pulumi). Unset: `pulumi` on PATH."
    )
    pulumi_home: Path | None = Field(
        None, description="PULUMI_HOME for plugins and workspace files. Unset: <data_dir>/infra/home."
    )
    production_stacks: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["prod", "prod-*", "*-prod", "production", "production-*", "*-production"],
        description="Stack names or globs that are production: up is critical there, and refresh, rollback, "
        "config_set and new_stack wait for an approver.",
    )
    redis_url: str | None = Field(
        None,
        validation_alias=AliasChoices("SOPHIA_INFRA_REDIS_URL", "REDIS_URL", "redis_url"),
        description="Redis for the per-stack operation lock shared by every replica. Unset: a lock in this "
        "process only (one replica), with a warning at start.",
    )
    lock_ttl_s: int = Field(
        3_600, gt=0, description="A stack lock whose holder died is released after this many seconds."
    )
    plan_ttl_s: int = Field(86_400, gt=0, description="A saved plan not applied within this many seconds expires.")
    price_table: Path = Field(
        PRICES, description="YAML price table for cost estimates (per resource type and size). Default: shipped."
    )
    max_config_value_bytes: int = Field(8_192, gt=0, description="Largest config value config_set accepts.")
    max_changes: int = Field(500, gt=0, description="Most resource changes one result lists (the rest counted).")

    _lists = field_validator("projects", "production_stacks", mode="before")(comma_list)

    @property
    def state_dir(self) -> Path:
        return (self.data_dir / "infra").resolve()

    @property
    def backend(self) -> str:
        return self.backend_url or f"file://{self.state_dir / 'state'}"

    def passphrase_value(self) -> str | None:
        if self.passphrase is not None:
            return self.passphrase.get_secret_value()
        if self.passphrase_file is not None:
            return self.passphrase_file.read_text().strip()
        return None
