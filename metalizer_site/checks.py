"""System checks run by ``manage.py check``, runserver and the worker: is the machine able to remix?"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register

CHECKPOINT_SUFFIXES = (".th", ".pt", ".pth", ".ckpt", ".yaml")


@register()
def ffmpeg_present(app_configs: Any = None, **_kwargs: Any) -> list[CheckMessage]:
    """ffmpeg decodes MP3/M4A/Opus uploads and encodes MP3 downloads."""
    if shutil.which("ffmpeg") and shutil.which("ffprobe"):
        return []
    return [
        Error(
            "ffmpeg/ffprobe not found on PATH.",
            hint="Install it (Debian/Ubuntu: apt-get install ffmpeg); uploads cannot be decoded without it.",
            id="metalizer.E001",
        )
    ]


@register()
def demucs_checkpoint_present(app_configs: Any = None, **_kwargs: Any) -> list[CheckMessage]:
    """Without a demucs checkpoint the pipeline falls back to a weaker separator; say so, don't fail."""
    models_dir = Path(settings.METALIZER_MODELS_DIR)
    found = models_dir.is_dir() and any(
        p.suffix in CHECKPOINT_SUFFIXES for p in models_dir.rglob("*") if p.is_file()
    )
    if found:
        return []
    return [
        Warning(
            f"No demucs checkpoint in {models_dir}.",
            hint="Remixes use the fallback separator (lower quality). See models/README.md to fetch one.",
            id="metalizer.W001",
        )
    ]


@register()
def assets_dir_present(app_configs: Any = None, **_kwargs: Any) -> list[CheckMessage]:
    assets_dir = Path(settings.METALIZER_ASSETS_DIR)
    if assets_dir.is_dir():
        return []
    return [
        Error(
            f"The default asset directory {assets_dir} does not exist.",
            hint="Set METALIZER_ASSETS_DIR to the folder with the drum kits and impulse responses.",
            id="metalizer.E002",
        )
    ]


@register()
def static_files_collected(app_configs: Any = None, **_kwargs: Any) -> list[CheckMessage]:
    """Production serves hashed static files (cached for a year) only once collectstatic has run."""
    if settings.DEBUG or settings.STATIC_COLLECTED:
        return []
    return [
        Warning(
            f"collectstatic has not run: there is no manifest in {settings.STATIC_ROOT}.",
            hint="Pages still render, with static files served from the app folders under their plain names "
            "(no long-lived caching). Run: python manage.py collectstatic --noinput",
            id="metalizer.W002",
        )
    ]
