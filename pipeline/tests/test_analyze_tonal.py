"""Key, scale and chords on synthetic songs rendered from a known progression."""

from __future__ import annotations

import re

import pytest

from pipeline.analyze.tonal import NOTE_NAMES, chord_label
from pipeline.testing.synth import pitch_class
from pipeline.tests._analyze_songs import analysis, song

KEY_SONGS = ("e_minor_92", "c_major_128", "fsharp_minor_174", "bflat_major_110", "waltz_100")


@pytest.mark.parametrize("name", KEY_SONGS)
def test_key_and_scale_are_found(name: str) -> None:
    result, truth = analysis(name), song(name)
    assert (pitch_class(result.key), result.scale) == (pitch_class(truth.key), truth.scale)
    assert result.extra["key_root"] == pitch_class(truth.key)
    assert 0.0 < result.key_strength <= 1.0


@pytest.mark.parametrize("name", [*KEY_SONGS, "waltz_150"])
def test_chord_roots_are_right_on_at_least_80_percent_of_bars(name: str) -> None:
    result, truth = analysis(name), song(name)
    right = 0
    for start, end, root, _quality in truth.chords:
        middle = (start + end) / 2
        heard = next(c for c in result.chords if c.start <= middle < c.end)
        right += heard.root == root
    assert right >= 0.8 * len(truth.chords)


def test_chord_qualities_follow_the_progression() -> None:
    result, truth = analysis("e_minor_92"), song("e_minor_92")
    pairs = []
    for start, end, root, quality in truth.chords:
        heard = next(c for c in result.chords if c.start <= (start + end) / 2 < c.end)
        pairs.append((heard.root, heard.quality) == (root, quality))
    assert sum(pairs) >= 0.8 * len(pairs)


def test_chords_tile_the_song_one_per_beat_with_readable_labels() -> None:
    result = analysis("c_major_128")
    assert len(result.chords) == len(result.beats)
    for before, after in zip(result.chords, result.chords[1:], strict=False):
        assert before.end == pytest.approx(after.start)
    assert result.chords[-1].end == pytest.approx(result.duration)
    for chord in result.chords:
        if chord.root is None:
            assert (chord.label, chord.quality) == ("N", "")
        else:
            assert re.fullmatch(r"[A-G]#?:(maj|min)", chord.label)
            assert chord.label == f"{NOTE_NAMES[chord.root]}:{chord.quality}"


def test_essentia_chord_names_are_spelled_with_sharps() -> None:
    assert chord_label("Bbm") == ("A#:min", 10, "min")
    assert chord_label("C#") == ("C#:maj", 1, "maj")
    assert chord_label("N") == ("N", None, "")


def test_the_bass_note_is_the_root_unless_another_chord_tone_clearly_leads_the_low_band() -> None:
    import numpy as np

    from pipeline.analyze.tonal import _bass_note
    from pipeline.types import Chord

    c_major = Chord(0.0, 1.0, "C:maj", 0, "maj")
    on_e = np.zeros(12)
    on_e[4], on_e[0] = 1.0, 0.3  # C/E: the bass plays E
    assert _bass_note(c_major, on_e) == 4
    root = np.zeros(12)
    root[0], root[4] = 1.0, 0.8
    assert _bass_note(c_major, root) == 0
    assert _bass_note(Chord(0.0, 1.0, "N", None, ""), on_e) is None


def test_the_analysis_keeps_the_songs_loudness_curve_and_where_it_is_sung() -> None:
    import numpy as np

    from pipeline.analyze import analyze
    from pipeline.testing.synth import make_song
    from pipeline.types import LOUDNESS_HOP_S, SeparatorInfo, Stems

    s = make_song(tempo=120.0, bars=16, sections=2, section_levels=(0.3, 1.0), with_vocals=True, seed=3)
    stems = Stems(*(s.stems[k] for k in ("vocals", "drums", "bass", "other")), SeparatorInfo("truth", "test"))
    result = analyze(s.audio, stems=stems)
    curve = np.array(result.loudness_curve)
    assert curve.size == pytest.approx(s.duration / LOUDNESS_HOP_S, abs=2)
    split = int(s.section_starts[1] / LOUDNESS_HOP_S)
    assert np.median(curve[split + 6 : -6]) - np.median(curve[6 : split - 6]) > 6.0  # 0.3 vs 1.0: -10 dB
    assert len(result.sung) == pytest.approx(s.duration, abs=2) and sum(result.sung) > 0.5 * len(result.sung)
