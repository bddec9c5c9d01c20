"""lm-evaluation-harness benchmarks of a new model version, run offline in a child process.

``retrain.benchmarks`` lists harness task names (``arc_easy``) and task files (a path ending in
``.yaml`` or ``.yml``, relative to the repository root). The harness runs in a child Python
process with the Hugging Face libraries held offline (``HF_HUB_OFFLINE``, ``HF_DATASETS_OFFLINE``,
``TRANSFORMERS_OFFLINE``): they read their switches when first imported, which the retrain
process has already done, and a child also returns the memory the harness takes. Task datasets
must therefore be local: a task file over a JSONL (``dataset_path: json``,
``dataset_kwargs: {data_files: ...}``) or harness datasets already in the Hugging Face cache.

A benchmark failure is reported (``{"failed": why}``); it never blocks a release.
"""

from __future__ import annotations

import importlib.util
import json
import numbers
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import seedtree
from seedtree.atomic import write_json
from seedtree.config import RetrainConfig

BENCHMARK_HINT = (
    "lm-evaluation-harness is not installed: benchmarks skipped "
    "(pip install 'seedtree[train]', with the task datasets available offline)"
)
OFFLINE = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
TASK_FILE_SUFFIXES = (".yaml", ".yml")


def task_specs(benchmarks: Sequence[str], repo_root: Path) -> list[str]:
    """Harness task names as given (``name@shots`` sets the few-shot count); task files as
    absolute paths (ValueError if missing)."""
    specs = []
    for item in benchmarks:
        if not item.endswith(TASK_FILE_SUFFIXES):
            specs.append(item)
            continue
        path = (repo_root / item).resolve()
        if not path.is_file():
            raise ValueError(f"retrain.benchmarks: task file {item} not found ({path})")
        specs.append(str(path))
    return specs


def _numbers(results: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Per task, its numeric figures (the harness also reports aliases and "N/A")."""
    return {
        str(task): {
            str(k): float(v)
            for k, v in values.items()
            if isinstance(v, numbers.Real) and not isinstance(v, bool)
        }
        for task, values in results.items()
    }


def run_benchmarks(
    model: Path, settings: RetrainConfig, repo_root: Path, items: Path | None = None
) -> dict[str, Any]:
    """Per task, the harness's numeric figures for ``model``; or why there are none. With
    ``items``, each task's primary metric per item is written there too (:func:`per_item`)."""
    if not settings.benchmarks:
        return {"skipped": "retrain.benchmarks is empty"}
    if importlib.util.find_spec("lm_eval") is None:
        return {"skipped": BENCHMARK_HINT}
    try:
        tasks = task_specs(settings.benchmarks, repo_root)
    except ValueError as exc:
        return {"failed": str(exc)}
    request = {
        "model": str(model),
        "tasks": tasks,
        "limit": settings.benchmark_limit,
        "items": items is not None,
    }
    with tempfile.TemporaryDirectory(prefix="seedtree-benchmarks-") as tmp:
        found = _in_child(Path(tmp), request, repo_root)
        written = Path(tmp) / "results.json.items.json"
        if items is not None and written.is_file():
            items.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(written, items)
        return found


def _in_child(tmp: Path, request: dict[str, Any], repo_root: Path) -> dict[str, Any]:
    request_path, out = tmp / "request.json", tmp / "results.json"
    write_json(request_path, {**request, "out": str(out)})
    code = f"from seedtree.evaluation.benchmarks import child; child({str(request_path)!r})"
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=repo_root,
        env=_child_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0 or not out.is_file():
        lines = (done.stderr or done.stdout).strip().splitlines() or ["no output"]
        return {"failed": f"lm-evaluation-harness exited {done.returncode}: {lines[-1]}"}
    results: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return results


def _child_env() -> dict[str, str]:
    """This environment, offline, with this seedtree first on the path (the child runs it)."""
    source = str(Path(seedtree.__file__).resolve().parent.parent)
    path = os.pathsep.join(p for p in (source, os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, **OFFLINE, "PYTHONPATH": path}


def child(request_path: str) -> None:
    """In the child process: evaluate, write the harness's per-task results as JSON."""
    import lm_eval  # heavy (datasets, evaluate): only in the child process
    from lm_eval.tasks import TaskManager

    request = json.loads(Path(request_path).read_text(encoding="utf-8"))
    merged: dict[str, dict[str, Any]] = {"results": {}, "samples": {}, "versions": {}}
    for shots, tasks in by_shots(request["tasks"]).items():
        output = lm_eval.simple_evaluate(
            model="hf",
            model_args=f"pretrained={request['model']}",
            tasks=tasks,
            num_fewshot=shots,
            limit=request["limit"],
            task_manager=TaskManager(),
            device="cuda" if _has_gpu() else "cpu",
            log_samples=bool(request.get("items")),
        )
        for key in merged:
            merged[key].update(dict((output or {}).get(key) or {}))
    write_json(Path(request["out"]), _numbers(merged["results"]))
    if request.get("items"):
        write_json(Path(request["out"] + ".items.json"), per_item(merged))


def by_shots(specs: Sequence[str]) -> dict[int | None, list[str]]:
    """Tasks grouped by their few-shot count (``arc_challenge@25``; None: the task's own)."""
    groups: dict[int | None, list[str]] = {}
    for spec in specs:
        name, _, shots = spec.rpartition("@") if "@" in spec else (spec, "", "")
        groups.setdefault(int(shots) if shots.isdigit() else None, []).append(name or spec)
    return groups


PRIMARY = ("acc", "exact_match", "acc_norm", "f1", "mc2")
FILTERS = ("strict-match", "none")  # GSM8K's strict score first, as the LAB model card reports


def _rows(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One filter's rows: the preferred one when a task reports several (GSM8K)."""
    seen = [str(row.get("filter", "none")) for row in rows]
    chosen = next((f for f in FILTERS if f in seen), seen[0] if seen else "none")
    return [row for row, f in zip(rows, seen, strict=True) if f == chosen]


def per_item(output: dict[str, Any]) -> dict[str, Any]:
    """Per task: its version, its primary metric, and that metric per item (by document id)."""
    out: dict[str, Any] = {}
    for task, all_rows in dict(output.get("samples") or {}).items():
        rows = _rows(all_rows)
        first = rows[0] if rows else {}
        metric = next((m for m in PRIMARY if isinstance(first.get(m), (int, float))), None)
        if metric is None:
            continue
        out[str(task)] = {
            "version": str(dict(output.get("versions") or {}).get(task, "")),
            "metric": metric,
            "items": {str(row["doc_id"]): float(row[metric]) for row in rows},
        }
    return out


def _has_gpu() -> bool:
    import torch  # heavy: only in the child process

    return bool(torch.cuda.is_available())
