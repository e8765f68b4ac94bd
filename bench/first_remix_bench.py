"""The first remix of a 3-minute song, whole chain, as a listener's first upload costs it (issue 29: <= 20 s).

    .venv/bin/python bench/first_remix_bench.py [SONG] [--repeat 3] [--separator auto]
    .venv/bin/python bench/first_remix_bench.py ../shared/music/FULL_drascula_track1.ogg

Runs ``python -m pipeline SONG -o OUT --no-cache`` (decode, separate, analyse, play, write every file; a new
process each time, so its imports count, as they do for the command line) ``--repeat`` times and prints the
median wall time, the real-time factor, the median of each stage (``result.json``'s ``timings``), the CPU time
of each run (the process and its children) and the machine's load. The default song is a generated 3-minute
one with vocals (``pipeline.testing.synth``), so the bench needs nothing outside the repository.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import cpu_seconds, load  # noqa: E402
from pipeline.testing.synth import make_song, write_song  # noqa: E402

GOAL_S = 20.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("song", nargs="?", type=Path, help="a song file (default: a generated 3-minute song)")
    parser.add_argument("--repeat", type=int, default=3, help="runs to take the median of")
    parser.add_argument("--separator", default="auto", help="auto, spleeter, dsp or demucs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        song = args.song
        if song is None:
            made = make_song(tempo=120.0, key="E", bars=90, sections=11, with_vocals=True, seed=1)
            song = write_song(Path(tmp) / "song.flac", made)
        print(f"song: {song}; separator {args.separator}; load {load()}")
        walls, cpus, duration = [], [], 0.0
        stages: dict[str, list[float]] = {}
        for run in range(max(1, args.repeat)):
            out = Path(tmp) / f"run{run}"
            cpu0, start = cpu_seconds(children=True), time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "pipeline", str(song), "-o", str(out), "--no-cache"]
                + ["--separator", args.separator],
                cwd=ROOT,
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            walls.append(time.perf_counter() - start)
            cpus.append(cpu_seconds(children=True) - cpu0)
            result = json.loads((out / "result.json").read_text())
            duration = float(result["duration"])
            for stage, seconds in result["timings"].items():
                stages.setdefault(stage, []).append(float(seconds))
            print(f"  run {run + 1}: {walls[-1]:.2f} s wall, {cpus[-1]:.1f} CPU-s; load {load()}")
    wall = statistics.median(walls)
    verdict = "meets" if wall <= GOAL_S else "misses"
    print(
        f"first remix: {wall:.2f} s median wall ({verdict} the goal of {GOAL_S:.0f} s), "
        f"{wall / duration:.3f}x real time"
    )
    print(f"  CPU {statistics.median(cpus):.1f} s (process and children), song {duration:.1f} s")
    for stage, seconds in stages.items():
        print(f"  {stage:<11} {statistics.median(seconds):6.2f} s")
    print(f"  imports and the rest {wall - sum(statistics.median(s) for s in stages.values()):6.2f} s")


if __name__ == "__main__":
    main()
