"""The artifact store: released versions kept outside the runner, so that any runner restores them.

``store:`` in ``seedtree.yaml`` is a URL: a folder (``file:///srv/seedtree-store`` or an absolute
path) or S3-compatible object storage (``s3://bucket/prefix``; endpoint and credentials come from
the environment, ``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``, ...). Layout under it::

    blobs/sha256/<2 hex>/<sha256>              every file, content-addressed (shared by versions)
    repos/<repository id>/<vN>/manifest.json   the version's files -> blobs, written last

An upload puts each blob that is not there yet (each appears whole or not at all), then the
manifest: a killed upload leaves no manifest and a re-run uploads only the missing blobs. A
restore downloads into a temporary folder beside the target, checks every blob's sha256 and
renames the folder into place.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, ValidationError

from seedtree.atomic import atomic_open, write_bytes
from seedtree.errors import SeedtreeError, UsageError
from seedtree.home import seedtree_home

MANIFEST = "manifest.json"
MANIFEST_FORMAT = 1
CACHE_PREFIX = "cache/"  # manifest paths of the generation cache snapshot
_CHUNK = 1 << 20
_UNSET_VAR = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")


class StoreError(SeedtreeError):
    """The store cannot be reached, or holds something other than what was asked for."""


class Backend(Protocol):
    """Objects by key (``/``-separated): each put appears whole or not at all."""

    url: str

    def exists(self, key: str) -> bool: ...

    def put_file(self, key: str, source: Path) -> None: ...

    def get_file(self, key: str, target: Path) -> None: ...

    def read(self, key: str) -> bytes | None: ...

    def write(self, key: str, data: bytes) -> None: ...


class FolderBackend:
    """A folder, local or mounted (NFS, a synced disk)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.url = root.as_uri()

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*key.split("/"))

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def put_file(self, key: str, source: Path) -> None:
        with (
            self._writing(key),
            atomic_open(self._path(key), "wb") as out,
            source.open("rb") as src,
        ):
            shutil.copyfileobj(src, out, _CHUNK)

    def get_file(self, key: str, target: Path) -> None:
        try:
            shutil.copyfile(self._path(key), target)
        except FileNotFoundError:
            raise StoreError(f"{self.url}: {key} is missing from the store") from None

    def read(self, key: str) -> bytes | None:
        path = self._path(key)
        return path.read_bytes() if path.is_file() else None

    def write(self, key: str, data: bytes) -> None:
        with self._writing(key):
            write_bytes(self._path(key), data)

    @contextlib.contextmanager
    def _writing(self, key: str) -> Iterator[None]:
        """A folder that cannot be written is the store's failure, said as such (exit 3)."""
        try:
            yield
        except OSError as exc:
            raise StoreError(f"{self.url}: cannot write {key}: {exc.strerror or exc}") from None


class S3Backend:
    """S3-compatible object storage through boto3 (MinIO, Ceph, cloud buckets)."""

    def __init__(self, bucket: str, prefix: str) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.url = f"s3://{bucket}/{self.prefix}".rstrip("/")
        self.client = _s3_client()

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def exists(self, key: str) -> bool:
        with _s3_errors(self.url, key):
            try:
                self.client.head_object(Bucket=self.bucket, Key=self._key(key))
            except Exception as exc:
                if _missing(exc):
                    return False
                raise
        return True

    def put_file(self, key: str, source: Path) -> None:
        with _s3_errors(self.url, key):  # multipart uploads appear only when complete
            self.client.upload_file(str(source), self.bucket, self._key(key))

    def get_file(self, key: str, target: Path) -> None:
        with _s3_errors(self.url, key):
            self.client.download_file(self.bucket, self._key(key), str(target))

    def read(self, key: str) -> bytes | None:
        with _s3_errors(self.url, key):
            try:
                reply = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
            except Exception as exc:
                if _missing(exc):
                    return None
                raise
            return bytes(reply["Body"].read())

    def write(self, key: str, data: bytes) -> None:
        with _s3_errors(self.url, key):
            self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)


def _s3_client() -> Any:
    try:
        import boto3  # heavy and optional: only S3 stores need it
    except ImportError:
        raise StoreError(
            "an s3:// store needs boto3, which is not installed",
            hint="pip install boto3 (it comes with seedtree[train])",
        ) from None
    return boto3.client("s3")  # endpoint, region and credentials from the environment


def _missing(exc: Exception) -> bool:
    """A missing object (not a missing bucket, which is an error)."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return False
    return str(response.get("Error", {}).get("Code")) in {"404", "NoSuchKey", "NotFound"}


@contextlib.contextmanager
def _s3_errors(url: str, key: str) -> Iterator[None]:
    """botocore's errors (no credentials, endpoint down, no bucket) as a :class:`StoreError`."""
    try:
        yield
    except SeedtreeError:
        raise
    except Exception as exc:
        if type(exc).__module__.split(".")[0] not in {"botocore", "boto3", "s3transfer"}:
            raise
        raise StoreError(
            f"{url}: {key}: {type(exc).__name__}: {exc}",
            hint="check the bucket, AWS_ENDPOINT_URL and the AWS_* credentials",
        ) from None


def expand_url(url: str) -> str:
    """``${VAR}`` and ``~`` expanded; an unset variable is an error naming it, but for
    ``SEEDTREE_HOME``, which has a default (``~/.cache/seedtree``) wherever seedtree runs."""
    with_home = re.sub(r"\$\{SEEDTREE_HOME\}|\$SEEDTREE_HOME\b", str(seedtree_home()), url)
    expanded = os.path.expanduser(os.path.expandvars(with_home))
    unset = _UNSET_VAR.search(expanded)
    if unset is not None:
        raise UsageError(
            f"store: {url}: environment variable {unset.group(1)} is not set",
            hint="set it, or write the store's URL in full in seedtree.yaml",
        )
    return expanded


def open_store(url: str) -> Backend:
    """The backend of a store URL (see the module docstring)."""
    expanded = expand_url(url)
    if expanded.startswith("s3://"):
        bucket, _, prefix = expanded.removeprefix("s3://").partition("/")
        if not bucket:
            raise UsageError(f"store: {url}: no bucket", hint="write s3://bucket/prefix")
        return S3Backend(bucket, prefix)
    path = Path(expanded.removeprefix("file://"))
    if not path.is_absolute():
        raise UsageError(f"store: {url}: a folder store needs an absolute path")
    return FolderBackend(path)


def fetch_url(url: str, target: Path) -> None:
    """Copy the object at ``url`` (``s3://bucket/key``, ``file:///folder/file``) to ``target``,
    whole or not at all (a training recipe's general dataset kept in the store)."""
    base, _, key = url.rstrip("/").rpartition("/")
    if not key or "://" not in base:
        raise UsageError(f"{url}: not the URL of a file in a store", hint="write s3://bucket/key")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        part = Path(tmp) / key
        open_store(base).get_file(key, part)
        os.replace(part, target)


# --- manifests -----------------------------------------------------------------------------------


class Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sha256: str
    size: int


class Manifest(BaseModel):
    """One uploaded version: its files (artifacts, then ``cache/...``) by relative path."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: int = MANIFEST_FORMAT
    repository: str
    version: str
    commit: str
    files: dict[str, Entry]


@dataclass(frozen=True)
class Transfer:
    """What an upload or a restore moved, and what was already in place."""

    files: int
    moved: int
    moved_bytes: int
    present: int


def blob_key(sha256: str) -> str:
    return f"blobs/sha256/{sha256[:2]}/{sha256}"


def manifest_key(repository: str, version: str) -> str:
    return f"repos/{repository}/{version}/{MANIFEST}"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(store: Backend, repository: str, version: str) -> Manifest | None:
    key = manifest_key(repository, version)
    raw = store.read(key)
    if raw is None:
        return None
    try:
        manifest = Manifest.model_validate_json(raw)
    except ValidationError as exc:
        raise StoreError(
            f"{store.url}/{key}: not a seedtree manifest ({exc.error_count()} errors)"
        ) from None
    for rel, entry in manifest.files.items():
        _check_entry(store, key, rel, entry)
    return manifest


def _check_entry(store: Backend, key: str, rel: str, entry: Entry) -> None:
    """A manifest names files under the target folder and blobs by sha256, nothing else."""
    safe = all(part not in ("", ".", "..") for part in rel.split("/"))
    if not safe or "\\" in rel or "\0" in rel:
        raise StoreError(f"{store.url}/{key}: refused file path {rel!r}")
    if re.fullmatch(r"[0-9a-f]{64}", entry.sha256) is None:
        raise StoreError(f"{store.url}/{key}: {rel}: refused sha256 {entry.sha256!r}")


# --- upload --------------------------------------------------------------------------------------


def folder_hashes(folder: Path, skip: frozenset[str] = frozenset()) -> dict[str, str]:
    """sha256 of every regular file under ``folder`` by relative path, ``skip`` left out."""
    files = _folder_files(folder)
    return {rel: file_sha256(path) for rel, path in files.items() if rel not in skip}


def first_difference(found: dict[str, str], expected: dict[str, str]) -> str | None:
    """How a folder's hashes differ from what was recorded, or ``None`` when they do not."""
    for rel in sorted(expected):
        if rel not in found:
            return f"{rel} is missing"
        if found[rel] != expected[rel]:
            return f"{rel} has sha256 {found[rel][:12]}..., not {expected[rel][:12]}..."
    extra = sorted(set(found) - set(expected))
    return f"{extra[0]} was never released" if extra else None


def _folder_files(folder: Path) -> dict[str, Path]:
    """Regular files under ``folder`` by ``/``-separated relative path (links are not followed)."""
    found = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink():
            found[path.relative_to(folder).as_posix()] = path
    return found


def _put_blobs(store: Backend, files: dict[str, Path]) -> tuple[dict[str, Entry], Transfer]:
    entries: dict[str, Entry] = {}
    moved = moved_bytes = 0
    for rel, path in files.items():
        entry = Entry(sha256=file_sha256(path), size=path.stat().st_size)
        entries[rel] = entry
        if not store.exists(blob_key(entry.sha256)):
            store.put_file(blob_key(entry.sha256), path)
            moved += 1
            moved_bytes += entry.size
    return entries, Transfer(len(files), moved, moved_bytes, len(files) - moved)


def snapshot_sqlite(database: Path, target: Path) -> None:
    """A consistent copy of a live SQLite database (WAL included), by SQLite's backup API."""
    source = sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
    finally:
        copy.close()
        source.close()


def upload_version(
    store: Backend, repository: str, version: str, commit: str, folder: Path, cache: Path | None
) -> Transfer:
    """Upload ``folder`` (a version's artifacts) and a snapshot of ``cache``; manifest last."""
    known = read_manifest(store, repository, version)
    if known is not None:
        if known.commit != commit:
            raise StoreError(
                f"{store.url}: {version} is already stored for commit {known.commit[:12]}, "
                f"not {commit[:12]}",
                hint="another runner released this version number: fetch its tags",
            )
        return Transfer(len(known.files), 0, 0, len(known.files))
    files = _folder_files(folder)
    with tempfile.TemporaryDirectory(prefix=".seedtree-cache-") as tmp:
        if cache is not None and cache.is_file():
            snapshot = Path(tmp) / cache.name
            snapshot_sqlite(cache, snapshot)
            files[CACHE_PREFIX + cache.name] = snapshot
        entries, transfer = _put_blobs(store, files)
    manifest = Manifest(repository=repository, version=version, commit=commit, files=entries)
    store.write(manifest_key(repository, version), manifest.model_dump_json(indent=2).encode())
    return transfer


# --- restore -------------------------------------------------------------------------------------


def _get_blob(store: Backend, entry: Entry, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    store.get_file(blob_key(entry.sha256), target)
    found = file_sha256(target)
    if found != entry.sha256:
        raise StoreError(
            f"{store.url}/{blob_key(entry.sha256)}: content has sha256 {found[:12]}..., "
            "not its name: the store is damaged",
        )


def _holds(folder: Path, manifest: Manifest) -> bool:
    """Whether ``folder`` already has every file of ``manifest`` (another process restored it)."""
    return all(
        (folder / rel).is_file() and (folder / rel).stat().st_size == entry.size
        for rel, entry in manifest.files.items()
        if not rel.startswith(CACHE_PREFIX)
    )


def _swap_in(staging: Path, target: Path, manifest: Manifest) -> None:
    """Rename ``staging`` to ``target``; an incomplete ``target`` is moved aside and removed."""
    if not target.exists():
        staging.rename(target)
        return
    if _holds(target, manifest):
        return
    aside = target.with_name(f".{target.name}.{os.getpid()}.old")
    target.rename(aside)
    staging.rename(target)
    shutil.rmtree(aside, ignore_errors=True)


def restore_version(
    store: Backend, manifest: Manifest, target: Path, cache: Path | None
) -> Transfer:
    """Download a version's artifacts into ``target`` (renamed into place when complete,
    replacing an incomplete folder).

    The generation cache snapshot goes to ``cache`` only when this machine has none."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    moved = moved_bytes = 0
    try:
        for rel, entry in manifest.files.items():
            if rel.startswith(CACHE_PREFIX):
                if cache is None or cache.exists():
                    continue
                _get_blob(store, entry, staging / rel)
                cache.parent.mkdir(parents=True, exist_ok=True)
                os.replace(staging / rel, cache)
            else:
                _get_blob(store, entry, staging / rel)
            moved, moved_bytes = moved + 1, moved_bytes + entry.size
        shutil.rmtree(staging / CACHE_PREFIX.rstrip("/"), ignore_errors=True)
        _swap_in(staging, target, manifest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return Transfer(len(manifest.files), moved, moved_bytes, len(manifest.files) - moved)
