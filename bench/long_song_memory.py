"""Peak memory and speed of the whole run (decode -> separate -> analyse -> play -> write) on a long song.

    .venv/bin/python bench/long_song_memory.py [SONG] [--minutes 10] [--separator auto] [--repo PATH]
    .venv/bin/python bench/long_song_memory.py ../shared/music/FULL_drascula_track1.ogg --minutes 3.04 \
        --separator demucs          # the whole chain on the full song with one separator

The song (default: a generated 3-part synthetic song with vocals) is looped to ``--minutes`` with ffmpeg,
then ``python -m pipeline`` runs on it in a child process with no stem cache. Prints the child's peak resident
memory (target for a 10-minute song: <= 2.5 GB), wall time, real-time factor and the stage timings from
``result.json``, the separation time per minute of audio, and the machine's load before and after (the 2 cores
are shared: wall times grow with it). ``--repo`` runs another checkout's pipeline on the same file
(before/after comparisons). ``--by-stage`` also prints each stage's own peak (the child resets its
high-water mark, /proc/self/clear_refs, whenever the stage changes), to tell where the peak is.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import load  # noqa: E402
from pipeline.testing.synth import make_song, write_song  # noqa: E402

TARGET_GB = 2.5


def long_song(source: Path | None, minutes: float, work: Path) -> Path:
    """``source`` (or a generated song) looped and cut to ``minutes``, as Ogg Vorbis."""
    if source is None:
        song = make_song(tempo=132.0, key="D", scale="minor", bars=32, sections=3, with_vocals=True, seed=5)
        source = write_song(work / "seed.flac", song)
    out = work / f"long_{minutes:g}min.ogg"
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-y", "-stream_loop", "-1", "-i", str(source), "-t",
         str(minutes * 60), "-c:a", "libvorbis", "-q:a", "4", str(out)],
        check=True,
    )  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("song", nargs="?", type=Path, help="a song to loop (default: a synthetic one)")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--separator", default="auto", help="auto, demucs, spleeter or dsp")
    parser.add_argument("--repo", type=Path, default=ROOT, help="checkout whose pipeline runs")
    parser.add_argument("--by-stage", action="store_true", help="print each stage's peak memory too")
    parser.add_argument("--child", nargs=2, metavar=("SONG", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_by_stage(Path(args.child[0]), Path(args.child[1]), args.separator)
        return
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        song = long_song(args.song, args.minutes, work)
        out = work / "out"
        cmd = [sys.executable, "-m", "pipeline", str(song), "-o", str(out), "--no-cache", "--quiet"]
        if args.separator != "auto":
            cmd += ["--separator", args.separator]
        if args.by_stage:  # the same run through metalize() in a child that watches its own memory
            cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(song), str(out)]
            cmd += ["--separator", args.separator]
        load_before = load()
        t0 = time.perf_counter()
        # --by-stage: the child's stderr (each stage's peak as it ends) is passed through as it comes
        stderr = None if args.by_stage else subprocess.PIPE
        run = subprocess.run(cmd, cwd=args.repo, stdout=subprocess.PIPE, stderr=stderr, text=True)
        wall = time.perf_counter() - t0
        if run.returncode != 0:
            raise SystemExit(f"pipeline failed ({run.returncode}):\n{(run.stderr or '')[-3000:]}")
        peak_gb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024**2
        result = json.loads((out / "result.json").read_text())
        stage_peaks = json.loads(run.stdout.strip().splitlines()[-1]) if args.by_stage else {}
    # The child resets its high-water mark at each stage, and the kernel reports the one it exits with: with
    # --by-stage the whole run's peak is the highest stage's.
    peak_gb = max([peak_gb, *stage_peaks.values()])
    seconds = args.minutes * 60
    print(f"song: {args.song or 'synthetic'} looped to {args.minutes:g} min; repo {args.repo}")
    print(f"  separator  {result['separator']['name']}")
    print(f"  wall       {wall:7.1f} s  RTF {wall / seconds:.3f}")
    for stage, spent in result.get("timings", {}).items():
        print(f"  {stage:<10} {spent:7.1f} s  RTF {spent / seconds:.3f}")
    verdict = "ok" if peak_gb <= TARGET_GB else "OVER"
    for stage, peak in stage_peaks.items():
        print(f"  peak in {stage:<11} {peak:5.2f} GB")
    print(f"  peak RSS   {peak_gb:7.2f} GB  (target <= {TARGET_GB} GB for 10 min: {verdict})")
    separating = result.get("timings", {}).get("separating", 0.0)
    print(f"  separating {separating / args.minutes:7.1f} s per minute of audio")
    print(f"  load       {load_before} before, {load()} after (1/5/15-min averages)")


def run_by_stage(song: Path, out: Path, separator: str) -> None:
    """metalize ``song`` in this process; print {stage: peak resident GB during it} as the last line."""
    sys.path.insert(0, str(Path.cwd()))  # the --repo checkout's pipeline
    from pipeline.metalize import metalize
    from pipeline.types import RemixOptions

    peaks: dict[str, float] = {}
    current = ["start"]

    def high_water_gb() -> float:
        status = Path("/proc/self/status").read_text()
        return int(status.split("VmHWM:")[1].split()[0]) / 1024**2

    def on_progress(stage: str, percent: float) -> None:
        if stage != current[0]:
            peaks[current[0]] = max(peaks.get(current[0], 0.0), high_water_gb())
            # as it happens too (stderr), so a run stopped half-way still tells its stages' peaks
            print(f"peak in {current[0]}: {peaks[current[0]]:.3f} GB", file=sys.stderr, flush=True)
            Path("/proc/self/clear_refs").write_text("5")  # restart the high-water mark
            current[0] = stage

    metalize(song, out, RemixOptions(separator=separator), on_progress=on_progress)
    peaks[current[0]] = max(peaks.get(current[0], 0.0), high_water_gb())
    print(json.dumps({stage: round(gb, 3) for stage, gb in peaks.items()}))


if __name__ == "__main__":
    main()
