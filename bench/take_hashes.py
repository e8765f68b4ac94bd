"""sha256 of every file a remix writes (mix, stems, MIDI, pictures, result.json) for a few style/seed takes
of a generated song and of real excerpts: proof that a refactoring left the sound alone. result.json is hashed
without its timings and the SVG with matplotlib's random ids numbered in order.

    .venv/bin/python bench/take_hashes.py --save before.json                  # record
    .venv/bin/python bench/take_hashes.py --compare before.json               # same files? (exit 1 if not)
    .venv/bin/python bench/take_hashes.py --song ../shared/music/E03_drascula_track1.flac --takes heavy:0

Each take runs the CLI (``python -m pipeline SONG -o OUT --style S --seed N --no-cache``) in its own
process, so the whole chain (decode, separate, analyse, play, master, write) is covered every time. The
generated song is 12 bars at 100 BPM in four sections with an instrumental melody (so the lead and the twin
lead play); 100 BPM takes every style's chorus, or the whole song, into double time.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pipeline.testing.synth import make_song, write_song  # noqa: E402

DEFAULT_TAKES = ("heavy:0", "doom:1", "black:2", "thrash:3", "power:4", "djent:5")
SHARED_EXCERPT = REPO.parent.parent / "shared" / "music" / "E03_drascula_track1.flac"
GENERATED = "generated-100bpm"
SVG_ID = re.compile(rb"\b[mp][0-9a-f]{10}\b")


def generated_song(folder: Path) -> Path:
    song = make_song(tempo=100.0, key="E", bars=12, sections=4, melody=True, seed=5)
    return write_song(folder / f"{GENERATED}.flac", song)


def file_hashes(out: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file under ``out``; result.json and SVG as the module says."""
    hashes = {}
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if path.name == "result.json":
            result = json.loads(data)
            result.pop("timings", None)
            result.get("analysis", {}).get("extra", {}).pop("timings", None)
            data = json.dumps(result, sort_keys=True).encode()
        elif path.suffix == ".svg":
            data = _numbered_svg_ids(data)
        hashes[str(path.relative_to(out))] = hashlib.sha256(data).hexdigest()
    return hashes


def _numbered_svg_ids(data: bytes) -> bytes:
    """matplotlib names the SVG's clip paths and glyphs with random ids: number them in order instead."""
    ids: dict[bytes, bytes] = {}
    return SVG_ID.sub(lambda m: ids.setdefault(m.group(0), b"id%d" % len(ids)), data)


def run_take(song: Path, style: str, seed: int, out: Path) -> dict[str, str]:
    cmd = [sys.executable, "-m", "pipeline", str(song), "-o", str(out), "--style", style, "--seed", str(seed)]
    subprocess.run([*cmd, "--no-cache", "--quiet"], cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    return file_hashes(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--song", type=Path, action="append", help="real songs (default: E03 if present)")
    parser.add_argument("--takes", default=",".join(DEFAULT_TAKES), help="style:seed,...")
    parser.add_argument("--save", type=Path, help="write the hashes here")
    parser.add_argument("--compare", type=Path, help="compare with hashes saved before")
    args = parser.parse_args()
    takes = [(s, int(n)) for s, n in (t.split(":") for t in args.takes.split(","))]
    songs = args.song if args.song else ([SHARED_EXCERPT] if SHARED_EXCERPT.exists() else [])
    before = json.loads(args.compare.read_text()) if args.compare else {}
    found: dict[str, dict[str, str]] = {}
    changed = 0
    with tempfile.TemporaryDirectory() as tmp:
        songs = [generated_song(Path(tmp)), *songs]
        for song in songs:
            for style, seed in takes:
                name = f"{song.stem} {style}:{seed}"
                found[name] = run_take(song, style, seed, Path(tmp) / name.replace(" ", "_"))
                old = before.get(name)
                differ = sorted(
                    k
                    for k in found[name].keys() | (old or {}).keys()
                    if (old or {}).get(k) != found[name].get(k)
                )
                mix = found[name].get("mix.wav", "")[:16]
                if old is None:
                    status = ""
                elif differ:
                    status = "DIFFERS: " + ", ".join(differ)
                    changed += 1
                else:
                    status = f"same ({len(found[name])} files)"
                print(f"{name:<36} mix {mix}  {status}", flush=True)
    if args.save:
        args.save.write_text(json.dumps(found, indent=1, sort_keys=True))
    return 1 if changed else 0


if __name__ == "__main__":
    raise SystemExit(main())
