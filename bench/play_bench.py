"""Speed and memory of the playing half (arrange + render + master) on a 3-minute synthetic song.

    .venv/bin/python bench/play_bench.py [--seconds 180] [--style heavy]
    .venv/bin/python bench/play_bench.py --style heavy,doom,black --repeat 6   # re-styles in one worker

Prints the real-time factor (processing seconds / audio seconds) per stage, the CPU time (user+sys) beside
the wall time, the machine's load, and the peak resident memory; with ``--repeat N`` the median of N plays
(goal: the playing half of a 3-minute song, mix written, in <= 5 s wall on 2 cores). Like the product, it
writes ``mix.wav`` as soon as ``play`` returns, then waits for the stems, MIDI and pictures
(``Performance.finish``): "mix written" is the wall from the start of ``play`` to the mix on disk, "all
written" to the last of those files. Several styles (``--style heavy,doom,black``) are played in turn, as a
worker plays a song's re-styles after its first remix: the first play renders every part, the later ones
find the parts every style shares (``pipeline.part_memo``), so the medians are printed for the first play and
for the rest apart.
Uses the known truth of a synthetic song as the analysis, so no separation runs; the analysis carries the
melody tracked from the stand-in stems before the clock starts, as ``pipeline.analyze`` stores it, so a play
here is a re-style's (``--track-melody``: an analysis stored without one, tracked inside ``play``).
"""

from __future__ import annotations

import argparse
import hashlib
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.machine import cpu_seconds, load  # noqa: E402
from pipeline.arrange.lead import melody_source, song_melody  # noqa: E402
from pipeline.audio_io import write_audio  # noqa: E402
from pipeline.part_memo import MEMO  # noqa: E402
from pipeline.paths import DEFAULT_ASSETS_DIR as ASSETS  # noqa: E402
from pipeline.play import play  # noqa: E402
from pipeline.testing.synth import make_song  # noqa: E402
from pipeline.tests.play_helpers import analysis_from_song, stems_from_song  # noqa: E402
from pipeline.types import RemixOptions  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--style", default="heavy", help="a style, or several played in turn: heavy,doom")
    parser.add_argument("--tempo", type=float, default=120.0)
    parser.add_argument("--repeat", type=int, default=3, help="plays to take the median of")
    parser.add_argument(
        "--with-vocals",
        action="store_true",
        help="a sung song (default: instrumental, so the lead is tracked too)",
    )
    parser.add_argument(
        "--track-melody",
        action="store_true",
        help="leave the melody out of the analysis, so play tracks it (essentia, ~1.5-2.5 s holding the GIL)",
    )
    args = parser.parse_args()
    bars = max(2, round(args.seconds / (4 * 60.0 / args.tempo)))
    song = make_song(
        tempo=args.tempo,
        key="E",
        scale="minor",
        bars=bars,
        sections=max(1, bars // 8),
        with_vocals=True,
        seed=1,
    )
    analysis = analysis_from_song(song)
    analysis.has_vocals = args.with_vocals
    vocals, other = stems_from_song(song)
    if not args.track_melody:  # what the analysis stores: the same notes play would track, so the same bytes
        analysis.melody = song_melody(melody_source(vocals, other, args.with_vocals))
    seconds = song.audio.shape[1] / song.sample_rate
    styles = args.style.split(",")
    MEMO.clear()  # the first play renders every part, as a worker's first remix of a song does
    walls: list[float] = []
    mix_walls: list[float] = []
    all_walls: list[float] = []
    cpus: list[float] = []
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for _ in range(max(1, args.repeat)):
        marks: dict[str, float] = {}
        t0 = time.perf_counter()

        def on_stage(stage: str, fraction: float, marks: dict[str, float] = marks) -> None:
            if fraction >= 1.0:
                marks[stage] = time.perf_counter()

        cpu0 = cpu_seconds()
        with tempfile.TemporaryDirectory() as tmp:
            perf = play(
                vocals,
                other,
                analysis,
                RemixOptions(style=styles[len(walls) % len(styles)]),
                assets_dir=ASSETS,
                out_dir=Path(tmp),
                on_stage=on_stage,
            )
            walls.append(time.perf_counter() - t0)
            write_audio(Path(tmp) / "mix.wav", perf.mix, "wav")
            mix_walls.append(time.perf_counter() - t0)
            perf.finish()
            all_walls.append(time.perf_counter() - t0)
        cpus.append(cpu_seconds() - cpu0)
    kind = "sung" if args.with_vocals else "instrumental (a lead guitar plays the melody)"
    kind += ", melody tracked in play" if args.track_melody else ", melody from the analysis"
    print(f"song: {seconds:.1f} s synthetic, {kind}, style {args.style}, {analysis.tempo:.0f} BPM")
    prev = t0
    for stage in ("arranging", "rendering", "mastering"):
        if stage in marks:
            print(f"  {stage:<10} {marks[stage] - prev:6.2f} s  RTF {(marks[stage] - prev) / seconds:.3f}")
            prev = marks[stage]
    print("  (stages of the last play)")
    # the first play renders every part; the later ones reuse the parts every style shares
    for label, part in (("first play", slice(0, 1)), ("later plays", slice(1, None))):
        if not walls[part]:
            continue
        total, cpu = statistics.median(walls[part]), statistics.median(cpus[part])
        mix_written, all_written = statistics.median(mix_walls[part]), statistics.median(all_walls[part])
        print(f"  {label} (median of {len(walls[part])}):")
        print(f"    total      {total:6.2f} s  RTF {total / seconds:.3f}  (play returned: the mix mastered)")
        print(
            f"    mix written {mix_written:5.2f} s  RTF {mix_written / seconds:.3f}  "
            f"(mix.wav on disk; goal <= 5.0 s for 3 min on 2 cores)"
        )
        print(f"    all written {all_written:5.2f} s  RTF {all_written / seconds:.3f}  (and the rest)")
        print(f"    CPU time   {cpu:6.2f} s  user+sys, all threads ({cpu / seconds:.3f} x real time)")
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"  walls      {', '.join(f'{w:.2f}' for w in walls)} s; load average {load()}")
    print(f"  mix walls  {', '.join(f'{w:.2f}' for w in mix_walls)} s")
    print(f"  all walls  {', '.join(f'{w:.2f}' for w in all_walls)} s")
    print(f"  peak RSS   {peak_rss / 1024:.0f} MiB (before play: {base_rss / 1024:.0f} MiB)")
    print(
        f"  LUFS {perf.facts['lufs']}  true peak {perf.facts['true_peak_dbtp']} dBTP  "
        f"peak sample {float(np.abs(perf.mix).max()):.3f}"
    )
    # the same options give the same bytes: a change meant to keep the sound keeps this hash
    print(f"  mix sha256 {hashlib.sha256(np.ascontiguousarray(perf.mix).tobytes()).hexdigest()[:16]}")


if __name__ == "__main__":
    main()
