"""Arranging: turns the analysis into metal parts as plain note data (no sound yet)."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np

from pipeline.arrange.bass import arrange_bass
from pipeline.arrange.drums import arrange_drums, bar_mode
from pipeline.arrange.events import Hit, Note
from pipeline.arrange.grid import Bar, build_bars, pitch_class
from pipeline.arrange.guitar import Stroke, perform, write_riffs
from pipeline.arrange.seeds import Riff
from pipeline.arrange.styles import StylePreset, feel_factor, get_style
from pipeline.types import Analysis, RemixOptions

__all__ = ["Arrangement", "Bar", "Hit", "Note", "Stroke", "arrange"]


@dataclass
class Arrangement:
    style: StylePreset
    feel: int  # 2 = double-time feel
    felt_tempo: float
    key_root: int
    bars: list[Bar]
    strokes: list[Stroke]
    drums: list[Hit]
    guitar_left: list[Note]
    guitar_right: list[Note]
    bass: list[Note]
    lead: list[Note] = field(default_factory=list)
    modes: list[str] = field(default_factory=list)


def part_rngs(seed: int, style: str, n: int) -> list[np.random.Generator]:
    """Independent seeded generators, one per part, so adding a part never shifts another."""
    seq = np.random.SeedSequence([int(seed) & 0xFFFFFFFF, zlib.crc32(style.encode())])
    return [np.random.default_rng(s) for s in seq.spawn(n)]


def arrange(analysis: Analysis, options: RemixOptions, riff_seeds: list[Riff] | None = None) -> Arrangement:
    """The whole band's parts on the song's grid; ``riff_seeds`` (see ``seeds``) shape the rhythm guitar."""
    style = get_style(options.style)
    feel = feel_factor(style, analysis.tempo)
    key_root = pitch_class(analysis.key)
    bars = build_bars(analysis, feel, key_root)
    labels = [s.label for s in sorted(analysis.sections, key=lambda s: s.start)] or ["A"]
    r_drums, r_left, r_right, r_bass, _r_lead = part_rngs(options.seed, options.style, 5)
    strokes, attacks = write_riffs(bars, style, options.intensity, labels, options.seed, riff_seeds)
    felt = analysis.tempo * feel
    drums = arrange_drums(bars, style, options.intensity, attacks, r_drums, felt)
    left = perform(strokes, r_left, options.intensity, style.chug_ms)
    right = perform(strokes, r_right, options.intensity, style.chug_ms)
    bass = arrange_bass(strokes, r_bass, options.intensity)
    return Arrangement(
        style=style,
        feel=feel,
        felt_tempo=felt,
        key_root=key_root,
        bars=bars,
        strokes=strokes,
        drums=drums,
        guitar_left=left,
        guitar_right=right,
        bass=bass,
        modes=[bar_mode(b, options.intensity) for b in bars],
    )
