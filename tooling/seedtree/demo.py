"""``python -m seedtree.demo`` (``make demo``): the whole story, offline, on the embedded models.

In a temporary clone of this repository, with its own ``$SEEDTREE_HOME`` (unless one is set)
and the demo-sized settings of ``demo/seedtree.demo.yaml``:

1. a branch adds a knowledge leaf (tides) -> ``validate --changed`` -> ``preview`` -> merge
2. ``retrain`` -> model v1 (every leaf of the sample taxonomy, trained from the embedded student)
3. a branch adds a skill leaf (antonyms) -> validate -> preview -> merge -> ``retrain`` -> v2
   (only the new leaf is generated; the others are replayed)
4. ``models history``; then v2's local copy is removed and one ``chat`` answer from v2 brings it
   back from the artifact store (a folder under ``$SEEDTREE_HOME``, where each release was
   uploaded before its tag)

It prints the time of each stage, then the absolute paths of ``report.md`` (both versions) and
of the plots. Any stage that fails stops the demo with its exit code.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from seedtree.atomic import write_text
from seedtree.cli import run
from seedtree.errors import SeedtreeError, UsageError
from seedtree.git import run_git
from seedtree.home import RepoHome, models_dir
from seedtree.models import ensure_default

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEMO_LEAVES = Path(__file__).resolve().parent / "data" / "demo"
CONFIG = "demo/seedtree.demo.yaml"
CHANGES = (
    ("add-tides", "tides", "knowledge/science/oceanography/tides", "v1"),
    ("add-antonyms", "antonyms", "compositional_skills/linguistics/antonyms", "v2"),
)
CHAT_PROMPT = 'What is the antonym of "generous"? Use it in a sentence.'


@dataclass
class Demo:
    workdir: Path
    repo: Path
    timings: list[tuple[str, float]] = field(default_factory=list)

    def stage(self, name: str, action: Callable[[], None]) -> None:
        print(f"\n=== {name}", flush=True)
        started = time.monotonic()
        action()
        seconds = time.monotonic() - started
        self.timings.append((name, seconds))
        print(f"=== {name}: {seconds:.1f} s", flush=True)

    def cli(self, *args: str, allowed: tuple[int, ...] = (0,)) -> None:

        code = run([*args, "-C", str(self.repo), "--config", str(self.repo / CONFIG)])
        if code not in allowed:
            raise DemoFailed(f"`seedtree {' '.join(args)}` exited with {code}", code)

    def git(self, *args: str) -> str:

        return run_git(self.repo, *args)


class DemoFailed(SeedtreeError):
    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.exit_code = code


def _environment(workdir: Path) -> None:
    """Own $SEEDTREE_HOME (unless set); the converted model store is shared with the user's."""

    os.environ.setdefault("SEEDTREE_MODELS_DIR", str(models_dir()))
    os.environ.setdefault("SEEDTREE_HOME", str(workdir / "seedtree-home"))
    for key in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        os.environ.setdefault(key, "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def _clone(demo: Demo) -> None:

    if not (PROJECT_ROOT / ".git").exists() or not (PROJECT_ROOT / CONFIG).is_file():
        raise UsageError(
            f"the demo runs from a clone of the seedtree repository ({PROJECT_ROOT} is not one)",
            hint="git clone the repository and run `make demo` there",
        )
    run_git(PROJECT_ROOT, "clone", "--quiet", str(PROJECT_ROOT), str(demo.repo))
    demo.git("config", "user.name", "seedtree demo")
    demo.git("config", "user.email", "demo@seedtree.invalid")
    demo.git("checkout", "--quiet", "-B", "main")
    tags = demo.git("tag", "--list", "model/*").split()
    if tags:
        demo.git("tag", "--delete", *tags)
    _take_local_settings(demo)
    print(f"clone: {demo.repo}\nSEEDTREE_HOME: {os.environ['SEEDTREE_HOME']}")


def _take_local_settings(demo: Demo) -> None:
    """The clone holds committed files; the demo settings as edited in this checkout win."""
    for source in (PROJECT_ROOT / "demo").glob("*.yaml"):
        shutil.copyfile(source, demo.repo / "demo" / source.name)
    demo.git("add", "--", "demo")
    if demo.git("status", "--porcelain", "--", "demo"):
        demo.git("commit", "--quiet", "-m", "demo settings from the working tree")
        print("demo settings: taken from the working tree (uncommitted edits)")


def _fetch_model() -> None:

    print(f"model: {ensure_default()}")


def _branch(demo: Demo, branch: str, source: str, leaf: str) -> None:
    demo.git("checkout", "--quiet", "-b", branch, "main")
    target = demo.repo / "taxonomy" / leaf
    shutil.copytree(DEMO_LEAVES / source, target)
    demo.git("add", "taxonomy")
    demo.git("commit", "--quiet", "-m", f"Add {leaf}")
    print(f"branch {branch}: added taxonomy/{leaf}")


def _merge(demo: Demo, branch: str) -> None:
    demo.git("checkout", "--quiet", "main")
    demo.git("merge", "--quiet", "--no-ff", "-m", f"Merge {branch}", branch)
    print(f"merged {branch} into main at {demo.git('rev-parse', '--short', 'HEAD').strip()}")


def _change(demo: Demo, branch: str, source: str, leaf: str, version: str) -> None:
    preview = demo.workdir / f"preview-{branch}.md"
    demo.stage(f"branch {branch}: add {leaf}", lambda: _branch(demo, branch, source, leaf))
    demo.stage("validate the change", lambda: demo.cli("validate", "--changed", "--base", "main"))
    demo.stage(
        "preview (markdown for the pull request)",
        lambda: demo.cli("preview", "--base", "main", "--out", str(preview)),
    )
    print(f"preview: {preview}")
    demo.stage(f"merge {branch}", lambda: _merge(demo, branch))
    # the preflight runs as on the GPU runner; training on this CPU is intended
    demo.stage(f"retrain -> {version}", lambda: demo.cli("retrain", "--allow-cpu"))


def _remove_local(demo: Demo, version: str) -> None:
    """Lose this machine's copy of ``version``, as a rebuilt runner would."""
    folder = RepoHome.of(demo.repo).version(version)
    shutil.rmtree(folder)
    print(f"removed {folder}")


def _cpu() -> str:
    from seedtree.teacher.precision import cpu_description

    return cpu_description()


def _combined_report(demo: Demo) -> Path:
    """``report.md`` in the demo folder: both versions' reports, plots copied beside it."""

    parts = ["# seedtree demo: two merges, two model versions", "", f"On {_cpu()}.", ""]
    parts += ["| stage | time |", "|---|---|"]
    parts += [f"| {name} | {seconds:.1f} s |" for name, seconds in demo.timings]
    for version in ("v1", "v2"):
        source = RepoHome.of(demo.repo).version(version)
        shutil.copytree(source / "plots", demo.workdir / version / "plots", dirs_exist_ok=True)
        text = (source / "report.md").read_text(encoding="utf-8")
        text = re.sub(r"\]\(plots/", f"]({version}/plots/", text)
        parts += ["", re.sub(r"^#", "##", text, flags=re.MULTILINE)]
    report = demo.workdir / "report.md"
    write_text(report, "\n".join(parts) + "\n")
    return report


def _summary(demo: Demo, report: Path) -> None:
    total = sum(seconds for _, seconds in demo.timings)
    print("\n=== time per stage")
    for name, seconds in demo.timings:
        print(f"  {seconds:7.1f} s  {name}")
    print(f"  {total:7.1f} s  total, on {_cpu()}")
    print("\nplots:")
    for plot in sorted(demo.workdir.glob("v*/plots/*.png")):
        print(f"  {plot.resolve()}")
    print(f"\nreport: {report.resolve()}")


def run_demo(workdir: Path) -> int:
    workdir.mkdir(parents=True, exist_ok=True)
    _environment(workdir)
    demo = Demo(workdir.resolve(), workdir.resolve() / "taxonomy-repo")
    demo.stage("clone the repository", lambda: _clone(demo))
    demo.stage("embedded teacher and student", _fetch_model)
    for branch, source, leaf, version in CHANGES:
        _change(demo, branch, source, leaf, version)
    demo.stage("model history", lambda: demo.cli("models", "history"))
    demo.stage("remove v2 from this machine", lambda: _remove_local(demo, "v2"))
    demo.stage(
        "chat with v2 (restored from the store)",
        lambda: demo.cli("chat", "--model", "v2", "--prompt", CHAT_PROMPT, "--max-tokens", "48"),
    )
    _summary(demo, _combined_report(demo))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m seedtree.demo", description=__doc__)
    parser.add_argument("--workdir", type=Path, help="Where to work (default: a new temp folder).")
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="seedtree-demo-"))
    try:
        return run_demo(workdir)
    except SeedtreeError as exc:
        print(f"demo stopped: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
