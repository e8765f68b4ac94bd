"""Job files in Django's default storage, through the storage API only (local and S3 behave the same)."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from django.core.files import File
from django.core.files.storage import FileSystemStorage, default_storage

logger = logging.getLogger(__name__)


def _storage_errors() -> tuple[type[BaseException], ...]:
    found: list[type[BaseException]] = [OSError]
    try:
        from botocore.exceptions import BotoCoreError, ClientError

        found += [BotoCoreError, ClientError]
    except ImportError:  # pragma: no cover - boto3 is a pinned requirement
        pass
    return tuple(found)


# What a storage call may raise when the store is unreachable or refuses (local: OSError; S3: botocore).
STORAGE_ERRORS = _storage_errors()


def job_prefix(job_id: object) -> str:
    return f"jobs/{job_id}"


def result_prefix(job_id: object) -> str:
    return f"jobs/{job_id}/result"


def list_tree(prefix: str) -> list[str]:
    """Every file key under ``prefix`` (recursive); empty when the prefix does not exist."""
    try:
        dirs, files = default_storage.listdir(prefix)
    except (FileNotFoundError, NotADirectoryError):
        return []
    keys = [f"{prefix}/{name}" for name in files]
    for sub in dirs:
        keys.extend(list_tree(f"{prefix}/{sub}"))
    return keys


def delete_tree(prefix: str) -> int:
    """Delete every file under ``prefix``; returns how many were deleted."""
    return delete_keys(list_tree(prefix), tidy=[prefix])


def delete_keys(keys: list[str], *, tidy: list[str] | None = None) -> int:
    """Delete these file keys; then remove the local folders ``tidy`` (and each key's folder) once empty."""
    for key in keys:
        default_storage.delete(key)
    for prefix in dict.fromkeys([*(tidy or []), *(key.rsplit("/", 1)[0] for key in keys if "/" in key)]):
        _remove_empty_local_dirs(prefix)
    return len(keys)


def discard_results(job_id: object) -> bool:
    """Best effort: delete a job's result files. Used on error paths, where storage may be the very thing
    that is down; a failure is logged (purge removes the files at expiry) instead of masking the error."""
    try:
        delete_tree(result_prefix(job_id))
    except Exception as exc:
        logger.warning("could not delete the results of job %s now (%s); purge will", job_id, exc)
        return False
    return True


def _remove_empty_local_dirs(prefix: str) -> None:
    # Object stores have no directories; a local filesystem keeps empty ones, which we tidy up, with the
    # parents they leave empty (up to the top folder, e.g. ``jobs/``).
    if isinstance(default_storage, FileSystemStorage):
        location = Path(default_storage.location)
        root = location / prefix
        if root.is_dir() and not any(p.is_file() for p in root.rglob("*")):
            shutil.rmtree(root, ignore_errors=True)
        parent = root.parent
        while parent.parent != location and parent.is_relative_to(location) and parent.is_dir():
            try:
                parent.rmdir()  # refuses a folder that is not empty (or just stopped being empty)
            except OSError:
                break
            parent = parent.parent


def upload_file(path: Path, key: str) -> str:
    """Store a local file under ``key`` (replacing an older one); returns the key actually used."""
    if default_storage.exists(key):
        default_storage.delete(key)
    with path.open("rb") as fh:
        return default_storage.save(key, File(fh, name=path.name))


def download_file(key: str, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    with default_storage.open(key, "rb") as src, target.open("wb") as dst:
        shutil.copyfileobj(src, dst, length=1024 * 1024)
    return target
