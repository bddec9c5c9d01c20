"""Benchmark: the peak memory of loading a hostile leaf, against a benign leaf of the same size.

Each load runs in a fresh subprocess that parses the leaf, loads its documents and computes its
content hash (what taxonomy loading, generation and every retrain plan do); the figures are the
process's peak resident set (``ru_maxrss``) and the peak of Python allocations during the load
(``tracemalloc``).

- ``alias_bomb``: a 200 KB leaf whose 180 KB anchored note is aliased 1,000 times (180 MB once
  expanded; the alias cap on values never saw it). Refused at the alias that crosses
  ``MAX_ALIAS_BYTES``. Baseline: the same leaf with the note written out once. For scale, the
  same file through PyYAML and the hash's JSON serialisation, as before the byte cap.
- ``symlink_documents``: a knowledge leaf whose pattern matches 300 in-repository symlinks to one
  1 MB document (read 300 times before). Baseline: the leaf naming that document once.

    .venv/bin/python bench/leaf_memory.py

Ends with ``RESULT`` lines (a ratio of at most 2 is the target: a hostile leaf costs no more
than a benign leaf of its size).
"""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tooling")]

HAIKU = "compositional_skills/writing/poetry/haiku"
BICYCLE = "knowledge/history/technology/bicycle"
BICYCLE_DOC = f"taxonomy/{BICYCLE}/bicycle_history.md"
NOTE = 180_000
ALIASES = 1_000
LINKS = 300
MEGABYTE = 1_000_000
TARGET = 2.0


# --- the child: one load, measured ------------------------------------------------------------


def _load(repo: Path, qna: Path, unbounded: bool) -> str:
    from seedtree.errors import SeedtreeError
    from seedtree.taxonomy.documents import load_documents
    from seedtree.taxonomy.identity import canonical_json, leaf_hash
    from seedtree.taxonomy.leaves import load_leaf

    if unbounded:  # as before the byte cap: PyYAML's value, serialised for the hash
        import yaml

        value = yaml.load(qna.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
        return f"serialised {len(canonical_json(value)):,} characters"
    try:
        leaf = load_leaf(qna, repo / "taxonomy")
        documents = load_documents(leaf, repo)
        leaf_hash(leaf, repo)
    except SeedtreeError as exc:
        first = exc.message.splitlines()[0]
        return "refused at " + first[first.rfind("/") + 1 :][:100]
    return f"loaded, {len(documents)} document(s)"


def child(repo: Path, qna: Path, unbounded: bool) -> None:
    from seedtree.taxonomy import documents, identity, leaves  # noqa: F401  (imports not measured)

    tracemalloc.start()
    started = time.perf_counter()
    outcome = _load(repo, qna, unbounded)
    seconds = time.perf_counter() - started
    _now, peak = tracemalloc.get_traced_memory()
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"rss": maxrss, "traced": peak, "seconds": seconds, "outcome": outcome}))


def measure(repo: Path, qna: Path, unbounded: bool = False) -> dict[str, Any]:
    args = [sys.executable, __file__, "--child", str(repo), str(qna)]
    done = subprocess.run(
        [*args, *(["--unbounded"] if unbounded else [])],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# --- the leaves -------------------------------------------------------------------------------


def _leaf(repo: Path, source: str, name: str, extra: str, document: str | None = None) -> Path:
    folder = repo / "taxonomy" / Path(source).parent / name
    folder.mkdir()
    shutil.copy(repo / "taxonomy" / source / "attribution.txt", folder)
    text = (repo / "taxonomy" / source / "qna.yaml").read_text(encoding="utf-8")
    if document is not None:
        text = text.replace(BICYCLE_DOC, document)
    (folder / "qna.yaml").write_text(text + extra, encoding="utf-8")
    return folder / "qna.yaml"


def build(repo: Path) -> dict[str, Path]:
    shutil.copytree(ROOT / "taxonomy", repo / "taxonomy")
    (repo / "seedtree.yaml").write_text("taxonomy_dir: taxonomy\n", encoding="utf-8")
    note = "note " * (NOTE // 5)
    bomb = f"notes: &note {note}\nmore:\n" + "  - *note\n" * ALIASES
    docs = repo / "docs"
    (docs / "links").mkdir(parents=True)
    sentence = "The safety bicycle of 1885 had two wheels of equal size and a chain drive.\n"
    (docs / "big.md").write_text((sentence * (MEGABYTE // len(sentence) + 1))[:MEGABYTE])
    for n in range(LINKS):
        (docs / "links" / f"copy_{n:03}.md").symlink_to(Path("..") / "big.md")
    return {
        "alias_bomb": _leaf(repo, HAIKU, "bomb", bomb),
        "alias_benign": _leaf(repo, HAIKU, "plain", f"notes: {note}\n"),
        "symlink_documents": _leaf(repo, BICYCLE, "links", "", "docs/links/*.md"),
        "symlink_benign": _leaf(repo, BICYCLE, "once", "", "docs/big.md"),
    }


# --- the comparison ---------------------------------------------------------------------------


def _row(name: str, figures: dict[str, Any]) -> None:
    print(
        f"  {name:<22} rss {figures['rss'] / 1e6:7.1f} MB  traced {figures['traced'] / 1e6:7.2f} MB"
        f"  {figures['seconds']:6.2f} s  {figures['outcome']}"
    )


def _ratios(name: str, hostile: dict[str, Any], benign: dict[str, Any]) -> list[str]:
    lines = []
    for figure in ("rss", "traced"):
        ratio = hostile[figure] / max(benign[figure], 1)
        verdict = "ok" if ratio <= TARGET else "short"
        lines.append(f"RESULT {name}_peak_{figure}_ratio={ratio:.2f} target=<={TARGET:g} {verdict}")
    return lines


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="seedtree-leafmem-") as tmp:
        repo = Path(tmp)
        leaves = build(repo)
        size = leaves["alias_bomb"].stat().st_size
        print(f"bomb file: {size:,} bytes; 1 MB document, {LINKS} links")
        figures = {name: measure(repo, qna) for name, qna in leaves.items()}
        unbounded = measure(repo, leaves["alias_bomb"], unbounded=True)
    for name, found in figures.items():
        _row(name, found)
    _row("alias_bomb unbounded", unbounded)
    lines = _ratios("alias_bomb", figures["alias_bomb"], figures["alias_benign"])
    lines += _ratios("symlink_documents", figures["symlink_documents"], figures["symlink_benign"])
    refused = figures["alias_bomb"]["outcome"].startswith("refused")
    once = figures["symlink_documents"]["outcome"] == "loaded, 1 document(s)"
    print("\n".join(lines))
    print(f"RESULT alias_bomb_refused={refused} target=True {'ok' if refused else 'short'}")
    print(f"RESULT symlink_documents_read_once={once} target=True {'ok' if once else 'short'}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(Path(sys.argv[2]), Path(sys.argv[3]), "--unbounded" in sys.argv)
    else:
        sys.exit(main())
