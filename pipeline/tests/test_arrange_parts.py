"""Arranging on a synthetic song with a known grid, key and chords: drums, rhythm guitar, bass."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from pipeline.arrange import arrange
from pipeline.arrange.feel import slots_per_beat
from pipeline.styles import PRESETS
from pipeline.testing.synth import make_song
from pipeline.tests.play_helpers import analysis_from_song, minor_progression_song
from pipeline.types import SUNG_HOP_S, RemixOptions


@pytest.fixture(scope="module")
def song():
    return minor_progression_song()


@pytest.fixture(scope="module")
def analysis(song):
    return analysis_from_song(song)


def _grid(song, feel: str) -> np.ndarray:
    beat = 60.0 / song.tempo
    return np.arange(0.0, song.duration + beat, beat / slots_per_beat(feel))


@pytest.mark.parametrize("style", sorted(PRESETS))
def test_kick_and_snare_hits_sit_within_10ms_of_the_true_grid(song, analysis, style):
    arr = arrange(analysis, RemixOptions(style=style, seed=3))
    grid = _grid(song, "double" if "double" in (arr.feel, arr.chorus_feel) else arr.feel)
    hits = [h for h in arr.drums if h.role in ("kick", "snare")]
    assert len(hits) > 40
    errors = np.array([np.abs(grid - h.time).min() for h in hits])
    assert errors.max() <= 0.010


def test_guitar_roots_follow_the_song_chords_on_90_percent_of_bars(song, analysis):
    arr = arrange(analysis, RemixOptions(style="heavy"))
    matched = 0
    for start, end, root, _quality in song.chords:
        lows = [n.pitch for n in arr.guitar_left if start - 0.02 <= n.time < end - 0.02]
        assert lows, "every bar has guitar notes"
        pcs = [p % 12 for p in lows if p == min(lows) or p < min(lows) + 7]
        matched += max(set(pcs), key=pcs.count) == root
    assert matched / len(song.chords) >= 0.9


@pytest.mark.parametrize("style", sorted(PRESETS))
def test_chugs_are_power_chords_and_open_chords_ring_with_the_chords_third_where_the_style_colours(
    song, analysis, style
):
    arr = arrange(analysis, RemixOptions(style=style))
    preset = PRESETS[style]
    assert min(n.pitch for n in arr.guitar_left) >= preset.lowest_string
    quality_at = {round(a, 3): q for a, _b, _r, q in song.chords}
    for stroke in arr.strokes:
        played = {n.pitch - stroke.root for n in arr.guitar_left if abs(n.time - stroke.time) < 0.02}
        if stroke.kind == "chug":
            assert played <= {0, 7}
            continue
        chord_start = max(t for t in quality_at if t <= stroke.time + 0.02)
        third = 15 if quality_at[chord_start] == "min" else 16
        calm = (
            arr.treatments[next(b.index for b in arr.bars if b.start - 0.02 <= stroke.time < b.end)] == "calm"
        )
        if preset.chord_colour or calm:
            assert played <= {0, 7, 12, third} and third in played
        else:
            assert played <= {0, 7, 12}


def test_doom_rings_power_chords_without_the_third_except_in_its_calm_parts(analysis):
    """Doom's open chords are root, fifth and octave, as doom plays them under its drive (a third there
    muddies the chord the song is heard by); a calm part, played clean and light, still rings the third."""
    arr = arrange(analysis, RemixOptions(style="doom"))

    def calm(stroke) -> bool:
        bar = next(b for b in arr.bars if b.start - 0.02 <= stroke.time < b.end)
        return arr.treatments[bar.index] == "calm"

    opens = [s for s in arr.strokes if s.kind != "chug" and not calm(s)]
    assert opens and all(s.third is None for s in opens)
    assert all(s.third is not None for s in arr.strokes if s.kind != "chug" and calm(s))
    for stroke in opens:
        played = {n.pitch - stroke.root for n in arr.guitar_left if abs(n.time - stroke.time) < 0.02}
        assert played <= {0, 7, 12}


def test_the_two_guitar_takes_play_the_same_notes_with_different_timing(analysis):
    arr = arrange(analysis, RemixOptions(style="thrash", seed=5))
    assert [n.pitch for n in arr.guitar_left] == [n.pitch for n in arr.guitar_right]
    offsets = np.array([a.time - b.time for a, b in zip(arr.guitar_left, arr.guitar_right, strict=True)])
    assert 0.001 < np.abs(offsets).mean() < 0.012


def test_in_heavy_double_time_choruses_one_guitar_drives_and_the_other_rings_the_songs_16ths(analysis):
    arr = arrange(analysis, RemixOptions(style="heavy", seed=5))
    assert arr.chorus_feel == "double"
    for bar, mode in zip(arr.bars, arr.treatments, strict=True):
        inside = [s for s in arr.strokes if bar.start - 0.01 <= s.time < bar.end - 0.01]
        ringing = [s for s in arr.strokes_right if bar.start - 0.01 <= s.time < bar.end - 0.01]
        if mode == "full":
            assert len(ringing) < len(inside)  # the left picks the felt 32nds, the right the song's 16ths
            assert len(ringing) <= 16
        else:
            assert [(s.time, s.root) for s in ringing] == [(s.time, s.root) for s in inside]


def test_bass_plays_the_guitar_roots_an_octave_down_on_guitar_attacks(analysis):
    arr = arrange(analysis, RemixOptions(style="heavy"))
    roots = {round(s.time, 3): s.root for s in arr.strokes}
    assert len(arr.bass) > 20
    for note in arr.bass:
        near = min(roots, key=lambda t: abs(t - note.time))
        assert abs(near - note.time) < 0.006
        assert note.pitch == roots[near] - 12


def test_kick_locks_to_the_riff_when_the_groove_says_so(analysis):
    arr = arrange(analysis, RemixOptions(style="djent"))
    strokes = np.array([s.time for s in arr.strokes])
    kicks = [h.time for h in arr.drums if h.role == "kick"]
    locked = sum(np.abs(strokes - k).min() < 0.008 for k in kicks)
    assert locked / len(kicks) > 0.8


def test_section_boundaries_get_a_fill_and_a_crash(song, analysis):
    arr = arrange(analysis, RemixOptions(style="heavy"))
    boundary = song.section_starts[1]
    toms = [h for h in arr.drums if h.role.startswith("tom") and boundary - 2.5 < h.time < boundary]
    crashes = [h for h in arr.drums if h.role == "crash" and abs(h.time - boundary) < 0.01]
    assert toms and crashes


def test_styles_differ_in_drums_and_riffs(analysis):
    signatures = set()
    for style in PRESETS:
        arr = arrange(analysis, RemixOptions(style=style))
        kicks = sum(h.role == "kick" for h in arr.drums)
        snares = sum(h.role == "snare" for h in arr.drums)
        signatures.add((kicks, snares, len(arr.strokes), arr.style.tuning, arr.feel))
    assert len(signatures) == len(PRESETS)


def test_the_band_plays_the_songs_tempo_unless_the_style_or_the_listener_chooses_another_feel(analysis):
    assert arrange(analysis, RemixOptions(style="heavy")).felt_tempo == pytest.approx(100.0)
    assert arrange(analysis, RemixOptions(style="heavy", feel="double")).felt_tempo == pytest.approx(200.0)
    assert arrange(analysis, RemixOptions(style="heavy", feel="half")).felt_tempo == pytest.approx(50.0)
    assert arrange(analysis, RemixOptions(style="thrash")).feel == "double"  # thrash doubles a 100 BPM song
    fast = analysis_from_song(make_song(tempo=180.0, key="E", scale="minor", bars=4, sections=1))
    # doom never halves a song (its grooves halve the feel already): a 180 BPM song at its own pulse
    assert arrange(fast, RemixOptions(style="doom")).felt_tempo == pytest.approx(180.0)
    assert arrange(fast, RemixOptions(style="doom", feel="half")).felt_tempo == pytest.approx(90.0)
    doom = arrange(analysis, RemixOptions(style="doom"))  # its half-time verses at 100 BPM, choruses doubled
    assert (doom.feel, doom.chorus_feel) == ("normal", "double")
    mid = analysis_from_song(make_song(tempo=130.0, key="E", scale="minor", bars=4, sections=1))
    thrash = arrange(mid, RemixOptions(style="thrash"))  # a 130 BPM song: verses at it, choruses doubled
    assert (thrash.feel, thrash.chorus_feel) == ("normal", "double")
    assert thrash.felt_tempo == pytest.approx(130.0) and thrash.chorus_felt_tempo == pytest.approx(260.0)
    black = arrange(mid, RemixOptions(style="black"))  # blast-beat choruses at twice a 130 BPM song
    assert (black.feel, black.chorus_feel) == ("normal", "double")
    doom_mid = arrange(mid, RemixOptions(style="doom"))  # a 130 BPM song: doom's slow riffs at its pulse
    assert (doom_mid.feel, doom_mid.chorus_feel) == ("normal", "normal")
    faster = analysis_from_song(make_song(tempo=170.0, key="E", scale="minor", bars=4, sections=1))
    black_fast = arrange(faster, RemixOptions(style="black"))
    assert (black_fast.feel, black_fast.chorus_feel) == ("normal", "normal")  # fast enough already


def test_intensity_scales_density_and_dynamics(analysis):
    low = arrange(analysis, RemixOptions(style="heavy", intensity=0.0))
    high = arrange(analysis, RemixOptions(style="heavy", intensity=1.0))
    assert len(high.drums) > len(low.drums)
    assert np.mean([h.velocity for h in high.drums]) > np.mean([h.velocity for h in low.drums])


def test_same_seed_same_parts_other_seed_other_humanisation(analysis):
    a = arrange(analysis, RemixOptions(style="thrash", seed=1))
    b = arrange(analysis, RemixOptions(style="thrash", seed=1))
    c = arrange(analysis, RemixOptions(style="thrash", seed=2))
    assert a.drums == b.drums and a.guitar_left == b.guitar_left
    assert a.drums != c.drums


def test_bars_cover_the_whole_song_even_past_the_detected_beats(song, analysis):
    from dataclasses import replace

    trimmed = replace(analysis, beats=analysis.beats[4:-6], downbeats=analysis.downbeats[1:-2])
    arr = arrange(trimmed, RemixOptions())
    assert arr.bars[0].start <= 0.05
    assert arr.bars[-1].end >= song.duration - 0.05


def test_double_time_songs_keep_a_16th_note_double_kick_in_full_bars():
    fast = make_song(tempo=118.0, key="E", scale="minor", bars=6, sections=1)
    arr = arrange(analysis_from_song(fast, energies=(0.9,)), RemixOptions(style="heavy", feel="double"))
    assert arr.felt_tempo == pytest.approx(236.0)
    full = [b for b, m in zip(arr.bars, arr.treatments, strict=True) if m == "full" and not b.section_end]
    assert full
    for bar in full:
        kicks = [h for h in arr.drums if h.role == "kick" and bar.start - 0.01 <= h.time < bar.end - 0.01]
        assert len(kicks) >= 15  # every 16th (a crash downbeat may share its kick)


def test_a_double_time_feel_picks_on_the_felt_grid_over_a_16th_double_kick():
    mid = make_song(tempo=140.0, key="E", scale="minor", bars=6, sections=1)
    arr = arrange(analysis_from_song(mid, energies=(0.9,)), RemixOptions(style="heavy", feel="double"))
    assert arr.felt_tempo == pytest.approx(280.0)
    whole = [b for b, m in zip(arr.bars, arr.treatments, strict=True) if m == "full" and len(b.slots) == 32]
    assert len(whole) >= 5
    for bar in whole:
        inside = [bar.start - 0.01 <= t < bar.end - 0.01 for t in (s.time for s in arr.strokes)]
        kicks = [h for h in arr.drums if h.role == "kick" and bar.start - 0.01 <= h.time < bar.end - 0.01]
        assert sum(inside) > 16  # more strokes than the song's own 16ths hold: the 280 BPM felt grid
        assert 15 <= len(kicks) <= 17  # the kick rolls 16ths of the song's own 140 BPM beat


def test_fast_songs_keep_the_song_tempo_above_the_styles_double_time_range():
    fast = analysis_from_song(make_song(tempo=160.0, key="E", scale="minor", bars=4, sections=1))
    assert arrange(fast, RemixOptions(style="heavy")).felt_tempo == pytest.approx(160.0)
    mid = analysis_from_song(make_song(tempo=140.0, key="E", scale="minor", bars=4, sections=1))
    assert arrange(mid, RemixOptions(style="thrash")).felt_tempo == pytest.approx(140.0)


def test_doom_choruses_pick_the_doubled_grid_under_the_doubled_drums(analysis):
    """Doom's choruses on a 100 BPM song go into double time, the guitars as well as the drums: its chorus
    riffs are read on the doubled grid, so a chorus bar holds more strokes than the song's own 16ths could,
    while its verses stay within them. (Measured better than keeping the song's 16ths: see styles.py.)"""
    arr = arrange(analysis, RemixOptions(style="doom", seed=0))
    assert (arr.feel, arr.chorus_feel) == ("normal", "double")
    per_bar: dict[str, list[int]] = {"full": [], "other": []}
    for bar, mode in zip(arr.bars, arr.treatments, strict=True):
        if bar.section_end or bar.end - bar.start < 4 * 60.0 / analysis.tempo - 0.05:  # whole bars, no fill
            continue
        inside = sum(bar.start - 0.01 <= s.time < bar.end - 0.01 for s in arr.strokes)
        ringing = sum(bar.start - 0.01 <= s.time < bar.end - 0.01 for s in arr.strokes_right)
        assert ringing == inside  # doom's right guitar plays the same riff (no ringing split)
        per_bar["full" if mode == "full" else "other"].append(inside)
        if mode == "full":
            assert bar.picking == "double" and len(bar.slots) == 32
    assert per_bar["full"] and per_bar["other"]
    assert min(per_bar["full"]) > 16  # more strokes than 16ths of the song's own beat hold
    assert max(per_bar["other"]) <= 16


@pytest.mark.parametrize("style", ["power", "doom"])
def test_under_a_singing_voice_one_guitar_and_the_bass_ring_the_songs_16ths_in_double_time(style):
    """Power's and doom's double-time choruses: the kit doubles everywhere and the left guitar drives the
    doubled grid, but where the song's voice sings the right guitar and the bass read the riff on the song's
    own 16ths (the chords ring under the tune); where no one sings, and in a remix without the voice, both
    guitars drive."""
    song = make_song(tempo=110.0, key="E", scale="minor", bars=12, sections=1)
    sung_until = song.duration / 2  # a voice over the first half, an instrumental second half
    analysis = replace(
        analysis_from_song(song, energies=(0.9,)),
        sung=[t < sung_until for t in np.arange(0.0, song.duration, SUNG_HOP_S)],
    )
    voiced = arrange(analysis, RemixOptions(style=style, seed=0))
    unvoiced = arrange(analysis, RemixOptions(style=style, seed=0, keep_vocals=False))
    assert voiced.chorus_feel == "double"
    assert unvoiced.strokes_right == unvoiced.strokes
    seen = {"sung": 0, "free": 0}
    for bar, mode in zip(voiced.bars, voiced.treatments, strict=True):
        if mode != "full" or bar.section_end or len(bar.slots) != 32:
            continue

        def count(events, bar=bar):
            return sum(bar.start - 0.01 <= e.time < bar.end - 0.01 for e in events)

        assert count([h for h in voiced.drums if h.role == "kick"]) >= 15  # the double kick, voice or not
        assert count(voiced.strokes) == count(unvoiced.strokes)  # the left guitar drives throughout
        bass = [n for n in voiced.bass if bar.start - 0.01 <= n.time < bar.end - 0.01]
        length = bar.end - bar.start
        if bar.end <= sung_until - length:  # inside the sung half
            seen["sung"] += 1
            assert count(voiced.strokes_right) <= 16  # the song's own 16ths at most
            assert count(voiced.strokes_right) < count(voiced.strokes)
            assert len(bass) == count(voiced.strokes_right)
        elif bar.start >= sung_until + 2 * length:  # inside the instrumental half (the voice's tail past)
            seen["free"] += 1
            assert count(voiced.strokes_right) == count(voiced.strokes)
    assert seen["sung"] >= 3 and seen["free"] >= 3


def test_power_on_a_song_it_doubles_throughout_splits_its_guitars_as_heavy_does():
    """A song slower than power's ``double_below`` is played in double time from the first bar to the last:
    the left guitar drives the doubled grid, the right guitar and the bass ring the chords on the song's own
    16ths (no section keeps the song's pulse otherwise). A song it doubles in its choruses only keeps both
    guitars on the doubled grid where no one sings (``test_under_a_singing_voice_...``)."""
    slow = analysis_from_song(make_song(tempo=80.0, key="E", scale="minor", bars=8, sections=1))
    arr = arrange(slow, RemixOptions(style="power", seed=0))
    assert (arr.feel, arr.chorus_feel) == ("double", "double")
    split = 0
    for bar in arr.bars:
        if bar.section_end or len(bar.slots) != 32:
            continue

        def count(events, bar=bar):
            return sum(bar.start - 0.01 <= e.time < bar.end - 0.01 for e in events)

        assert count(arr.strokes_right) <= 16  # the song's own 16ths at most
        assert count(arr.strokes_right) < count(arr.strokes)  # the left picks the doubled grid
        assert count(arr.bass) == count(arr.strokes_right)
        split += 1
    assert split >= 4
    chorus_only = analysis_from_song(make_song(tempo=110.0, key="E", scale="minor", bars=8, sections=1))
    arr = arrange(chorus_only, RemixOptions(style="power", seed=0))
    assert (arr.feel, arr.chorus_feel) == ("normal", "double")
    assert arr.strokes_right == arr.strokes
