"""The remix's folder, shared by ``metalize`` and ``replay``: play the stems (``play``) and write every file.

Outputs are built in a staging folder and moved into ``out_dir`` only when every stage has succeeded, so a
failure leaves nothing half-written behind.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from pipeline.errors import OUT_OF_MEMORY, PipelineError
from pipeline.plain_json import json_default
from pipeline.progress import ProgressTracker
from pipeline.types import SAMPLE_RATE, Analysis, RemixOptions, RemixResult, SeparatorInfo

# on_mix(mixes): the mastered mix is written, format -> file (``wav`` always, and the asked output format);
# the stems, MIDI files and pictures are still being made. The files stay in place until the call returns,
# so a caller can store them (and let a listener play the mix) before the rest is done.
MixCallback = Callable[[dict[str, Path]], None]
# on_file(kind, name, file): one more file of the remix is written ("stems": "drums" ..., "midi": "bass" ...,
# "pictures": "song" ...), while the others are still being made; it stays in place until the call returns,
# so a caller can store each file as it comes instead of all of them at the end.
FileCallback = Callable[[str, str, Path], None]


@contextlib.contextmanager
def memory_errors() -> Iterator[None]:
    """A MemoryError becomes a transient PipelineError (a busy worker may manage the song next time)."""
    try:
        yield
    except MemoryError as exc:
        raise PipelineError(
            OUT_OF_MEMORY, "The server ran out of memory on this song.", transient=True
        ) from exc


def play_into_folder(
    played: dict[str, np.ndarray],
    analysis: Analysis,
    separator: SeparatorInfo,
    options: RemixOptions,
    *,
    assets_dir: str | Path | None,
    out_dir: Path,
    tracker: ProgressTracker,
    analysis_reused: bool = False,
    stem_cache_key: str = "",
    on_mix: MixCallback | None = None,
    on_file: FileCallback | None = None,
) -> RemixResult:
    """Arrange, render and master from the vocals and "other" stems; write the mix, stems, MIDI, result.json.

    The mix is written as soon as it is mastered, while ``play``'s thread finishes the stems; ``on_mix`` is
    handed it then (see ``MixCallback``); then the MIDI files and pictures are made (``Performance.finish``),
    and the result waits for all of them, handing each to ``on_file`` as it is written (``FileCallback``).

    ``played`` holds the two stems and is emptied into ``play``, so the caller's last references to them go
    with it and a long song's stems are freed once the parts made from them are rendered. ``assets_dir``
    None plays the shipped packs.
    """
    from pipeline.assets import SHIPPED_ASSETS_DIR
    from pipeline.audio_io import write_audio
    from pipeline.play import play

    assets_dir = Path(assets_dir) if assets_dir else SHIPPED_ASSETS_DIR
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".partial-", dir=out_dir))
    try:
        # popped straight into the call: play holds the only references, and lets them go once it can
        performance = play(
            played.pop("vocals"),
            played.pop("other"),
            analysis,
            options,
            assets_dir=assets_dir,
            out_dir=staging,
            on_stage=tracker.report,
            stems_recur=separator.cached,  # a cache entry's stems are played again by the next re-style
        )
        try:
            # the mix first, while the stems are still being written; then the MIDI files and pictures
            mix_path = staging / "mix.wav"
            write_audio(mix_path, performance.mix, "wav")
            mixes = {"wav": mix_path}
            if options.output_format != "wav":
                mixes[options.output_format] = staging / f"mix.{options.output_format}"
                write_audio(mixes[options.output_format], performance.mix, options.output_format)
            tracker.report("mastering", 1.0)
            tracker.report("finishing", 0.0)  # the mix is on disk: a listener's page can say so
            if on_mix is not None:
                on_mix(dict(mixes))
            if on_file is not None:
                for kind, name, path in performance.files_as_made():
                    on_file(kind, name, path)
            performance.finish()
        except BaseException:
            performance.abandon()  # nobody writes into the staging folder removed below
            raise
        tracker.report("finishing", 1.0)
        tracker.finish()

        result = RemixResult(
            out_dir=staging,
            mix_path=mixes[options.output_format],
            result_json=staging / "result.json",
            analysis=analysis,
            separator=separator,
            options=options,
            stems=dict(performance.stems),
            midi=dict(performance.midi),
            pictures=dict(performance.pictures),
            timings=dict(tracker.timings),
            duration=round(performance.mix.shape[1] / float(SAMPLE_RATE), 3),
            analysis_reused=analysis_reused,
            stem_cache_key=stem_cache_key,
        )
        summary = result.to_dict() | {"facts": performance.facts, "mix_wav": "mix.wav"}
        result.result_json.write_text(json.dumps(summary, indent=2, default=json_default))
        return _publish(result, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _publish(result: RemixResult, out_dir: Path) -> RemixResult:
    """Move every file from the staging folder into ``out_dir`` and point the result at the new places."""
    staging = result.out_dir
    for path in sorted(staging.rglob("*")):
        if path.is_file():
            target = out_dir / path.relative_to(staging)
            target.parent.mkdir(parents=True, exist_ok=True)
            path.replace(target)

    def moved(p: Path) -> Path:
        return out_dir / Path(p).relative_to(staging)

    result.out_dir = out_dir
    result.mix_path = moved(result.mix_path)
    result.result_json = moved(result.result_json)
    result.stems = {k: moved(v) for k, v in result.stems.items()}
    result.midi = {k: moved(v) for k, v in result.midi.items()}
    result.pictures = {k: moved(v) for k, v in result.pictures.items()}
    return result
