"""MIDI riff seeds: the style pack's ``riff-*.mid`` files read back as riffs the rhythm guitar can play.

A seed riff is a few bars of 16th slots. Each slot holds a rhythm symbol (the style-preset alphabet: ``x``
palm-muted chug, ``X`` open power chord, ``t`` tremolo chord, ``-`` let ring, ``.`` rest) and the interval of
the note's root above the riff's tonic. The arranger plays the seed over the song's chord root at that slot,
so a seed's moves (an open chord on the flat sixth, a stab on the flat seventh) follow the song's harmony
while the chugs stay on the song's own root.

Seed files come from the sound bank, which anyone holding the asset key can fill: they are untrusted input.
``open_seed`` is the one reader of a seed file, within bounds (bytes, events, length in bars, a division in
ticks per beat); the asset bank refuses at upload what it refuses, and ``load_riff_seeds`` leaves out at play
time what still fails, so no seed file can stop a remix.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.errors import CORRUPT_MIDI, MIDI_TOO_LONG, UNSUPPORTED_MIDI, PipelineError

if TYPE_CHECKING:
    import mido

logger = logging.getLogger(__name__)

SLOTS_PER_BAR = 16  # 4/4 in 16ths, the grid of the preset rhythms
CHUG_MAX_SLOTS = 2  # a single note held longer than this is an open note, not a palm-muted chug
TREMOLO_VELOCITY = 110  # chords played softer than this (the pack writes 104) are tremolo-picked
# A seed is a few bars of notes (the shipped ones are under 1 KB). Parsing is what costs: mido reads about
# 30,000 events a second on one core here, so the size is checked before a byte is parsed, and these bounds
# keep the worst file under a second.
MAX_SEED_BYTES = 64 * 1024
MAX_SEED_EVENTS = 16_384
MAX_SEED_BARS = 512  # 4/4 bars at the file's own division


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


def open_seed(path: Path) -> mido.MidiFile:
    """The MIDI file at ``path``, parsed within the bounds above; PipelineError (CORRUPT_MIDI,
    UNSUPPORTED_MIDI or MIDI_TOO_LONG, with a message staff understand) when it cannot be."""
    import mido

    path = Path(path)
    size = path.stat().st_size
    if size > MAX_SEED_BYTES:
        raise PipelineError(
            MIDI_TOO_LONG,
            f"The MIDI file is {size / 1024:.0f} KB; a seed may be at most {MAX_SEED_BYTES // 1024} KB.",
        )
    with path.open("rb") as fh:
        if fh.read(4) != b"MThd":
            raise PipelineError(CORRUPT_MIDI, "This is not a standard MIDI file (no MThd header).")
    try:
        midi = mido.MidiFile(str(path))
    except Exception as exc:  # mido raises OSError, EOFError, ValueError, KeyError... for damaged files
        raise PipelineError(CORRUPT_MIDI, f"The MIDI file cannot be read: {exc}.") from None
    if midi.type == 2:
        raise PipelineError(UNSUPPORTED_MIDI, "MIDI type 2 (independent patterns) is not supported.")
    if midi.ticks_per_beat <= 0:
        counted = "is 0" if midi.ticks_per_beat == 0 else "counts SMPTE frames"
        raise PipelineError(
            UNSUPPORTED_MIDI,
            f"The MIDI file does not count time in beats (its header's division {counted}). "
            "Save it with a number of ticks per beat.",
        )
    events = sum(len(track) for track in midi.tracks)
    if events > MAX_SEED_EVENTS:
        raise PipelineError(
            MIDI_TOO_LONG, f"The MIDI file holds {events} events; a seed may hold at most {MAX_SEED_EVENTS}."
        )
    ticks = max((sum(msg.time for msg in track) for track in midi.tracks), default=0)
    if ticks > MAX_SEED_BARS * 4 * midi.ticks_per_beat:
        raise PipelineError(MIDI_TOO_LONG, f"The MIDI file is longer than {MAX_SEED_BARS} bars.")
    return midi


def read_riff(path: Path) -> Riff:
    """A riff seed from a MIDI file (all tracks merged; notes starting on the same 16th form one stroke);
    PipelineError when ``open_seed`` refuses the file. Read once per process while the file is unchanged."""
    stat = Path(path).stat()
    return _read_riff_cached(str(Path(path).resolve()), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=64)
def _read_riff_cached(path: str, _mtime_ns: int, _size: int) -> Riff:
    midi = open_seed(Path(path))
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
    """Every ``riff-*.mid`` among ``paths`` (a style's MIDI seeds) that holds notes, in name order; a file
    that cannot be read is left out (and logged), never the end of the remix."""
    riffs = []
    for path in sorted(paths):
        if not path.name.startswith("riff"):
            continue
        try:
            riff = read_riff(path)
        except (PipelineError, OSError) as exc:
            logger.warning("riff seed %s cannot be played (%s); it is left out", path.name, exc)
            continue
        if riff:
            riffs.append(riff)
    return riffs


def by_density(riffs: list[Riff]) -> tuple[list[Riff], list[Riff]]:
    """(riffs for full sections, riffs for groove sections): the densest seeds drive the full sections."""
    if not riffs:
        return [], []
    density = [sum(b.attacks for b in r) / len(r) for r in riffs]
    top = max(density)
    full = [r for r, d in zip(riffs, density, strict=True) if d >= 0.95 * top]
    groove = [r for r, d in zip(riffs, density, strict=True) if d < 0.95 * top] or full
    return full, groove
