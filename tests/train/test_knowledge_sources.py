"""Knowledge-recipe samples in training: masking on real tokenized rows, the held-out split,
selection by source with ratios, and replay by source."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from generate.conftest import KNOWLEDGE, leaves_of
from generate.scripted import ScriptedTeacher
from seedtree.config import GenerateConfig
from seedtree.errors import ConfigError
from seedtree.generate.run import generate_leaves
from seedtree.samples import Sample
from seedtree.train.data import load_samples, split_heldout
from seedtree.train.loop import load_tokenizer
from seedtree.train.recipe import HeldOut, Phase, ReplaySource, Selector, recipe_from_dict
from seedtree.train.render import IGNORE, Renderer
from seedtree.train.replay import draw_replay

EXOPLANETS = "knowledge/science/astronomy/exoplanet_detection"
PRETRAIN = {"document", "summary_detailed", "summary_extractive", "atomic_facts"}


@pytest.fixture
def knowledge_samples(make_repo: Callable[..., Path], tmp_path: Path) -> list[Sample]:
    """The bicycle leaf's dataset as generated (scripted teacher), every source in it."""
    repo = make_repo("taxo")
    config = GenerateConfig(tokenizer="whitespace", samples_per_leaf=6, chunk_tokens=120)
    leaves = leaves_of(repo, KNOWLEDGE, EXOPLANETS)
    report = generate_leaves(
        leaves, ScriptedTeacher(), repo_root=repo, config=config, out_dir=tmp_path / "d", quiet=True
    )
    path = report.leaves[KNOWLEDGE].dataset_path
    assert path is not None
    return load_samples(path)[KNOWLEDGE]


def _trained(renderer: Renderer, sample: Sample) -> tuple[list[int], list[int]]:
    enc = renderer.encode(sample)
    return list(enc.input_ids), [t for t in enc.targets if t != IGNORE]


@pytest.mark.parametrize("template", ["chat", "lab"])
def test_pretraining_samples_train_on_every_token_chat_samples_on_the_answer(
    tiny_model_dir: Path, knowledge_samples: list[Sample], template: str
) -> None:
    tok = load_tokenizer(tiny_model_dir, template)  # the real SmolLM2 tokenizer
    renderer = Renderer(tok, template, "Recipe system.", 4096)  # type: ignore[arg-type]
    sep = tok.convert_tokens_to_ids("<|endoftext|>")
    seen = Counter(s.source for s in knowledge_samples)
    assert set(seen) == PRETRAIN | {"knowledge_qa", "knowledge_raft"}
    for sample in knowledge_samples:
        ids, trained = _trained(renderer, sample)
        text_ids = tok(sample.assistant, add_special_tokens=False)["input_ids"]
        if sample.source in PRETRAIN:
            assert sample.pretrain
            assert ids == [sep, *text_ids, sep]  # no template, no system prompt
            assert trained == [*text_ids, sep]  # every token of the text, and its end
        else:
            assert not sample.pretrain
            decoded = tok.decode(trained)
            assert decoded.startswith(sample.assistant) and sample.user not in decoded
            assert "Recipe system." in tok.decode(ids)
            if sample.source == "knowledge_raft":
                assert "Document 1:" in tok.decode(ids) and "Document" not in decoded


def test_only_plain_qa_are_held_out_and_their_raft_twins_stay_out(
    knowledge_samples: list[Sample], tmp_path: Path
) -> None:
    rule = HeldOut(fraction=0.3, min_per_leaf=2)
    train, heldout = split_heldout({KNOWLEDGE: knowledge_samples}, rule, tmp_path)
    held = heldout[KNOWLEDGE]
    assert len(held) >= 2 and {s.source for s in held} == {"knowledge_qa"}
    held_ids = {s.id for s in held}
    trained = train[KNOWLEDGE]
    twins = [s for s in knowledge_samples if s.record["metadata"].get("qa_id") in held_ids]
    assert len(twins) == len(held)
    assert not {s.id for s in twins} & {s.id for s in trained}
    assert len(trained) == len(knowledge_samples) - 2 * len(held)
    assert {s.source for s in trained} >= PRETRAIN


def _phase(**fields: object) -> Phase:
    base: dict[str, object] = {"name": "p", "lr": 1e-4, "effective_batch": 2}
    return Phase.model_validate({**base, **fields})


def test_a_phase_selects_sources_and_weighs_them_by_ratio(knowledge_samples: list[Sample]) -> None:
    phase = _phase(
        select={"kinds": ["knowledge"], "sources": ["knowledge_qa"]},
        also=[{"sources": ["document", "atomic_facts"]}],
        ratios={"document": 2.0, "atomic_facts": 0.5},
    )
    taken = phase.weighted([s for s in knowledge_samples if phase.takes(s)])
    have = Counter(s.source for s in knowledge_samples)
    got = Counter(s.source for s in taken)
    assert set(got) == {"knowledge_qa", "document", "atomic_facts"}
    assert got["knowledge_qa"] == have["knowledge_qa"] and got["document"] == 2 * have["document"]
    assert 0 < got["atomic_facts"] < have["atomic_facts"]
    assert taken == phase.weighted([s for s in knowledge_samples if phase.takes(s)])


def test_replay_selects_by_source(knowledge_samples: list[Sample]) -> None:
    source = ReplaySource(select=Selector(sources=("knowledge_raft",)), ratio=1.0)
    drawn = draw_replay({KNOWLEDGE: knowledge_samples}, [source], 3, set(), "seed")
    assert len(drawn) == 3 and {s.source for s in drawn} == {"knowledge_raft"}


def test_a_recipe_refuses_an_unknown_source_or_a_negative_ratio() -> None:
    phase = {"name": "p", "lr": 1e-4, "effective_batch": 2}
    for bad in (
        {"select": {"sources": ["chunks"]}},
        {"select": {}, "ratios": {"document": -1.0}},
        {"select": {}, "ratios": {"documents": 1.0}},
    ):
        with pytest.raises(ConfigError, match="invalid training recipe"):
            recipe_from_dict({"phases": [{**phase, **bad}]})


@pytest.mark.parametrize("recipe", ["training/recipe.yaml", "training/recipe.cpu.yaml",
                                    "demo/recipe.demo.yaml"])  # fmt: skip
def test_shipped_recipes_train_knowledge_sources_in_the_lab_order(recipe: str) -> None:
    from seedtree.train.recipe import load_recipe

    root = Path(__file__).resolve().parents[2]
    phases = load_recipe(root / recipe).phases
    first, second = phases[0], phases[1]

    def sources(phase: Phase) -> set[str]:
        return {s for sel in (phase.select, *phase.also) for s in sel.sources}

    assert PRETRAIN | {"knowledge_qa"} <= sources(first)
    assert "knowledge_raft" in sources(second) and "knowledge_raft" not in sources(first)
