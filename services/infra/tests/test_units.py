"""Logic without processes: names, production stacks and approval checks, cost estimates, settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from sophia.infra import InfraSettings
from sophia.infra.approvals import (
    config_set_needs_approval,
    new_stack_needs_approval,
    refresh_needs_approval,
    rollback_needs_approval,
    up_needs_approval,
)
from sophia.infra.changes import Change
from sophia.infra.costs import PriceTable
from sophia.infra.names import config_key, matches, stack_name
from sophia.infra.projects import Projects
from sophia.infra.settings import PRICES
from sophia.kit import ToolError


@pytest.mark.parametrize("name", ["dev", "staging-2", "acme/prod", "acme/webapp/prod", "v1.2_x"])
def test_stack_names_accepted(name: str) -> None:
    assert stack_name(name) == name


@pytest.mark.parametrize("name", ["", "-s", "--yes", ".hidden", "a b", "a;b", "$(x)", "a/../b", "x" * 120, "a\nb"])
def test_stack_names_refused(name: str) -> None:
    with pytest.raises(ToolError):
        stack_name(name)


@pytest.mark.parametrize("key", ["-x", "a b", "a;b", "ns:", ":k", "k=v", "--secret"])
def test_config_keys_refused(key: str) -> None:
    with pytest.raises(ToolError):
        config_key(key)


def test_production_stacks_and_approval_checks() -> None:
    settings = InfraSettings(production_stacks=["prod", "prod-*"], passphrase=SecretStr("x"))
    assert matches("acme/webapp/PROD", settings.production_stacks) and not matches("production", ["prod"])
    prod = {"stack": "prod-eu", "settings": settings}
    dev = {"stack": "dev", "settings": settings}
    for check in (config_set_needs_approval, rollback_needs_approval, new_stack_needs_approval):
        assert "production stack prod-eu" in (check(prod) or "")
        assert check(dev) is None
    assert refresh_needs_approval({**prod, "preview_only": True}) is None
    assert refresh_needs_approval(prod) is not None and refresh_needs_approval(dev) is None
    assert up_needs_approval(dev) is None  # the gateway holds every up (risk high); the server adds production
    assert "production" in (up_needs_approval(prod) or "")
    assert config_set_needs_approval({"stack": "dev"}) is not None  # no settings: fail closed


def change(op: str, type_: str, old: dict[str, object] | None = None, new: dict[str, object] | None = None) -> Change:
    return Change(op, type_, f"urn:pulumi:s::p::{type_}::x", "x", [], old or {}, new or {})


def test_cost_estimate_prices_sizes_counts_and_leaves_unknown_types_out() -> None:
    table = PriceTable(PRICES)
    estimate = table.estimate(
        [
            change("create", "aws:ec2/instance:Instance", new={"instanceType": "t3.small"}),
            change("update", "kubernetes:apps/v1:Deployment", {"spec": {"replicas": 2}}, {"spec": {"replicas": 5}}),
            change("delete", "aws:ec2/natGateway:NatGateway", old={}),
            change("create", "acme:index:Widget"),
            change("create", "aws:ec2/instance:Instance", new={"instanceType": "x9.gigantic"}),
        ]
    )
    assert estimate.estimate is True
    assert estimate.monthly_delta == round(15.18 + 36.0 - 32.85, 2)
    assert estimate.unpriced_types == ["acme:index:Widget", "aws:ec2/instance:Instance"]


def test_an_edited_price_table_is_used(tmp_path: Path) -> None:
    table = tmp_path / "prices.yaml"
    table.write_text("currency: EUR\ntypes:\n  acme:index:Widget: {monthly: 3.5}\n")
    estimate = PriceTable(table).estimate([change("create", "acme:index:Widget")])
    assert (estimate.currency, estimate.monthly_delta) == ("EUR", 3.5)


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret_file = tmp_path / "passphrase"
    secret_file.write_text("from-a-file\n")
    monkeypatch.setenv("SOPHIA_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SOPHIA_INFRA_PROJECTS", f"{tmp_path}/a,{tmp_path}/b")
    monkeypatch.setenv("SOPHIA_INFRA_PASSPHRASE_FILE", str(secret_file))
    settings = InfraSettings(_env_prefix="SOPHIA_INFRA_")  # type: ignore[call-arg]
    assert settings.projects == [tmp_path / "a", tmp_path / "b"]
    assert settings.backend == f"file://{tmp_path.resolve()}/infra/state"
    assert settings.passphrase_value() == "from-a-file"
    assert "from-a-file" not in repr(settings)


def test_projects_only_from_the_configured_list(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "Pulumi.yaml").write_text("name: alpha\nruntime: yaml\n")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "Pulumi.yaml").write_text("name: '-x'\n")
    projects = Projects([tmp_path / "a", tmp_path / "bad", tmp_path / "missing"])
    assert [p.name for p in projects.all] == ["alpha"]
    assert projects.get(None).name == "alpha"
    with pytest.raises(ToolError, match="unknown project 'beta'"):
        projects.get("beta")


def test_cli_errors_are_scrubbed_of_known_secrets() -> None:
    from sophia.infra.engine import Engine

    engine = Engine(InfraSettings(passphrase=SecretStr("the-passphrase"), access_token=SecretStr("pul-token-1")))
    engine.remember_secrets(["config-secret-value", "abc"])  # too short to scrub safely: ignored
    text = "error: the-passphrase pul-token-1 config-secret-value abc"
    assert engine.scrub(text) == "error: [secret] [secret] [secret] abc"
