"""The workers' stem cache: entries in Django's storage (S3 in production), so every worker shares them.

``StorageStemCache`` is the pipeline's ``StemCache`` (get/put by key) over ``default_storage``: an entry is
the files of ``pipeline.stem_cache.write_entry`` under ``stem-cache/<key>/``, the manifest uploaded last,
so a reader never takes a half-uploaded entry for a whole one. The files go through a scratch folder in
``METALIZER_WORK_DIR``. Entries no live job uses are deleted by ``purge_stem_cache`` once older than
``METALIZER_STEM_CACHE_TTL_HOURS`` (and by ``jobs.services`` when the last job using one is deleted).
"""

from __future__ import annotations

import logging
import re
import tempfile
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core.files.storage import default_storage
from django.utils import timezone

from jobs.storage import STORAGE_ERRORS, delete_tree, download_file, list_tree, upload_file
from pipeline import STEM_NAMES, CachedSong, Stems
from pipeline import stem_cache as entry_format
from pipeline.stem_cache import AnalysisToCome

logger = logging.getLogger(__name__)

PREFIX = "stem-cache"
_KEY = re.compile(r"[0-9a-f]{64}")
# Entries without a manifest (an upload cut short) are removed once their newest file is this old.
INCOMPLETE_GRACE_S = 3600


def entry_prefix(key: str) -> str:
    if not _KEY.fullmatch(key):
        raise ValueError(f"not a stem cache key: {key!r}")
    return f"{PREFIX}/{key}"


@contextmanager
def _scratch() -> Iterator[Path]:
    root = Path(settings.METALIZER_WORK_DIR)
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="stem-cache-", dir=root) as tmp:
        yield Path(tmp)


class StorageStemCache:
    """A ``pipeline.StemCache`` kept in the site's file storage."""

    def __repr__(self) -> str:
        return f"StorageStemCache({type(default_storage).__name__}:{PREFIX}/)"

    def get(self, key: str, names: Sequence[str] = STEM_NAMES) -> CachedSong | None:
        """The entry's stems ``names`` and analysis; None when absent, incomplete or unreachable."""
        if not _KEY.fullmatch(key or ""):
            return None
        prefix = entry_prefix(key)
        try:
            with _scratch() as tmp:
                download_file(f"{prefix}/{entry_format.MANIFEST}", tmp / entry_format.MANIFEST)
                manifest = entry_format.read_manifest(tmp)
                if manifest is None:
                    return None
                # the stems this worker decoded for the song's last re-style, while the entry is the same
                kept = entry_format.kept_stems(key, manifest, names)
                files = entry_format.entry_files(manifest, () if kept is not None else names)
                # A few files at once: an object store answers each request with some latency.
                with ThreadPoolExecutor(max_workers=max(1, min(4, len(files)))) as pool:
                    list(pool.map(lambda name: download_file(f"{prefix}/{name}", tmp / name), files))
                song = entry_format.read_entry(tmp, names, manifest, decoded=kept)
                if song is not None and kept is None:
                    entry_format.keep_stems(key, manifest, song.stems)
                return song
        except FileNotFoundError:
            return None
        except STORAGE_ERRORS as exc:
            logger.warning("stem cache entry %s could not be read: %s", key[:12], exc)
            return None

    def put(self, key: str, stems: Stems, analysis: AnalysisToCome | None = None) -> None:
        """Upload the entry, each file once written (the stems while a pending ``analysis`` is made, the
        manifest last). Storage errors propagate: the pipeline logs and carries on."""
        prefix = entry_prefix(key)
        with _scratch() as tmp:
            for path in entry_format.entry_files_as_written(tmp, stems, analysis):
                upload_file(path, f"{prefix}/{path.name}")


def delete_entry(key: str) -> int:
    """Remove one entry (every file under its folder); returns the files deleted."""
    if not _KEY.fullmatch(key or ""):
        return 0
    return delete_tree(entry_prefix(key))


def purge_stem_cache(now: datetime | None = None, *, ttl_hours: int | None = None) -> int:
    """Delete entries no live job uses once they are ``ttl_hours`` old; returns the entries deleted.

    An entry's age is its manifest's; an entry without a manifest is an upload cut short and goes once its
    newest file is an hour old. Entries of jobs still alive (their ``stem_key``) are kept, so "Try another
    style" on a job that has not expired always finds its stems.
    """
    from jobs.models import Job

    now = now or timezone.now()
    ttl = timedelta(hours=ttl_hours if ttl_hours is not None else settings.METALIZER_STEM_CACHE_TTL_HOURS)
    try:
        folders, _files = default_storage.listdir(PREFIX)
    except (FileNotFoundError, NotADirectoryError):
        return 0
    keys = [name for name in folders if _KEY.fullmatch(name)]
    in_use = set(Job.objects.filter(stem_key__in=keys).values_list("stem_key", flat=True))
    deleted = 0
    for key in keys:
        if key in in_use:
            continue
        try:
            if _expired(key, now, ttl):
                delete_tree(entry_prefix(key))
                deleted += 1
        except STORAGE_ERRORS:  # one bad entry must not stop the sweep; the next run tries again
            logger.exception("could not purge stem cache entry %s", key[:12])
    return deleted


def _expired(key: str, now: datetime, ttl: timedelta) -> bool:
    prefix = entry_prefix(key)
    manifest = f"{prefix}/{entry_format.MANIFEST}"
    if default_storage.exists(manifest):
        return default_storage.get_modified_time(manifest) < now - ttl
    files = list_tree(prefix)  # empty for a folder an object store still lists after its last delete
    cutoff = now - timedelta(seconds=INCOMPLETE_GRACE_S)
    return bool(files) and all(default_storage.get_modified_time(name) < cutoff for name in files)
