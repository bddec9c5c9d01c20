"""``seedtree doctor``: can this machine run a retrain? One line per check, exit 2 on a failure.

The retrain workflow runs it first, and ``seedtree retrain`` runs the same checks before it
starts (``--no-preflight`` skips them). Each check says what it found and, when it fails, what to
do. Nothing here trains or generates: the slowest check is one tiny request to each teacher server.

    devices     CUDA devices, their compute capability against the recipe's precision
    recipe      the training recipe and DeepSpeed config load
    teacher     each configured server answers a one-token request for teacher.model
    student     the model training starts from is present and its config loads
    memory      the estimate of one rank's memory (seedtree.train.memory) fits the devices
    strategies  every way to train the student here (full, offload, LoRA, QLoRA), which fit, and
                the one ``strategy: auto`` would pick
    disk        $SEEDTREE_HOME has room for the models and the resumable state of one run
    store       the release store is writable (when one is configured)
    benchmarks  lm_eval imports when retrain.benchmarks lists tasks
    runner      in a GitHub Actions job: an ephemeral runner, or a loud warning
    workspace   in a GitHub Actions job: nothing in the checkout the job did not check out
"""

from __future__ import annotations

import importlib
import os
import shutil
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seedtree.config import Config, TeacherConfig
from seedtree.errors import SeedtreeError, UsageError
from seedtree.home import seedtree_home
from seedtree.models import resolve_model
from seedtree.project import Project
from seedtree.retrain.checks import Check
from seedtree.retrain.runner import check_runner, check_workspace
from seedtree.retrain.start import retrain_recipe_name, start_model_name
from seedtree.teacher.base import Message, TeacherRequest
from seedtree.teacher.openai import OpenAITeacher
from seedtree.train.devices import Machine, detect
from seedtree.train.memory import (
    GB,
    USABLE_FRACTION,
    ModelShape,
    Precision,
    advice,
    estimate_memory,
    fits,
    layout_for,
    model_shape,
)
from seedtree.train.recipe import Recipe
from seedtree.train.settings import load_settings, where
from seedtree.train.strategy import (
    describe,
    folder_shape,
    machine_devices,
    options,
    pick,
    strategies_of,
)
from seedtree.versions.store import open_store

# a teacher server that needs longer than this for one token will not serve a retrain either
TEACHER_PROBE_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class Target:
    """What a retrain would train: the recipe, its DeepSpeed config and the ranks."""

    recipe: Recipe
    ds: dict[str, Any] | None
    world: int


# --- what a retrain starts from ------------------------------------------------------------------


def launcher_ranks(launcher: Sequence[str], machine: Machine) -> int:
    """Ranks the retrain launcher starts (``torchrun --nproc_per_node N --nnodes M``); 1 without."""
    values = {"nproc": "1", "nnodes": "1"}
    flags = {"--nproc_per_node": "nproc", "--nproc-per-node": "nproc", "--num_gpus": "nproc"}
    flags |= {"--num-gpus": "nproc", "--nnodes": "nnodes", "--num_nodes": "nnodes"}
    for index, arg in enumerate(launcher):
        name, _, inline = arg.partition("=")
        if name in flags:
            following = launcher[index + 1] if index + 1 < len(launcher) else ""
            values[flags[name]] = inline or following
    nproc = values["nproc"]
    per_node = int(nproc) if nproc.isdigit() else max(1, len(machine.cuda))
    nodes = values["nnodes"].split(":")[-1]
    return per_node * (int(nodes) if nodes.isdigit() else 1)


# --- the checks ----------------------------------------------------------------------------------


def _device_list(machine: Machine) -> str:
    return ", ".join(
        f"{d.name} (sm {d.capability[0]}.{d.capability[1]}, {d.memory / GB:.0f} GB)"
        for d in machine.cuda
    )


def check_devices(recipe: Recipe | None, machine: Machine, world: int, allow_cpu: bool) -> Check:
    wants_gpu = recipe is not None and recipe.precision == "bf16"
    if not machine.cuda:
        if wants_gpu and not allow_cpu:
            return Check(
                "devices",
                "fail",
                "no CUDA device, and the recipe trains in bf16 on GPUs",
                "run on the GPU runner (nvidia-smi lists the GPUs; torch.version.cuda is set), "
                "or pass --allow-cpu to train in fp32 on the CPU on purpose",
            )
        intent = " (--allow-cpu)" if allow_cpu else ""
        return Check("devices", "ok", f"no CUDA device: training runs on the CPU in fp32{intent}")
    old = [d.name for d in machine.cuda if not d.bf16]
    if wants_gpu and old:
        return Check(
            "devices",
            "fail",
            f"precision bf16 needs compute capability 8.0 or later; {', '.join(old)} lack it",
            "run on Ampere or later GPUs (A100, H100, L40S), or set precision: fp32",
        )
    if world > len(machine.cuda):
        return Check(
            "devices",
            "fail",
            f"retrain.launcher starts {world} ranks, this machine has {len(machine.cuda)} GPU(s)",
            "match --nproc_per_node (and --nnodes) in retrain.launcher to the GPUs",
        )
    return Check("devices", "ok", f"{len(machine.cuda)} CUDA device(s): {_device_list(machine)}")


def _probe(config: TeacherConfig, url: str) -> None:
    teacher = OpenAITeacher(
        [url],
        config.model,
        api_key=os.environ.get(config.api_key_env) or None,
        timeout_s=min(config.timeout_s, TEACHER_PROBE_TIMEOUT_S),
        max_retries=0,
    )
    request = TeacherRequest((Message("user", "Reply with OK."),), temperature=0.0, max_tokens=1)
    teacher.complete([request])


def check_teacher(config: TeacherConfig) -> Check:
    if config.backend == "embedded":
        return Check("teacher", "skip", "embedded teacher: no server to ask")
    if config.backend == "vllm":
        found = importlib.util.find_spec("vllm") is not None
        fix = "pip install vllm on the GPU runner, or use the openai backend with a vLLM server"
        detail = "vllm is installed (in-process backend)" if found else "vllm is not installed"
        return Check("teacher", "ok" if found else "fail", detail, fix)
    if not config.base_urls:
        fix = "list the servers in teacher.base_urls, e.g. [http://gpu-1:8000/v1]"
        return Check("teacher", "fail", "backend openai without teacher.base_urls", fix)
    for url in config.base_urls:
        try:
            _probe(config, url)
        except SeedtreeError as exc:
            return Check("teacher", "fail", f"{url}: {exc.message}", exc.hint or "")
    urls = ", ".join(config.base_urls)
    return Check("teacher", "ok", f"{urls} answered a one-token request for {config.model}")


def check_student(name: str) -> tuple[Check, ModelShape | None]:
    """The model training starts from: its folder and config (the shape the estimates use)."""
    try:
        folder = resolve_model(name)
        shape = model_shape(folder)
    except SeedtreeError as exc:
        return Check("student", "fail", f"{name}: {exc.message}", exc.hint or ""), None
    size = f"{shape.params / 1e9:.2f}B parameters, {shape.layers} layers"
    return Check("student", "ok", f"{folder} ({size})"), shape


def check_memory(
    target: Target, shape: ModelShape, machine: Machine, precision: Precision
) -> Check:
    """Whether one rank's memory estimate fits the smallest device (the RAM without CUDA)."""
    layout = layout_for(target.recipe, target.ds, target.world, precision)
    estimate = estimate_memory(shape, layout)
    capacity = machine.capacity(target.world)
    need, usable = estimate.total / GB, USABLE_FRACTION * capacity / GB
    detail = f"{need:.1f} GB per rank of {usable:.1f} GB usable on {where(machine)}"
    if fits(estimate, capacity):
        return Check("memory", "ok", detail)
    breakdown = ", ".join(f"{name} {value / GB:.1f} GB" for name, value in estimate.parts())
    return Check("memory", "fail", f"{detail} ({breakdown})", advice(estimate))


def artifact_bytes(shape: ModelShape, target: Target, precision: Precision) -> float:
    """Disk a run fills: a model per phase and the release, plus one resumable state."""
    deepspeed_bf16 = target.ds is not None and precision == "bf16"
    saved = 2.0 if deepspeed_bf16 else 4.0  # bytes per parameter in the safetensors files
    state = 14.0 if deepspeed_bf16 else 12.0  # weights with the optimizer's master and moments
    return shape.params * ((len(target.recipe.phases) + 1) * saved + state)


def _existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_disk(need: float, home: Path) -> Check:
    free = shutil.disk_usage(_existing(home)).free
    detail = f"{free / GB:.1f} GB free under {home}, a run needs about {need / GB:.1f} GB"
    if free >= need:
        return Check("disk", "ok", detail)
    return Check("disk", "fail", detail, "free space there, or set SEEDTREE_HOME to a larger disk")


def check_store(config: Config) -> Check:
    """The artifact store answers and takes a write (a small probe object, read back)."""
    if not config.store:
        return Check("store", "skip", "not configured (versions live only in $SEEDTREE_HOME)")
    probe = f"doctor/{socket.gethostname()}.txt"
    stamp = f"seedtree doctor {time.time():.0f}".encode()
    try:
        store = open_store(config.store)
        store.write(probe, stamp)
        ok = store.read(probe) == stamp
    except SeedtreeError as exc:
        return Check("store", "fail", f"{config.store}: {exc}", "check store: and its credentials")
    if not ok:
        return Check("store", "fail", f"{config.store}: a probe written was not read back")
    return Check("store", "ok", f"{config.store} is writable")


def check_benchmarks(config: Config) -> Check:
    tasks = config.retrain.benchmarks
    if not tasks:
        return Check("benchmarks", "skip", "retrain.benchmarks is empty")
    try:
        importlib.import_module("lm_eval")
    except ImportError as exc:
        fix = "pip install lm-eval on the runner, or set retrain.benchmarks: []"
        return Check("benchmarks", "fail", f"lm_eval does not import: {exc}", fix)
    return Check("benchmarks", "ok", f"lm_eval imports; tasks: {', '.join(tasks)}")


# --- all of them ---------------------------------------------------------------------------------


def _target(project: Project, machine: Machine) -> tuple[Check, Target | None]:
    settings = project.config.train.model_copy(
        update={"recipe": retrain_recipe_name(project.config)}
    )
    try:
        recipe, ds = load_settings(project, settings)
    except UsageError as exc:
        return Check("recipe", "fail", exc.message, exc.hint or ""), None
    world = launcher_ranks(project.config.retrain.launcher, machine)
    engine = "plain engine" if ds is None else "DeepSpeed"
    detail = f"{settings.recipe}: {len(recipe.phases)} phases, {recipe.precision}, {engine}"
    return Check("recipe", "ok", f"{detail}, {world} rank(s)"), Target(recipe, ds, world)


def check_qlora(recipe: Recipe, machine: Machine) -> Check:
    """A recipe that trains QLoRA needs CUDA and bitsandbytes on the runner."""
    from seedtree.train.adapters import require_qlora_support

    if "qlora" not in strategies_of(recipe):
        return Check("qlora", "skip", "the recipe trains no QLoRA phase")
    try:
        require_qlora_support(bool(machine.cuda))
    except UsageError as exc:
        return Check("qlora", "fail", exc.message, exc.hint or "")
    return Check("qlora", "ok", "CUDA and bitsandbytes are there for the 4-bit base")


def check_strategies(target: Target, folder: Path, machine: Machine, precision: Precision) -> Check:
    """Every strategy for the student on this machine's ranks, as ``train --estimate`` prints
    them; fails only when the recipe leaves the choice to ``strategy: auto`` and none fits."""
    shape, adapter = folder_shape(folder, target.recipe.lora)
    devices = machine_devices(machine, target.world)
    layout = layout_for(target.recipe, target.ds, target.world, precision)
    found = options(shape, layout, adapter, devices)
    chosen = pick(found, target.ds is not None)
    lines = describe(found, devices, shape, target.ds is not None)
    detail = "\n".join([lines[-1], *lines[:-1]])
    if chosen is None and "auto" in strategies_of(target.recipe):
        return Check("strategies", "fail", detail, "train on more or larger devices")
    return Check("strategies", "ok", detail)


def _training_checks(
    target: Target, shape: ModelShape, folder: Path, machine: Machine
) -> list[Check]:
    precision: Precision = target.recipe.precision if machine.cuda else "fp32"
    need = artifact_bytes(shape, target, precision)
    checks = [check_memory(target, shape, machine, precision)]
    checks.append(check_strategies(target, folder, machine, precision))
    checks.append(check_disk(need, seedtree_home()))
    return [*checks, check_qlora(target.recipe, machine)]


def run_checks(
    project: Project,
    allow_cpu: bool,
    base_model: str | None = None,
    machine: Machine | None = None,
) -> list[Check]:
    """Every check, in the order a user fixes them; ``machine`` describes the devices."""
    machine = machine or detect()
    recipe_check, target = _target(project, machine)
    recipe = target.recipe if target else None
    checks = [check_devices(recipe, machine, target.world if target else 1, allow_cpu)]
    checks += [recipe_check, check_teacher(project.config.teacher)]
    name = start_model_name(project, base_model)
    student, shape = check_student(name)
    checks.append(student)
    if target is not None and shape is not None:
        checks += _training_checks(target, shape, resolve_model(name), machine)
    checks += [check_store(project.config), check_benchmarks(project.config)]
    return [*checks, check_runner(os.environ), check_workspace(project.repo_root, os.environ)]


def report_checks(checks: Sequence[Check], say: Callable[[str], None]) -> list[Check]:
    for check in checks:
        say(check.line())
    return [c for c in checks if c.status == "fail"]


def require_ready(project: Project, allow_cpu: bool, base_model: str | None) -> None:
    """The preflight of ``seedtree retrain``: raise (exit 2) when a check fails."""
    failed = report_checks(
        run_checks(project, allow_cpu, base_model), lambda text: print(f"[preflight] {text}")
    )
    if failed:
        raise UsageError(
            f"preflight failed: {', '.join(c.name for c in failed)} (see the lines above)",
            hint="fix them, or pass --no-preflight to retrain anyway",
        )
