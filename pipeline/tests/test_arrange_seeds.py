"""MIDI riff seeds: read back from MIDI files and played over the song's chords by the rhythm guitar."""

from __future__ import annotations

from pathlib import Path

import mido
import pytest

from pipeline.arrange import arrange
from pipeline.arrange.seeds import by_density, load_riff_seeds, read_riff
from pipeline.assets import midi_seeds
from pipeline.testing.synth import make_song
from pipeline.tests.play_helpers import analysis_from_song, minor_progression_song
from pipeline.types import RemixOptions

ASSETS = Path(__file__).resolve().parents[2] / "assets"
TPB = 480
SLOT = TPB // 4


def _write_riff(path: Path, strokes: list[tuple[int, list[int], int, int]]) -> Path:
    """A one-track MIDI file from (slot, pitches, length in slots, velocity) strokes."""
    events: list[tuple[int, int, mido.Message]] = []
    for slot, pitches, length, velocity in strokes:
        for p in pitches:
            events.append((slot * SLOT, 1, mido.Message("note_on", note=p, velocity=velocity)))
            events.append(((slot + length) * SLOT, 0, mido.Message("note_off", note=p, velocity=0)))
    midi = mido.MidiFile(ticks_per_beat=TPB)
    track = mido.MidiTrack()
    midi.tracks.append(track)
    now = 0
    for tick, _order, msg in sorted(events, key=lambda e: (e[0], e[1])):
        track.append(msg.copy(time=tick - now))
        now = tick
    midi.save(str(path))
    return path


@pytest.fixture(scope="module")
def song():
    return minor_progression_song()


@pytest.fixture(scope="module")
def analysis(song):
    return analysis_from_song(song, energies=(0.9, 0.9))  # every bar a "full" bar


def test_a_midi_riff_reads_back_as_rhythm_and_intervals(tmp_path):
    e5, c5, d5 = [40, 47, 52], [48, 55, 60], [50, 57, 62]
    strokes = [(0, e5, 2, 118)] + [(s, [40], 1, 92) for s in range(2, 8)]
    strokes += [(8, c5, 4, 118), (12, [40], 1, 92), (16, d5, 1, 104), (17, d5, 1, 104)]
    riff = read_riff(_write_riff(tmp_path / "riff-1.mid", strokes))
    assert len(riff) == 2
    assert riff[0].rhythm == "X-xxxxxxX---x..."
    assert riff[0].intervals[:13] == (0, 0, 0, 0, 0, 0, 0, 0, 8, 8, 8, 8, 0)
    assert riff[1].rhythm.startswith("tt") and riff[1].intervals[:2] == (10, 10)


def test_the_shipped_pack_gives_every_style_riffs_for_full_and_groove_sections():
    for style in ("heavy", "thrash", "doom", "djent", "black", "power"):
        riffs = load_riff_seeds(midi_seeds(ASSETS, style))
        full, groove = by_density(riffs)
        assert full and groove, style
        assert min(sum(b.attacks for b in r) for r in full) >= max(sum(b.attacks for b in r) for r in groove)


def _chord_root_at(song, t: float) -> int:
    return max((c for c in song.chords if c[0] <= t + 0.02), key=lambda c: c[0])[2]


def test_a_seed_gives_the_riff_its_rhythm_and_every_stroke_stays_on_the_songs_chord(tmp_path, song, analysis):
    # bar 1: chugs on the root; bar 2: an open chord a minor sixth above the riff's tonic, then chugs
    strokes = [(s, [40], 1, 92) for s in range(16)] + [(16, [48, 55, 60], 8, 118)]
    strokes += [(s, [40], 1, 92) for s in range(24, 32)]
    seed_riff = read_riff(_write_riff(tmp_path / "riff-1.mid", strokes))
    plain = arrange(analysis, RemixOptions(style="heavy", seed=2))
    seeded = arrange(analysis, RemixOptions(style="heavy", seed=2), [seed_riff])
    assert plain.strokes != seeded.strokes
    held = [s for s in seeded.strokes if s.kind == "open" and s.end - s.time > 0.5 * 60 / song.tempo * 4 / 2]
    assert held, "the seed's held chord is played"
    for stroke in seeded.strokes:  # the riff's move to the sixth would leave the song's harmony: not played
        assert stroke.root % 12 == _chord_root_at(song, stroke.time)


def test_with_the_shipped_seeds_every_guitar_stroke_plays_the_songs_chord_root(song, analysis):
    seeds = load_riff_seeds(midi_seeds(ASSETS, "heavy"))
    arr = arrange(analysis, RemixOptions(style="heavy"), seeds)
    assert arr.strokes
    for stroke in arr.strokes:
        assert stroke.root % 12 == _chord_root_at(song, stroke.time)


def _guitar_midi_roots(path: Path) -> list[tuple[float, int]]:
    """(beat position, lowest pitch) of every chord/note onset in a written guitar part."""
    midi = mido.MidiFile(str(path))
    onsets: dict[int, int] = {}
    for track in midi.tracks:
        tick = 0
        for msg in track:
            tick += msg.time
            if msg.type == "note_on" and msg.velocity > 0:
                key = round(tick / (midi.ticks_per_beat / 8))  # merge a strum's spread into one onset
                onsets[key] = min(onsets.get(key, 127), msg.note)
    return sorted((k / 8, p) for k, p in onsets.items())


def test_play_takes_the_riffs_from_the_asset_folders_midi_pack(tmp_path):
    import shutil

    from pipeline.play import play
    from pipeline.tests.play_helpers import stems_from_song

    one_chord = make_song(tempo=100.0, key="E", scale="minor", progression=("i",), bars=4, sections=1)
    analysis = analysis_from_song(one_chord, energies=(0.9,))
    assets = tmp_path / "assets"
    for name in ("drums", "ir", "defaults.json"):
        (assets / name).parent.mkdir(parents=True, exist_ok=True)
        (assets / name).symlink_to(ASSETS / name)
    (assets / "midi" / "heavy").mkdir(parents=True)
    # a pack whose only riff answers every chug bar with a held chord a fourth up: E5 ... A5
    strokes = [(s, [40], 1, 92) for s in range(16)] + [(16, [45, 52, 57], 16, 118)]
    _write_riff(assets / "midi" / "heavy" / "riff-1.mid", strokes)
    pcs, onsets = {}, {}
    for name, folder in (("pack", assets), ("shipped", ASSETS)):
        perf = play(
            *stems_from_song(one_chord),
            analysis,
            RemixOptions(style="heavy", seed=1, feel="normal"),
            assets_dir=folder,
            out_dir=tmp_path / name,
        )
        roots = _guitar_midi_roots(perf.midi["guitar_left"])
        pcs[name] = {p % 12 for _t, p in roots}
        onsets[name] = [t for t, _p in roots]
        shutil.rmtree(tmp_path / name)
    # a one-chord song: every stroke is its E, whichever pack plays; the pack's rhythm is what differs
    assert pcs["pack"] == pcs["shipped"] == {4}
    first_bar = [t for t in onsets["pack"] if t < 4.0]
    second_bar = [t for t in onsets["pack"] if 4.0 <= t < 8.0]
    assert len(first_bar) == 16 and len(second_bar) == 1  # 16 chugs, then the held chord
    assert onsets["pack"] != onsets["shipped"]


# A type-0 file whose header division (ticks per beat) is 0, one note on and off at tick 0: issue 25's outage.
TICK_ZERO_MIDI = (
    b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x00\x00"
    + b"MTrk\x00\x00\x00\x0c"
    + bytes([0x00, 0x90, 40, 100, 0x00, 0x80, 40, 0, 0x00, 0xFF, 0x2F, 0x00])
)


def test_a_seed_without_ticks_per_beat_is_refused_by_the_reader_and_left_out_by_the_loader(tmp_path):
    from pipeline.errors import UNSUPPORTED_MIDI, PipelineError

    broken = tmp_path / "riff-0.mid"
    broken.write_bytes(TICK_ZERO_MIDI)
    with pytest.raises(PipelineError) as refused:
        read_riff(broken)
    assert refused.value.code == UNSUPPORTED_MIDI
    good = _write_riff(tmp_path / "riff-1.mid", [(s, [40], 1, 92) for s in range(16)])
    assert load_riff_seeds([broken, good]) == [read_riff(good)]
    (tmp_path / "midi" / "heavy").mkdir(parents=True)
    broken.rename(tmp_path / "midi" / "heavy" / broken.name)
    assert midi_seeds(tmp_path, "heavy") == []


def test_play_leaves_out_a_seed_it_cannot_read_and_plays_the_others_as_before(tmp_path):
    from pipeline.play import play
    from pipeline.tests.play_helpers import stems_from_song

    one_chord = make_song(tempo=100.0, key="E", scale="minor", progression=("i",), bars=4, sections=1)
    analysis = analysis_from_song(one_chord, energies=(0.9,))
    played = {}
    for name, files in (("clean", {}), ("with-broken", {"riff-0.mid": TICK_ZERO_MIDI})):
        assets = tmp_path / name / "assets"
        for part in ("drums", "ir", "defaults.json"):
            (assets / part).parent.mkdir(parents=True, exist_ok=True)
            (assets / part).symlink_to(ASSETS / part)
        (assets / "midi" / "heavy").mkdir(parents=True)
        _write_riff(assets / "midi" / "heavy" / "riff-1.mid", [(s, [40], 1, 92) for s in range(16)])
        for file_name, data in files.items():
            (assets / "midi" / "heavy" / file_name).write_bytes(data)
        perf = play(
            *stems_from_song(one_chord),
            analysis,
            RemixOptions(style="heavy", seed=1, feel="normal"),
            assets_dir=assets,
            out_dir=tmp_path / name / "out",
        )
        played[name] = _guitar_midi_roots(perf.midi["guitar_left"])
    assert played["with-broken"] == played["clean"]
