"""Every third-party package the code imports is declared in pyproject.toml, where it is needed.

A package installed in the development environment for another reason (a dependency of a
dependency, a test tool) makes an undeclared import work here and fail for users: the published
pre-commit hooks once crashed on ``import click``, which nothing declared.
"""

from __future__ import annotations

import ast
import functools
import importlib.metadata
import re
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

from helpers import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "tooling" / "seedtree"

# Which extra a module's imports may come from: the most specific entry wins (base: "").
EXTRA_OF = {
    "": "",
    "teacher": "generate",
    "generate": "generate",
    "models.py": "generate",  # resolving and converting the embedded models (transformers)
    "teacher/vllm.py": "gpu",  # the in-process vLLM backend: a heavy optional engine
    "preview": "github",
    "train": "train",
    "retrain": "train",
    "retrain/steps.py": "gpu",  # lm-evaluation-harness benchmarks
    # released versions: chat loads a model (torch), the store may be S3 (boto3); both imported
    # by the functions that use them, so the package itself imports without them
    "versions": "train",
    "evaluation": "train",
    "demo.py": "train",
}

# Import names of distributions that the environment cannot map (none installed yet).
NOT_INSTALLED = {"vllm": "vllm"}


def _imported_modules(tree: ast.AST) -> Iterator[str]:
    """Top-level names imported at module level, inside functions, or by import_module('x')."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0]
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node.args[0].value.split(".")[0]


def third_party_imports(package: Path) -> dict[str, set[str]]:
    """Import name → the package's modules (paths relative to it) importing it."""
    found: dict[str, set[str]] = {}
    skip = set(sys.stdlib_module_names) | {"__future__", "seedtree"}
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for name in set(_imported_modules(tree)) - skip:
            found.setdefault(name, set()).add(path.relative_to(package).as_posix())
    return found


def extra_of(module: str) -> str:
    """The extra whose dependencies ``module`` (a path inside the package) may import."""
    parts = module.split("/")
    for length in range(len(parts), 0, -1):
        key = "/".join(parts[:length])
        if key in EXTRA_OF:
            return EXTRA_OF[key]
    return EXTRA_OF[""]


def _name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group(0)).lower()


def declared(extra: str, project: dict[str, object]) -> set[str]:
    """Normalised distribution names installed by ``pip install seedtree[extra]``."""
    names = {_name(r) for r in project["dependencies"]}  # type: ignore[attr-defined]
    pending, seen = [extra] if extra else [], set()
    while pending:
        current = pending.pop()
        seen.add(current)
        for requirement in project["optional-dependencies"][current]:  # type: ignore[index]
            included = re.fullmatch(r"seedtree\[([\w,\s-]+)\]", requirement)
            if included:
                pending += [e.strip() for e in included.group(1).split(",") if e not in seen]
            else:
                names.add(_name(requirement))
    return names


@functools.cache
def _installed() -> dict[str, list[str]]:
    """Import name → distributions providing it (reading every installed RECORD: once)."""
    return dict(importlib.metadata.packages_distributions())


def distributions(import_name: str) -> set[str]:
    mapped = _installed().get(import_name)
    if mapped is None:
        assert import_name in NOT_INSTALLED, f"`{import_name}` is not installed here"
        return {NOT_INSTALLED[import_name]}
    return {_name(d) for d in mapped}


def _project() -> dict[str, object]:
    data = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return dict(data["project"])


def test_every_import_is_declared_in_the_extra_that_needs_it() -> None:
    project = _project()
    missing = []
    for name, modules in sorted(third_party_imports(PACKAGE).items()):
        for module in sorted(modules):
            extra = extra_of(module)
            if not distributions(name) & declared(extra, project):
                missing.append(f"{module}: `{name}` is not declared in {extra or 'the base'}")
    assert missing == []


def test_the_check_sees_imports_inside_functions_and_import_module(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "train").mkdir(parents=True)
    (package / "cli.py").write_text("import yaml\n", encoding="utf-8")
    (package / "train" / "x.py").write_text(
        "import importlib\n\ndef f() -> None:\n    import click\n"
        "    importlib.import_module('lm_eval.tasks')\n",
        encoding="utf-8",
    )
    found = third_party_imports(package)
    assert found == {"yaml": {"cli.py"}, "click": {"train/x.py"}, "lm_eval": {"train/x.py"}}
    project = _project()
    assert not distributions("click") & declared(extra_of("train/x.py"), project)
    assert "pyyaml" in declared("", project) and "yaml" not in declared("", project)


def test_extras_include_what_they_build_on() -> None:
    project = _project()
    assert declared("", project) < declared("generate", project) < declared("train", project)
    assert declared("train", project) | declared("github", project) < declared("gpu", project)
    assert {"typer", "rich"} <= declared("", project)
    assert "torch" not in declared("", project) and "vllm" not in declared("train", project)


def test_jobs_holding_a_write_token_install_from_hashed_locks() -> None:
    """No unpinned install where a token can push, comment or tag; no token on a command line."""
    import yaml

    for workflow in sorted((PROJECT_ROOT / ".github" / "workflows").glob("*.yml")):
        for job in yaml.safe_load(workflow.read_text(encoding="utf-8"))["jobs"].values():
            if "write" not in job.get("permissions", {}).values():
                continue
            runs = [step.get("run", "") for step in job["steps"]]
            lines = [line.strip() for run in runs for line in run.splitlines()]
            installs = [x for x in lines if "pip install" in x or '"${pip[@]}"' in x]
            installs = [x for x in installs if not x.startswith("pip=(")]  # the command itself
            assert installs, workflow.name
            for line in installs:
                hashed = "--require-hashes" in line and " -r requirements/" in line
                assert hashed or "--no-deps" in line or "make venv" in line, (workflow.name, line)
            assert not any("git -c" in run and "extraheader" in run for run in runs)
    for lock in ("github", "gpu"):
        text = (PROJECT_ROOT / "requirements" / f"{lock}.txt").read_text(encoding="utf-8")
        pins = [line for line in text.splitlines() if "==" in line and not line.startswith("#")]
        assert pins and all(line.rstrip().endswith("\\") for line in pins), lock  # hashes follow
