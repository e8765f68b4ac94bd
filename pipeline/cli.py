"""``python -m pipeline SONG -o OUTDIR``: metalize one file from a terminal."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TextIO

from pipeline.errors import PipelineError
from pipeline.metalize import metalize
from pipeline.paths import DEFAULT_ASSETS_DIR, DEFAULT_MODELS_DIR, DEFAULT_STEM_CACHE_DIR
from pipeline.styles import PRESETS as STYLE_PRESETS
from pipeline.types import DEFAULT_OPTIONS, FEELS, OUTPUT_FORMATS, SEPARATORS, RemixOptions


def add_remix_options(parser: argparse.ArgumentParser) -> None:
    """The remix options as flags, with ``RemixOptions``' defaults (``manage.py metalize`` takes the same)."""
    parser.add_argument("--style", choices=list(STYLE_PRESETS), default=DEFAULT_OPTIONS.style)
    parser.add_argument(
        "--intensity",
        type=float,
        default=DEFAULT_OPTIONS.intensity,
        help=f"0..1, density and gain (default {DEFAULT_OPTIONS.intensity})",
    )
    parser.add_argument(
        "--feel",
        choices=list(FEELS),
        default=DEFAULT_OPTIONS.feel,
        help="tempo feel: " + "; ".join(f"{name}: {text}" for name, text in FEELS.items()),
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_OPTIONS.seed)
    parser.add_argument(
        "--format", choices=OUTPUT_FORMATS, default=DEFAULT_OPTIONS.output_format, dest="output_format"
    )
    parser.add_argument("--no-vocals", action="store_true", help="leave the original vocals out")
    parser.add_argument("--separator", choices=SEPARATORS, default=DEFAULT_OPTIONS.separator)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline", description="Turn a song into a heavy-metal remix."
    )
    parser.add_argument("song", type=Path, help="input audio file (wav, flac, ogg, mp3, m4a, opus ...)")
    parser.add_argument("-o", "--out", type=Path, required=True, help="output folder")
    add_remix_options(parser)
    models_default = Path(os.environ.get("METALIZER_MODELS_DIR", DEFAULT_MODELS_DIR))
    assets_default = Path(os.environ.get("METALIZER_ASSETS_DIR", DEFAULT_ASSETS_DIR))
    parser.add_argument("--models-dir", type=Path, default=models_default)
    parser.add_argument("--assets-dir", type=Path, default=assets_default)
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_STEM_CACHE_DIR)
    parser.add_argument(
        "--no-cache", action="store_true", help="separate and analyse again even if the song is cached"
    )
    parser.add_argument("--max-duration", type=float, default=None, help="refuse songs longer than this (s)")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    return parser


class TerminalProgress:
    """A one-line progress bar on a terminal; plain stage lines when output is not a terminal."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.is_tty = stream.isatty()
        self.last_stage: str | None = None

    def __call__(self, stage: str, percent: float) -> None:
        if self.is_tty:
            filled = int(percent / 100 * 30)
            self.stream.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {percent:5.1f}%  {stage:<12}")
            self.stream.flush()
        elif stage != self.last_stage:
            self.stream.write(f"{stage} ({percent:.0f}%)\n")
            self.stream.flush()
        self.last_stage = stage

    def close(self) -> None:
        if self.is_tty and self.last_stage is not None:
            self.stream.write("\n")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    progress = None if args.quiet else TerminalProgress(sys.stderr)
    try:
        options = RemixOptions(
            style=args.style,
            intensity=args.intensity,
            output_format=args.output_format,
            keep_vocals=not args.no_vocals,
            seed=args.seed,
            separator=args.separator,
            feel=args.feel,
        )
        result = metalize(
            args.song,
            args.out,
            options,
            args.assets_dir,
            progress,
            models_dir=args.models_dir,
            cache_dir=None if args.no_cache else args.cache_dir,
            max_duration_s=args.max_duration,
        )
    except PipelineError as exc:
        if progress:
            progress.close()
        print(f"error ({exc.code}): {exc.message}", file=sys.stderr)
        return 2
    if progress:
        progress.close()
    if not args.quiet and result.separator.cached:
        print(reuse_note(result.separator.name, result.analysis_reused, args.cache_dir), file=sys.stderr)
    a = result.analysis
    summary = {
        "mix": str(result.mix_path),
        "result": str(result.result_json),
        "separator": result.separator.to_dict(),
        "analysis_reused": result.analysis_reused,
        "tempo": round(a.tempo, 1),
        "key": f"{a.key} {a.scale}",
        "timings_s": result.timings,
    }
    print(json.dumps(summary, indent=2))
    return 0


def reuse_note(separator: str, analysis_reused: bool, cache_dir: Path) -> str:
    """The line that tells a listener this run skipped separating (and analysing) the song."""
    what = "stems and analysis" if analysis_reused else "stems"
    return (
        f"reused the {what} of this song from the cache in {cache_dir} (separated earlier by {separator}); "
        "--no-cache separates it again"
    )
