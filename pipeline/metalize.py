"""The pipeline's one public entry point: a song file in, a metal remix and its facts out."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from pipeline.errors import PipelineError
from pipeline.progress import ProgressTracker
from pipeline.types import ProgressCallback, RemixOptions, RemixResult

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ASSETS_DIR = REPO_ROOT / "assets"
DEFAULT_MODELS_DIR = REPO_ROOT / "models"


def metalize(
    input_path: str | Path,
    out_dir: str | Path,
    options: RemixOptions | None = None,
    assets_dir: str | Path | None = None,
    on_progress: ProgressCallback | None = None,
    *,
    models_dir: str | Path | None = None,
    cache_dir: str | Path | None = None,
    max_duration_s: float | None = None,
) -> RemixResult:
    """Turn the song at ``input_path`` into a metal remix written under ``out_dir``.

    Writes ``mix.wav`` (and ``mix.<format>`` when another output format is asked for), ``stems/*.flac``,
    ``midi/*.mid``, pictures and ``result.json``. Outputs are built in a staging folder and moved into
    ``out_dir`` only when every stage has succeeded, so a failure leaves nothing half-written behind.
    ``on_progress(stage, percent)`` receives the stage name and the whole job's percent (0..100).
    Raises ``PipelineError`` with a code and a listener-readable message.
    """
    # Heavy imports (torch, essentia, pedalboard) stay inside the call: importing the package is cheap.
    from pipeline.analyze import analyze
    from pipeline.audio_io import decode, write_audio
    from pipeline.play import play
    from pipeline.separate import separate

    options = options or RemixOptions()
    out_dir = Path(out_dir)
    assets_dir = Path(assets_dir) if assets_dir else DEFAULT_ASSETS_DIR
    models_dir = Path(models_dir) if models_dir else DEFAULT_MODELS_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    tracker = ProgressTracker(on_progress)
    staging = Path(tempfile.mkdtemp(prefix=".partial-", dir=out_dir))
    try:
        tracker.for_stage("decoding")
        audio = decode(input_path, max_duration_s=max_duration_s)
        tracker.report("decoding", 1.0)
        stems = separate(
            audio,
            method=options.separator,
            models_dir=models_dir,
            cache_dir=Path(cache_dir) if cache_dir else None,
            progress=tracker.for_stage("separating"),
        )
        analysis = analyze(audio, stems=stems, progress=tracker.for_stage("analysing"))
        # The band replaces the song's drums and bass: only the vocals and "other" stems are played on, and
        # dropping the rest before playing keeps a long song's peak memory down.
        vocals, other, separator = stems.vocals, stems.other, stems.separator
        del audio, stems
        performance = play(
            vocals, other, analysis, options, assets_dir=assets_dir, out_dir=staging, on_stage=tracker.report
        )
        del vocals, other

        mix_path = staging / "mix.wav"
        write_audio(mix_path, performance.mix, "wav")
        mixes = {"wav": mix_path}
        if options.output_format != "wav":
            mixes[options.output_format] = staging / f"mix.{options.output_format}"
            write_audio(mixes[options.output_format], performance.mix, options.output_format)
        tracker.report("mastering", 1.0)
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
            duration=round(performance.mix.shape[1] / 44100.0, 3),
        )
        summary = result.to_dict() | {"facts": performance.facts, "mix_wav": "mix.wav"}
        result.result_json.write_text(json.dumps(summary, indent=2, default=_json_default))
        return _publish(result, out_dir)
    except PipelineError:
        raise
    except MemoryError as exc:
        raise PipelineError(
            "out_of_memory", "The server ran out of memory on this song.", transient=True
        ) from exc
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


def _json_default(value: object) -> object:
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")
