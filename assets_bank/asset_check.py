"""One asset out of storage onto local disk, and whether the pipeline can play what arrived.

Storage can lose a file, and a file can stop decoding (a bad copy, a migration gone wrong) long after the
upload validators passed it, or it came in before they knew what to refuse. ``fetch`` never raises for such
an asset: it loads the file as the band will play it (``pipeline.check_bank_file``, the same load the upload
validator runs) and says what is wrong, so the layout writer skips it and the job still runs. Cancellation
and time limits are not ``Exception`` subclasses (``pipeline.errors.Interrupted``) and pass straight through.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

from assets_bank.models import Asset
from pipeline import PipelineError, check_bank_file

logger = logging.getLogger(__name__)

MISSING_IN_STORAGE = "its file is missing from storage"


@dataclass(frozen=True)
class Fetched:
    """An asset's local copy (``path``), or why it cannot be played (``problem``, with ``path`` None)."""

    asset: Asset
    path: Path | None
    problem: str = ""
    storage_error: bool = False  # a read failure (maybe passing), as opposed to a file that is bad for good

    @property
    def usable(self) -> bool:
        return self.path is not None


def fetch(asset: Asset, target: Path) -> Fetched:
    """Copy ``asset``'s file to ``target`` and check it plays; never raises for a bad or missing file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with asset.file.open("rb") as src, target.open("wb") as dst:
            shutil.copyfileobj(src, dst, length=1 << 20)
    except FileNotFoundError:
        return _unusable(asset, target, MISSING_IN_STORAGE, storage_error=True)
    except Exception as exc:  # S3 answers a lost key with its own errors; a dead connection with others
        logger.warning("asset %s (%s) could not be read from storage: %r", asset.pk, asset.file.name, exc)
        missing = "NoSuchKey" in repr(exc) or "404" in str(exc)
        unreadable = f"its file cannot be read from storage ({type(exc).__name__})"
        reason = MISSING_IN_STORAGE if missing else unreadable
        return _unusable(asset, target, reason, storage_error=True)
    problem = file_problem(target, midi=asset.is_midi)
    if problem:
        return _unusable(asset, target, problem)
    return Fetched(asset, target)


def file_problem(path: Path, *, midi: bool) -> str:
    """Why the band cannot play the file at ``path`` ("" when it can), in the words of the failed load."""
    try:
        check_bank_file(path, midi=midi)
    except PipelineError as exc:
        return f"it cannot be played: {exc.message}"
    except OSError as exc:
        return f"its file cannot be read ({type(exc).__name__})"
    return ""


def _unusable(asset: Asset, target: Path, problem: str, *, storage_error: bool = False) -> Fetched:
    target.unlink(missing_ok=True)
    return Fetched(asset, None, problem, storage_error)
