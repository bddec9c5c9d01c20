"""Fixtures for retrain tests: a small skills taxonomy in a real git repository, tiny models."""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from retrain.support import LEAVES, commit, write_settings

S3_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}
_BUCKETS = itertools.count(1)


@pytest.fixture
def skills_repo(make_repo: Callable[..., Path], tiny_model_dir: Path) -> Path:
    """Commit 1: three freeform skill leaves, settings for the tiny model."""
    repo = make_repo(with_taxonomy=False)
    for leaf, source in LEAVES.items():
        shutil.copytree(source, repo / "taxonomy" / leaf)
    write_settings(repo, tiny_model_dir)
    commit(repo, "three leaves")
    return repo


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A real S3 API server (moto's server mode) on 127.0.0.1, for the whole session."""
    pytest.importorskip("boto3", reason="boto3 is not installed (the S3 store needs it)")
    server_module = pytest.importorskip("moto.server", reason="moto[server] is not installed")
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_store_url(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """``s3://<fresh bucket>/store``, with the endpoint and credentials in the environment."""
    import boto3  # the S3 backend's client, to create the bucket

    for key, value in S3_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    bucket = f"seedtree-{next(_BUCKETS)}"
    boto3.client("s3").create_bucket(Bucket=bucket)
    return f"s3://{bucket}/store"


@pytest.fixture(params=["folder", "s3"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each store backend in turn: a local folder, then S3 (skipped without boto3 and moto)."""
    if request.param == "folder":
        return str(tmp_path / "artifact-store")
    return str(request.getfixturevalue("s3_store_url"))


@pytest.fixture
def offline_harness(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """lm-evaluation-harness importable, its Hugging Face caches inside the test's folder."""
    pytest.importorskip("lm_eval")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf" / "datasets"))
