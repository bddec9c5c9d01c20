"""The sample record has one owner: identical content gets one id wherever it is built."""

from __future__ import annotations

from helpers import SAMPLE_TAXONOMY
from seedtree.config import GenerateConfig
from seedtree.generate.pipelines import Candidate, LeafRun
from seedtree.generate.prompts import Prompts
from seedtree.generate.samples import Provenance, record
from seedtree.samples import parse_sample, sample_id, sample_record
from seedtree.taxonomy.leaves import load_taxonomy
from seedtree.train.seeddata import leaf_records


def test_generated_and_seed_records_share_ids_for_identical_content() -> None:
    leaf = next(x for x in load_taxonomy(SAMPLE_TAXONOMY) if x.kind != "knowledge")
    seeds = leaf_records(leaf, SAMPLE_TAXONOMY.parent)
    first = parse_sample(seeds[0], "seed")
    run = LeafRun(leaf, "abc", GenerateConfig(), Prompts(), wanted=1)
    cand = Candidate(question=first.user, seed_ids=("s1",), answer=first.assistant)
    generated = record(run, cand, Provenance("teacher", None, GenerateConfig()))
    assert generated["id"] == seeds[0]["id"] == sample_id(leaf.id, first.user, first.assistant)
    other = Candidate(question=first.user, seed_ids=("s1",), answer=first.assistant + " More.")
    assert record(run, other, Provenance("t", None, GenerateConfig()))["id"] != generated["id"]


def test_a_record_survives_reading_and_writing_back() -> None:
    leaf = next(iter(load_taxonomy(SAMPLE_TAXONOMY)))
    row = leaf_records(leaf, SAMPLE_TAXONOMY.parent)[0]
    sample = parse_sample(row, "seed")
    again = parse_sample(sample_record(sample), "again")
    assert again == sample
    assert again.id.startswith(f"{leaf.id}:")
