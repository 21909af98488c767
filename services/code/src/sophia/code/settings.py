"""Settings of the code service (``SOPHIA_CODE_*``; ``SOPHIA_DATA_DIR`` too)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import NoDecode

from sophia.kit import ServiceSettings, comma_list


class CodeSettings(ServiceSettings):
    """What the code service reads from its environment.

    `sophia up` exports ``SOPHIA_DATA_DIR`` without the service prefix, so it is accepted under
    either name; the prefixed one wins.
    """

    data_dir: Path = Field(
        Path(".sophia"),
        validation_alias=AliasChoices("SOPHIA_CODE_DATA_DIR", "SOPHIA_DATA_DIR", "data_dir"),
        description="Where local state lives; the workspace defaults to <data_dir>/code.",
    )
    workspace: Path | None = Field(
        None, description="The one directory repositories live under. Unset: <data_dir>/code. Created at start."
    )
    allowed_remotes: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Remotes add_repo may clone from: URL prefixes (https://github.com/acme/) or globs "
        "(https://github.com/*/public-*). Comma-separated or a JSON array. Empty: cloning is refused. "
        "Local repositories only as file:// URLs, and only when listed.",
    )
    protected_branches: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["main", "master", "release/*"],
        description="Branch names or globs a push to waits for an approver (a server-declared approval: the "
        "gateway holds exactly that push; pushes to other branches run at once).",
    )
    max_file_bytes: int = Field(
        1_048_576, gt=0, description="Largest file read_file shows, an edit touches or review lints, in bytes."
    )
    max_read_lines: int = Field(2_000, gt=0, description="Most lines one read_file returns.")
    max_output_bytes: int = Field(
        262_144, gt=0, description="Most bytes of repository text in one result (file text, diff, blame)."
    )
    max_tree_entries: int = Field(2_000, gt=0, description="Most paths a directory listing returns.")
    max_search_results: int = Field(200, gt=0, description="Most matching lines one search returns.")
    search_timeout_s: float = Field(10.0, gt=0, description="A search still running after this is stopped.")
    max_log_commits: int = Field(200, gt=0, description="Most commits one log returns.")
    max_review_files: int = Field(200, gt=0, description="Most changed files one review looks at.")
    max_review_findings: int = Field(500, gt=0, description="Most findings one review returns.")
    lint_timeout_s: float = Field(60.0, gt=0, description="Time the linters of one review may take.")
    git_timeout_s: float = Field(60.0, gt=0, description="Time a local git command may take.")
    network_timeout_s: float = Field(300.0, gt=0, description="Time a clone or push may take.")
    preview_ttl_s: int = Field(
        7 * 86_400, gt=0, description="Proposed edits not applied within this many seconds are discarded."
    )
    author_name: str = Field(
        "Sophia", min_length=1, description="Commit author when the caller names none; always the committer."
    )
    author_email: str = Field(
        "sophia@localhost", min_length=3, description="Commit author e-mail when the caller gives none."
    )
    github_url: str = Field(
        "https://api.github.com",
        description="GitHub REST API base URL; for GitHub Enterprise Server https://<host>/api/v3.",
    )
    github_token: SecretStr | None = Field(
        None,
        description="Token for pull requests and for pushing over HTTPS to the GitHub host. Unset: pull request "
        "tools say GitHub is not configured.",
    )
    router_url: str | None = Field(
        None,
        description="MCP endpoint of the router service (http://router:8000/mcp); review and generate call its "
        "`complete` tool. Unset: generate is not configured and review reports linter findings only.",
    )
    router_timeout_s: float = Field(120.0, gt=0, description="Time one router completion may take.")
    llm_max_tokens: int = Field(4_096, gt=0, description="max_tokens asked of the router per completion.")
    llm_max_prompt_chars: int = Field(
        60_000, gt=0, description="Repository text (diff, files) put in one prompt; the rest is cut, and said so."
    )

    _lists = field_validator("allowed_remotes", "protected_branches", mode="before")(comma_list)

    @property
    def workspace_root(self) -> Path:
        return (self.workspace or self.data_dir / "code").resolve()
