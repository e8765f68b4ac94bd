"""System checks run by ``manage.py check``, runserver and the worker: is the machine able to remix?"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register


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
    """Without the htdemucs checkpoint the Demucs choice is unavailable (the others still run); say so when
    the operator offers Demucs, don't fail."""
    from pipeline.separate.demucs_model import find_checkpoint

    if "demucs" not in settings.METALIZER_SEPARATORS:
        return []
    models_dir = Path(settings.METALIZER_MODELS_DIR)
    if find_checkpoint(models_dir) is not None:
        return []
    return [
        Warning(
            f"No htdemucs checkpoint in {models_dir}: the upload page and the API show Demucs (the cleanest "
            "separator) as unavailable; Spleeter, the built-in splitter and Automatic still work.",
            hint="Run `make models` to fetch it (it prints the weights' licence: research and personal use "
            "only), or leave Demucs out with METALIZER_SEPARATORS=spleeter,dsp.",
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
