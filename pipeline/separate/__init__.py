"""Splitting a song into vocals, drums, bass and other.

``separate`` picks the best separator available offline (see ``choose``) and always records which one ran
and why. Keeping stems for later runs is the stem cache's job (``pipeline.stem_cache``, keyed by the file).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipeline.errors import SEPARATION_FAILED, PipelineError
from pipeline.separate.choose import Choice, Offer, choose, offers
from pipeline.types import STEM_NAMES, SeparatorInfo, StageProgress, Stems, no_progress

__all__ = ["Choice", "Offer", "choose", "offers", "separate"]


def separate(
    audio: np.ndarray,
    *,
    method: str = "auto",
    models_dir: Path | None = None,
    progress: StageProgress = no_progress,
    choice: Choice | None = None,
) -> Stems:
    """Separate float32 ``(2, n)`` audio into four ``(2, n)`` stems with the separator ``method`` names
    (or the one ``choice`` already picked)."""
    if audio.ndim != 2 or audio.shape[0] != 2 or audio.dtype != np.float32:
        raise ValueError(f"expected float32 audio of shape (2, n), got {audio.dtype} {audio.shape}")
    if choice is None:
        choice = choose(method, Path(models_dir) if models_dir is not None else None)
    try:
        stems = choice.run(audio, progress)
    except PipelineError:
        raise
    except MemoryError as exc:
        raise PipelineError(
            SEPARATION_FAILED, "The server ran out of memory while separating this song.", transient=True
        ) from exc
    except (RuntimeError, ValueError) as exc:
        raise PipelineError(SEPARATION_FAILED, f"Separating the song failed ({choice.name}): {exc}") from exc
    _check(stems, audio.shape[1], choice.name)
    progress(1.0)
    return _stems(stems, SeparatorInfo(choice.name, choice.reason, cached=False))


def _check(stems: dict[str, np.ndarray], frames: int, name: str) -> None:
    for stem in STEM_NAMES:
        data = stems.get(stem)
        if data is None or data.shape != (2, frames) or not np.isfinite(data).all():
            raise PipelineError(SEPARATION_FAILED, f"The {name} separator returned an unusable {stem} stem.")


def _stems(stems: dict[str, np.ndarray], info: SeparatorInfo) -> Stems:
    return Stems(**{name: np.asarray(stems[name], dtype=np.float32) for name in STEM_NAMES}, separator=info)
