"""The artifact store on a local folder and on a real S3 API server (moto) on 127.0.0.1.

Uploads are content-addressed and resumable with the manifest last; restores check every blob
and appear whole; a killed upload never looks complete.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import PROJECT_ROOT
from seedtree.config import load_config
from seedtree.errors import ConfigError, UsageError
from seedtree.retrain.doctor import check_store
from seedtree.versions.store import (
    Backend,
    StoreError,
    blob_key,
    file_sha256,
    manifest_key,
    open_store,
    read_manifest,
    restore_version,
    upload_version,
)

COMMIT = "c" * 40


def _artifacts(folder: Path, seed: int = 0, files: int = 3, size: int = 2048) -> dict[str, bytes]:
    """A version-like folder: nested files with distinct random content."""
    rng = random.Random(seed)
    written = {}
    for i in range(files):
        rel = f"model/part-{i:04d}.bin" if i % 2 else f"data/leaf/{i}.jsonl"
        data = rng.randbytes(size)
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(data)
        written[rel] = data
    return written


def _cache(path: Path, rows: int) -> None:
    """A live SQLite database in WAL mode, as the generation cache keeps it."""
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE answers (key TEXT PRIMARY KEY, value TEXT)")
    db.executemany("INSERT INTO answers VALUES (?, ?)", [(str(i), "x" * 50) for i in range(rows)])
    db.commit()  # left open: the rows may still sit in the WAL file


def _read_tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def test_upload_then_restore_round_trips_and_shares_blobs(store_url: str, tmp_path: Path) -> None:
    store = open_store(store_url)
    v1 = tmp_path / "v1"
    written = _artifacts(v1)
    cache = tmp_path / "answers.sqlite"
    _cache(cache, rows=20)
    first = upload_version(store, "repo", "v1", COMMIT, v1, cache)
    assert (first.files, first.moved, first.present) == (4, 4, 0)
    # v2 keeps the data file, changes the model part: only what is new is uploaded
    v2 = tmp_path / "v2"
    _artifacts(v2)
    (v2 / "model" / "part-0001.bin").write_bytes(b"new weights")
    second = upload_version(store, "repo", "v2", "d" * 40, v2, None)
    assert (second.files, second.moved, second.present) == (3, 1, 2)
    # a machine without the version (and without a cache) gets both back
    manifest = read_manifest(store, "repo", "v1")
    assert manifest is not None and manifest.commit == COMMIT
    target, restored_cache = tmp_path / "home" / "v1", tmp_path / "home" / "answers.sqlite"
    done = restore_version(store, manifest, target, restored_cache)
    assert _read_tree(target) == written and done.moved == 4
    rows = sqlite3.connect(restored_cache).execute("SELECT COUNT(*) FROM answers").fetchone()
    assert rows == (20,)
    assert [p.name for p in target.parent.iterdir() if p.name.startswith(".")] == []


def test_uploading_a_stored_version_again_moves_nothing(store_url: str, tmp_path: Path) -> None:
    store = open_store(store_url)
    _artifacts(tmp_path / "v1")
    upload_version(store, "repo", "v1", COMMIT, tmp_path / "v1", None)
    again = upload_version(store, "repo", "v1", COMMIT, tmp_path / "v1", None)
    assert again.moved == 0 and again.present == 3
    with pytest.raises(StoreError, match="already stored for commit cccccccccccc"):
        upload_version(store, "repo", "v1", "e" * 40, tmp_path / "v1", None)


def test_a_local_cache_is_kept_on_restore(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "store"))
    _artifacts(tmp_path / "v1")
    _cache(tmp_path / "answers.sqlite", rows=3)
    upload_version(store, "repo", "v1", COMMIT, tmp_path / "v1", tmp_path / "answers.sqlite")
    mine = tmp_path / "home" / "answers.sqlite"
    mine.parent.mkdir()
    mine.write_bytes(b"this machine's cache")
    manifest = read_manifest(store, "repo", "v1")
    assert manifest is not None
    done = restore_version(store, manifest, tmp_path / "home" / "v1", mine)
    assert mine.read_bytes() == b"this machine's cache" and done.present == 1


def _tamper(store: Backend, key: str, data: bytes, tmp_path: Path) -> None:
    source = tmp_path / "tampered"
    source.write_bytes(data)
    store.put_file(key, source)


def test_a_damaged_blob_is_refused_and_nothing_appears(store_url: str, tmp_path: Path) -> None:
    store = open_store(store_url)
    written = _artifacts(tmp_path / "v1")
    upload_version(store, "repo", "v1", COMMIT, tmp_path / "v1", None)
    sha = file_sha256(tmp_path / "v1" / "model" / "part-0001.bin")
    _tamper(store, blob_key(sha), b"not the weights", tmp_path)
    manifest = read_manifest(store, "repo", "v1")
    assert manifest is not None and "model/part-0001.bin" in written
    target = tmp_path / "home" / "v1"
    with pytest.raises(StoreError, match="the store is damaged"):
        restore_version(store, manifest, target, None)
    assert list(target.parent.iterdir()) == []  # no folder, no staging left behind


@pytest.mark.parametrize("path", ["../outside", "/etc/passwd", "model/../../x", "./a"])
def test_a_manifest_naming_paths_outside_the_folder_is_refused(
    store_url: str, tmp_path: Path, path: str
) -> None:
    store = open_store(store_url)
    body = f'{{"repository": "repo", "version": "v1", "commit": "{COMMIT}", "files": '
    body += f'{{"{path}": {{"sha256": "{"a" * 64}", "size": 1}}}}}}'
    store.write(manifest_key("repo", "v1"), body.encode())
    with pytest.raises(StoreError, match="refused file path"):
        read_manifest(store, "repo", "v1")


def test_store_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STORE_ROOT", str(tmp_path))
    assert open_store("${STORE_ROOT}/s").url == (tmp_path / "s").as_uri()
    assert open_store(f"file://{tmp_path}/s").url == (tmp_path / "s").as_uri()
    monkeypatch.delenv("STORE_ROOT")
    with pytest.raises(UsageError, match="environment variable STORE_ROOT is not set"):
        open_store("${STORE_ROOT}/s")
    with pytest.raises(UsageError, match="no bucket"):
        open_store("s3:///prefix")


def test_config_refuses_a_relative_store(tmp_path: Path) -> None:
    (tmp_path / "seedtree.yaml").write_text("store: relative/folder\n")
    with pytest.raises(ConfigError, match=r"store: .*'relative/folder' is neither an absolute"):
        load_config(tmp_path)
    (tmp_path / "seedtree.yaml").write_text("store: s3://bucket/prefix\n")
    assert load_config(tmp_path).store == "s3://bucket/prefix"


def test_s3_errors_are_reported_without_a_traceback(
    s3_store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = open_store("s3://no-such-bucket/x")
    with pytest.raises(StoreError, match=r"s3://no-such-bucket/x: repos/r/v1/manifest\.json"):
        read_manifest(missing, "r", "v1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    with pytest.raises(StoreError, match="EndpointConnectionError") as info:
        open_store(s3_store_url).exists("blobs/x")
    assert "AWS_ENDPOINT_URL" in str(info.value)


# --- a kill during upload ------------------------------------------------------------------------

UPLOADER = """
import sys
from pathlib import Path
from seedtree.versions.store import open_store, upload_version
done = upload_version(open_store(sys.argv[1]), "repo", "v1", "c" * 40, Path(sys.argv[2]), None)
print(done.moved, done.present)
"""


def _start_upload(store_url: str, folder: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT / "tooling")}
    return subprocess.Popen(
        [sys.executable, "-c", UPLOADER, store_url, str(folder)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_blob(store: Backend, sha: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 120
    while not store.exists(blob_key(sha)):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no blob was uploaded"
        time.sleep(0.002)


def test_a_killed_upload_is_completed_by_a_rerun(store_url: str, tmp_path: Path) -> None:
    store = open_store(store_url)
    folder = tmp_path / "v1"
    written = _artifacts(folder, files=120, size=32 * 1024)
    shas = {rel: file_sha256(folder / rel) for rel in written}
    uploader = _start_upload(store_url, folder)
    _wait_for_blob(store, shas[min(shas)], uploader)  # files go up in path order
    os.kill(uploader.pid, signal.SIGSTOP)  # freeze it mid-upload to look, then kill it
    present = sum(store.exists(blob_key(sha)) for sha in shas.values())
    assert 1 <= present < len(shas)
    assert read_manifest(store, "repo", "v1") is None  # a partial upload is not a version
    os.kill(uploader.pid, signal.SIGKILL)
    uploader.communicate()
    assert uploader.returncode == -signal.SIGKILL
    rerun = _start_upload(store_url, folder)
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    moved, kept = map(int, out.split())
    assert kept >= present and moved + kept == len(shas)  # only the missing blobs went up
    manifest = read_manifest(store, "repo", "v1")
    assert manifest is not None and {r: e.sha256 for r, e in manifest.files.items()} == shas
    restore_version(store, manifest, tmp_path / "restored", None)
    assert _read_tree(tmp_path / "restored") == written


def test_the_demo_keeps_its_store_under_its_home(monkeypatch: pytest.MonkeyPatch) -> None:
    home = "/srv/demo-home"
    monkeypatch.setenv("SEEDTREE_HOME", home)
    config = load_config(PROJECT_ROOT, PROJECT_ROOT / "demo" / "seedtree.demo.yaml")
    assert config.store is not None
    assert open_store(config.store).url == f"file://{home}/store"


def test_the_demo_store_check_passes_with_seedtree_home_unset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """seedtree has a default home: a store written under ${SEEDTREE_HOME} is found there."""
    monkeypatch.delenv("SEEDTREE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    config = load_config(PROJECT_ROOT, PROJECT_ROOT / "demo" / "seedtree.demo.yaml")
    check = check_store(config)
    assert check.status == "ok", check.detail
    assert (tmp_path / ".cache" / "seedtree" / "store" / "doctor").is_dir()
    other = config.model_copy(update={"store": "${NO_SUCH_SEEDTREE_VARIABLE}/store"})
    refused = check_store(other)
    assert refused.status == "fail" and "NO_SUCH_SEEDTREE_VARIABLE is not set" in refused.detail


def test_a_restore_replaces_an_incomplete_folder_and_keeps_a_complete_one(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "store"))
    written = _artifacts(tmp_path / "v1")
    upload_version(store, "repo", "v1", COMMIT, tmp_path / "v1", None)
    manifest = read_manifest(store, "repo", "v1")
    assert manifest is not None
    target = tmp_path / "home" / "v1"
    (target / "model").mkdir(parents=True)
    (target / "model" / "leftover").write_text("from a copy that stopped half-way")
    restore_version(store, manifest, target, None)
    assert _read_tree(target) == written  # the incomplete folder was replaced whole
    (target / "note").write_text("restored meanwhile by another process")
    restore_version(store, manifest, target, None)
    assert (target / "note").is_file() and list(target.parent.iterdir()) == [target]
