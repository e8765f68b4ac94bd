"""Speed and peak memory of decoding and of each separator, on generated audio and on any files given.

    .venv/bin/python bench/separate_bench.py [FILE ...] [--seconds 60] [--sweep] [--models-dir models]

Each measurement runs in a fresh process, so "peak RSS" is that process's own high-water mark (Python,
libraries, decoded audio, model and stems included). RTF = wall time / audio duration (lower is faster).

demucs: when no htdemucs checkpoint is in models/, a randomly initialised full-size htdemucs (the
pretrained architecture) stands in; its speed and memory are the real model's, its output is noise.
``--sweep`` times segment / overlap / thread settings on the first input and prints the fastest.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.paths import DEFAULT_MODELS_DIR  # noqa: E402

SR = 44100


def _peak_rss_mb() -> float:
    """This process's peak resident memory. VmHWM (Linux) belongs to the process image, while ru_maxrss
    also counts the parent's size at fork time, which would put a floor under every figure."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _job(kind: str, path: str, options: dict[str, Any], queue: Any) -> None:
    """Runs in a child process: one measurement, result put on ``queue``."""
    try:
        from pipeline.audio_io import decode

        if kind == "decode":
            start = time.perf_counter()
            audio = decode(path, max_duration_s=None)
            elapsed = time.perf_counter() - start
            queue.put({"seconds": audio.shape[1] / SR, "wall": elapsed, "rss": _peak_rss_mb()})
            return
        audio = decode(path)
        duration = audio.shape[1] / SR
        base_rss = _peak_rss_mb()
        if kind == "demucs-random":
            from pipeline.separate import demucs_model
            from pipeline.tests.random_htdemucs import random_htdemucs

            model = random_htdemucs(small=False)
            start = time.perf_counter()
            demucs_model.run_model(
                model,
                audio,
                segment=options.get("segment"),
                overlap=options.get("overlap", demucs_model.DEFAULT_OVERLAP),
                threads=options.get("threads"),
            )
        else:
            from pipeline.separate import separate

            start = time.perf_counter()
            separate(audio, method=kind, models_dir=Path(options["models_dir"]))
        elapsed = time.perf_counter() - start
        queue.put({"seconds": duration, "wall": elapsed, "rss": _peak_rss_mb(), "base_rss": base_rss})
    except Exception as exc:  # reported in the table, the bench goes on
        queue.put({"error": f"{type(exc).__name__}: {exc}"})


def measure(kind: str, path: Path, **options: Any) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_job, args=(kind, str(path), options, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def generated_inputs(seconds: float, tmp: Path) -> list[Path]:
    """A synthetic song (drums, bass, chords, vocal line) as 44.1 kHz FLAC and as 48 kHz MP3."""
    import subprocess

    import numpy as np

    from pipeline.testing.synth import make_song, write_song

    bars = max(2, int(seconds / (4 * 60 / 120)))
    song = make_song(tempo=120, bars=bars, with_vocals=True, seed=1)
    song.audio = np.ascontiguousarray(song.audio[:, : int(seconds * SR)])
    flac = write_song(tmp / f"generated_{int(seconds)}s.flac", song)
    mp3 = tmp / f"generated_{int(seconds)}s_48k.mp3"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", str(flac), "-ar", "48000", "-b:a", "192k", str(mp3)], check=True
    )
    return [flac, mp3]


def row(label: str, path: Path, result: dict[str, Any]) -> str:
    name = path.name[:34]
    if "error" in result:
        return f"{label:<34} {name:<34} {'error: ' + result['error'][:60]}"
    rtf = result["wall"] / result["seconds"]
    figures = f"{result['seconds']:7.1f} {result['wall']:8.2f} {rtf:7.3f} {result['rss']:9.0f}"
    return f"{label:<34} {name:<34} {figures}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the generated song")
    parser.add_argument("--models-dir", type=Path, default=DEFAULT_MODELS_DIR)
    parser.add_argument("--sweep", action="store_true", help="time demucs segment/overlap/thread settings")
    parser.add_argument("--skip-demucs", action="store_true")
    args = parser.parse_args()

    from pipeline.separate import demucs_model, spleeter_model

    with tempfile.TemporaryDirectory() as tmp:
        inputs = generated_inputs(args.seconds, Path(tmp)) + list(args.files)
        header = f"{'stage':<34} {'input':<34} {'audio s':>7} {'wall s':>8} {'RTF':>7} {'peak MB':>9}"
        print(header)
        print("-" * len(header))
        for path in inputs:
            print(row("decode", path, measure("decode", path)), flush=True)
        sep_inputs = [inputs[0], *args.files]
        has_checkpoint = demucs_model.find_checkpoint(args.models_dir) is not None
        has_spleeter = spleeter_model.find_weights(args.models_dir) is not None
        for path in sep_inputs:
            print(
                row("separate dsp", path, measure("dsp", path, models_dir=str(args.models_dir))), flush=True
            )
            if has_spleeter:
                print(
                    row("separate spleeter", path, measure("spleeter", path, models_dir=str(args.models_dir)))
                )
            if args.skip_demucs:
                continue
            if has_checkpoint:
                result = measure("demucs", path, models_dir=str(args.models_dir))
                print(row("separate demucs (checkpoint)", path, result), flush=True)
            else:
                result = measure("demucs-random", path)
                print(row("separate demucs (random, full size)", path, result), flush=True)

        if args.sweep and not args.skip_demucs:
            print("\ndemucs settings (random full-size htdemucs, first input):")
            print(f"{'segment s':>9} {'overlap':>7} {'threads':>7} {'wall s':>8} {'RTF':>7} {'peak MB':>9}")
            best = None
            for segment, overlap, threads in ((7.8, 0.25, 2), (7.8, 0.1, 2), (7.8, 0.25, 1), (5.0, 0.25, 2)):
                res = measure("demucs-random", inputs[0], segment=segment, overlap=overlap, threads=threads)
                if "error" in res:
                    print(f"{segment:9.1f} {overlap:7.2f} {threads:7d} error: {res['error'][:60]}")
                    continue
                rtf = res["wall"] / res["seconds"]
                setting = f"{segment:9.1f} {overlap:7.2f} {threads:7d}"
                print(f"{setting} {res['wall']:8.2f} {rtf:7.3f} {res['rss']:9.0f}", flush=True)
                if best is None or rtf < best[0]:
                    best = (rtf, segment, overlap, threads)
            if best:
                print(
                    f"fastest: segment {best[1]} s, overlap {best[2]}, {best[3]} threads (RTF {best[0]:.3f})"
                )


if __name__ == "__main__":
    main()
