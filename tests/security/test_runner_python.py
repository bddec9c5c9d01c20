"""The retrain workflow, parsed as GitHub reads it, and its Python run for real.

A job that ran before on the runner (a fork's pull request that targeted its public labels) can
leave a ``.pth`` file in the runner user's site-packages: Python runs its ``import`` lines at every
start. The retrain job's venv and environment must never read it, and install only hashed locks.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from helpers import PROJECT_ROOT
from seedtree.adopt.render import pinned_setup, workflow

COMMITTED = PROJECT_ROOT / ".github" / "workflows" / "retrain.yml"
PYTHON3 = shutil.which("python3")


def _job(text: str) -> dict[str, Any]:
    (job,) = yaml.safe_load(text)["jobs"].values()
    return dict(job)


def _install_script() -> str:
    job = _job(COMMITTED.read_text())
    return str(next(s["run"] for s in job["steps"] if str(s.get("name", "")).startswith("Install")))


RENDERED = {
    "committed": COMMITTED.read_text(),
    "adopted": workflow("retrain", pinned_setup(".", "https://example.org/seedtree", "0" * 40)),
}


@pytest.mark.parametrize("name", sorted(RENDERED))
def test_the_retrain_job_reads_no_user_site_and_installs_hashed_locks(name: str) -> None:
    text = RENDERED[name]
    job = _job(text)
    assert "self-hosted" in job["runs-on"]
    assert job["env"]["PYTHONNOUSERSITE"] == "1" and job["env"]["PIP_CONFIG_FILE"] == "/dev/null"
    assert "system-site-packages" not in text
    install = next(s["run"] for s in job["steps"] if str(s.get("name", "")).startswith("Install"))
    assert 'python3 -I -m venv --clear "$RUNNER_TEMP/venv"' in install
    for line in install.splitlines():
        if '"${pip[@]}"' in line:
            assert "--require-hashes" in line or "--no-deps" in line, line
    assert '"$RUNNER_TEMP/venv/bin/python" -I -m pip' in install
    push = next(s for s in job["steps"] if s.get("name") == "Push model tags")
    assert push["env"]["GIT_CONFIG_GLOBAL"] == "/dev/null"
    assert "GIT_CONFIG_KEY_1=core.hooksPath GIT_CONFIG_VALUE_1=/dev/null" in push["run"]
    runs = [str(s.get("run", "")) for s in job["steps"]]
    assert not any(".venv/" in run for run in runs)  # nothing runs from the reused workspace


def test_the_committed_workflow_is_the_template_rendered() -> None:
    from seedtree.adopt.render import self_setup

    assert workflow("retrain", self_setup()) == COMMITTED.read_text()


def _plant_pth(home: Path, marker: Path) -> dict[str, str]:
    """A .pth file in the user site-packages of ``home``; the environment that finds it."""
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "PYTHONUSERBASE": str(home / ".local")}
    assert PYTHON3 is not None
    site = subprocess.run(
        [PYTHON3, "-c", "import site; print(site.getusersitepackages())"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(site).mkdir(parents=True)
    code = f"import pathlib; pathlib.Path({str(marker)!r}).write_text('ran')\n"
    (Path(site) / "zz-planted.pth").write_text(code, encoding="utf-8")
    return env


@pytest.mark.skipif(PYTHON3 is None, reason="needs python3 on PATH, as the runner has")
def test_a_planted_pth_file_runs_in_no_python_of_the_retrain_job(tmp_path: Path) -> None:
    marker = tmp_path / "pth-ran"
    env = _plant_pth(tmp_path / "home", marker)
    assert PYTHON3 is not None
    subprocess.run([PYTHON3, "-c", "pass"], env=env, check=True)  # the attack works on python3
    assert marker.exists()
    marker.unlink()
    # the job: its environment, and the venv made by the workflow's own line
    job_env = {**env, **_job(COMMITTED.read_text())["env"], "RUNNER_TEMP": str(tmp_path)}
    make_venv = _install_script().splitlines()[0]
    subprocess.run(["bash", "-e", "-c", make_venv], env=job_env, check=True, timeout=300)
    venv_python = tmp_path / "venv" / "bin" / "python"
    for flags in ([], ["-I"]):  # a console script (`seedtree ...`), and `python -I -m pip`
        subprocess.run([str(venv_python), *flags, "-c", "pass"], env=job_env, check=True)
    assert not marker.exists()
    # the venv alone keeps it out, even where PYTHONNOUSERSITE is lost (a step's own env)
    subprocess.run([str(venv_python), "-c", "pass"], env=env, check=True)
    assert not marker.exists()


@pytest.mark.skipif(PYTHON3 is None, reason="needs python3 on PATH, as the runner has")
def test_the_former_venv_would_have_run_it(tmp_path: Path) -> None:
    """Why: a venv made with --system-site-packages reads the user's site-packages."""
    marker = tmp_path / "pth-ran"
    env = _plant_pth(tmp_path / "home", marker)
    assert PYTHON3 is not None
    old = tmp_path / "old-venv"
    subprocess.run([PYTHON3, "-m", "venv", "--without-pip", "--system-site-packages", str(old)])
    subprocess.run([str(old / "bin" / "python"), "-c", "pass"], env=env, check=True)
    assert marker.exists()
