"""Is it still the song, and still metal? Every instrument at once, on every shared song.

    .venv/bin/python bench/sound_eval.py [--style heavy] [--seed 0] [--separator auto] [--songs 'E*']

For each song in ``--music`` (default ../shared/music): decode, separate and analyse once (kept in a stem
cache under ``--prep``, keyed by the file and the separator; ``--reanalyse`` redoes the analysis from the
cached stems), then play the
remix into ``OUT/<song>/`` (``mix.wav`` and ``stems/``, the layout ``python -m pipeline`` writes). Then,
with instruments made by others:

- cover-song identification (../shared/tools/cover-id, essentia HPCP + Qmax) of the mix and of the band alone
  (guitars + bass stems): rank 1 = the remix is identified as its own original;
- EBU R128 loudness range (ffmpeg ebur128, the LRA line) of original and remix, and the integrated loudness
  and true peak of the remix;
- the metal judge (../shared/tools/metal-judge: musicnn MSD/MTT taggers): MSD ``metal`` and the MSD top tag.

Prints one row per song and the summary the product is held to (issue 16): mix identified 7/7, band >= 5/7,
LRA >= 60 % of the original's (>= 2 LU where the original has >= 3 LU), median MSD metal >= 0.45, MSD top tag
metal / heavy metal / hard rock on 7/7, -9 +/- 1 LUFS, true peak <= -1 dBTP.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.analyze import analyze  # noqa: E402
from pipeline.audio_io import decode, write_audio  # noqa: E402
from pipeline.paths import DEFAULT_ASSETS_DIR, DEFAULT_MODELS_DIR  # noqa: E402
from pipeline.play import play  # noqa: E402
from pipeline.separate import choose, separate  # noqa: E402
from pipeline.stem_cache import PLAYED_STEMS, FileStemCache, song_key  # noqa: E402
from pipeline.types import DEFAULT_OPTIONS, STEM_NAMES, Analysis, RemixOptions, Stems  # noqa: E402

SHARED = ROOT.parent / "shared"
METAL_TAGS = ("metal", "heavy metal", "hard rock")
# MSD tags of the "sounds synthetic" family (summed where they reach the top 10)
ELECTRONIC_TAGS = ("electronic", "electronica", "electro", "dance", "House", "techno")
MTT_ELECTRONIC_TAGS = ("techno", "electronic", "synth", "beat", "beats", "dance", "electro")
SAME_WORK = ("E17_synthvocal_festival_over_E03=E03_drascula_track1",)
JUDGE_LINE = re.compile(r"^(?P<file>\S+): metal_score=(?P<score>[\d.]+) \| MSD metal=(?P<msd>[\d.]+)")
COVER_LINE = re.compile(
    r"^(?P<song>\S+)\s+rank\s+(?P<rank>\d+)\s+own\s+(?P<own>[\d.]+)\s+nearest other work\s+(?P<other>[\d.]+)"
)


def prepared(
    song: Path, prep_dir: Path, reanalyse: bool, separator: str = "auto"
) -> tuple[np.ndarray, np.ndarray, Analysis, float]:
    """(vocals, other, analysis, separation seconds) of ``song``: stems from the stem cache (keyed by the
    file and the separator, as ``metalize`` keys them), analysis cached as JSON beside them. ``reanalyse``
    redoes the analysis from the cached stems (all four), separating only when they are not cached; the
    separation time of the run that made the stems is kept beside the cache."""
    choice = choose(separator, DEFAULT_MODELS_DIR)
    cache = FileStemCache(prep_dir / "stems")
    key = song_key(song, choice.cache_id)
    times_file = prep_dir / "separation_seconds" / f"{key}.txt"  # one per entry: runs may share --prep
    seconds = float(times_file.read_text()) if times_file.exists() else float("nan")
    entry = cache.get(key, PLAYED_STEMS if not reanalyse else STEM_NAMES)
    if entry is not None and entry.analysis is not None and not reanalyse:
        return entry.stems["vocals"], entry.stems["other"], entry.analysis, seconds
    audio = decode(song)
    if entry is not None:
        stems = Stems(**entry.stems, separator=entry.separator)
    else:
        t0 = time.perf_counter()
        stems = separate(audio, method=separator, models_dir=DEFAULT_MODELS_DIR)
        seconds = round(time.perf_counter() - t0, 2)
        times_file.parent.mkdir(parents=True, exist_ok=True)
        times_file.write_text(str(seconds))
    analysis = analyze(audio, stems=stems)
    cache.put(key, stems, analysis)
    return stems.vocals, stems.other, analysis, seconds


def ebur128(path: Path) -> dict[str, float]:
    """Integrated loudness (LUFS), loudness range (LU) and true peak (dBTP) measured by ffmpeg."""
    run = subprocess.run(
        ["ffmpeg", "-nostats", "-hide_banner", "-i", str(path)]
        + ["-af", "ebur128=peak=true", "-f", "null", "-"],
        capture_output=True,
        text=True,
    )
    summary = run.stderr[run.stderr.rfind("Summary:") :]

    def value(label: str) -> float:
        m = re.search(rf"{label}:\s+(-?[\d.]+|-inf)", summary)
        return float(m.group(1)) if m and m.group(1) != "-inf" else float("nan")

    return {"lufs": value("I"), "lra": value("LRA"), "true_peak": value("Peak")}


def cover_ranks(music: Path, out: Path, part: str) -> dict[str, tuple[int, float]]:
    """Per song: (rank of its own original, margin = nearest other work's distance - own distance)."""
    run = subprocess.run(
        [str(SHARED / "tools" / "cover-id" / "run"), str(music), str(out), "--part", part]
        + [arg for pair in SAME_WORK for arg in ("--same", pair)],
        capture_output=True,
        text=True,
    )
    if run.returncode != 0:
        raise SystemExit(f"cover-id failed:\n{run.stderr[-2000:]}")
    # a version (the left of a --same pair) may be found through its original: the tool prints only the
    # version's own distance then
    paired = {pair.split("=")[0] for pair in SAME_WORK}
    return {
        m["song"]: (
            int(m["rank"]),
            float(m["other"]) - float(m["own"]) if m["song"] not in paired else np.nan,
        )
        for m in map(COVER_LINE.match, run.stdout.splitlines())
        if m
    }


def judge(files: list[Path]) -> dict[str, dict[str, object]]:
    run = subprocess.run(
        [str(SHARED / "tools" / "metal-judge" / "run"), *map(str, files), "--all-tags"],
        capture_output=True,
        text=True,
    )
    if run.returncode != 0:
        raise SystemExit(f"metal judge failed:\n{run.stderr[-2000:]}")
    results: dict[str, dict[str, object]] = {}
    current = None
    for line in run.stdout.splitlines():
        m = JUDGE_LINE.match(line.strip())
        if m:
            current = m.group("file")
            results[current] = {"score": float(m.group("score")), "msd_metal": float(m.group("msd"))}
        elif current and "MSD_musicnn top10:" in line:
            tags = [t.strip().rsplit("=", 1) for t in line.split("top10:")[1].split(",")]
            results[current]["top"] = (tags[0][0], float(tags[0][1]))
            results[current]["msd_top10"] = {tag: float(value) for tag, value in tags}
            # the second tagger's complaint, read on this one: how electronic the remix sounds
            results[current]["electronic"] = sum(float(v) for t, v in tags if t in ELECTRONIC_TAGS)
        elif current and "MTT_musicnn top10:" in line:
            tags = [t.strip().rsplit("=", 1) for t in line.split("top10:")[1].split(",")]
            results[current]["mtt_top10"] = {tag: float(value) for tag, value in tags}
            results[current]["mtt_electronic"] = sum(float(v) for t, v in tags if t in MTT_ELECTRONIC_TAGS)
    return results


def lra_ok(original: float, remix: float) -> bool:
    return remix >= 0.6 * original and (original < 3.0 or remix >= 2.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--music", type=Path, default=SHARED / "music")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "sound")
    parser.add_argument("--prep", type=Path, default=ROOT / "bench" / "out" / "prep")
    parser.add_argument("--assets", type=Path, default=DEFAULT_ASSETS_DIR, help="asset folder the band plays")
    parser.add_argument("--style", default=DEFAULT_OPTIONS.style)
    parser.add_argument("--seed", type=int, default=DEFAULT_OPTIONS.seed)
    parser.add_argument("--intensity", type=float, default=DEFAULT_OPTIONS.intensity)
    parser.add_argument("--feel", default=DEFAULT_OPTIONS.feel)
    parser.add_argument("--songs", default="*", help="glob of song stems (E*, FULL*)")
    parser.add_argument("--separator", default="auto", help="auto, demucs, spleeter or dsp")
    parser.add_argument("--reanalyse", action="store_true")
    parser.add_argument("--skip-judge", action="store_true")
    parser.add_argument("--skip-cover", action="store_true")
    args = parser.parse_args()

    songs = sorted(p for p in args.music.glob(f"{args.songs}") if p.suffix in (".flac", ".ogg"))
    options = RemixOptions(style=args.style, seed=args.seed, intensity=args.intensity, feel=args.feel)
    out = args.out / f"{args.style}-s{args.seed}" / args.separator
    rows: dict[str, dict[str, object]] = {}
    for song in songs:
        vocals, other, analysis, separation_s = prepared(song, args.prep, args.reanalyse, args.separator)
        t0 = time.perf_counter()
        perf = play(vocals, other, analysis, options, assets_dir=args.assets, out_dir=out / song.stem)
        seconds = time.perf_counter() - t0
        mix = write_audio(out / song.stem / "mix.wav", perf.mix, "wav")
        perf.finish()  # the stems on disk (the band's cover-id reads them), the MIDI files and pictures
        rows[song.stem] = {
            "original": ebur128(song),
            "remix": ebur128(mix),
            "facts": perf.facts,
            "play_s": seconds,
            "rtf": seconds / analysis.duration,
            "separation_s": separation_s,
            "duration": analysis.duration,
            "analysis": {
                "tempo": analysis.tempo,
                "key": f"{analysis.key} {analysis.scale}",
                "chords": [c.label for c in analysis.chords],
            },
        }
        print(f"  played {song.stem} in {seconds:.1f} s ({seconds / analysis.duration:.3f}x)", flush=True)

    excerpts = [s for s in songs if s.suffix == ".flac"]
    ranks_mix: dict[str, tuple[int, float]] = {}
    ranks_band: dict[str, tuple[int, float]] = {}
    if not args.skip_cover and excerpts:
        ranks_mix = cover_ranks(args.music, out, "mix")
        ranks_band = cover_ranks(args.music, out, "band")
    by_song: dict[str, dict[str, object]] = {}
    if not args.skip_judge and excerpts:
        # the judge names results by file name and every remix is called mix.wav: link them apart
        named = out / "judge"
        named.mkdir(exist_ok=True)
        for s in excerpts:
            link = named / f"{s.stem}.wav"
            link.unlink(missing_ok=True)
            link.symlink_to((out / s.stem / "mix.wav").resolve())
        scores = judge([named / f"{s.stem}.wav" for s in excerpts])
        by_song = {s.stem: scores.get(f"{s.stem}.wav", {}) for s in excerpts}

    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(f"\nstyle {args.style}, seed {args.seed}, intensity {args.intensity}, feel {args.feel}, "
          f"separator {args.separator}; load {load}")  # fmt: skip
    head = (
        f"{'song':<30} {'mix, margin':>11} {'band, margin':>12} {'LRA orig->remix':>16} "
        f"{'LUFS':>6} {'TP':>5} "
        f"{'MSD metal':>9} {'top tag':<18} {'modes c/g/f':>11} {'felt':>5} {'lead':>5}"
    )
    print(head)
    print("-" * len(head))
    msd, tops, mix_hits, band_hits, lra_hits = [], 0, 0, 0, 0
    for name, row in rows.items():
        o, r, facts = row["original"], row["remix"], row["facts"]
        modes = facts.get("sections_played", {})
        s = by_song.get(name, {})
        tag, value = s.get("top", ("-", 0.0))
        if s:
            msd.append(s["msd_metal"])
            tops += tag in METAL_TAGS
        rank_mix, margin_mix = ranks_mix.get(name, (0, float("nan")))
        rank_band, margin_band = ranks_band.get(name, (0, float("nan")))
        mix_hits += rank_mix == 1
        band_hits += rank_band == 1
        ok = lra_ok(o["lra"], r["lra"])
        lra_hits += ok
        print(
            f"{name[:30]:<30} {rank_mix or '-':>2} {margin_mix:>+8.2f} "
            f"{rank_band or '-':>2} {margin_band:>+9.2f} "
            f"{o['lra']:>6.1f} -> {r['lra']:>4.1f}{' ' if ok else '!'} "
            f"{r['lufs']:>6.1f} {r['true_peak']:>5.1f} "
            f"{s.get('msd_metal', float('nan')):>9.3f} {tag[:12] + f' {value:.2f}':<18} "
            f"{modes.get('calm', 0):>3}/{modes.get('groove', 0)}/{modes.get('full', 0):<3} "
            f"{facts.get('felt_tempo', 0):>5.0f} {facts.get('lead_notes', 0):>5}"
        )
    n = len(excerpts)
    print(f"\ncover-id: mix {mix_hits}/{n} (target {n}/{n}), band {band_hits}/{n} (target >= 5/7)")
    if ranks_mix:
        margins_mix = [m for _, m in ranks_mix.values() if not np.isnan(m)]
        margins_band = [m for _, m in ranks_band.values() if not np.isnan(m)]
        print(
            f"cover-id margins (nearest other work - own distance, --same pairs left out): mix median "
            f"{np.median(margins_mix):+.3f} min {min(margins_mix):+.3f}, band median "
            f"{np.median(margins_band):+.3f} min {min(margins_band):+.3f}"
        )
    print(f"LRA kept on {lra_hits}/{len(rows)} songs")
    if msd:
        print(f"median MSD metal {np.median(msd):.3f} (target >= 0.45), metal top tag {tops}/{len(msd)}")
        electronic = [s.get("electronic", 0.0) for s in by_song.values() if s]
        print(f"median MSD electronic family {np.median(electronic):.3f}, max {max(electronic):.3f}")
        mtt = [s.get("mtt_electronic", 0.0) for s in by_song.values() if s]
        print(f"median MTT techno/electronic/synth/beat/dance {np.median(mtt):.3f}, max {max(mtt):.3f}")
    separation = [r["separation_s"] for r in rows.values() if not np.isnan(r["separation_s"])]
    if separation:
        minutes = sum(r["duration"] for r in rows.values() if not np.isnan(r["separation_s"])) / 60.0
        print(
            f"separation {sum(separation):.0f} s for {minutes:.1f} min of audio ({len(separation)} songs), "
            f"{sum(separation) / minutes:.0f} s per minute"
        )
    print(f"median play RTF {np.median([r['rtf'] for r in rows.values()]):.3f}")
    summary = {"rows": rows, "mix": ranks_mix, "band": ranks_band, "judge": by_song}
    (out / "summary.json").write_text(json.dumps(summary, indent=1, default=str))


if __name__ == "__main__":
    main()
