"""Speed, peak memory and results of the analysis stage, on generated audio and on any files given.

    .venv/bin/python bench/analyze_bench.py [FILE ...] [--seconds 30] [--judge]

Each input is decoded and analysed in a fresh process, so "peak RSS" is that process's own high-water
mark (Python, essentia, decoded audio and features included). RTF = wall time / audio duration (lower is
faster); the target for decode + analyse is <= 0.05 on 2 cores. The analysis is single-threaded, so its
CPU-time RTF is what the wall figure would be on an idle core (a busy machine inflates the wall figure).
For generated songs the truth is known and errors are printed; for real files what was detected is
printed, and ``--judge`` adds an independent tempo estimate (tempocnn via ../shared/tools/metal-judge,
if present) for comparison.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.paths import REPO_ROOT as REPO  # noqa: E402

JUDGE = REPO.parent / "shared" / "tools" / "metal-judge" / "run"
STEPS = ("features", "rhythm", "meter", "tonal", "sections", "loudness", "vocals")


def _job(source: dict[str, Any], queue: Any) -> None:
    """Runs in a child process: decode (or generate) and analyse one input, put a summary on ``queue``."""
    try:
        import numpy as np

        from pipeline.analyze import analyze
        from pipeline.analyze.tonal import merge_chords
        from pipeline.types import SAMPLE_RATE

        truth = None
        cpu_start = time.process_time()
        start = time.perf_counter()
        if "path" in source:
            from pipeline.audio_io import decode

            audio = decode(source["path"], max_duration_s=None)
        else:
            from pipeline.testing import make_song

            truth = make_song(**source["song"])
            audio = truth.audio
        decode_s = time.perf_counter() - start
        decode_cpu_s = time.process_time() - cpu_start
        analyze(audio[:, : 3 * SAMPLE_RATE])  # load essentia's algorithms once, as a worker would have
        cpu_start = time.process_time()
        start = time.perf_counter()
        result = analyze(audio)
        analyse_s = time.perf_counter() - start
        analyse_cpu_s = time.process_time() - cpu_start
        summary = {
            "duration": result.duration,
            "decode_s": decode_s,
            "analyse_s": analyse_s,
            "cpu_s": decode_cpu_s + analyse_cpu_s,
            "steps": result.extra["timings"],
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
            "tempo": result.tempo,
            "guess": result.tempo_is_guess,
            "confidence": result.tempo_confidence,
            "octave": result.extra["tempo_octave"],
            "meter": result.beats_per_bar,
            "key": f"{result.key} {result.scale} ({result.key_strength:.2f})",
            "chords": [c.label for c in merge_chords(result.chords)][:8],
            "sections": [f"{s.label}@{s.start:.1f}s e={s.energy:.2f}" for s in result.sections],
            "lufs": result.loudness_lufs,
        }
        if truth is not None:
            beats = np.asarray(result.beats)
            errors = [float(np.min(np.abs(beats - b))) for b in truth.beats]
            from pipeline.analyze.features import compute_features
            from pipeline.analyze.tonal import estimate_chords_essentia

            def right_beats(chords: list) -> int:
                starts = np.array([c.start for c in chords])
                hits = 0
                for t in truth.beats:
                    a, b, root, quality = next(c for c in truth.chords if c[0] <= t + 0.01 < c[1])
                    heard = chords[max(0, int(np.searchsorted(starts, t + 30 / truth.tempo)) - 1)]
                    hits += (heard.root, heard.quality) == (root, quality)
                return hits

            features = compute_features(audio.mean(axis=0), SAMPLE_RATE)
            ours = right_beats(result.chords)
            theirs = right_beats(estimate_chords_essentia(features, beats))
            chords_ok = sum(
                next(c for c in result.chords if c.start <= (a + b) / 2 < c.end).root == root
                for a, b, root, _ in truth.chords
            )
            summary["truth"] = (
                f"true {truth.tempo:g} BPM, {truth.key} {truth.scale}, {truth.beats_per_bar}/4, sections at "
                f"{[round(x, 1) for x in truth.section_starts]}; beat error median "
                f"{1000 * float(np.median(errors)):.1f} ms; "
                f"chord roots right on {chords_ok}/{len(truth.chords)} bars; chords right on {ours}/"
                f"{len(truth.beats)} beats (essentia ChordsDetectionBeats: {theirs})"
            )
        queue.put(summary)
    except Exception as exc:  # reported by the parent
        queue.put({"error": f"{type(exc).__name__}: {exc}"})


def _measure(source: dict[str, Any]) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_job, args=(source, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def _judge_tempo(path: str) -> str:
    if not JUDGE.exists():
        return "judge not found"
    run = subprocess.run([str(JUDGE), "--tempo", path], capture_output=True, text=True, check=False)
    lines = [line for line in run.stdout.splitlines() if "tempo=" in line]
    return lines[-1].split(": ", 1)[-1] if lines else (run.stderr.strip().splitlines() or ["no answer"])[-1]


def _report(name: str, r: dict[str, Any], judge: str | None) -> None:
    if "error" in r:
        print(f"\n{name}: FAILED {r['error']}")
        return
    d = r["duration"]
    total = r["decode_s"] + r["analyse_s"]
    print(f"\n{name}  ({d:.1f} s)")
    steps = "  ".join(f"{k} {r['steps'].get(k, 0.0) / d:.4f}" for k in STEPS)
    print(
        f"  RTF  decode {r['decode_s'] / d:.4f}  analyse {r['analyse_s'] / d:.4f}  total {total / d:.4f}"
        f"  (CPU time {r['cpu_s'] / d:.4f}: the wall figure on an idle core)"
    )
    print(f"       {steps}")
    print(f"  peak RSS {r['peak_rss_mb']:.0f} MB")
    guess = " (a guess)" if r["guess"] else ""
    print(
        f"  tempo {r['tempo']:.2f} BPM{guess}, confidence {r['confidence']:.2f}, octave {r['octave']}; "
        f"{r['meter']} beats/bar; key {r['key']}; {r['lufs']} LUFS"
    )
    print(f"  chords {' '.join(r['chords'])}")
    print(f"  sections {', '.join(r['sections'])}")
    if "truth" in r:
        print(f"  {r['truth']}")
    if judge:
        print(f"  independent tempo (tempocnn): {judge}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("files", nargs="*", help="audio files to analyse (any format the pipeline decodes)")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the generated songs")
    parser.add_argument("--judge", action="store_true", help="compare tempi with the metal-judge's tempocnn")
    args = parser.parse_args()

    generated = [
        ("generated 92 BPM E minor, 2 sections", dict(tempo=92, key="E", scale="minor", sections=2)),
        (
            "generated 128 BPM C major, vocals",
            dict(tempo=128, key="C", scale="major", sections=2, with_vocals=True),
        ),
        ("generated 174 BPM F# minor, A B A", dict(tempo=174, key="F#", scale="minor", sections=3)),
        (
            "generated 150 BPM D minor waltz",
            dict(tempo=150, key="D", scale="minor", beats_per_bar=3, sections=3),
        ),
    ]
    for name, song in generated:
        song["bars"] = max(4, round(args.seconds * song["tempo"] / 60 / song.get("beats_per_bar", 4)))
        _report(name, _measure({"song": song}), None)
    for path in args.files:
        result = _measure({"path": path})
        _report(Path(path).name, result, _judge_tempo(path) if args.judge else None)


if __name__ == "__main__":
    main()
