"""Rhythm guitar: power chords and palm-muted chugs on the chord roots, two performances (left/right)."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from pipeline.arrange.drums import bar_mode
from pipeline.arrange.events import Note
from pipeline.arrange.grid import Bar
from pipeline.arrange.seeds import Riff, RiffBar, by_density, plain_riff
from pipeline.arrange.styles import CALM_RIFFS, StylePreset


@dataclass(frozen=True)
class Stroke:
    """One strum of the written riff, before a player performs it."""

    time: float
    end: float
    root: int  # MIDI pitch of the power-chord root
    kind: str  # "chug" (palm-muted), "open" (ringing), "trem" (tremolo-picked)
    accent: bool


def root_pitch(pc: int, floor: int) -> int:
    """The lowest pitch >= ``floor`` with pitch class ``pc`` (where a metal guitarist plays the root)."""
    return floor + (pc - floor) % 12


def chord_pitches(stroke: Stroke) -> list[int]:
    if stroke.kind == "chug":
        return [stroke.root, stroke.root + 7]
    return [stroke.root, stroke.root + 7, stroke.root + 12]


def choose_riff(
    style: StylePreset,
    mode: str,
    label: str,
    bar_in_section: int,
    seed: int,
    seeds: list[Riff] | None = None,
) -> RiffBar:
    """The riff bar a bar plays: same section label -> same riff.

    With MIDI riff seeds (the style pack's ``riff-*.mid``), full and groove sections walk through a seed bar
    by bar, the densest seeds driving the full sections. Without seeds, the preset rhythms play, every 4th
    bar a variation.
    """
    full, groove = by_density(seeds or [])
    pool = {"full": full, "groove": groove}.get(mode, [])
    if pool:
        riff = pool[zlib.crc32(f"{seed}:{label}:{mode}".encode()) % len(pool)]
        return riff[bar_in_section % len(riff)]
    riffs = {"calm": CALM_RIFFS, "groove": style.groove_riffs, "full": style.full_riffs}[mode]
    base = zlib.crc32(f"{seed}:{label}:{mode}".encode()) % len(riffs)
    if bar_in_section % 4 == 3 and len(riffs) > 1:
        return plain_riff(riffs[(base + 1) % len(riffs)])[0]
    return plain_riff(riffs[base])[0]


def write_riffs(
    bars: list[Bar],
    style: StylePreset,
    intensity: float,
    labels: list[str],
    seed: int,
    seeds: list[Riff] | None = None,
) -> tuple[list[Stroke], dict[int, list[int]]]:
    """The written rhythm part (strokes) and the attack slots of every bar (for the kick to lock to).

    Every stroke's root is the song's chord root at that slot, moved by the riff's interval there.
    """
    strokes: list[Stroke] = []
    attacks: dict[int, list[int]] = {}
    bar_in_section = 0
    for bar in bars:
        bar_in_section = 0 if bar.section_start else bar_in_section + 1
        mode = bar_mode(bar, intensity)
        label = labels[bar.section] if bar.section < len(labels) else "A"
        riff = choose_riff(style, mode, label, bar_in_section, seed, seeds)
        current: dict[str, float | int | str | bool] | None = None
        bar_attacks: list[int] = []
        for i, t in enumerate(bar.slots):
            ch, interval = riff.at(i)
            root = root_pitch((bar.roots[i] + interval) % 12, style.root_floor)
            if ch == "-" and current is not None and current["root"] != root:
                ch = "X"  # the chord changed under a held note: strike the new chord
            if ch in "xXt":
                if current is not None:
                    strokes.append(
                        Stroke(
                            float(current["time"]),
                            t,
                            int(current["root"]),
                            str(current["kind"]),
                            bool(current["accent"]),
                        )
                    )
                kind = {"x": "chug", "X": "open", "t": "trem"}[ch]
                current = {"time": t, "root": root, "kind": kind, "accent": ch == "X" or i % 4 == 0}
                bar_attacks.append(i)
            elif ch == "." and current is not None:
                strokes.append(
                    Stroke(
                        float(current["time"]),
                        t,
                        int(current["root"]),
                        str(current["kind"]),
                        bool(current["accent"]),
                    )
                )
                current = None
        if current is not None:
            strokes.append(
                Stroke(
                    float(current["time"]),
                    bar.end,
                    int(current["root"]),
                    str(current["kind"]),
                    bool(current["accent"]),
                )
            )
        attacks[bar.index] = bar_attacks
    return strokes, attacks


def perform(strokes: list[Stroke], rng: np.random.Generator, intensity: float, chug_ms: float) -> list[Note]:
    """One guitarist's take: timing and dynamics vary a little, so two takes double-track naturally."""
    notes: list[Note] = []
    for s in strokes:
        dt = float(np.clip(rng.normal(0.0, 0.004), -0.01, 0.01))
        base = 0.9 if s.accent else 0.75
        vel = float(np.clip(base * (0.85 + 0.15 * intensity) + rng.normal(0.0, 0.05), 0.2, 1.0))
        length = s.end - s.time
        if s.kind == "chug":
            length = min(length * 0.95, chug_ms / 1000.0 * (1.0 + 0.6 * (length > 0.25)))
        else:
            length = length * 0.97
        for k, pitch in enumerate(chord_pitches(s)):
            strum = 0.0015 * k  # downstroke: low string first
            notes.append(
                Note(
                    time=max(0.0, s.time + dt + strum),
                    duration=max(0.02, length - strum),
                    pitch=pitch,
                    velocity=vel,
                    mute=s.kind == "chug",
                )
            )
    return notes
