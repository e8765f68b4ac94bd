"""Writes arranged parts as standard MIDI files that open in a DAW."""

from __future__ import annotations

import functools
from pathlib import Path

import mido

from pipeline.arrange.events import Hit, Note

PPQ = 480
GM_DRUMS = {
    "kick": 36,
    "snare": 38,
    "hihat-closed": 42,
    "hihat-open": 46,
    "ride": 51,
    "crash": 49,
    "china": 52,
    "tom-high": 50,
    "tom-mid": 47,
    "tom-low": 43,
}
GM_PROGRAMS = {"guitar": 30, "bass": 33, "lead": 29}  # distortion guitar, finger bass, overdrive guitar


@functools.lru_cache(maxsize=1 << 14)
def _message(kind: str, channel: int, note: int, velocity: int) -> mido.Message:
    """The note message of these fields, checked once. mido checks every field of every message it makes
    (most of a song's MIDI writing time); a part's thousands of notes repeat a few hundred distinct
    messages, and ``_write`` copies each with its time, so the one kept here is never changed."""
    return mido.Message(kind, channel=channel, note=note, velocity=velocity)


def _ticks(seconds: float, tempo_bpm: float) -> int:
    return max(0, round(seconds * PPQ * tempo_bpm / 60.0))


def _write(path: Path, name: str, events: list[tuple[int, mido.Message]], tempo_bpm: float) -> Path:
    mid = mido.MidiFile(ticks_per_beat=PPQ)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    track.append(mido.MetaMessage("track_name", name=name, time=0))
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(tempo_bpm), time=0))
    # note-offs sort before note-ons at the same tick so repeated notes never overlap
    events.sort(key=lambda e: (e[0], e[1].type == "note_on", e[1].note if hasattr(e[1], "note") else 0))
    now = 0
    for tick, msg in events:
        # the message was checked when it was made; only its time changes (a non-negative int: the events are
        # sorted by tick), so the copy skips mido's second check of every field
        track.append(msg.copy(skip_checks=True, time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
    path.parent.mkdir(parents=True, exist_ok=True)
    mid.save(path)
    return path


def write_drums(path: Path, hits: list[Hit], tempo_bpm: float) -> Path:
    events: list[tuple[int, mido.Message]] = []
    for h in hits:
        note = GM_DRUMS[h.role]
        vel = max(1, min(127, round(h.velocity * 127)))
        start = _ticks(h.time, tempo_bpm)
        events.append((start, _message("note_on", 9, note, vel)))
        events.append((start + PPQ // 8, _message("note_off", 9, note, 0)))
    return _write(path, "drums", events, tempo_bpm)


def write_notes(
    path: Path, name: str, notes: list[Note], tempo_bpm: float, program: int, channel: int = 0
) -> Path:
    events: list[tuple[int, mido.Message]] = [
        (0, mido.Message("program_change", channel=channel, program=program))
    ]
    for n in notes:
        start = _ticks(n.time, tempo_bpm)
        end = max(start + 1, _ticks(n.time + n.duration, tempo_bpm))
        vel = max(1, min(127, round(n.velocity * 127)))
        events.append((start, _message("note_on", channel, n.pitch, vel)))
        events.append((end, _message("note_off", channel, n.pitch, 0)))
    return _write(path, name, events, tempo_bpm)
