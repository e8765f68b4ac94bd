"""Playing a song again with other options from its stems and analysis: nothing decoded or separated."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipeline.progress import ProgressTracker
from pipeline.remix_folder import FileCallback, MixCallback, memory_errors, play_into_folder
from pipeline.types import PLAY_STAGES, Analysis, ProgressCallback, RemixOptions, RemixResult, SeparatorInfo


def replay(
    vocals: np.ndarray,
    other: np.ndarray,
    analysis: Analysis,
    out_dir: str | Path,
    options: RemixOptions | None = None,
    assets_dir: str | Path | None = None,
    on_progress: ProgressCallback | None = None,
    *,
    separator: SeparatorInfo,
    stem_cache_key: str = "",
    on_mix: MixCallback | None = None,
    on_file: FileCallback | None = None,
) -> RemixResult:
    """Arrange, render, master and write a remix of a song separated and analysed before.

    ``vocals`` and ``other`` are the song's float32 ``(2, n)`` stems (e.g. from a ``StemCache`` entry),
    ``analysis`` its stored analysis and ``separator`` who made the stems. Writes what ``metalize`` writes;
    the result says the analysis was reused. ``on_progress`` runs 0..100 over the playing stages only;
    ``on_mix`` and ``on_file`` are ``metalize``'s.
    """
    if vocals.shape != other.shape or vocals.ndim != 2 or vocals.shape[0] != 2:
        raise ValueError(f"expected two (2, n) stems of one length, got {vocals.shape} and {other.shape}")
    tracker = ProgressTracker(on_progress, stages=PLAY_STAGES)
    # the holder is the only reference left here: emptied into play, which frees the stems once it can (a
    # caller that passes its own only references, ``replay(held.pop("vocals"), ...)``, has them freed too)
    played = {"vocals": vocals, "other": other}
    del vocals, other
    with memory_errors():
        return play_into_folder(
            played,
            analysis,
            separator,
            options or RemixOptions(),
            assets_dir=assets_dir,
            out_dir=Path(out_dir),
            tracker=tracker,
            analysis_reused=True,
            stem_cache_key=stem_cache_key,
            on_mix=on_mix,
            on_file=on_file,
        )
