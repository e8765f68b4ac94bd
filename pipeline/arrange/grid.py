"""The felt bar/slot grid built from the analysis' beats, downbeats, chords and sections."""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from pipeline.arrange.feel import slots_per_beat
from pipeline.types import Analysis

PITCH_CLASSES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
_FLATS = {"Db": 1, "Eb": 3, "Gb": 6, "Ab": 8, "Bb": 10}


def pitch_class(name: str) -> int:
    """Pitch class of a note name ("E", "F#", "Bb"); 4 (E) if unknown."""
    name = name.strip()
    if name in PITCH_CLASSES:
        return PITCH_CLASSES.index(name)
    return _FLATS.get(name, 4)


@dataclass(frozen=True)
class Bar:
    index: int
    start: float
    end: float
    slots: tuple[float, ...]  # onset time of every 16th slot of the felt grid
    pulses: int  # felt pulses (quarter notes of the felt tempo)
    section: int
    energy: float
    section_start: bool
    section_end: bool
    roots: tuple[int, ...]  # chord root pitch class at every slot
    qualities: tuple[str, ...] = ()  # chord quality ("maj", "min") at every slot
    basses: tuple[int, ...] = ()  # the pitch class the song's bass plays at every slot
    bar_in_section: int = 0
    feel: str = "normal"  # "half", "normal" or "double": how this bar's drum patterns are read (styles.py)
    picking: str = "normal"  # how its guitar riffs are read: its feel, or feel.SONG_16THS under double drums

    def slot_end(self, i: int) -> float:
        return self.slots[i + 1] if i + 1 < len(self.slots) else self.end


def _extended_beats(analysis: Analysis) -> list[float]:
    """Analysis beats, extended with the median period to cover 0 .. duration."""
    beats = sorted(float(b) for b in analysis.beats if 0 <= b < analysis.duration)
    tempo = analysis.tempo if analysis.tempo > 0 else 120.0
    period = float(np.median(np.diff(beats))) if len(beats) > 2 else 60.0 / tempo
    if not beats:
        beats = [0.0]
    while beats[0] - period > -0.5 * period:
        beats.insert(0, max(0.0, beats[0] - period))
        if beats[0] == 0.0:
            break
    while beats[-1] + period < analysis.duration:
        beats.append(beats[-1] + period)
    beats.append(beats[-1] + period)  # end of the last beat
    return beats


def _bar_starts(beats: list[float], analysis: Analysis) -> list[int]:
    """Indices into ``beats`` where a bar starts (detected downbeats, gaps filled by the metre)."""
    period = float(np.median(np.diff(beats))) if len(beats) > 1 else 0.5
    per_bar = max(1, int(analysis.beats_per_bar or 4))
    last = len(beats) - 1
    anchors: list[int] = []
    for d in sorted(analysis.downbeats):
        i = bisect.bisect_left(beats, d)
        near = min((j for j in (i - 1, i) if 0 <= j < last), key=lambda j: abs(beats[j] - d), default=None)
        if near is not None and abs(beats[near] - d) < 0.4 * period and (not anchors or near > anchors[-1]):
            anchors.append(near)
    if not anchors:
        anchors = [0]
    starts = {0}
    k = anchors[0]
    while k > 0:
        starts.add(k)
        k -= per_bar
    for a, nxt in zip(anchors, [*anchors[1:], last], strict=True):
        k = a
        while k < nxt:
            if nxt - k >= 2 or k == a:
                starts.add(k)
            k += per_bar
    return sorted(s for s in starts if s < last)


def build_bars(
    analysis: Analysis,
    section_feels: Callable[[int], tuple[str, str]] | str,
    key_root: int,
    key_quality: str = "min",
) -> list[Bar]:
    """The song's bars, each with the feel of its section (``section_feels``: section index -> (drum feel,
    guitar picking feel), or one feel for all): 4 slots per beat (16ths), 8 in double time (16ths of the
    felt tempo).

    Every slot carries the chord sounding at its onset (root, quality, the bass note); where the analysis
    has no chord (silence, "N") the previous chord carries on, and before the first one the key's tonic.
    """
    beats = _extended_beats(analysis)
    starts = _bar_starts(beats, analysis)
    chord_starts = [c.start for c in analysis.chords]
    sections = sorted(analysis.sections, key=lambda s: s.start)
    sec_starts = [s.start for s in sections]
    bars: list[Bar] = []
    last_root, last_quality, last_bass = key_root, key_quality, key_root
    prev_section = -1
    bar_in_section = 0
    for n, (a, b) in enumerate(zip(starts, [*starts[1:], len(beats) - 1], strict=True)):
        beat_times = beats[a : b + 1]
        if len(beat_times) < 2:
            continue
        start, end = beat_times[0], beat_times[-1]
        mid = 0.5 * (start + end)
        sec = max(0, bisect.bisect_right(sec_starts, mid) - 1) if sections else 0
        feel, picking = section_feels(sec) if callable(section_feels) else (section_feels, section_feels)
        per_beat = slots_per_beat(feel)
        slots: list[float] = []
        for t0, t1 in zip(beat_times[:-1], beat_times[1:], strict=True):
            slots.extend(t0 + (t1 - t0) * k / per_beat for k in range(per_beat))
        energy = float(sections[sec].energy) if sections else 0.6
        roots, qualities, basses = [], [], []
        for t in slots:
            ci = bisect.bisect_right(chord_starts, t + 0.02) - 1
            chord = analysis.chords[ci] if 0 <= ci < len(analysis.chords) else None
            if chord is not None and chord.root is not None and chord.end > t:
                last_root, last_quality = int(chord.root), chord.quality or "maj"
                last_bass = int(chord.bass) if chord.bass is not None else last_root
            roots.append(last_root)
            qualities.append(last_quality)
            basses.append(last_bass)
        bar_in_section = 0 if sec != prev_section else bar_in_section + 1
        bars.append(
            Bar(
                index=n,
                start=start,
                end=end,
                slots=tuple(slots),
                pulses=(len(beat_times) - 1) * per_beat // 4,
                section=sec,
                energy=energy,
                section_start=sec != prev_section,
                section_end=False,
                roots=tuple(roots),
                qualities=tuple(qualities),
                basses=tuple(basses),
                bar_in_section=bar_in_section,
                feel=feel,
                picking=picking,
            )
        )
        prev_section = sec
    for i in range(len(bars) - 1):
        if bars[i + 1].section_start:
            bars[i] = _replace_end(bars[i])
    return [b for b in bars if b.start < analysis.duration]


def _replace_end(bar: Bar) -> Bar:
    from dataclasses import replace

    return replace(bar, section_end=True)
