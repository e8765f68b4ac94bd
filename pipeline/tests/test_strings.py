"""Plucked and recorded string notes are made only as long as a part uses them, with the same samples."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipeline.arrange import arrange
from pipeline.arrange.events import Note
from pipeline.assets import load_band
from pipeline.render.strings import StringBank, pluck, render_part, shifted
from pipeline.testing.synth import make_song
from pipeline.tests.play_helpers import analysis_from_song
from pipeline.types import SAMPLE_RATE, RemixOptions

ASSETS = Path(__file__).resolve().parents[2] / "assets"


@pytest.mark.parametrize(
    "string",
    [
        {"freq": 82.4, "seconds": 3.0, "t60": 2.5, "brightness": 0.5, "glide_cents": 12.0},
        {"freq": 659.3, "seconds": 4.0, "glide_cents": 15.0, "vibrato_cents": 25.0},  # a lead note
        {"freq": 196.0, "seconds": 0.5, "t60": 0.35, "brightness": 0.55, "glide_cents": 7.0},  # a palm mute
    ],
)
def test_a_pluck_cut_short_is_the_start_of_the_whole_pluck(string):
    whole = pluck(rng=np.random.default_rng(5), **string)
    for samples in (0, 1, 97, 12_345, whole.size - 1, whole.size, whole.size + 500):
        cut = pluck(rng=np.random.default_rng(5), samples=samples, **string)
        assert cut.tobytes() == whole[:samples].tobytes()


def test_a_recorded_note_cut_short_is_the_start_of_the_whole_shifted_note():
    t = np.arange(2 * SAMPLE_RATE) / SAMPLE_RATE
    e2 = (np.sin(2 * np.pi * 82.41 * t) * np.exp(-t)).astype(np.float32)
    for semitones in (-2.03, 0.0, 3.01):
        whole = shifted(e2, semitones)
        for samples in (0, 1, 4410, whole.size - 1, whole.size + 10):
            assert shifted(e2, semitones, samples).tobytes() == whole[:samples].tobytes()


def _whole_notes_bank(notes: list[Note], **bank_args) -> StringBank:
    """The reference: a bank whose notes were all made whole before the part is rendered (as every note
    was before notes were cut to their longest use)."""
    bank = StringBank(**bank_args)
    for i, note in enumerate(notes):
        bank.note(note.pitch, note.mute, i)
    return bank


def _lead_notes(n: int) -> list[Note]:
    """Lead-like notes: long and short, repeated pitches on both takes, one past the end and one cut by it."""
    rng = np.random.default_rng(2)
    durations, pitches = rng.choice([0.1, 0.4, 1.2, 5.0], 24), rng.choice([64, 67, 69], 24)
    notes = [
        Note(0.3 * i, float(d), int(p), 0.8) for i, (d, p) in enumerate(zip(durations, pitches, strict=True))
    ]
    end = n / SAMPLE_RATE
    return [*notes, Note(end - 0.2, 2.0, 64, 0.8), Note(end, 1.0, 67, 0.8)]


def test_a_lead_part_from_notes_cut_to_their_longest_use_equals_one_from_whole_notes():
    n = 9 * SAMPLE_RATE
    notes = _lead_notes(n)
    args = {"seed": 11, "detune_cents": 0.0, "vibrato_cents": 25.0}
    bank = StringBank(**args)
    part = render_part(notes, bank, n, release_s=0.03)
    whole = _whole_notes_bank(notes, **args)
    expected = render_part(notes, whole, n, release_s=0.03)
    assert part.tobytes() == expected.tobytes()
    made = {key: sound.size for key, sound in bank.cache.items()}
    assert made.keys() == whole.cache.keys()
    assert sum(made.values()) < 0.8 * sum(sound.size for sound in whole.cache.values())  # less synthesised


@pytest.mark.parametrize("instrument", ["bass", "guitar", "recorded guitar"])
def test_arranged_parts_from_notes_cut_to_their_longest_use_equal_ones_from_whole_notes(instrument):
    song = make_song(tempo=150.0, bars=4, seed=5)
    arr = arrange(analysis_from_song(song), RemixOptions(style="thrash"))
    n = song.audio.shape[1]
    notes = arr.bass if instrument == "bass" else arr.guitar_left
    args = {"seed": 7, "detune_cents": 4.0, "bass": instrument == "bass"}
    if instrument == "recorded guitar":
        args["samples"] = load_band(ASSETS).guitar
        assert args["samples"] is not None
    release_s = 0.02 if instrument == "bass" else 0.012
    part = render_part(notes, StringBank(**args), n, release_s=release_s)
    expected = render_part(notes, _whole_notes_bank(notes, **args), n, release_s=release_s)
    assert np.any(part) and part.tobytes() == expected.tobytes()


def test_a_note_made_short_for_one_part_is_made_again_for_a_part_that_holds_it_longer():
    n = 6 * SAMPLE_RATE
    short = [Note(0.0, 0.2, 64, 0.8), Note(0.5, 0.1, 67, 0.8)]
    long = [Note(1.0, 2.5, 64, 0.8), Note(1.5, 0.1, 67, 0.8)]
    args = {"seed": 3, "detune_cents": 0.0, "vibrato_cents": 25.0}
    bank = StringBank(**args)
    render_part(short, bank, n, release_s=0.03)
    assert bank.note(64, False, 0).size == int(0.2 * SAMPLE_RATE) + int(0.03 * SAMPLE_RATE)
    again = render_part(long, bank, n, release_s=0.03)
    assert again.tobytes() == render_part(long, _whole_notes_bank(long, **args), n, release_s=0.03).tobytes()
    whole = _whole_notes_bank(short, **args).note(64, False, 0)
    assert bank.note(64, False, 0).tobytes() == whole[: bank.note(64, False, 0).size].tobytes()
