"""General data in every version: deterministic, sized draws that never hold an evaluation item,
trained on and counted by the step planner; and the last phase's candidate models."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from seedtree.errors import ConfigError, UsageError
from seedtree.train.general import GeneralDraw, general_mix, local_copy
from seedtree.train.packing import Plan, candidate_steps
from seedtree.train.recipe import GeneralData, Recipe, load_recipe, recipe_from_dict
from seedtree.train.replay import ReplayBuffer
from seedtree.train.run import train_run

SEED_QUESTION = "What causes the tides?"


def _chat(path: Path, n: int, extra: list[str] = ()) -> Path:  # type: ignore[assignment]
    """``n`` chat samples, then one per ``extra`` question (all with answers)."""
    questions = [f"General question {i}?" for i in range(n)] + list(extra)
    rows = [
        {"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": f"A {q}"}]}
        for q in questions
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _recipe(general: list[dict[str, Any]]) -> Recipe:
    phase = {"select": {}, "lr": 1e-3, "effective_batch": 2}
    return recipe_from_dict(
        {
            "seed": 3,
            "general": general,
            "phases": [{"name": "one", **phase}, {"name": "two", **phase}],
        }
    )


def _ids(samples: list[Any]) -> list[str]:
    return [s.id for s in samples]


def test_a_draw_is_deterministic_per_version_and_respects_its_size(tmp_path: Path) -> None:
    data = _chat(tmp_path / "chat.jsonl", 30)
    recipe = _recipe([{"path": str(data), "size": 7, "phases": ["two"]}])
    v1 = general_mix(recipe, GeneralDraw(label="v1"), tmp_path / "out", [])
    again = general_mix(recipe, GeneralDraw(label="v1"), tmp_path / "again", [])
    v2 = general_mix(recipe, GeneralDraw(label="v2"), tmp_path / "out", [])
    drawn = v1.draw("two", n_new=100)
    assert len(drawn) == 7 == len(set(_ids(drawn)))  # the size, without replacement
    assert _ids(drawn) == _ids(again.draw("two", n_new=3))  # same version: same samples
    assert _ids(v2.draw("two", n_new=100)) != _ids(drawn)  # the next version draws others
    assert v1.draw("one", n_new=100) == []  # a phase the dataset does not name draws nothing
    assert all(s.leaf == "general/chat" and s.kind == "skill" for s in drawn)


def test_a_ratio_draws_per_new_sample_and_a_small_dataset_gives_all(tmp_path: Path) -> None:
    data = _chat(tmp_path / "chat.jsonl", 10)
    recipe = _recipe([{"path": str(data), "ratio": 0.5}])
    mix = general_mix(recipe, None, tmp_path / "out", [])
    assert len(mix.draw("one", n_new=8)) == 4
    assert len(mix.draw("two", n_new=0)) == 0
    assert len(mix.draw("one", n_new=60)) == 10  # all there is, each once


def test_no_draw_holds_a_seed_or_held_out_or_multiple_choice_question(tmp_path: Path) -> None:
    evaluation = [SEED_QUESTION, "A held-out question?", "Which option is right?"]
    spaced = ["  what CAUSES the   tides? ", "A held-out question?", "Which option is right?"]
    data = _chat(tmp_path / "chat.jsonl", 5, extra=spaced)
    recipe = _recipe([{"path": str(data), "size": 100}])
    draw = GeneralDraw(label="v1", avoid=frozenset(evaluation[2:]))
    mix = general_mix(recipe, draw, tmp_path / "out", evaluation[:2])
    drawn = mix.draw("one", n_new=1)
    assert len(drawn) == 5
    assert not {s.user.strip().casefold() for s in drawn} & {q.casefold() for q in evaluation}


def test_bad_general_data_is_refused_with_its_place(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"messages": [{"role": "user", "content": "hi"}]}\n', encoding="utf-8")
    with pytest.raises(UsageError, match=r"bad\.jsonl:1: a general sample needs"):
        general_mix(_recipe([{"path": str(bad), "size": 1}]), None, tmp_path / "out", [])
    with pytest.raises(ConfigError, match="no such file"):
        general_mix(_recipe([{"path": str(tmp_path / "no.jsonl"), "size": 1}]), None, tmp_path, [])
    with pytest.raises(ConfigError, match="nothing here reads the store"):
        local_copy("s3://bucket/chat.jsonl", None, tmp_path)
    with pytest.raises(ConfigError, match="exactly one of size or ratio"):
        _recipe([{"path": "x.jsonl", "size": 2, "ratio": 0.5}])
    with pytest.raises(ConfigError, match="phases the recipe lacks"):
        _recipe([{"path": "x.jsonl", "size": 2, "phases": ["three"]}])


def test_a_recipe_names_its_general_data_relative_to_itself(tmp_path: Path) -> None:
    (tmp_path / "training" / "general").mkdir(parents=True)
    _chat(tmp_path / "training" / "general" / "chat.jsonl", 3)
    recipe = tmp_path / "training" / "recipe.yaml"
    recipe.write_text(
        "general:\n  - {path: general/chat.jsonl, size: 2}\n"
        "  - {path: 's3://bucket/safety.jsonl', ratio: 0.1}\n"
        "phases:\n  - {name: one, select: {}, lr: 0.001, effective_batch: 2}\n",
        encoding="utf-8",
    )
    loaded = load_recipe(recipe)
    assert loaded.general[0].path == str(tmp_path / "training" / "general" / "chat.jsonl")
    assert loaded.general[1].path == "s3://bucket/safety.jsonl"  # a URL is kept as written
    file_url = (tmp_path / "training" / "general" / "chat.jsonl").as_uri()
    assert (
        local_copy(file_url, None, tmp_path).read_text() == Path(loaded.general[0].path).read_text()
    )


def test_candidates_are_each_epochs_end_or_evenly_spaced() -> None:
    plan = Plan(steps=tuple(range(10)), accum=1, epochs=3, fill=1.0, epoch_ends=(4, 8, 10))  # type: ignore[arg-type]
    assert candidate_steps(plan, None) == (4, 8, 10)
    assert candidate_steps(plan, 2) == (5, 10)
    assert candidate_steps(plan, 1) == (10,)
    assert candidate_steps(plan, 40) == tuple(range(1, 11))  # never more than the steps


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_a_run_trains_on_its_draw_counts_it_and_saves_candidates(
    tiny_model_dir: Path,
    make_dataset: Callable[..., Path],
    fast_recipe: Callable[..., Recipe],
    tmp_path: Path,
) -> None:
    data = _chat(tmp_path / "chat.jsonl", 12, extra=[SEED_QUESTION])
    general = (GeneralData(path=str(data), size=6, phases=("skills",)),)
    plain = fast_recipe(checkpoint_every=0)
    recipe = plain.model_copy(
        update={
            "general": general,
            "phases": (plain.phases[0], plain.phases[1].model_copy(update={"checkpoints": 2})),
        }
    )
    seeds = {"knowledge/science/tides": [(SEED_QUESTION, "the moon")]}
    result = train_run(
        make_dataset(n=12),
        tiny_model_dir,
        tmp_path / "out",
        recipe,
        progress=False,
        seeds=seeds,
        general=GeneralDraw(label="v3"),
    )
    knowledge, skills = result.phases
    assert (knowledge.general_samples, skills.general_samples) == (0, 6)
    drawn = _rows(tmp_path / "out" / "general" / "02-skills.jsonl")
    assert len(drawn) == 6 and all(r["metadata"]["leaf"] == "general/chat" for r in drawn)
    assert SEED_QUESTION not in {m["content"] for r in drawn for m in r["messages"]}
    trained = {i for r in _rows(result.metrics_path.parent / "samples.jsonl") for i in r["ids"]}
    assert {r["id"] for r in drawn} <= trained  # trained on, and counted in the plan's steps
    assert not any(
        leaf.startswith("general/") for leaf in ReplayBuffer(tmp_path / "out" / "replay").leaves()
    )
    # the last phase's candidates: half-way and the final model, each a loadable model folder
    assert sorted(skills.candidates.values()) == [round(skills.steps / 2), skills.steps]
    assert skills.candidates[str(result.final_model)] == skills.steps
    assert knowledge.candidates == {}
    for folder in skills.candidates:
        assert (Path(folder) / "model.safetensors").is_file()
        assert json.loads((Path(folder) / "seedtree-train.json").read_text())["phase"] == "skills"


def test_train_estimate_lists_each_general_dataset_and_its_draws(
    tiny_model_dir: Path,
    fast_recipe: Callable[..., Recipe],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from seedtree.cli import run

    data = _chat(tmp_path / "chat.jsonl", 4, extra=["word " * 300])  # one too long to train on
    raw = fast_recipe().model_dump(mode="json")
    raw["general"] = [{"path": "chat.jsonl", "ratio": 0.25, "phases": ["skills"]}]
    recipe = tmp_path / "r.yaml"
    recipe.write_text(yaml.safe_dump(raw), encoding="utf-8")
    args = ["train", "--from", str(tiny_model_dir), "--recipe", str(recipe), "--estimate"]
    code = run([*args, "-C", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0 and "total" in out
    assert "general data chat: 5 samples" in out and "1 over max_seq_len (128) dropped" in out
    assert "0.25 per new sample drawn in skills" in out
    assert data.is_file() and not (tmp_path / "general").exists()
