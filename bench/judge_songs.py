"""Run the whole chain on every shared song and score original vs remix with the metal judge.

    .venv/bin/python bench/judge_songs.py [--style heavy] [--music ../shared/music] [--out bench/out/judge]

For each song: ``pipeline.metalize`` (decode, separate, analyse, play) writes a remix, then the judge
(../shared/tools/metal-judge, built by others) scores originals and remixes in one run. Prints a table:
metal_score (composite) and MSD ``metal`` before -> after, the remix's MSD top tag, and how recognisable the
remix stays (cosine similarity of beat-synchronous chroma between original and remix, 1.0 = same harmony).
Summary line: medians and how many remixes have metal / heavy metal / hard rock as their MSD top tag.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.audio_io import decode  # noqa: E402
from pipeline.metalize import metalize  # noqa: E402
from pipeline.types import SAMPLE_RATE, RemixOptions  # noqa: E402

METAL_TAGS = ("metal", "heavy metal", "hard rock")
LINE = re.compile(r"^(?P<file>\S+): metal_score=(?P<score>[\d.]+) \| MSD metal=(?P<msd>[\d.]+)")


def judge(files: list[Path], judge_cmd: Path) -> dict[str, dict[str, object]]:
    """{file name: {"score", "msd_metal", "top"}} from one judge run over ``files``."""
    run = subprocess.run([str(judge_cmd), *map(str, files), "--all-tags"], capture_output=True, text=True)
    if run.returncode != 0:
        raise SystemExit(f"metal judge failed:\n{run.stderr[-2000:]}")
    results: dict[str, dict[str, object]] = {}
    current = None
    for line in run.stdout.splitlines():
        m = LINE.match(line.strip())
        if m:
            current = m.group("file")
            results[current] = {"score": float(m.group("score")), "msd_metal": float(m.group("msd"))}
        elif current and "MSD_musicnn top10:" in line:
            tag, value = line.split("top10:")[1].split(",")[0].strip().rsplit("=", 1)
            results[current]["top"] = (tag, float(value))
    return results


def recognisability(original: np.ndarray, remix: np.ndarray) -> float:
    """Mean cosine similarity of 0.5 s chroma frames of original and remix."""
    import librosa

    def chroma(x: np.ndarray) -> np.ndarray:
        y = librosa.resample(x.mean(axis=0), orig_sr=SAMPLE_RATE, target_sr=22050)
        return librosa.feature.chroma_cqt(y=y, sr=22050, hop_length=11025)

    a, b = chroma(original), chroma(remix)
    n = min(a.shape[1], b.shape[1])
    a, b = a[:, :n], b[:, :n]
    cos = (a * b).sum(axis=0) / (np.linalg.norm(a, axis=0) * np.linalg.norm(b, axis=0) + 1e-9)
    return float(cos.mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--music", type=Path, default=ROOT.parent / "shared" / "music")
    parser.add_argument(
        "--judge", type=Path, default=ROOT.parent / "shared" / "tools" / "metal-judge" / "run"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "judge")
    parser.add_argument("--style", default="heavy")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pattern", default="E*.flac")
    args = parser.parse_args()

    songs = sorted(args.music.glob(args.pattern))
    if not songs:
        raise SystemExit(f"no songs matching {args.pattern} in {args.music}")
    rows = []
    for song in songs:
        t0 = time.perf_counter()
        result = metalize(song, args.out / song.stem, RemixOptions(style=args.style, seed=args.seed))
        seconds = time.perf_counter() - t0
        remix = args.out / f"{song.stem}.remix.wav"  # the judge names results by file name: keep them apart
        shutil.copyfile(result.mix_path, remix)
        rec = recognisability(decode(song), decode(remix))
        rows.append((song, remix, seconds, rec))
        print(f"  remixed {song.name} in {seconds:.1f} s", flush=True)
    scores = judge([p for row in rows for p in row[:2]], args.judge)

    print(f"\nstyle {args.style}, seed {args.seed}")
    header = (
        f"{'song':<40} {'score':>13} {'MSD metal':>13}  {'remix MSD top tag':<22} {'recog':>5} {'time':>6}"
    )
    print(header)
    print("-" * len(header))
    composite, msd, tops = [], [], 0
    for song, mix, seconds, rec in rows:
        before, after = scores[song.name], scores[mix.name]
        tag, value = after.get("top", ("?", 0.0))
        tops += tag in METAL_TAGS
        composite.append(after["score"])
        msd.append(after["msd_metal"])
        print(
            f"{song.stem[:40]:<40} {before['score']:.3f}->{after['score']:.3f} "
            f"{before['msd_metal']:.3f}->{after['msd_metal']:.3f}  {tag + f' ({value:.2f})':<22} {rec:5.2f} "
            f"{seconds:5.1f}s"
        )
    print(f"\nmedian composite {np.median(composite):.3f} (target >= 0.25)")
    print(f"median MSD metal {np.median(msd):.3f} (target >= 0.30)")
    print(f"MSD top tag metal/heavy metal/hard rock on {tops}/{len(rows)} (target 8 in 10)")


if __name__ == "__main__":
    main()
