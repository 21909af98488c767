"""The model catalog: the shipped file is valid and sensible; a broken file is refused with the reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from sophia.router.catalog import TIERS, CatalogError, Tier, load_catalog


def test_the_shipped_catalog_is_valid_and_covers_every_tier() -> None:
    catalog = load_catalog()
    assert len(catalog.models) >= 10
    for tier in TIERS:
        assert any(catalog.adequate(m, tier) for m in catalog.models)
    assert {m.provider for m in catalog.models} >= {"openai", "anthropic", "openrouter", "ollama"}


def test_every_model_has_prices_window_capabilities_quality_and_release_date() -> None:
    for model in load_catalog().models:
        assert model.id.startswith(f"{model.provider}/")
        assert model.input_per_mtok >= 0 and model.output_per_mtok >= model.input_per_mtok
        assert model.context_window > model.max_output_tokens or model.context_window >= 128_000
        assert 0 < model.quality <= 100 and model.released.year >= 2024


def test_cost_is_per_million_tokens() -> None:
    model = load_catalog().get("anthropic/claude-sonnet-4-5")
    assert model is not None and model.cost(1_000_000, 1_000_000) == pytest.approx(18.0)


def test_the_highest_tier_of_a_model() -> None:
    catalog = load_catalog()
    assert catalog.tier_of(catalog.get("openai/gpt-5-nano")) == Tier.SIMPLE  # type: ignore[arg-type]
    assert catalog.tier_of(catalog.get("openai/gpt-5")) == Tier.PREMIUM  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("tiers: {}\nmodels: []", "is invalid"),
        ("models: [", "is unreadable"),
        ("tiers:\n  simple: {min_quality: 90, expected_output_tokens: 1, max_output_tokens: 1}\n"
         "  balanced: {min_quality: 50, expected_output_tokens: 1, max_output_tokens: 1}\n"
         "  premium: {min_quality: 95, expected_output_tokens: 1, max_output_tokens: 1}\n"
         "models:\n  - {id: a/b, provider: a, model: b, input_per_mtok: 1, output_per_mtok: 1, context_window: 10,\n"
         "     max_output_tokens: 5, quality: 99, released: 2025-01-01}", "must not decrease"),
    ],
)  # fmt: skip
def test_a_broken_catalog_is_refused_with_the_reason(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_text(text)
    with pytest.raises(CatalogError, match=message):
        load_catalog(path)


def test_unknown_fields_and_duplicate_ids_are_refused(tmp_path: Path) -> None:
    shipped = (Path(__file__).parent / "data" / "catalog.yaml").read_text()
    path = tmp_path / "catalog.yaml"
    path.write_text(shipped.replace("quality: 50,", "quality: 50, colour: red,"))
    with pytest.raises(CatalogError, match="colour"):
        load_catalog(path)
    path.write_text(shipped.replace("id: anthropic/small", "id: openai/small"))
    with pytest.raises(CatalogError, match="duplicate model ids"):
        load_catalog(path)


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="unreadable"):
        load_catalog(tmp_path / "nope.yaml")
