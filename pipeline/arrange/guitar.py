"""Rhythm guitar: the song's chords as power chords, palm-muted chugs and ringing open chords, two takes."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from pipeline.arrange.events import Note, clamp
from pipeline.arrange.feel import SONG_16THS, pattern_slot
from pipeline.arrange.grid import Bar
from pipeline.arrange.seeds import Riff, RiffBar, by_density, plain_riff
from pipeline.seeding import section_choice
from pipeline.styles import CALM, ENDING, FULL, GROOVE, StylePreset


@dataclass(frozen=True)
class Stroke:
    """One strum of the written riff, before a player performs it."""

    time: float
    end: float
    root: int  # MIDI pitch of the power-chord root
    kind: str  # "chug" (palm-muted), "open" (ringing), "trem" (tremolo-picked)
    accent: bool
    third: int | None = None  # semitones of the chord's third when the chord rings with its colour
    bass: int | None = None  # MIDI pitch the bass plays under it (the song's bass note, an octave down)


def root_pitch(pc: int, floor: int) -> int:
    """The lowest pitch >= ``floor`` with pitch class ``pc`` (where a metal guitarist plays the root)."""
    return floor + (pc - floor) % 12


def chord_pitches(stroke: Stroke) -> list[int]:
    """Palm mutes are root and fifth; open chords add the octave and, with colour, the third above it."""
    if stroke.kind == "chug":
        return [stroke.root, stroke.root + 7]
    pitches = [stroke.root, stroke.root + 7, stroke.root + 12]
    if stroke.third is not None:
        pitches.append(stroke.root + 12 + stroke.third)
    return pitches


def choose_riff(
    style: StylePreset,
    treatment: str,
    label: str,
    bar_in_section: int,
    seed: int,
    riff_seeds: list[Riff] | None = None,
) -> RiffBar:
    """The riff bar a bar plays: same section label -> same riff.

    With MIDI riff seeds (the style pack's ``riff-*.mid``), full and groove sections walk through a seed bar
    by bar, the densest seeds driving the full sections. Without seeds, the preset rhythms play, every 4th
    bar a variation.
    """
    full, groove = by_density(riff_seeds or [])
    pool = {FULL: full, GROOVE: groove}.get(treatment, [])
    if pool:
        riff = pool[section_choice(seed, label, treatment, len(pool))]
        return riff[bar_in_section % len(riff)]
    riffs = style.riffs[treatment]
    base = section_choice(seed, label, treatment, len(riffs))
    if bar_in_section % 4 == 3 and len(riffs) > 1:
        return plain_riff(riffs[(base + 1) % len(riffs)])[0]
    return plain_riff(riffs[base])[0]


def _third(quality: str) -> int:
    return 3 if quality == "min" else 4


class _RiffWriter:
    """Accumulates strokes: a stroke lasts until the next attack, a rest, or the end of its bar."""

    def __init__(self) -> None:
        self.strokes: list[Stroke] = []
        self.current: Stroke | None = None

    def strike(self, stroke: Stroke) -> None:
        self.stop(stroke.time)
        self.current = stroke

    def stop(self, at: float) -> None:
        if self.current is not None:
            self.strokes.append(replace(self.current, end=at))
            self.current = None


def write_riffs(
    bars: list[Bar],
    style: StylePreset,
    treatments: list[str],
    labels: list[str],
    seed: int,
    riff_seeds: list[Riff] | None = None,
    song_16ths: bool = False,
) -> tuple[list[Stroke], dict[int, list[int]]]:
    """The written rhythm part (strokes) and the attack slots of every bar (for the kick to lock to).

    Every stroke sits on the song's chord of the moment: its root, and on ringing chords its third where the
    style plays open chords. A riff's rhythm is kept, its note moves are not (they would leave the song's
    harmony), and a chord change always gets a fresh attack, so the changes land on time. The ending
    section is one held chord.
    """
    writer = _RiffWriter()
    attacks: dict[int, list[int]] = {}
    for n, bar in enumerate(bars):
        treatment = treatments[n]
        label = labels[bar.section] if bar.section < len(labels) else "A"
        bar_attacks: list[int] = []
        if treatment == ENDING:
            if bar.bar_in_section == 0:
                writer.strike(_stroke(bar, 0, style, "open", True, colour=True))
                bar_attacks.append(0)
            attacks[bar.index] = bar_attacks
            continue
        riff = choose_riff(style, treatment, label, bar.bar_in_section, seed, riff_seeds)
        colour = style.chord_colour or treatment == CALM
        n_slots = len(bar.slots)
        # under double-time drums a style may keep picking the song's 16ths: the pattern at half speed
        at_song_speed = song_16ths or bar.picking == SONG_16THS
        picking = "half" if bar.feel == "double" and at_song_speed else bar.feel
        for i in range(n_slots):
            p = pattern_slot(i, bar.bar_in_section, n_slots, picking)
            ch = riff.at(p)[0] if p is not None else "-"
            changed = i > 0 and (bar.roots[i], bar.qualities[i]) != (bar.roots[i - 1], bar.qualities[i - 1])
            changed = changed or (i == 0 and n > 0 and bars[n - 1].roots[-1] != bar.roots[0])
            if changed and ch in ".-":
                ch = "X"  # the chord changes here: strike it, whatever the riff rests or holds
            if ch == "-" and writer.current is None:
                ch = "."
            if ch in "xXt":
                kind = {"x": "chug", "X": "open", "t": "trem"}[ch]
                accent = ch == "X" or i % 4 == 0
                writer.strike(_stroke(bar, i, style, kind, accent, colour=colour and kind != "chug"))
                bar_attacks.append(i)
            elif ch == ".":
                writer.stop(bar.slots[i])
        if n + 1 >= len(bars) or treatments[n + 1] != ENDING:
            writer.stop(bar.end)
        attacks[bar.index] = bar_attacks
    last_end = bars[-1].end if bars else 0.0
    writer.stop(last_end)
    return writer.strokes, attacks


def _stroke(bar: Bar, i: int, style: StylePreset, kind: str, accent: bool, *, colour: bool) -> Stroke:
    root = root_pitch(bar.roots[i], style.root_floor)
    bass_pc = bar.basses[i] if bar.basses else bar.roots[i]
    return Stroke(
        time=bar.slots[i],
        end=bar.slot_end(i),
        root=root,
        kind=kind,
        accent=accent,
        third=_third(bar.qualities[i]) if colour and bar.qualities else None,
        bass=root_pitch(bass_pc, style.root_floor) - 12,
    )


def guitar_take(
    strokes: list[Stroke], rng: np.random.Generator, intensity: float, chug_ms: float
) -> list[Note]:
    """One guitarist's take: timing and dynamics vary a little, so two takes double-track naturally."""
    notes: list[Note] = []
    for s in strokes:
        dt = clamp(rng.normal(0.0, 0.004), -0.01, 0.01)
        base = 0.9 if s.accent else 0.75
        vel = clamp(base * (0.85 + 0.15 * intensity) + rng.normal(0.0, 0.05), 0.2, 1.0)
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
