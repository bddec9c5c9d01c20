"""``seedtree doctor`` and the retrain preflight: each check, with the device facts injected."""

from __future__ import annotations

import socket
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from retrain.support import RECIPE, commit, write_settings
from seedtree.cli import run
from seedtree.config import Config, RetrainConfig, TeacherConfig
from seedtree.errors import UsageError
from seedtree.project import open_project
from seedtree.retrain.doctor import (
    Target,
    check_benchmarks,
    check_devices,
    check_disk,
    check_memory,
    check_store,
    check_student,
    check_teacher,
    launcher_ranks,
    run_checks,
)
from seedtree.retrain.run import retrain
from seedtree.retrain.state import Options
from seedtree.train.devices import Device, Machine
from seedtree.train.memory import ModelShape
from seedtree.train.recipe import recipe_from_dict
from teacher.servers import ScriptedServer

H100 = Device("NVIDIA H100 80GB HBM3", (9, 0), 80 * 2**30)
V100 = Device("Tesla V100-SXM2-32GB", (7, 0), 32 * 2**30)
CPU_ONLY = Machine((), 64 * 2**30)
EIGHT_H100 = Machine((H100,) * 8, 2**40)
SHAPE_7B = ModelShape(params=6_738_415_616, layers=32, hidden=4096, vocab=32_000)
BF16 = recipe_from_dict({**RECIPE, "precision": "bf16"})
FP32 = recipe_from_dict(RECIPE)


# --- devices -------------------------------------------------------------------------------------


def test_a_bf16_recipe_without_a_gpu_fails_naming_the_missing_gpu() -> None:
    check = check_devices(BF16, CPU_ONLY, 1, allow_cpu=False)
    assert check.status == "fail"
    assert "no CUDA device" in check.detail and "--allow-cpu" in check.fix


def test_allow_cpu_says_training_on_the_cpu_is_intended() -> None:
    check = check_devices(BF16, CPU_ONLY, 1, allow_cpu=True)
    assert check.status == "ok" and "CPU in fp32 (--allow-cpu)" in check.detail


def test_an_fp32_recipe_does_not_ask_for_gpus() -> None:
    assert check_devices(FP32, CPU_ONLY, 1, allow_cpu=False).status == "ok"


def test_bf16_needs_compute_capability_8() -> None:
    check = check_devices(BF16, Machine((V100, V100), 2**40), 2, allow_cpu=False)
    assert check.status == "fail" and "Tesla V100" in check.detail
    assert check_devices(FP32, Machine((V100,), 2**40), 1, allow_cpu=False).status == "ok"


def test_gpus_are_listed_and_counted_against_the_launcher() -> None:
    check = check_devices(BF16, EIGHT_H100, 8, allow_cpu=False)
    assert check.status == "ok" and check.detail.startswith("8 CUDA device(s): NVIDIA H100")
    assert "sm 9.0, 86 GB" in check.detail
    short = check_devices(BF16, EIGHT_H100, 16, allow_cpu=False)
    assert short.status == "fail" and "16 ranks" in short.detail


@pytest.mark.parametrize(
    ("launcher", "ranks"),
    [
        ((), 1),
        (("torchrun", "--nproc_per_node", "4"), 4),
        (("torchrun", "--nproc-per-node=8", "--nnodes", "2"), 16),
        (("torchrun", "--nproc_per_node", "gpu"), 8),
        (("deepspeed", "--num_gpus", "2"), 2),
    ],
)
def test_launcher_ranks(launcher: tuple[str, ...], ranks: int) -> None:
    assert launcher_ranks(launcher, EIGHT_H100) == ranks


# --- teacher -------------------------------------------------------------------------------------


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    scripted = ScriptedServer()
    yield scripted
    scripted.close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_teacher_servers_each_answer_a_one_token_request(server: ScriptedServer) -> None:
    urls = (server.url("ok"), server.url("ok"))
    check = check_teacher(TeacherConfig(backend="openai", model="mixtral", base_urls=urls))
    assert check.status == "ok" and "mixtral" in check.detail
    bodies = [body for _at, body, _auth in server.hits["ok"]]
    assert len(bodies) == 2
    assert all(b["model"] == "mixtral" and b["max_tokens"] == 1 for b in bodies)


def test_a_teacher_that_refuses_or_is_down_fails_with_the_url(server: ScriptedServer) -> None:
    refused = TeacherConfig(backend="openai", base_urls=(server.url("ok"), server.url("refuse")))
    check = check_teacher(refused)
    assert check.status == "fail" and server.url("refuse") in check.detail
    assert "HTTP 400" in check.detail
    down = f"http://127.0.0.1:{_closed_port()}/v1"
    check = check_teacher(TeacherConfig(backend="openai", base_urls=(down,), timeout_s=5))
    assert check.status == "fail" and down in check.detail and "connection failed" in check.detail


def test_teacher_without_servers() -> None:
    assert check_teacher(TeacherConfig()).status == "skip"
    check = check_teacher(TeacherConfig(backend="openai"))
    assert check.status == "fail" and "base_urls" in check.detail


# --- student, memory, disk, store, benchmarks ----------------------------------------------------


def test_student_present_or_missing(tiny_model_dir: Path, tmp_path: Path) -> None:
    check, shape = check_student(str(tiny_model_dir))
    assert check.status == "ok" and shape is not None and shape.layers == 2
    missing, none = check_student(str(tmp_path / "no-model"))
    assert missing.status == "fail" and none is None and "config.json" in missing.detail


def _target(checkpointing: bool, world: int = 8) -> Target:
    raw = {**RECIPE, "precision": "bf16", "token_budget": 16384, "max_seq_len": 4096}
    recipe = recipe_from_dict({**raw, "gradient_checkpointing": checkpointing})
    return Target(recipe, {"zero_optimization": {"stage": 3}}, world)


def test_memory_of_a_7b_student_on_eight_h100() -> None:
    ok = check_memory(_target(True), SHAPE_7B, EIGHT_H100, "bf16")
    assert ok.status == "ok" and ok.detail.startswith("27.4 GB per rank of 77.3 GB usable")
    too_big = check_memory(_target(False), SHAPE_7B, EIGHT_H100, "bf16")
    assert too_big.status == "fail" and "activations 73.0 GB" in too_big.detail
    assert "gradient_checkpointing: true" in too_big.fix


def test_disk_room_for_the_artifacts(tmp_path: Path) -> None:
    assert check_disk(1e6, tmp_path / "not-yet" / "home").status == "ok"
    full = check_disk(1e18, tmp_path)
    assert full.status == "fail" and "SEEDTREE_HOME" in full.fix


def test_store_folder_is_probed_with_a_write(tmp_path: Path) -> None:
    check = check_store(Config(store=str(tmp_path / "store")))
    assert check.status == "ok" and "writable" in check.detail
    assert list((tmp_path / "store").rglob("*.txt")), "the probe was written"


def test_store_that_cannot_be_written_fails(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    check = check_store(Config(store=str(blocker / "store")))
    assert check.status == "fail" and check.fix


def test_store_not_configured() -> None:
    check = check_store(Config())
    assert check.status == "skip" and check.detail.startswith("not configured")


def test_benchmarks_need_lm_eval(monkeypatch: pytest.MonkeyPatch) -> None:
    assert check_benchmarks(Config(retrain=RetrainConfig(benchmarks=()))).status == "skip"
    assert check_benchmarks(Config()).status == "ok"
    monkeypatch.setitem(sys.modules, "lm_eval", None)  # as if it were not installed
    check = check_benchmarks(Config())
    assert check.status == "fail" and "retrain.benchmarks: []" in check.fix


# --- the command and the retrain preflight -------------------------------------------------------


def _repo(make_repo: Callable[..., Path], model: Path, **recipe: Any) -> Path:
    repo = make_repo()
    write_settings(repo, model)
    (repo / "recipe.yaml").write_text(yaml.safe_dump({**RECIPE, **recipe}), encoding="utf-8")
    commit(repo, "settings")
    return repo


@pytest.fixture
def cpu_only() -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("describes a machine without CUDA")


@pytest.mark.usefixtures("cpu_only")
def test_doctor_names_the_missing_gpu_and_exits_2(
    make_repo: Callable[..., Path],
    tiny_model_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo = _repo(make_repo, tiny_model_dir, precision="bf16")
    assert run(["doctor", "-C", str(repo)]) == 2
    out = capsys.readouterr().out
    assert "FAIL devices    no CUDA device" in out
    assert "1 check(s) failed: devices" in out
    for name in ("recipe", "teacher", "student", "memory", "disk", "store", "benchmarks"):
        assert f" {name}" in out
    assert run(["doctor", "--allow-cpu", "-C", str(repo)]) == 0
    assert "ready to retrain" in capsys.readouterr().out


def test_doctor_reports_a_broken_recipe_as_a_check(
    make_repo: Callable[..., Path], tiny_model_dir: Path
) -> None:
    repo = _repo(make_repo, tiny_model_dir, token_budget="lots")
    checks = {c.name: c for c in run_checks(open_project(repo), allow_cpu=True, machine=CPU_ONLY)}
    assert checks["recipe"].status == "fail" and "token_budget" in checks["recipe"].detail
    assert "memory" not in checks and checks["student"].status == "ok"


def test_doctor_with_a_machine_described(
    make_repo: Callable[..., Path], tiny_model_dir: Path
) -> None:
    repo = _repo(make_repo, tiny_model_dir, precision="bf16")
    checks = run_checks(open_project(repo), allow_cpu=False, machine=EIGHT_H100)
    assert [c.status for c in checks if c.status == "fail"] == []
    memory = next(c for c in checks if c.name == "memory")
    assert "on one NVIDIA H100 80GB HBM3 (86 GB)" in memory.detail


@pytest.mark.usefixtures("cpu_only")
def test_retrain_runs_the_preflight_first_and_no_preflight_skips_it(
    make_repo: Callable[..., Path],
    tiny_model_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo = _repo(make_repo, tiny_model_dir, precision="bf16")
    (repo / "taxonomy" / "stray.txt").write_text("uncommitted\n")
    with pytest.raises(UsageError, match="preflight failed: devices"):
        retrain(open_project(repo), Options(quiet=True))
    assert "[preflight] FAIL devices" in capsys.readouterr().out
    # without the preflight the run goes on, to the next thing that stops it
    with pytest.raises(UsageError, match="uncommitted changes"):
        retrain(open_project(repo), Options(quiet=True, preflight=False))
    assert run(["retrain", "--no-wait", "-C", str(repo)]) == 2
    with pytest.raises(UsageError, match="uncommitted changes"):
        retrain(open_project(repo), Options(quiet=True, allow_cpu=True))


def test_doctor_lists_every_strategy_and_the_one_auto_picks(
    make_repo: Callable[..., Path], tiny_model_dir: Path
) -> None:
    repo = _repo(make_repo, tiny_model_dir, strategy="auto")
    checks = {c.name: c for c in run_checks(open_project(repo), allow_cpu=True, machine=CPU_ONLY)}
    strategies = checks["strategies"]
    assert strategies.status == "ok"
    lines = strategies.detail.splitlines()
    assert lines[0] == "picks: full"
    rows = {line.split()[0]: line for line in lines[3:]}
    assert set(rows) == {"full", "full+offload", "lora", "qlora"}
    assert rows["qlora"].endswith("no  CUDA (not on this machine)")
    # a machine too small for any strategy: auto has nothing to pick, and doctor says so
    tiny = Machine((), 2**20)
    checks = {c.name: c for c in run_checks(open_project(repo), allow_cpu=True, machine=tiny)}
    assert checks["strategies"].status == "fail"
    assert checks["strategies"].detail.startswith("picks: none fits")
