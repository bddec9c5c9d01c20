"""docs/configuration.md is generated from the configuration models and kept in step with them."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from helpers import PROJECT_ROOT
from seedtree.config import Config, load_config
from seedtree.configref import reference_markdown
from seedtree.errors import ConfigError

PAGE = PROJECT_ROOT / "docs" / "configuration.md"


def test_the_reference_page_matches_the_models() -> None:
    assert PAGE.read_text(encoding="utf-8") == reference_markdown(), (
        "docs/configuration.md is out of date: python -m seedtree.configref > docs/configuration.md"
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


def test_a_bad_value_is_named_with_where_it_was_written(tmp_path: Path) -> None:
    config = tmp_path / "seedtree.yaml"
    config.write_text(
        "taxonomy_dir: taxonomy\nteacher:\n  dtype: float16\ngenerate:\n  answer_temperature: -1\n",
        encoding="utf-8",
    )
    environ = {"SEEDTREE__TEACHER__BATCH_SIZE": "zero"}
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path, environ=environ)
    lines = str(info.value).splitlines()
    assert lines[0] == f"{config}: invalid configuration"
    assert any(line.startswith(f"  {config}:3:10: teacher.dtype: ") for line in lines)
    assert any(line.startswith(f"  {config}:5:23: generate.answer_temperature: ") for line in lines)
    assert any(
        line.startswith("  environment SEEDTREE__TEACHER__BATCH_SIZE: teacher.batch_size: ")
        for line in lines
    )
