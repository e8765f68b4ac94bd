"""The pipeline's main entry point: a song file in, a metal remix and its facts out."""

from __future__ import annotations

import importlib
import logging
import threading
import time
from collections.abc import Collection
from concurrent.futures import CancelledError, Future
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.heap import release_free_memory
from pipeline.paths import DEFAULT_MODELS_DIR
from pipeline.progress import ProgressTracker
from pipeline.remix_folder import FileCallback, MixCallback, memory_errors, play_into_folder
from pipeline.replay import replay
from pipeline.types import SAMPLE_RATE, Analysis, ProgressCallback, RemixOptions, RemixResult, Stems

if TYPE_CHECKING:
    from pipeline.stem_cache import AnalysisToCome, CachedSong, StemCache

logger = logging.getLogger(__name__)


# What a remix imports on its first call (numpy/scipy/pedalboard DSP, essentia, the separators' torch, the
# picture's matplotlib): seconds of imports that a long-lived worker pays once, at start-up, with preload().
HEAVY_MODULES = (
    "pipeline.play",
    "pipeline.analyze",
    "pipeline.audio_io",
    "pipeline.stem_cache",
    "pipeline.separate",
    "pipeline.separate.catalogue",
    "pipeline.separate.spleeter_model",
    "onnxruntime",  # Spleeter's networks
    "torch",  # htdemucs
    "matplotlib.figure",  # the picture draws on its own Figure with the Agg canvas, never pyplot
    "matplotlib.backends.backend_agg",
)


def preload() -> float:
    """Import everything a remix needs now, not on the first job; returns the seconds it took."""
    start = time.perf_counter()
    for name in HEAVY_MODULES:
        importlib.import_module(name)
    return time.perf_counter() - start


def metalize(
    input_path: str | Path,
    out_dir: str | Path,
    options: RemixOptions | None = None,
    assets_dir: str | Path | None = None,
    on_progress: ProgressCallback | None = None,
    *,
    models_dir: str | Path | None = None,
    cache_dir: str | Path | None = None,
    stem_cache: StemCache | None = None,
    max_duration_s: float | None = None,
    analysis: Analysis | None = None,
    separators: Collection[str] | None = None,
    on_mix: MixCallback | None = None,
    on_file: FileCallback | None = None,
) -> RemixResult:
    """Turn the song at ``input_path`` into a metal remix written under ``out_dir``.

    Writes ``mix.wav`` (and ``mix.<format>`` when another output format is asked for), ``stems/*.flac``,
    ``midi/*.mid``, pictures and ``result.json``; a failure leaves nothing half-written behind.
    ``on_progress(stage, percent)`` receives the stage name and the whole job's percent (0..100).
    ``on_mix(mixes)`` is handed the mix files as soon as they are written, before the stems, MIDI files and
    pictures are done (``remix_folder.MixCallback``), so a caller can let a listener play the mix first;
    ``on_file(kind, name, file)`` each of those as it is written (``remix_folder.FileCallback``), so a caller
    can store them while the rest are made.

    With a stem cache (``stem_cache``, or a folder as ``cache_dir``) the song's stems and analysis are kept
    under a key of the file's bytes and the separator; a later run of the same file finds them without
    decoding it and only plays (``separator.cached`` and ``analysis_reused`` say so). ``analysis``, when
    given, is the song's analysis from an earlier run: the song is not analysed again. ``separators`` are
    the separators this deployment offers (None: all); asking for another one is refused.
    Raises ``PipelineError`` with a code and a listener-readable message.
    """
    # Heavy imports stay inside the call, each where it is needed: importing the package is cheap, and a
    # song found in the cache imports neither the decoder nor the analysis (essentia: ~0.6 s of a re-style).
    from pipeline.separate import choose
    from pipeline.stem_cache import FileStemCache

    options = options or RemixOptions()
    models_dir = Path(models_dir) if models_dir else DEFAULT_MODELS_DIR
    cache = stem_cache if stem_cache is not None else (FileStemCache(cache_dir) if cache_dir else None)
    choice = choose(options.separator, models_dir, separators)
    key = _song_key(input_path, choice.cache_id) if cache is not None else ""
    cached = _cached_song(cache, key) if key else None
    if cached is not None and (analysis is not None or cached.analysis is not None):
        _check_length(cached.frames, max_duration_s)
        return replay(  # popped into the call: the cache entry keeps no reference while the song plays
            cached.stems.pop("vocals"),
            cached.stems.pop("other"),
            analysis or cached.analysis,
            out_dir,
            options,
            assets_dir,
            on_progress,
            separator=cached.separator,
            stem_cache_key=key,
            on_mix=on_mix,
            on_file=on_file,
        )
    from pipeline.analyze import analyze
    from pipeline.audio_io import decode
    from pipeline.separate import separate
    from pipeline.separate.catalogue import stages_for

    tracker = ProgressTracker(on_progress, stages=stages_for(choice.method))
    with memory_errors():
        tracker.for_stage("decoding")
        audio = decode(input_path, max_duration_s=max_duration_s)
        tracker.report("decoding", 1.0)
        stems = separate(audio, choice=choice, progress=tracker.for_stage("separating"))
        release_free_memory()  # the separator's freed buffers go back to the OS before the analysis peaks
        reused = analysis is not None
        # the stems are kept (encoded, stored) beside the analysis, the entry completed once it is made
        analysed: Future[Analysis] = Future()
        keeper = _keep_beside(cache, key, stems, analysed) if key else None
        try:
            if analysis is None:
                analysis = analyze(audio, stems=stems, progress=tracker.for_stage("analysing"))
                release_free_memory()  # and the analysis' before the band renders
            analysed.set_result(analysis)
        finally:
            analysed.cancel()  # no analysis (an error, a stop): the entry is left incomplete, never used
            if keeper is not None:
                keeper.join()
        # The band replaces the song's drums and bass: only the vocals and "other" stems are played on, and
        # dropping the rest before playing keeps a long song's peak memory down.
        played, separator = {"vocals": stems.vocals, "other": stems.other}, stems.separator
        del audio, stems
        return play_into_folder(
            played,
            analysis,
            separator,
            options,
            assets_dir=assets_dir,
            out_dir=Path(out_dir),
            tracker=tracker,
            analysis_reused=reused,
            stem_cache_key=key,
            on_mix=on_mix,
            on_file=on_file,
        )


def _song_key(input_path: str | Path, separator_id: str) -> str:
    """The cache key of this file separated by ``separator_id``; "" when the file cannot be read
    (decoding it then raises the error a listener understands)."""
    from pipeline.stem_cache import song_key

    try:
        return song_key(input_path, separator_id)
    except OSError:
        return ""


def _cached_song(cache: StemCache, key: str) -> CachedSong | None:
    from pipeline.stem_cache import PLAYED_STEMS

    try:
        return cache.get(key, PLAYED_STEMS)
    except Exception as exc:  # noqa: BLE001 - a cache is an optimisation: an unreachable one means "not cached"
        logger.warning("could not read stem cache entry %s from %r: %s", key[:12], cache, exc)
        return None


def _keep_beside(cache: StemCache, key: str, stems: Stems, analysis: Future[Analysis]) -> threading.Thread:
    """Keep the song's stems and (once made) analysis in ``cache`` on a thread of its own (join it)."""
    thread = threading.Thread(
        target=_keep, args=(cache, key, stems, analysis), name="stem-cache", daemon=True
    )
    thread.start()
    return thread


def _keep(cache: StemCache, key: str, stems: Stems, analysis: AnalysisToCome) -> None:
    started = time.perf_counter()
    try:
        cache.put(key, stems, analysis)
    except CancelledError:  # the song was not analysed: the caller raises why
        return
    except Exception as exc:  # noqa: BLE001 - a full or unreachable cache must not fail the song
        logger.warning("could not keep stems of %s in %r: %s", key[:12], cache, exc)
        return
    logger.info(
        "kept the stems and analysis of %s in %r (%.1f s)", key[:12], cache, time.perf_counter() - started
    )


def _check_length(frames: int, max_duration_s: float | None) -> None:
    """A cached song is not decoded again, so the length limit is checked on its stems."""
    from pipeline.audio_io import too_long

    seconds = frames / SAMPLE_RATE
    if max_duration_s is not None and seconds > max_duration_s:
        raise too_long(seconds, max_duration_s)
