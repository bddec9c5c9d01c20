"""The model card of a released version, and the folder loading with plain transformers."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml

from seedtree.retrain.card import CARD, write_card
from seedtree.retrain.results import Metrics
from seedtree.versions.lineage import GateDecision, Lineage, Override

TRAINED = "compositional_skills/writing/poetry/haiku"
REPLAYED = "knowledge/science/tides"
LINKED = "compositional_skills/linked"
SYSTEM = "You are a helpful assistant."


def _lineage(base: str = "default") -> Lineage:
    gate = GateDecision(
        passed=False,
        reasons=("too little learning: 0.2% < 1.0%",),
        learned={TRAINED: 0.002},
        forgotten={REPLAYED: 0.01},
        min_learning=0.01,
        max_forgetting=0.05,
    )
    return Lineage(
        version="v2",
        commit="a" * 40,
        previous="v1",
        base_model=base,
        leaves={TRAINED: "h1", REPLAYED: "h2", LINKED: "h3"},
        trained={TRAINED: "h1"},
        removed=(),
        renamed={},
        data_hash="d" * 64,
        recipe_hash="r" * 16,
        metrics={
            "loss_before": {TRAINED: 2.5, REPLAYED: 1.25},
            "loss_after": {TRAINED: 2.0, REPLAYED: 1.3},
            "benchmarks": {"arc_easy": {"acc,none": 0.4125, "alias": "x"}},
        },
        gate=gate,
        override=Override(who="Ada <ada@example.org>", why="reviewed by hand", at="2026-01-02"),
        created_at="2026-01-01T00:00:00+00:00",
    )


def _rows(path: Path, count: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps({"i": i}) + "\n" for i in range(count)))


def _version(tmp_path: Path, model: Path) -> tuple[Path, Path]:
    """A released version's folder and the taxonomy it was trained on."""
    version, taxonomy = tmp_path / "v2", tmp_path / "taxonomy"
    shutil.copytree(model, version / "model")
    (version / "chat.json").write_text(json.dumps({"template": "chat", "system_prompt": SYSTEM}))
    for leaf, count in ((TRAINED, 5), (REPLAYED, 3)):
        _rows(version / "data" / f"{leaf}.jsonl", count)
        _rows(version / "heldout" / f"{leaf}.jsonl", 2)
    (taxonomy / TRAINED).mkdir(parents=True)
    (taxonomy / TRAINED / "attribution.txt").write_text(
        "Title of work: Haiku\nLicense of the work: CC-BY-4.0\n"
        "Title of work: More | haiku <script>alert(1)</script>\n"
        "License of the work: MIT | <b>x</b>\n"
    )
    (taxonomy / LINKED).mkdir(parents=True)
    secret = tmp_path / "secret.txt"
    secret.write_text("License of the work: TOKEN-abc123\n")
    (taxonomy / LINKED / "attribution.txt").symlink_to(secret)
    return version, taxonomy


def _split(card: str) -> tuple[dict[str, object], str]:
    _, meta, body = card.split("---\n", 2)
    return yaml.safe_load(meta), body


def test_card_front_matter_and_figures(tmp_path: Path, tiny_model_dir: Path) -> None:
    version, taxonomy = _version(tmp_path, tiny_model_dir)
    card = write_card(version, _lineage(), taxonomy)
    assert card == version / "model" / CARD
    meta, body = _split(card.read_text())
    assert meta["base_model"] == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert meta["license"] == "apache-2.0" and meta["library_name"] == "transformers"
    assert meta["seedtree"] == {
        "version": "v2",
        "previous": "v1",
        "commit": "a" * 40,
        "data_hash": "d" * 64,
        "recipe_hash": "r" * 16,
        "gate_passed": False,
        "created_at": "2026-01-01T00:00:00+00:00",
    }
    assert "3 leaves, 8 training samples." in body
    row = next(line for line in body.splitlines() if line.startswith(f"| {TRAINED} |"))
    licenses = "CC-BY-4.0, MIT \\| &lt;b&gt;x&lt;/b&gt;"
    assert row == f"| {TRAINED} | {licenses} | 5 | 2 | 2.5000 | 2.0000 | trained |"
    unknown = "unknown (no attribution.txt)"
    assert f"| {REPLAYED} | {unknown} | 3 | 2 | 1.2500 | 1.3000 | replayed |" in body
    assert "TOKEN-abc123" not in body  # a linked attribution.txt is not followed
    assert "| arc_easy | acc,none | 0.4125 |" in body and "alias" not in body
    assert "**Refused**" in body and "too little learning: 0.2% &lt; 1.0%" in body
    assert body.startswith("\n# seedtree model v2\n\nFine-tuned from `HuggingFaceTB/SmolLM2")
    assert "released by override of Ada &lt;ada@example.org&gt;" in body
    assert f"System prompt used in training: {SYSTEM}" in body


def test_another_base_model_is_named_as_configured(tmp_path: Path, tiny_model_dir: Path) -> None:
    version, taxonomy = _version(tmp_path, tiny_model_dir)
    meta, _ = _split(write_card(version, _lineage(base="org/base-7b"), taxonomy).read_text())
    assert meta["base_model"] == "org/base-7b" and meta["license"] == "other"


def test_the_released_folder_loads_with_transformers_and_chats(
    tmp_path: Path, tiny_model_dir: Path
) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    version, taxonomy = _version(tmp_path, tiny_model_dir)
    write_card(version, _lineage(), taxonomy)
    tokenizer = AutoTokenizer.from_pretrained(version / "model")
    model = AutoModelForCausalLM.from_pretrained(version / "model")
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "Hi"}]
    prompt = tokenizer.apply_chat_template(
        messages, add_generation_prompt=True, return_tensors="pt"
    )
    ids = prompt if isinstance(prompt, torch.Tensor) else prompt["input_ids"]
    out = model.generate(ids, max_new_tokens=6, min_new_tokens=6, do_sample=False)
    assert out.shape[1] == ids.shape[1] + 6
    assert "<|im_start|>assistant" in tokenizer.decode(ids[0])


def test_the_card_reads_the_keys_a_release_records() -> None:
    """The held-out losses come from the fields of the lineage's metrics as retrain writes them."""
    assert {"loss_before", "loss_after"} <= set(Metrics.model_fields)
