"""The site's S3 storage on the real S3 server (SeaweedFS): threads share one parsed model of S3, files of a
stem's or a mix's size go up in one request."""

from __future__ import annotations

import threading

import pytest
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage, storages

# The same SeaweedFS server and S3 storage settings as the asset bank's S3 tests (pytest fixtures).
from assets_bank.tests.test_s3_storage import s3_storage, seaweed  # noqa: F401
from metalizer_site.s3_storage import MULTIPART_CHUNK_BYTES, SINGLE_PUT_MAX_BYTES, S3Storage

pytestmark = [pytest.mark.integration]


def _save_on_new_threads(storage: S3Storage, count: int) -> list[object]:
    """Each of ``count`` new threads saves a file and checks it exists; returns each thread's connection."""
    connections: list[object] = [None] * count
    errors: list[BaseException] = []

    def one(i: int) -> None:
        try:
            storage.save(f"threads/{i}.txt", ContentFile(f"file {i}".encode()))
            assert storage.exists(f"threads/{i}.txt")
            connections[i] = storage.connection
        except BaseException as exc:  # reported by the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return connections


def test_new_threads_get_their_own_connections_from_one_parsed_model_of_s3(s3_storage):  # noqa: F811
    storage = storages["default"]  # the configured storage, as the jobs use it
    assert isinstance(storage, S3Storage)
    connections = _save_on_new_threads(storage, 6)
    assert sorted(s3_storage.object_keys("threads/")) == sorted(f"threads/{i}.txt" for i in range(6))
    assert len({id(c) for c in connections}) == 6  # a resource per thread (resources are not thread-safe)
    # ... made from one session: botocore parsed S3's model once, and every client reads that one copy
    models = {id(c.meta.client.meta.service_model._service_description) for c in connections}
    assert len(models) == 1


def test_a_file_of_a_stems_size_goes_up_in_one_request_and_a_larger_one_in_parts(
    s3_storage,  # noqa: F811
    tmp_path,
):
    assert SINGLE_PUT_MAX_BYTES > 4 * MULTIPART_CHUNK_BYTES  # a 3-minute mix (32 MB WAV) is one request
    sizes = {
        "stem.flac": MULTIPART_CHUNK_BYTES + 1024,  # above boto3's default threshold (8 MB), which splits it
        "long.wav": SINGLE_PUT_MAX_BYTES + 1024,
    }
    for name, size in sizes.items():
        path = tmp_path / name
        with path.open("wb") as fh:  # sparse: nothing held in memory or written out
            fh.truncate(size)
        with path.open("rb") as fh:
            default_storage.save(f"sizes/{name}", File(fh, name=name))
    client = s3_storage.client()
    heads = {name: client.head_object(Bucket=s3_storage.bucket, Key=f"sizes/{name}") for name in sizes}
    assert {name: head["ContentLength"] for name, head in heads.items()} == sizes
    # a multipart upload's ETag ends in -<parts>
    assert "-" not in heads["stem.flac"]["ETag"]
    parts = -(-sizes["long.wav"] // MULTIPART_CHUNK_BYTES)
    assert heads["long.wav"]["ETag"].strip('"').endswith(f"-{parts}")
