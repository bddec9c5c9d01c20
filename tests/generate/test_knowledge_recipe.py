"""LAB's knowledge recipe: documents, augmentations and RAFT Q&A, built, judged, de-duplicated,
never a copy of a seed pair, with distractors from other leaves."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

from generate.conftest import KNOWLEDGE, SKILL, leaves_of
from generate.scripted import ScriptedTeacher, no, summary_text, words, yes
from seedtree.config import GenerateConfig
from seedtree.generate.dedup import rouge_l, tokens
from seedtree.generate.knowledge import NO_DISTRACTOR, RAFT_INSTRUCTION
from seedtree.generate.limits import Limits
from seedtree.generate.run import GenerationReport, estimate, generate_leaves
from seedtree.samples import parse_sample

EXOPLANETS = "knowledge/science/astronomy/exoplanet_detection"
SOURCES = {
    "document",
    "summary_detailed",
    "summary_extractive",
    "atomic_facts",
    "knowledge_qa",
    "knowledge_raft",
}


def _config(**extra: object) -> GenerateConfig:
    values: dict[str, object] = {"samples_per_leaf": 4, "chunk_tokens": 200, "raft_distractors": 2}
    return GenerateConfig(tokenizer="whitespace", **{**values, **extra})  # type: ignore[arg-type]


def _run(
    repo: Path, out: Path, teacher: ScriptedTeacher, *ids: str, **config: object
) -> GenerationReport:
    return generate_leaves(
        leaves_of(repo, *ids), teacher, repo_root=repo, config=_config(**config), out_dir=out,
        quiet=True,
    )  # fmt: skip


def _by_source(rows: list[dict[str, object]]) -> dict[str, list[dict[str, object]]]:
    out: dict[str, list[dict[str, object]]] = {}
    for row in rows:
        out.setdefault(parse_sample(row, "test").source, []).append(row)
    return out


def test_every_source_is_built_into_the_leaf_dataset(repo: Path, tmp_path: Path) -> None:
    report = _run(repo, tmp_path, ScriptedTeacher(), KNOWLEDGE, EXOPLANETS, SKILL)
    result = report.leaves[KNOWLEDGE]
    found = _by_source(result.rows)
    assert set(found) == SOURCES
    lines = result.dataset_path.read_text().splitlines()  # type: ignore[union-attr]
    assert [json.loads(line) for line in lines] == result.rows
    assert [r["metadata"]["source"] for r in result.samples] == ["knowledge_qa"] * 4
    assert len(found["document"]) == len(result.chunks)
    assert [r["text"] for r in found["document"]] == [c.text for c in result.chunks]
    for kind in ("summary_detailed", "summary_extractive", "atomic_facts"):
        assert len(found[kind]) == len(result.chunks) == result.funnel.sources[kind].samples
        assert found[kind][0]["metadata"]["prompt_version"][kind].startswith(f"{kind}@1#")
        assert found[kind][0]["metadata"]["judge_scores"]["faithfulness"] > 0.5
    facts = found["atomic_facts"][0]["text"]
    assert facts.startswith("- The ") and len(facts.splitlines()) == 4
    assert set(_by_source(report.leaves[SKILL].rows)) == {"skill_qa"}


def test_raft_samples_hold_their_chunk_among_chunks_of_other_leaves(
    repo: Path, tmp_path: Path
) -> None:
    report = _run(repo, tmp_path, ScriptedTeacher(), KNOWLEDGE, EXOPLANETS)
    result, other = report.leaves[KNOWLEDGE], report.leaves[EXOPLANETS]
    plain = {r["id"]: r for r in result.samples}
    raft = _by_source(result.rows)["knowledge_raft"]
    assert len(raft) == len(plain)
    own_texts = {c.text for c in result.chunks}
    other_texts = {c.text for c in other.chunks}
    for row in raft:
        meta = row["metadata"]
        qa = plain[meta["qa_id"]]
        user, answer = row["messages"][1]["content"], row["messages"][2]["content"]
        assert answer == qa["messages"][2]["content"]
        assert user.startswith(RAFT_INSTRUCTION)
        assert user.endswith(f"Question: {qa['messages'][1]['content']}")
        assert qa["metadata"]["chunk_text"] in user
        documents = [d.split("\n", 1)[1] for d in user.split("\n\nDocument ")[1:]]
        documents[-1] = documents[-1].rsplit("\n\nQuestion: ", 1)[0]
        assert len(documents) == 3 and len(meta["documents"]) == 3
        assert sum(d in own_texts for d in documents) == 1
        assert sum(d in other_texts for d in documents) == 2
    positions = {r["metadata"]["documents"].index(r["metadata"]["chunk_id"]) for r in raft}
    assert len(positions) > 1  # the own chunk is not always in the same place


def test_a_leaf_generated_alone_takes_distractors_from_other_leaves_seed_contexts(
    repo: Path, tmp_path: Path
) -> None:
    report = _run(repo, tmp_path, ScriptedTeacher(), KNOWLEDGE)
    (exo,) = leaves_of(repo, EXOPLANETS)
    contexts = {s.context for s in exo.knowledge_seeds}
    raft = _by_source(report.leaves[KNOWLEDGE].rows)["knowledge_raft"]
    assert raft and all(sum(c in r["messages"][1]["content"] for c in contexts) == 2 for r in raft)
    assert all(d.startswith(f"{EXOPLANETS}:seed:") for r in raft for d in r["metadata"]["documents"]
               if not d.startswith("taxonomy/"))  # fmt: skip


def test_without_another_knowledge_leaf_the_qa_stay_plain_and_the_funnel_says_why(
    repo: Path, tmp_path: Path
) -> None:
    shutil.rmtree(repo / "taxonomy" / EXOPLANETS)
    report = _run(repo, tmp_path, ScriptedTeacher(), KNOWLEDGE)
    result = report.leaves[KNOWLEDGE]
    assert "knowledge_raft" not in _by_source(result.rows)
    raft = result.funnel.sources["knowledge_raft"]
    assert (raft.made, raft.samples, raft.rejections) == (4, 0, {NO_DISTRACTOR: 4})


def _marked(prompt: str, rng: random.Random) -> str:
    if "drais" in prompt.lower():
        return f"The document claims unfaithful {words(rng, 20)}."
    return summary_text(prompt, rng)


def _faithful(prompt: str, labels: tuple[str, ...]) -> dict[str, float]:
    return no(prompt, labels) if "unfaithful" in prompt else yes(prompt, labels)


def test_augmentations_are_judged_for_faithfulness_to_their_chunk(
    repo: Path, tmp_path: Path
) -> None:
    teacher = ScriptedTeacher(
        writers={"summary_detailed": _marked}, scorers={"judge_faithfulness": _faithful}
    )
    result = _run(repo, tmp_path, teacher, KNOWLEDGE).leaves[KNOWLEDGE]
    judged = [c for c in result.chunks if "drais" in c.text.lower()]
    assert judged  # the bicycle document names Drais in some chunks, not in all
    counts = result.funnel.sources["summary_detailed"]
    assert counts.rejections == {"judge faithfulness": len(judged)}
    assert counts.passed_faithfulness == counts.samples == len(result.chunks) - len(judged)
    kept = _by_source(result.rows)["summary_detailed"]
    assert all("unfaithful" not in r["text"] for r in kept) and len(kept) == counts.samples
    assert result.funnel.passed_faithfulness == result.funnel.parsed  # the Q&A's own count


def test_augmentations_are_deduplicated_and_never_copy_a_seed_pair(
    repo: Path, tmp_path: Path
) -> None:
    (leaf,) = leaves_of(repo, KNOWLEDGE)
    seed = leaf.seed_questions[0]
    teacher = ScriptedTeacher(
        writers={
            "summary_extractive": lambda p, r: f"{seed.question}\n{seed.answer}",
            "summary_detailed": lambda p, r: "The bicycle " + "history of the bicycle " * 5,
            "atomic_facts": lambda p, r: "Sorry.",
        }
    )
    result = _run(repo, tmp_path, teacher, KNOWLEDGE).leaves[KNOWLEDGE]
    n = len(result.chunks)
    f = result.funnel.sources
    assert (f["summary_extractive"].samples, f["summary_extractive"].rejections) == (
        0, {"seed copy": n},
    )  # fmt: skip
    assert (f["summary_detailed"].samples, f["summary_detailed"].rejections) == (
        1, {"duplicate": n - 1},
    )  # fmt: skip
    assert f["atomic_facts"].parse_failures == n and f["atomic_facts"].samples == 0


def _text(row: dict[str, object]) -> str:
    sample = parse_sample(row, "test")
    return f"{sample.user}\n{sample.assistant}"


def test_no_sample_of_a_full_run_copies_a_seed_pair(repo: Path, tmp_path: Path) -> None:
    report = _run(repo, tmp_path, ScriptedTeacher(), KNOWLEDGE, EXOPLANETS)
    for leaf_id, result in report.leaves.items():
        (leaf,) = leaves_of(repo, leaf_id)
        pairs = [tokens(f"{qa.question}\n{qa.answer}") for qa in leaf.seed_questions]
        seeds = {(qa.question.strip(), qa.answer.strip()) for qa in leaf.seed_questions}
        for row in result.rows:
            sample = parse_sample(row, "test")
            assert (sample.user.strip(), sample.assistant.strip()) not in seeds
            assert max(rouge_l(tokens(_text(row)), p) for p in pairs) < 0.7


def test_a_document_chunk_that_copies_a_seed_pair_is_left_out(repo: Path, tmp_path: Path) -> None:
    def documents(out: str) -> tuple[int, int, int]:
        result = _run(repo, tmp_path / out, ScriptedTeacher(), KNOWLEDGE, chunk_tokens=40,
                      chunk_overlap=0).leaves[KNOWLEDGE]  # fmt: skip
        docs = result.funnel.sources["document"]
        assert docs.samples == len(_by_source(result.rows)["document"])
        return len(result.chunks), docs.samples, docs.rejections.get("seed copy", 0)

    chunks, kept, copies = documents("a")
    (leaf,) = leaves_of(repo, KNOWLEDGE)
    seed = leaf.seed_questions[0]
    doc = repo / "taxonomy" / KNOWLEDGE / "bicycle_history.md"
    doc.write_text(f"{doc.read_text()}\n\n# Quiz\n\n{seed.question}\n{seed.answer}\n")
    assert documents("b") == (chunks + 1, kept, copies + 1)


def test_a_preview_builds_none_of_the_recipe_sources(repo: Path, tmp_path: Path) -> None:
    teacher = ScriptedTeacher()
    report = generate_leaves(
        leaves_of(repo, KNOWLEDGE), teacher, repo_root=repo, config=_config(), out_dir=tmp_path,
        quiet=True, limits=Limits(candidates=2),
    )  # fmt: skip
    result = report.leaves[KNOWLEDGE]
    assert result.knowledge == [] and result.funnel.sources == {}
    assert not {"summary_detailed", "summary_extractive", "atomic_facts"} & set(teacher.calls)


def test_sources_can_be_switched_off_and_the_estimate_counts_them(repo: Path) -> None:
    leaves = leaves_of(repo, KNOWLEDGE)
    full = estimate(leaves, _config(), repo_root=repo)[KNOWLEDGE]
    none = estimate(leaves, _config(knowledge_sources=()), repo_root=repo)[KNOWLEDGE]
    few = estimate(leaves, _config(augmented_chunks=2), repo_root=repo)[KNOWLEDGE]
    assert none.augment_calls == 0 and none.extra_samples == 0
    assert full.augment_calls == 2 * 3 * full.chunks  # a request and a judge per chunk and kind
    assert full.calls_min - none.calls_min == full.augment_calls
    assert full.extra_samples == full.chunks + 3 * full.chunks + 4
    assert few.augment_calls == 2 * 3 * 2


def test_switched_off_sources_are_not_asked(repo: Path, tmp_path: Path) -> None:
    teacher = ScriptedTeacher()
    sources = ("document", "atomic_facts")
    result = _run(repo, tmp_path, teacher, KNOWLEDGE, knowledge_sources=sources).leaves[KNOWLEDGE]
    assert set(_by_source(result.rows)) == {"document", "atomic_facts", "knowledge_qa"}
    assert "summary_detailed" not in teacher.calls and teacher.calls["atomic_facts"] > 0


def test_augmentation_requests_do_not_depend_on_the_qa_rounds(repo: Path, tmp_path: Path) -> None:
    _run(repo, tmp_path / "a", ScriptedTeacher(), KNOWLEDGE, samples_per_leaf=2)
    teacher = ScriptedTeacher()
    _run(repo, tmp_path / "b", teacher, KNOWLEDGE, samples_per_leaf=9)
    assert teacher.calls["knowledge_qa"] > 0  # more Q&A rounds than before...
    assert not {"summary_detailed", "summary_extractive", "atomic_facts"} & set(teacher.calls)
