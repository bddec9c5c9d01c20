"""The release gate's decision from held-out losses before and after training."""

from __future__ import annotations

import pytest

from seedtree.config import RetrainConfig
from seedtree.retrain.gate import decide

SETTINGS = RetrainConfig(min_learning=0.05, max_forgetting=0.10)


def test_learning_and_no_forgetting_pass() -> None:
    decision = decide({"new": 2.0, "old": 1.0}, {"new": 1.5, "old": 1.05}, ["new"], SETTINGS)
    assert decision.passed and decision.reasons == ()
    assert decision.learned == {"new": 0.25}
    assert decision.forgotten == {"old": pytest.approx(0.05)}


def test_too_little_learning_is_refused_with_the_figures() -> None:
    decision = decide({"new": 2.0}, {"new": 1.98}, ["new"], SETTINGS)
    assert not decision.passed
    assert "did not learn" in decision.reasons[0] and "1.00%" in decision.reasons[0]


def test_forgetting_an_earlier_leaf_is_refused_naming_it() -> None:
    decision = decide({"new": 2.0, "old": 1.0}, {"new": 1.0, "old": 1.2}, ["new"], SETTINGS)
    assert not decision.passed
    assert decision.reasons == (
        "forgot old: held-out loss rose by 20.00% (allowed: 10.00%; 1.0000 -> 1.2000)",
    )


def test_unmeasurable_learning_is_refused() -> None:
    decision = decide({"old": 1.0}, {"old": 1.0}, ["new"], SETTINGS)
    assert not decision.passed and "no held-out samples" in decision.reasons[0]


def test_a_version_that_trained_nothing_only_checks_forgetting() -> None:
    assert decide({"old": 1.0}, {"old": 1.0}, [], SETTINGS).passed
