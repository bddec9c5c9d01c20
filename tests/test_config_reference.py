"""docs/configuration.md is generated from the configuration models and kept in step with them."""

from __future__ import annotations

from pydantic import BaseModel

from helpers import PROJECT_ROOT
from seedtree.config import Config, reference_markdown

PAGE = PROJECT_ROOT / "docs" / "configuration.md"


def test_the_reference_page_matches_the_models() -> None:
    assert PAGE.read_text(encoding="utf-8") == reference_markdown(), (
        "docs/configuration.md is out of date: python -m seedtree.config > docs/configuration.md"
    )


def test_every_key_has_a_description_and_appears_in_the_reference() -> None:
    page = reference_markdown()
    for name, info in Config.model_fields.items():
        model = info.annotation
        fields = (
            model.model_fields
            if isinstance(model, type) and issubclass(model, BaseModel)
            else {name: info}
        )
        for key, field in fields.items():
            assert field.description, f"{name}.{key} has no description in config.py"
            assert f"| `{key}` |" in page
