"""The answer store: every teacher answer, kept as it arrives, keyed by what determines it.

One SQLite database in WAL mode per taxonomy repository,
``$SEEDTREE_HOME/repos/<repository id>/generate/answers.sqlite``. Each answer is committed on
arrival, so a process killed at any moment loses at most the answers in flight. The key is the
sha256 of the leaf content hash, the pipeline and stage, the prompt template's version and text
digest, the teacher id, and the request itself (messages, sampling parameters and seed); each row
also records the leaf hash, so :func:`gc` can drop what no live leaf needs.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seedtree.errors import SeedtreeError
from seedtree.home import RepoHome

DB_NAME = "answers.sqlite"
DATASETS = "datasets"
SAMPLES_FILE = "samples.jsonl"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    key TEXT PRIMARY KEY,
    leaf_hash TEXT NOT NULL,
    stage TEXT NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS answers_leaf ON answers (leaf_hash);
"""


def cache_key(*parts: str) -> str:
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode("utf-8")).hexdigest()


def dataset_path(out_dir: Path, leaf_id: str) -> Path:
    return out_dir / leaf_id / SAMPLES_FILE


def stored_sample_count(repo_root: Path, leaf_id: str) -> int:
    """Samples in the leaf's dataset in the default output folder (0 when none)."""
    path = dataset_path(RepoHome.of(repo_root).datasets, leaf_id)
    if not path.is_file():
        return 0
    with path.open(encoding="utf-8") as f:
        return sum(1 for line in f if line.strip())


@dataclass(frozen=True)
class Row:
    key: str
    leaf_hash: str
    stage: str
    kind: str  # "complete" | "score"
    value: Any


class AnswerStore:
    """Get and put answers by key; safe to kill at any moment."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        try:
            self.db = sqlite3.connect(path, timeout=30.0, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise SeedtreeError(
                f"{path}: cannot open the answer store: {exc}",
                hint="remove the file to start over (answers will be asked again)",
            ) from None

    @classmethod
    def for_repo(cls, repo_root: Path) -> AnswerStore:
        return cls(RepoHome.of(repo_root).answers)

    def get_many(self, keys: Sequence[str]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for start in range(0, len(keys), 500):
            part = list(keys[start : start + 500])
            marks = ",".join("?" * len(part))
            query = f"SELECT key, value FROM answers WHERE key IN ({marks})"
            for key, value in self.db.execute(query, part):
                found[key] = json.loads(value)
        return found

    def put(self, row: Row) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO answers VALUES (?, ?, ?, ?, ?, ?)",
            (row.key, row.leaf_hash, row.stage, row.kind, json.dumps(row.value), time.time()),
        )

    def put_many(self, rows: Iterable[Row]) -> None:
        with self.db:
            for row in rows:
                self.put(row)

    def close(self) -> None:
        self.db.close()


@dataclass(frozen=True)
class StoreInfo:
    path: Path
    entries: int
    bytes: int
    leaves: int
    by_stage: dict[str, int]


def info(store: AnswerStore) -> StoreInfo:
    db = store.db
    entries = int(db.execute("SELECT COUNT(*) FROM answers").fetchone()[0])
    leaves = int(db.execute("SELECT COUNT(DISTINCT leaf_hash) FROM answers").fetchone()[0])
    stages = dict(db.execute("SELECT stage, COUNT(*) FROM answers GROUP BY stage ORDER BY stage"))
    size = sum(p.stat().st_size for p in store.path.parent.glob(f"{DB_NAME}*") if p.is_file())
    return StoreInfo(store.path, entries, size, leaves, {str(k): int(v) for k, v in stages.items()})


def gc(store: AnswerStore, live_hashes: Iterable[str]) -> int:
    """Drop every answer whose leaf hash is not live; return how many were dropped."""
    live = sorted(set(live_hashes))
    db = store.db
    with db:
        db.execute("CREATE TEMP TABLE IF NOT EXISTS live (h TEXT PRIMARY KEY)")
        db.execute("DELETE FROM live")
        db.executemany("INSERT INTO live VALUES (?)", [(h,) for h in live])
        cursor = db.execute("DELETE FROM answers WHERE leaf_hash NOT IN (SELECT h FROM live)")
        dropped = int(cursor.rowcount)
    db.execute("VACUUM")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return dropped
