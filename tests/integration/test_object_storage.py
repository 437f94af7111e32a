"""Uploads in S3-compatible object storage (MEDIA_STORAGE=s3), over HTTP against a real S3 server.

The server is moto's standalone one (``python -m moto.server``), started here as a separate process on a
free port: boto3 talks HTTP to it exactly as to MinIO or AWS (signatures, multipart, ranged GETs), nothing
is patched in this process. What is proven: the object lands under ``<S3_PREFIX><service>/ab/cd/<sha>`` in
the service's bucket, the same bytes upload nothing, refusals leave no object, the services' download
endpoints give the same answer (headers, 304, 206, 416) from a bucket as from the local folder, a file past
the multipart threshold round-trips, and deleting removes the object — only the deleting service's.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from shared.config import Settings
from shared.errors import PayloadTooLarge, UnsupportedMediaType, ValidationFailed
from shared.storage import CHUNK_SIZE, FileStore, S3Blobs, StorageUnavailable, s3_client
from tests.integration.test_onboarding_api import PDF, create, merchant, upload
from tests.integration.test_training_api import (
    candidates_matched,
    cohort_of,
    deliver,
    project_confirmed,
)
from tests.support import ServiceHarness

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "yk-test-key", "AWS_SECRET_ACCESS_KEY": "yk-test-secret"}
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + bytes(200)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto's S3 server in its own process for this module; boto3's credential chain finds the env keys."""
    port = _free_port()
    log_file = tmp_path_factory.mktemp("moto") / "server.log"
    with pytest.MonkeyPatch.context() as mp, log_file.open("wb") as log:
        for key, value in CREDENTIALS.items():
            mp.setenv(key, value)
        mp.setenv("AWS_EC2_METADATA_DISABLED", "true")  # never wait for an instance-metadata endpoint
        mp.delenv("AWS_PROFILE", raising=False)
        mp.delenv("AWS_SESSION_TOKEN", raising=False)
        server = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ},
        )
        endpoint = f"http://127.0.0.1:{port}"
        try:
            _wait_until_up(server, port, log_file)
            yield endpoint
        finally:
            server.terminate()
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(10)
            s3_client.cache_clear()  # the cached clients point at this server and carry its keys


def _wait_until_up(server: subprocess.Popen[bytes], port: int, log_file: Path) -> None:
    for _ in range(300):  # up to ~30 s on a loaded machine
        if server.poll() is not None:
            raise RuntimeError(f"moto's server exited: {log_file.read_text(errors='replace')[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.1):
                return
        except OSError:
            with contextlib.suppress(subprocess.TimeoutExpired):
                server.wait(0.1)  # a pause that ends early if the server dies
    raise RuntimeError(f"moto's server did not listen on {port}: {log_file.read_text(errors='replace')}")


@pytest.fixture()
def s3(s3_endpoint: str) -> Any:
    """A client of our own for looking into the buckets (not the one the product uses)."""
    return boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}),
    )


@pytest.fixture()
def make_bucket(s3: Any) -> Callable[..., str]:
    def make(*, versioned: bool = False) -> str:
        name = f"yk-{uuid.uuid4().hex[:12]}"
        s3.create_bucket(Bucket=name)
        if versioned:  # every PUT of a key adds a version: counts uploads, not just objects
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        return name

    return make


def s3_env(endpoint: str, bucket: str, **more: str) -> dict[str, str]:
    return {"MEDIA_STORAGE": "s3", "S3_BUCKET": bucket, "S3_ENDPOINT_URL": endpoint, **more}


def keys(s3: Any, bucket: str) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []))


def key_of(content: bytes, prefix: str) -> str:
    sha = hashlib.sha256(content).hexdigest()
    return f"{prefix}{sha[:2]}/{sha[2:4]}/{sha}"


# --- the store ----------------------------------------------------------------------------------------


def test_an_upload_lands_under_the_services_prefix_once_however_often_it_is_sent(
    s3_endpoint: str, s3: Any, make_bucket: Callable[..., str]
) -> None:
    bucket = make_bucket(versioned=True)
    settings = Settings.from_env("onboarding", s3_env(s3_endpoint, bucket, S3_PREFIX="tenant-a/"))
    store = FileStore.from_settings(settings)

    first = store.save(io.BytesIO(PDF), "培训资料.pdf")
    key = key_of(PDF, "tenant-a/onboarding/")
    assert (first.created, first.location, first.path) == (True, f"s3://{bucket}/{key}", None)
    assert (first.filename, first.content_type, first.size) == ("培训资料.pdf", "application/pdf", len(PDF))
    assert keys(s3, bucket) == [key]

    again = store.save(io.BytesIO(PDF), "copy.pdf")
    assert (again.created, again.sha256) == (False, first.sha256)
    versions = s3.list_object_versions(Bucket=bucket).get("Versions", [])
    assert [v["Key"] for v in versions] == [key]  # no second PUT: a versioned bucket would hold two

    assert store.exists(first.sha256)
    with store.open(first.sha256) as blob:
        assert blob.size == len(PDF)
        assert blob.read(CHUNK_SIZE) == PDF


def test_a_service_bucket_override_and_the_prefixes_keep_each_service_to_its_own_objects(
    s3_endpoint: str, s3: Any, make_bucket: Callable[..., str]
) -> None:
    shared_bucket, training_bucket = make_bucket(), make_bucket()
    env = s3_env(s3_endpoint, shared_bucket, S3_PREFIX="yk/", TRAINING_S3_BUCKET=training_bucket)
    onboarding = FileStore.from_settings(Settings.from_env("onboarding", env))
    training = FileStore.from_settings(Settings.from_env("training", env))

    assert onboarding.save(io.BytesIO(PDF), "a.pdf").created
    assert training.save(io.BytesIO(PDF), "a.pdf").created  # same bytes, but not in onboarding's place
    assert keys(s3, shared_bucket) == [key_of(PDF, "yk/onboarding/")]
    assert keys(s3, training_bucket) == [key_of(PDF, "yk/training/")]

    # each service deletes when its own rows stop referencing a blob: the other's copy must survive
    sha = hashlib.sha256(PDF).hexdigest()
    assert onboarding.delete(sha) is True
    assert onboarding.delete(sha) is False
    assert keys(s3, shared_bucket) == []
    assert keys(s3, training_bucket) == [key_of(PDF, "yk/training/")]
    with training.open(sha) as blob:
        assert blob.read(CHUNK_SIZE) == PDF


def test_refused_uploads_leave_no_object_and_no_spooled_file(
    s3_endpoint: str, s3: Any, make_bucket: Callable[..., str], tmp_path: Path
) -> None:
    bucket = make_bucket()
    spool = tmp_path / "spool"
    client = s3_client(s3_endpoint, "us-east-1", "path")
    store = FileStore(S3Blobs(client, bucket, "onboarding/", spool_dir=spool), max_bytes=4096)

    with pytest.raises(PayloadTooLarge):
        store.save(io.BytesIO(b"a" * 4097), "big.txt")
    with pytest.raises(UnsupportedMediaType):
        store.save(io.BytesIO(EXE), "notes.pdf")
    with pytest.raises(ValidationFailed):
        store.save(io.BytesIO(b""), "empty.pdf")
    assert keys(s3, bucket) == []
    assert list(spool.iterdir()) == []

    stored = store.save(io.BytesIO(b"a" * 4096), "exact.txt")
    assert keys(s3, bucket) == [key_of(b"a" * 4096, "onboarding/")]
    assert stored.created and list(spool.iterdir()) == []  # the uploaded file's spooled copy is gone too


def test_an_unreachable_object_storage_is_a_503_and_leaves_no_spooled_file(
    s3_endpoint: str, tmp_path: Path
) -> None:
    port = _free_port()  # nothing listens there
    client = s3_client(f"http://127.0.0.1:{port}", "us-east-1", "path")
    store = FileStore(S3Blobs(client, "nowhere", "onboarding/", spool_dir=tmp_path), max_bytes=4096)
    with pytest.raises(StorageUnavailable) as refused:
        store.save(io.BytesIO(PDF), "a.pdf")
    assert refused.value.status == 503
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(StorageUnavailable):
        store.open(hashlib.sha256(PDF).hexdigest())


# --- onboarding's materials over HTTP -------------------------------------------------------------------


def _exercise_material_download(h: ServiceHarness) -> dict[str, Any]:
    """Upload, download (plain, 304, 206, 416) and delete one material; what the client saw."""
    m = merchant(h, "m-s3")
    pid = create(h, m)["id"]
    posted = upload(h, pid, m)
    assert posted.status_code == 201, posted.get_data(as_text=True)
    path = posted.get_json()["download_path"]
    sha = hashlib.sha256(PDF).hexdigest()

    full = h.client.get(path, headers=m)
    assert full.status_code == 200 and full.data == PDF
    assert full.headers["Last-Modified"]
    not_modified = h.client.get(path, headers={**m, "If-None-Match": f'"{sha}"'})
    part = h.client.get(path, headers={**m, "Range": "bytes=5-20"})
    outside = h.client.get(path, headers={**m, "Range": f"bytes={len(PDF) + 10}-"})
    header_names = (
        "Content-Type",
        "Content-Length",
        "Content-Disposition",
        "ETag",
        "Cache-Control",
        "Accept-Ranges",
        "X-Content-Type-Options",
    )
    seen = {
        "full": {k: full.headers.get(k) for k in header_names},
        "304": (not_modified.status_code, not_modified.data),
        "206": (
            part.status_code,
            part.data,
            part.headers.get("Content-Range"),
            part.headers["Content-Length"],
        ),
        "416": (outside.status_code, outside.headers.get("Content-Range")),
    }
    assert h.client.delete(path, headers=m).status_code == 204
    return seen


def test_materials_download_the_same_from_a_bucket_as_from_the_folder(
    service_env: Callable[..., ServiceHarness],
    s3_endpoint: str,
    s3: Any,
    make_bucket: Callable[..., str],
    tmp_path: Path,
) -> None:
    bucket = make_bucket()
    local = service_env("onboarding", overrides={"media_root": str(tmp_path / "media")})
    remote = service_env("onboarding", env=s3_env(s3_endpoint, bucket, S3_PREFIX="p/"))
    assert remote.settings.media_storage == "s3" and remote.settings.s3_bucket == bucket

    from_folder = _exercise_material_download(local)
    from_bucket = _exercise_material_download(remote)
    assert from_bucket == from_folder
    sha = hashlib.sha256(PDF).hexdigest()
    assert from_bucket["full"] == {
        "Content-Type": "application/pdf",
        "Content-Length": str(len(PDF)),
        "Content-Disposition": "attachment; filename=.pdf; "
        "filename*=UTF-8''%E5%9F%B9%E8%AE%AD%E8%B5%84%E6%96%99.pdf",
        "ETag": f'"{sha}"',
        "Cache-Control": "no-cache, max-age=0",
        "Accept-Ranges": "bytes",
        "X-Content-Type-Options": "nosniff",
    }
    assert from_bucket["304"] == (304, b"")
    assert from_bucket["206"] == (206, PDF[5:21], f"bytes 5-20/{len(PDF)}", "16")
    assert from_bucket["416"] == (416, f"bytes */{len(PDF)}")
    # deleting the material (its only reference) removed the object, after the commit
    assert keys(s3, bucket) == []
    assert [p for p in (tmp_path / "media").rglob("*") if p.is_file()] == []


def test_a_material_past_the_multipart_threshold_round_trips_and_serves_ranges(
    service_env: Callable[..., ServiceHarness], s3_endpoint: str, s3: Any, make_bucket: Callable[..., str]
) -> None:
    bucket = make_bucket()
    h = service_env("onboarding", env=s3_env(s3_endpoint, bucket))
    # boto3 switches to a multipart upload past 8 MiB (8 MiB parts): this one goes up in two parts
    content = b"\x89PNG\r\n\x1a\n" + os.urandom(9 * 1024 * 1024)
    m = merchant(h, "m-big")
    pid = create(h, m)["id"]
    posted = upload(h, pid, m, content, "大图.png")
    assert posted.status_code == 201, posted.get_data(as_text=True)
    key = key_of(content, "onboarding/")
    head = s3.head_object(Bucket=bucket, Key=key)
    assert head["ContentLength"] == len(content)
    assert head["ETag"].strip('"').endswith("-2")  # S3's mark of an object assembled from 2 parts

    path = posted.get_json()["download_path"]
    full = h.client.get(path, headers=m)
    assert full.status_code == 200 and full.headers["Content-Length"] == str(len(content))
    assert hashlib.sha256(full.data).digest() == hashlib.sha256(content).digest()
    start, end = 8 * 1024 * 1024 - 100, 8 * 1024 * 1024 + 100  # across the parts' seam
    part = h.client.get(path, headers={**m, "Range": f"bytes={start}-{end}"})
    assert part.status_code == 206 and part.data == content[start : end + 1]

    assert h.client.delete(path, headers=m).status_code == 204
    assert keys(s3, bucket) == []


def test_a_material_whose_object_is_gone_is_a_410(
    service_env: Callable[..., ServiceHarness], s3_endpoint: str, s3: Any, make_bucket: Callable[..., str]
) -> None:
    bucket = make_bucket()
    h = service_env("onboarding", env=s3_env(s3_endpoint, bucket))
    m = merchant(h, "m-gone")
    pid = create(h, m)["id"]
    path = upload(h, pid, m).get_json()["download_path"]
    s3.delete_object(Bucket=bucket, Key=key_of(PDF, "onboarding/"))
    gone = h.client.get(path, headers=m)
    assert gone.status_code == 410 and "missing from storage" in gone.get_json()["detail"]


# --- training's courseware over HTTP --------------------------------------------------------------------


def test_courseware_in_a_bucket_uploads_downloads_and_is_deleted_with_its_item(
    service_env: Callable[..., ServiceHarness], s3_endpoint: str, s3: Any, make_bucket: Callable[..., str]
) -> None:
    bucket = make_bucket()
    h = service_env("training", env=s3_env(s3_endpoint, bucket, S3_PREFIX="yk/"))
    project_id = f"p-{uuid.uuid4().hex[:8]}"
    deliver(h, "project.confirmed", project_confirmed(project_id))
    deliver(h, "candidates.matched", candidates_matched(project_id, 3))
    cohort_id = cohort_of(h, project_id)["id"]
    trainer = h.auth("trainer")
    body = b"%PDF-1.4\n% course\n" + "培训课件".encode() * 50_000  # 600 KB: several CHUNK_SIZE pieces

    posted = h.client.post(
        f"/api/v1/cohorts/{cohort_id}/courseware",
        data={"title": "案例分析", "topics": "cases", "file": (io.BytesIO(body), "案例.pdf")},
        headers=trainer,
        content_type="multipart/form-data",
    )
    assert posted.status_code == 201, posted.get_json()
    item = posted.get_json()
    assert keys(s3, bucket) == [key_of(body, "yk/training/")]

    download = h.client.get(f"/api/v1/cohorts/{cohort_id}/courseware/{item['id']}/file", headers=trainer)
    assert download.status_code == 200 and download.data == body
    assert (download.headers["Content-Type"], download.headers["Content-Length"]) == (
        "application/pdf",
        str(len(body)),
    )
    assert download.headers["Content-Disposition"] == (
        "attachment; filename=\"__.pdf\"; filename*=UTF-8''%E6%A1%88%E4%BE%8B.pdf"
    )

    # a refused file (content contradicts the name) adds no object
    refused = h.client.post(
        f"/api/v1/cohorts/{cohort_id}/courseware",
        data={"title": "假PDF", "topics": "cases", "file": (io.BytesIO(EXE), "x.pdf")},
        headers=trainer,
        content_type="multipart/form-data",
    )
    assert refused.status_code == 415
    assert keys(s3, bucket) == [key_of(body, "yk/training/")]

    deleted = h.client.delete(f"/api/v1/cohorts/{cohort_id}/courseware/{item['id']}", headers=trainer)
    assert deleted.status_code == 204
    assert keys(s3, bucket) == []
