"""Resumable training states load as tensors and plain data only: never as code."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest

from seedtree.errors import UsageError
from seedtree.train.engine import PlainEngine
from seedtree.train.recipe import Recipe


def _engine(model_dir: Path, recipe: Recipe) -> PlainEngine:
    from transformers import AutoModelForCausalLM  # heavy: only the tests that train load it

    model = AutoModelForCausalLM.from_pretrained(model_dir)
    return PlainEngine(model, recipe, recipe.phases[0])


def _step(engine: PlainEngine) -> None:
    import torch

    ids = torch.tensor([[1, 2, 3, 4, 5]])
    engine.micro_step(engine.forward(input_ids=ids, labels=ids).loss)
    engine.boundary()


def test_a_saved_state_resumes_model_optimizer_schedule_and_rng(
    tiny_model_dir: Path, fast_recipe: Callable[..., Recipe], tmp_path: Path
) -> None:
    import torch

    recipe = fast_recipe()
    trained = _engine(tiny_model_dir, recipe)
    _step(trained)
    client = {"step": 1, "rng": {"torch": torch.get_rng_state(), "python": random.getstate()}}
    trained.save_state(tmp_path / "state", client)
    resumed = _engine(tiny_model_dir, recipe)
    loaded = resumed.load_state(tmp_path / "state")
    assert loaded is not None and loaded["step"] == 1
    assert torch.equal(loaded["rng"]["torch"], client["rng"]["torch"])
    assert loaded["rng"]["python"] == client["rng"]["python"]
    assert resumed.lr() == trained.lr()
    for name, value in trained.module.state_dict().items():
        assert torch.equal(resumed.module.state_dict()[name], value), name
    _step(trained)
    _step(resumed)  # the optimizer's moments came back too: the next step is the same
    for name, value in trained.module.state_dict().items():
        assert torch.allclose(resumed.module.state_dict()[name], value), name


class _Payload:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (Path.touch, (str(_Payload.marker),))

    marker = Path()


def test_a_state_that_would_run_code_is_refused(
    tiny_model_dir: Path, fast_recipe: Callable[..., Recipe], tmp_path: Path
) -> None:
    import torch

    state = tmp_path / "state"
    state.mkdir()
    _Payload.marker = tmp_path / "code-ran"
    torch.save({"model": {}, "client": _Payload()}, state / "step1.pt")
    (state / "latest").write_text("step1\n", encoding="utf-8")
    with pytest.raises(UsageError, match=r"step1\.pt: not a training state saved by seedtree"):
        _engine(tiny_model_dir, fast_recipe()).load_state(state)
    assert not _Payload.marker.exists()
    torch.load(state / "step1.pt", weights_only=False)  # the file does carry code:
    assert _Payload.marker.exists()  # a full unpickle runs it
