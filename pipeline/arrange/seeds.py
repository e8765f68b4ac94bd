"""MIDI riff seeds: the style pack's ``riff-*.mid`` files read back as riffs the rhythm guitar can play.

A seed riff is a few bars of 16th slots. Each slot holds a rhythm symbol (the style-preset alphabet: ``x``
palm-muted chug, ``X`` open power chord, ``t`` tremolo chord, ``-`` let ring, ``.`` rest) and the interval of
the note's root above the riff's tonic. The arranger plays the seed over the song's chord root at that slot,
so a seed's moves (an open chord on the flat sixth, a stab on the flat seventh) follow the song's harmony
while the chugs stay on the song's own root.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SLOTS_PER_BAR = 16  # 4/4 in 16ths, the grid of the preset rhythms
CHUG_MAX_SLOTS = 2  # a single note held longer than this is an open note, not a palm-muted chug
TREMOLO_VELOCITY = 110  # chords played softer than this (the pack writes 104) are tremolo-picked


@dataclass(frozen=True)
class RiffBar:
    """One bar of a riff: a rhythm string and, per slot, the root's interval above the chord root."""

    rhythm: str
    intervals: tuple[int, ...]

    def at(self, slot: int) -> tuple[str, int]:
        i = slot % len(self.rhythm)
        return self.rhythm[i], self.intervals[i]

    @property
    def attacks(self) -> int:
        return sum(ch in "xXt" for ch in self.rhythm)


Riff = tuple[RiffBar, ...]


def plain_riff(rhythm: str) -> Riff:
    """A preset rhythm string as a one-bar riff on the chord root."""
    return (RiffBar(rhythm, (0,) * len(rhythm)),)


def read_riff(path: Path) -> Riff:
    """A riff seed from a MIDI file (all tracks merged; notes starting on the same 16th form one stroke)."""
    import mido

    midi = mido.MidiFile(str(path))
    slot_ticks = midi.ticks_per_beat / 4
    strokes: dict[int, list[tuple[int, int, int]]] = {}  # slot -> [(pitch, velocity, end tick)]
    for track in midi.tracks:
        tick, sounding = 0, {}
        for msg in track:
            tick += msg.time
            if msg.type == "note_on" and msg.velocity > 0 and msg.channel != 9:
                sounding[msg.note] = (tick, msg.velocity)
            elif msg.type in ("note_off", "note_on") and msg.note in sounding:
                start, velocity = sounding.pop(msg.note)
                strokes.setdefault(round(start / slot_ticks), []).append((msg.note, velocity, tick))
    if not strokes:
        return ()
    tonic = min(p for notes in strokes.values() for p, _v, _e in notes)
    last_end = max(e for notes in strokes.values() for _p, _v, e in notes)
    n_bars = max(1, -(-max(max(strokes) + 1, round(last_end / slot_ticks)) // SLOTS_PER_BAR))
    rhythm = ["."] * (n_bars * SLOTS_PER_BAR)
    intervals = [0] * len(rhythm)
    for slot in sorted(strokes):
        if slot >= len(rhythm):
            continue
        notes = strokes[slot]
        root = min(p for p, _v, _e in notes)
        length = max(1, round(max(e for _p, _v, e in notes) / slot_ticks) - slot)
        velocity = max(v for _p, v, _e in notes)
        if len(notes) == 1 and length <= CHUG_MAX_SLOTS:
            symbol, length = "x", 1
        elif len(notes) > 1 and velocity < TREMOLO_VELOCITY:
            symbol = "t"
        else:
            symbol = "X"
        rhythm[slot] = symbol
        intervals[slot] = (root - tonic) % 12
        for k in range(slot + 1, min(slot + length, len(rhythm))):
            if k in strokes:
                break
            rhythm[k] = "t" if symbol == "t" else "-"
            intervals[k] = intervals[slot]
    return tuple(
        RiffBar(
            "".join(rhythm[b * SLOTS_PER_BAR : (b + 1) * SLOTS_PER_BAR]),
            tuple(intervals[b * SLOTS_PER_BAR : (b + 1) * SLOTS_PER_BAR]),
        )
        for b in range(n_bars)
    )


def load_riff_seeds(paths: list[Path]) -> list[Riff]:
    """Every ``riff-*.mid`` among ``paths`` (a style's MIDI seeds) that holds notes, in name order."""
    riffs = [read_riff(p) for p in sorted(paths) if p.name.startswith("riff")]
    return [r for r in riffs if r]


def by_density(riffs: list[Riff]) -> tuple[list[Riff], list[Riff]]:
    """(riffs for full sections, riffs for groove sections): the densest seeds drive the full sections."""
    if not riffs:
        return [], []
    density = [sum(b.attacks for b in r) / len(r) for r in riffs]
    top = max(density)
    full = [r for r, d in zip(riffs, density, strict=True) if d >= 0.95 * top]
    groove = [r for r, d in zip(riffs, density, strict=True) if d < 0.95 * top] or full
    return full, groove
