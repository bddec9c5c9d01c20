"""Launching training as users do: the CLI in a subprocess, torchrun with 2 ranks, SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from seedtree.train.engine import free_port
from seedtree.train.recipe import Recipe


def rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def write_recipe(recipe: Recipe, path: Path) -> Path:
    path.write_text(yaml.safe_dump(recipe.model_dump(mode="json")), encoding="utf-8")
    return path


def train_cmd(data: Path, model: Path, out: Path, recipe: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "seedtree",
        "train",
        "--data",
        str(data),
        "--from",
        str(model),
        "--out",
        str(out),
        "--recipe",
        str(recipe),
        "--quiet",
    ]


def kill_after_steps(cmd: list[str], metrics: Path, steps: int) -> None:
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if metrics.is_file() and len(metrics.read_text().splitlines()) >= steps:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.005)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "training ended before it could be killed"


def torchrun(port: int | None = None) -> list[str]:
    port = port or free_port()
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "--master_port",
        str(port),
        "-m",
    ]


def kill_group_after_steps(cmd: list[str], metrics: Path, steps: int, env: dict[str, str]) -> None:
    """SIGKILL the launcher and its ranks (as a cancelled job is) once ``steps`` are logged."""
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, start_new_session=True
    )
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and proc.poll() is None:
        if metrics.is_file() and len(metrics.read_text().splitlines()) >= steps:
            os.killpg(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.01)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "training ended before it could be killed"
