"""Lead guitar: the tracked melody of a stem comes back as notes with the right pitches and onsets."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.arrange.grid import build_bars
from pipeline.arrange.lead import (
    LEAD_HIGH,
    LEAD_LOW,
    arrange_lead,
    contour_notes,
    melody_to_notes,
    song_melody,
)
from pipeline.testing.synth import make_song
from pipeline.tests.play_helpers import analysis_from_song
from pipeline.types import SAMPLE_RATE

MELODY = [64, 67, 69, 71, 72, 71, 69, 67, 64, 62, 64, 67, 69, 67, 64, 62]
NOTE_S = 0.5


def _melody_audio(with_chords: bool) -> np.ndarray:
    """A sung-like line (harmonics + vibrato) of known notes, optionally over quiet sustained chords."""
    n = int(len(MELODY) * NOTE_S * SAMPLE_RATE)
    t = np.arange(int(NOTE_S * SAMPLE_RATE)) / SAMPLE_RATE
    line = np.zeros(n)
    for i, pitch in enumerate(MELODY):
        f = 440.0 * 2 ** ((pitch - 69) / 12) * 2 ** (0.2 * np.sin(2 * np.pi * 5.5 * t) / 12)
        phase = 2 * np.pi * np.cumsum(f) / SAMPLE_RATE
        tone = sum(np.sin(k * phase) / k for k in range(1, 8))
        env = np.minimum(1.0, np.minimum(t / 0.02, (t[-1] - t) / 0.04))
        line[i * t.size : (i + 1) * t.size] = tone * env
    if with_chords:
        tt = np.arange(n) / SAMPLE_RATE
        line += 0.15 * sum(np.sin(2 * np.pi * 440.0 * 2 ** ((p - 69) / 12) * tt) for p in (45, 52, 57))
    audio = (0.3 * line / np.abs(line).max()).astype(np.float32)
    return np.stack([audio, audio])


@pytest.fixture(scope="module")
def bars():
    song = make_song(tempo=120.0, bars=4)  # 120 BPM: a beat is exactly one melody note
    return build_bars(analysis_from_song(song), "normal", 9)


@pytest.mark.parametrize("with_chords", [False, True])
def test_lead_plays_the_tracked_melody_with_its_pitches_and_onsets(bars, with_chords):
    notes = arrange_lead(song_melody(_melody_audio(with_chords)), bars)
    assert notes
    found = 0
    for i, pitch in enumerate(MELODY):
        start = i * NOTE_S
        near = [n for n in notes if abs(n.time - start) < 0.06]
        found += any(n.pitch % 12 == pitch % 12 for n in near)
    assert found / len(MELODY) >= 0.8
    assert all(LEAD_LOW <= n.pitch <= LEAD_HIGH for n in notes)


def test_lead_notes_never_overlap_and_silence_gives_no_notes(bars):
    notes = arrange_lead(song_melody(_melody_audio(False)), bars)
    for a, b in zip(notes, notes[1:], strict=False):
        assert a.time + a.duration <= b.time + 1e-9
    assert song_melody(np.zeros((2, 4 * SAMPLE_RATE), np.float32)) == []


def test_short_blips_are_dropped_and_octaves_move_into_the_lead_register(bars):
    times = np.arange(400) * 0.008
    midi = np.full(400, np.nan)
    midi[0:100] = 40.0  # 0.8 s of a low E: played, moved up into the register
    midi[100:105] = 45.0  # a 40 ms blip: dropped
    notes = melody_to_notes(contour_notes(times, midi), bars)
    assert [n.pitch % 12 for n in notes] == [4]
    assert LEAD_LOW <= notes[0].pitch <= LEAD_HIGH
