"""S3 for tests: moto's standalone server on loopback (real HTTP), driven by the real boto3 client.

moto refuses parts under 5 MiB like S3 does; its documented `S3_UPLOAD_PART_MIN_SIZE` is lowered here so
a test clip of a few KiB can still go up in several parts.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

TEST_PART_MIN = 1024
os.environ.setdefault("S3_UPLOAD_PART_MIN_SIZE", str(TEST_PART_MIN))

REGION = "us-east-1"  # moto refuses `auto` when creating a bucket
ACCESS_KEY = "AKIDTESTDAILIES"
SECRET_KEY = "s3cr3t-never-shown-9f8e7d"


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    from moto.s3 import models as moto_s3
    from moto.server import ThreadedMotoServer

    assert moto_s3.S3_UPLOAD_PART_MIN_SIZE == int(os.environ["S3_UPLOAD_PART_MIN_SIZE"]), (
        "moto was imported before tests/s3_helpers.py set S3_UPLOAD_PART_MIN_SIZE")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_env(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The standard AWS variables pointing at the moto server; returns a fresh bucket's name."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_REGION", REGION)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3", "DAILIES_S3_PUBLIC_URL"):
        monkeypatch.delenv(name, raising=False)
    bucket = f"clips-{uuid.uuid4().hex[:12]}"
    client(moto_endpoint).create_bucket(Bucket=bucket)
    return bucket


def client(endpoint: str) -> Any:
    from jobs.clipstore_s3 import make_client

    return make_client(endpoint, REGION)


def s3_store(endpoint: str, bucket: str, staging: Path, *, prefix: str = "team/clips", **kwargs: Any) -> Any:
    from jobs.clipstore_s3 import S3ClipStore

    kwargs.setdefault("min_free_bytes", 0)
    return S3ClipStore(bucket, prefix, staging=staging, client=client(endpoint), **kwargs)


def objects(store: Any) -> list[str]:
    """Every object name in the store's bucket."""
    listing = store.client.list_objects_v2(Bucket=store.bucket)
    return sorted(o["Key"] for o in listing.get("Contents", []))
