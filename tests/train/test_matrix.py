"""The forgetting matrix: earlier leaves count, backward transfer and forgetting from it."""

from __future__ import annotations

import pytest

from seedtree.train.evaluate import BASE, EvalMatrix


def _matrix() -> EvalMatrix:
    # "old" was learnt in an earlier version; "new" in phase k; the skills phase comes last
    loss = {
        BASE: {"old": 1.0, "new": 3.0},
        "k": {"old": 1.1, "new": 2.0},
        "skills": {"old": 1.3, "new": 2.2},
    }
    return EvalMatrix(
        phases=(BASE, "k", "skills"),
        heldout_loss=loss,
        seed_loglik={},
        trained_in={"old": BASE, "new": "k"},
    )


def test_backward_transfer_includes_leaves_of_earlier_versions() -> None:
    # mean of R[p][leaf] - R[final][leaf]: old (1.0 - 1.3) and new (2.0 - 2.2)
    assert _matrix().backward_transfer() == pytest.approx((-0.3 - 0.2) / 2)


def test_forgetting_is_the_rise_from_the_best_loss_since_training() -> None:
    assert _matrix().forgetting() == pytest.approx({"old": 0.3, "new": 0.2})


def test_learning_only_for_leaves_trained_in_this_run() -> None:
    assert _matrix().learning() == pytest.approx({"new": 1.0})


def test_the_json_lists_every_leaf() -> None:
    assert _matrix().to_json()["leaves"] == ["new", "old"]
