"""A MIDI asset at a glance: a line of facts and a small piano-roll picture (SVG built from numbers)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import IO

import mido

from assets_bank.models import Asset
from pipeline import MAX_SEED_BYTES

NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def note_name(number: int) -> str:
    return f"{NOTE_NAMES[number % 12]}{number // 12 - 1}"


def summary(asset: Asset) -> str:
    if not asset.is_midi:
        return ""
    parts = []
    if asset.bars is not None:
        parts.append(f"{asset.bars:g} bar{'s' if asset.bars != 1 else ''}")
    if asset.time_signature:
        parts.append(asset.time_signature)
    if asset.tempo:
        parts.append(f"{asset.tempo:g} BPM")
    if asset.note_min is not None and asset.note_max is not None:
        parts.append(f"notes {note_name(asset.note_min)}–{note_name(asset.note_max)}")
    return ", ".join(parts)


def notes_of(source: str | Path | IO[bytes]) -> tuple[list[tuple[int, int, int]], int]:
    """(start tick, end tick, note) of every note, and the file's length in ticks (all tracks merged);
    ValueError for a file larger than a seed may be (the bank holds files from before that bound)."""
    if hasattr(source, "read"):
        data = source.read(MAX_SEED_BYTES + 1)
    else:
        with Path(source).open("rb") as fh:
            data = fh.read(MAX_SEED_BYTES + 1)
    if len(data) > MAX_SEED_BYTES:
        raise ValueError("the MIDI file is too large to preview")
    midi = mido.MidiFile(file=io.BytesIO(data))
    notes: list[tuple[int, int, int]] = []
    open_notes: dict[tuple[int, int], int] = {}
    tick = 0
    for msg in mido.merge_tracks(midi.tracks):
        tick += msg.time
        if msg.type == "note_on" and msg.velocity > 0:
            open_notes[(msg.channel, msg.note)] = tick
        elif msg.type in ("note_off", "note_on"):
            start = open_notes.pop((msg.channel, msg.note), None)
            if start is not None:
                notes.append((start, max(tick, start + 1), msg.note))
    for (_, note), start in open_notes.items():
        notes.append((start, tick if tick > start else start + midi.ticks_per_beat // 4, note))
    return notes, max(tick, 1)


def piano_roll_svg(source: str | Path | IO[bytes], *, width: int = 320, height: int = 80) -> str:
    """A small piano roll: time left to right, pitch bottom to top."""
    notes, length = notes_of(source)
    rects = []
    if notes:
        low = min(n for _, _, n in notes)
        high = max(n for _, _, n in notes)
        span = max(high - low + 1, 12)
        row = height / span
        for start, end, note in notes[:2000]:
            x = start / length * width
            w = max((end - start) / length * width, 1.0)
            y = height - (note - low + 1) * row
            rects.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{max(row, 1.0):.1f}" fill="#b22"/>'
            )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="piano roll">'
        f'<rect width="{width}" height="{height}" fill="#111"/>{"".join(rects)}</svg>'
    )
