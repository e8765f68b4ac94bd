"""Exported MIDI parts open with mido and hold the arranged notes."""

from __future__ import annotations

import mido
import pytest

from pipeline.arrange import arrange, midi_export
from pipeline.arrange.midi_export import GM_DRUMS
from pipeline.play import write_midi
from pipeline.testing.synth import make_song
from pipeline.tests.play_helpers import analysis_from_song
from pipeline.types import RemixOptions


@pytest.fixture(scope="module")
def arranged():
    song = make_song(tempo=110.0, key="A", scale="minor", bars=8, sections=2)
    analysis = analysis_from_song(song)
    return song, analysis, arrange(analysis, RemixOptions(style="power"))


def _note_ons(path):
    mid = mido.MidiFile(path)
    return mid, [m for m in mido.merge_tracks(mid.tracks) if m.type == "note_on" and m.velocity > 0]


def test_every_part_is_written_and_parses(arranged, tmp_path):
    _song, analysis, arr = arranged
    paths = write_midi(arr, analysis.tempo, tmp_path)
    assert set(paths) >= {"drums", "guitar_left", "guitar_right", "bass"}
    for path in paths.values():
        assert path.parent == tmp_path and path.stat().st_size > 0
        mido.MidiFile(path)


def test_note_counts_and_drum_map_match_the_arrangement(arranged, tmp_path):
    _song, analysis, arr = arranged
    paths = write_midi(arr, analysis.tempo, tmp_path)
    _mid, drum_ons = _note_ons(paths["drums"])
    assert len(drum_ons) == len(arr.drums)
    assert all(m.channel == 9 for m in drum_ons)
    assert {m.note for m in drum_ons} <= set(GM_DRUMS.values())
    _mid, guitar_ons = _note_ons(paths["guitar_left"])
    assert len(guitar_ons) == len(arr.guitar_left)
    _mid, bass_ons = _note_ons(paths["bass"])
    assert [m.note for m in bass_ons] == [n.pitch for n in sorted(arr.bass, key=lambda n: n.time)]


def test_midi_times_match_the_note_times(arranged, tmp_path):
    _song, analysis, arr = arranged
    path = write_midi(arr, analysis.tempo, tmp_path)["bass"]
    mid = mido.MidiFile(path)
    times, now = [], 0.0
    for msg in mid:  # iterating a MidiFile yields delta times in seconds, tempo applied
        now += msg.time
        if msg.type == "note_on" and msg.velocity > 0:
            times.append(now)
    expected = sorted(n.time for n in arr.bass)
    assert len(times) == len(expected)
    assert max(abs(a - b) for a, b in zip(times, expected, strict=True)) < 0.003


def test_the_files_are_the_bytes_mido_writes_with_every_message_checked(arranged, tmp_path, monkeypatch):
    """The writer makes each distinct note message once and skips mido's second check when it only sets a
    message's time; the reference makes every message anew and checks the copy again, as mido does by
    default: the files are the same, byte for byte."""
    _song, analysis, arr = arranged
    fast = write_midi(arr, analysis.tempo, tmp_path / "fast")
    assert midi_export._message.cache_info().hits > 0  # the notes did repeat messages
    checked_copy = mido.Message.copy

    def copy_checked(self, skip_checks=False, **overrides):
        return checked_copy(self, **overrides)

    monkeypatch.setattr(mido.Message, "copy", copy_checked)
    monkeypatch.setattr(midi_export, "_message", midi_export._message.__wrapped__)
    checked = write_midi(arr, analysis.tempo, tmp_path / "checked")
    assert fast.keys() == checked.keys()
    for name, path in fast.items():
        assert path.read_bytes() == checked[name].read_bytes()
