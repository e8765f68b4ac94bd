"""The site's S3 file storage: django-storages' backend, its connections made from one boto3 session, and
the one place its settings are written (``s3_storage_options``: the settings and the S3 tests use it)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from boto3.s3.transfer import TransferConfig
from storages.backends import s3

BACKEND = "metalizer_site.s3_storage.S3Storage"

# Files up to this size go up in one PUT request, streamed from the file on disk (a stem, a picture, the mix
# of a song up to about 6 minutes as WAV); bigger ones in parts of MULTIPART_CHUNK_BYTES, one part at a
# time: boto3's default threaded transfer reads up to ten parts of a file into memory at once. Against the
# SeaweedFS server on loopback, a 32 MB mix took 0.31 s in 8 MB parts and 0.21 s in one request, an 11 MB
# stem 0.11 s and 0.08 s (each part is a request the store answers, plus opening and completing the upload).
SINGLE_PUT_MAX_BYTES = 64 << 20
MULTIPART_CHUNK_BYTES = 8 << 20


def s3_storage_options(
    *,
    bucket: str,
    endpoint_url: str | None,
    access_key: str,
    secret_key: str,
    region: str,
    signed_url_ttl_s: int,
) -> dict[str, Any]:
    """The ``OPTIONS`` of the site's S3 storage (``STORAGES["default"]``, with ``BACKEND``)."""
    return {
        "bucket_name": bucket,
        "endpoint_url": endpoint_url,
        "access_key": access_key,
        "secret_key": secret_key,
        "region_name": region,
        "querystring_auth": True,
        "querystring_expire": signed_url_ttl_s,
        "file_overwrite": True,
        "default_acl": None,
        "signature_version": "s3v4",
        "addressing_style": "path",
        "transfer_config": TransferConfig(
            use_threads=False,
            multipart_threshold=SINGLE_PUT_MAX_BYTES,
            multipart_chunksize=MULTIPART_CHUNK_BYTES,
        ),
    }


class S3Storage(s3.S3Storage):
    """django-storages' ``S3Storage`` whose threads' connections come from one boto3 session.

    django-storages gives each thread its own connection (a boto3 resource: they are not thread-safe), made
    from a new boto3 session, which parses botocore's S3 model files again: 0.08-0.13 CPU-s holding the GIL
    for every new thread, more when several start at once, and a job's uploads and the stem cache's
    transfers run on new threads every time. The resources of one session share its parsed models, so a new
    thread's connection takes about 7 ms. A session is not thread-safe either: connections are made from it
    one at a time, under a lock.
    """

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        self._session_lock = threading.Lock()
        self._session: Any = None

    def _create_session(self) -> Any:
        if self._session is None:
            self._session = super()._create_session()
        return self._session

    def _made_once(self, per_thread: threading.local, make: Callable[[], Any]) -> Any:
        """This thread's connection in ``per_thread``, made by ``make`` under the lock when missing."""
        if getattr(per_thread, "connection", None) is None:
            with self._session_lock:
                return make()
        return per_thread.connection

    @property
    def connection(self) -> Any:
        return self._made_once(self._connections, lambda: super(S3Storage, self).connection)

    @property
    def unsigned_connection(self) -> Any:
        return self._made_once(self._unsigned_connections, lambda: super(S3Storage, self).unsigned_connection)
