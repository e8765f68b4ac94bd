"""Where the pipeline finds what ships beside its code: the repository root and its default folders.

Computed once here; the CLI, the remix entry points and the download tools read these names.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ASSETS_DIR = REPO_ROOT / "assets"  # the default packs the repository ships
DEFAULT_MODELS_DIR = REPO_ROOT / "models"  # separator weights (git-ignored; `make models` fills it)
DEFAULT_STEM_CACHE_DIR = REPO_ROOT / "data" / "cache" / "stems"  # the CLI's stem cache


def sha256_of(path: Path, block_size: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in blocks (weights files are hundreds of MB)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        while block := fh.read(block_size):
            digest.update(block)
    return digest.hexdigest()
