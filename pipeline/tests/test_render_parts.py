"""Rendering: drum samples land on the grid, the guitar DI carries the chord roots, the amp chain behaves."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from essentia.pytools.spectral import hpcpgram
from essentia.standard import FrameGenerator, PitchYinFFT, Resample, Spectrum, Windowing

from pipeline.arrange import Hit, arrange
from pipeline.arrange.events import Note
from pipeline.arrange.feel import slots_per_beat
from pipeline.assets import DRUM_ROLES, load_bass_cab, load_ir, load_kit
from pipeline.render.amp import amp
from pipeline.render.bass import render_bass
from pipeline.render.drums import render_drums, render_hits
from pipeline.render.guitar import render_di, render_guitars
from pipeline.render.strings import midi_hz, pluck
from pipeline.styles import PRESETS
from pipeline.testing.synth import make_song
from pipeline.tests.play_helpers import analysis_from_song
from pipeline.types import SAMPLE_RATE, RemixOptions

ASSETS = Path(__file__).resolve().parents[2] / "assets"


@pytest.fixture(scope="module")
def song():
    return make_song(
        tempo=90.0, key="D", scale="minor", progression=("i", "VI", "VII", "v"), bars=8, sections=2
    )


@pytest.fixture(scope="module")
def arr(song):
    return arrange(analysis_from_song(song), RemixOptions(style="heavy", seed=4))


@pytest.fixture(scope="module")
def kit():
    return load_kit(ASSETS)


def _onsets(audio: np.ndarray) -> np.ndarray:
    """Attack times read from the audio alone: where the 2 kHz+ envelope jumps (the beater/stick click)."""
    from scipy.signal import butter, sosfilt

    click = sosfilt(butter(4, 2000, "high", fs=SAMPLE_RATE, output="sos"), np.asarray(audio).mean(axis=0))
    frame = 32
    env = np.abs(click[: click.size // frame * frame]).reshape(-1, frame).max(axis=1)
    floor = 0.05 * env.max()
    found: list[float] = []
    for i in range(8, env.size):
        if env[i] > floor and env[i] > 3.0 * env[i - 8 : i].max() + 1e-6:
            t = i * frame / SAMPLE_RATE
            if not found or t - found[-1] > 0.02:
                found.append(t)
    return np.array(found)


@pytest.mark.parametrize("role", ["kick", "snare"])
def test_rendered_kick_and_snare_onsets_are_within_10ms_of_the_true_grid(song, arr, kit, role):
    n = song.audio.shape[1]
    buses = render_hits([h for h in arr.drums if h.role == role], kit, n, np.random.default_rng(0))
    onsets = _onsets(buses[role])
    hits = [h for h in arr.drums if h.role == role]
    beat = 60.0 / song.tempo
    finest = "double" if "double" in (arr.feel, arr.chorus_feel) else arr.feel
    grid = np.arange(0.0, song.duration + beat, beat / slots_per_beat(finest))
    assert len(onsets) >= 0.8 * len(hits)
    errors = np.array([np.abs(grid - t).min() for t in onsets])
    assert errors.max() <= 0.010


def test_kit_has_every_role_with_velocity_layers(kit):
    for role in DRUM_ROLES:
        layers = kit.roles[role]
        assert len(layers) >= 3
        assert all(layer.audio.shape[0] == 2 and layer.audio.dtype == np.float32 for layer in layers)
    soft = kit.layers_for("snare", 0.1)[0]
    loud = kit.layers_for("snare", 0.95)[0]
    assert soft is not loud


def test_repeated_hits_are_not_machine_gun_copies(kit):
    from pipeline.arrange.events import Hit

    hits = [Hit(0.5 * i, "snare", 0.7) for i in range(8)]
    buses = render_hits(hits, kit, int(4.5 * SAMPLE_RATE), np.random.default_rng(1))
    half = SAMPLE_RATE // 2
    takes = [buses["snare"][:, i * half : i * half + 2000] for i in range(8)]
    assert len({round(float(np.abs(t).max()), 4) for t in takes}) > 1


def test_pluck_is_in_tune(tmp_path):
    # essentia's FFT YIN reads a string plucked 30 cents sharp as 29.6-29.7 cents sharp
    window, spectrum = Windowing(type="hann", size=8192), Spectrum(size=8192)
    yin = PitchYinFFT(frameSize=8192, sampleRate=SAMPLE_RATE, minFrequency=30, maxFrequency=400)
    for pitch in (38, 40, 45, 52, 57):
        tone = pluck(midi_hz(pitch), 1.5, np.random.default_rng(pitch)).astype(np.float32)
        frames = FrameGenerator(
            tone, frameSize=8192, hopSize=4096, startFromZero=True, lastFrameToEndOfFile=False
        )
        f0 = [yin(spectrum(window(frame)))[0] for frame in frames]
        cents = 1200 * np.log2(np.median(f0) / midi_hz(pitch))
        assert abs(cents) < 10


def _root_pitch_class(audio: np.ndarray, floor: int) -> int:
    """The root whose power chord the waveform repeats like: root, fifth and octave all come back after two
    root periods, so the candidate root (in the guitar's register) with the smallest normalised difference
    between the audio and itself shifted by that lag is the root being played."""
    best, best_d = 0, np.inf
    for pitch in range(floor, floor + 12):
        lag = int(round(2 * SAMPLE_RATE / (440.0 * 2 ** ((pitch - 69) / 12))))
        a, b = audio[:-lag], audio[lag:]
        d = float(np.sum((a - b) ** 2) / (np.sum(a**2) + np.sum(b**2) + 1e-12))
        if d < best_d:
            best, best_d = pitch % 12, d
    return best


@pytest.mark.parametrize("style", sorted(PRESETS))
def test_clean_di_root_pitch_matches_the_chord_root_on_90_percent_of_bars(song, style):
    arr = arrange(analysis_from_song(song), RemixOptions(style=style, seed=4))
    di = render_di(arr.guitar_left, song.audio.shape[1], seed=1)
    good = 0
    for start, end, root, _q in song.chords:
        bar = di[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)]
        good += _root_pitch_class(bar, arr.style.root_floor) == root
    assert good / len(song.chords) >= 0.9


def test_amp_chain_distorts_and_the_cabinet_tames_the_fizz(song, arr):
    ir = load_ir(ASSETS)
    n = 5 * SAMPLE_RATE
    di = render_di(arr.guitar_left, n, seed=2)
    wet = amp(di, ir, 30.0)
    assert wet.shape == di.shape and np.isfinite(wet).all()
    spec_di = np.abs(np.fft.rfft(di))
    spec = np.abs(np.fft.rfft(wet))
    freqs = np.fft.rfftfreq(n, 1 / SAMPLE_RATE)

    def share(s: np.ndarray, lo: float, hi: float) -> float:
        return float((s[(freqs >= lo) & (freqs < hi)] ** 2).sum() / (s**2).sum())

    crest = np.abs(wet).max() / np.sqrt(np.mean(wet[wet != 0] ** 2))
    crest_di = np.abs(di).max() / np.sqrt(np.mean(di[di != 0] ** 2))
    assert crest < crest_di  # saturated: far less peaky than the plucked DI
    assert share(spec, 12000, 22050) < 0.01  # the cabinet rolls off the fizz
    assert share(spec, 1000, 5000) > share(spec_di, 1000, 5000)  # distortion adds upper harmonics


def test_guitars_are_double_tracked_wide_and_bass_is_centred(song, arr):
    n = 6 * SAMPLE_RATE
    stereo = render_guitars(arr.guitar_left, arr.guitar_right, n, load_ir(ASSETS), 28.0, seed=0)
    left, right = stereo
    corr = np.corrcoef(left, right)[0, 1]
    assert corr < 0.9  # two takes, not one copied to both sides
    bass = render_bass(arr.bass, n, seed=3)
    assert np.allclose(bass[0], bass[1]) and np.abs(bass).max() > 0.01


def _band_db(x: np.ndarray, lo: float, hi: float, *, share: bool = True) -> float:
    """Energy of the lo..hi Hz band in dB: as a share of the whole signal, or absolute."""
    spec = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(x.size, 1 / SAMPLE_RATE)
    band = spec[(freqs >= lo) & (freqs < hi)].sum()
    return float(10 * np.log10(band / spec.sum() if share else band))


def test_the_bass_is_heard_through_its_cabinet(arr):
    n = 6 * SAMPLE_RATE
    plain = render_bass(arr.bass, n, seed=3)[0]
    cabbed = render_bass(arr.bass, n, seed=3, cab=load_bass_cab(ASSETS)[1])[0]

    def clank(x: np.ndarray) -> float:  # a metal bass's 2.5-4 kHz growl against its honky mids, dB
        return _band_db(x, 2500, 4000) - _band_db(x, 300, 1500)

    assert clank(cabbed) > clank(plain) + 6.0  # measured +11 dB
    assert _band_db(cabbed, 6000, 12000) < _band_db(plain, 6000, 12000) - 2.0  # no fizz above the cab
    assert abs(_band_db(cabbed, 30, 180) - _band_db(plain, 30, 180)) < 1.5  # the clean lows untouched


def test_a_second_cabinet_gives_the_right_guitar_its_own_tone(song, arr):
    n = 6 * SAMPLE_RATE
    main, second = load_ir(ASSETS), load_ir(ASSETS, "slayer-christ-illusion")
    same = render_guitars(arr.guitar_left, arr.guitar_right, n, main, 28.0, seed=0)
    paired = render_guitars(arr.guitar_left, arr.guitar_right, n, main, 28.0, seed=0, ir_right=second)
    assert np.allclose(same[0] - 0.12 * same[1], paired[0] - 0.12 * paired[1], atol=1e-5)  # left untouched

    def tilt(x: np.ndarray) -> float:  # presence against body, dB
        return _band_db(x, 1500, 2500) - _band_db(x, 150, 400)

    # the right side (mostly the right take) now sounds different from the same take through the main cab
    assert abs(tilt(paired[1]) - tilt(same[1])) > 2.0
    assert abs(tilt(paired[1]) - tilt(paired[0])) > abs(tilt(same[1]) - tilt(same[0])) + 2.0


def test_the_bass_growls_in_the_mids_over_clean_lows(arr):
    n = 6 * SAMPLE_RATE
    growl = render_bass(arr.bass, n, seed=3)[0]
    clean = render_bass(arr.bass, n, seed=3, grit=0.0)[0]
    # the driven band is a real part of the sound, far above what the clean bass has there ...
    assert _band_db(growl, 600, 2500, share=False) > _band_db(clean, 600, 2500, share=False) + 15.0
    assert _band_db(growl, 600, 2500) > -10.0
    # ... and it comes on top of the lows, which keep their weight
    assert abs(_band_db(growl, 30, 200, share=False) - _band_db(clean, 30, 200, share=False)) < 3.0


def test_the_double_kick_is_tight_and_clicky_not_a_sub_drone(kit):
    hits = [Hit(0.1 + i * 0.0625, "kick", 0.85) for i in range(64)]  # 16ths at 240 BPM
    stem, _kick_bus = render_drums(hits, kit, 5 * SAMPLE_RATE, np.random.default_rng(0))
    x = stem.mean(axis=0)
    body = _band_db(x, 60, 120)
    assert body - _band_db(x, 20, 45) > 6.0  # the weight sits in the body, not below it
    assert _band_db(x, 2000, 6000) > body - 14.0  # the beater's click cuts through the guitars


def test_recorded_guitar_notes_are_moved_to_the_played_pitch(tmp_path):
    from pipeline.assets import GuitarSamples
    from pipeline.render.strings import StringBank

    t = np.arange(2 * SAMPLE_RATE) / SAMPLE_RATE
    e2 = (np.sin(2 * np.pi * 82.41 * t) * np.exp(-t)).astype(np.float32)  # an E2 "recording"
    pack = GuitarSamples(name="test", folder="test", notes={(40, False): e2})
    bank = StringBank(3, samples=pack)
    bank.string_spread = 0.0
    g2 = bank.note(43, False, 0)  # G2 from the E2 sample, three semitones up
    spectrum = np.abs(np.fft.rfft(g2[:SAMPLE_RATE] * np.hanning(SAMPLE_RATE)))
    assert np.fft.rfftfreq(SAMPLE_RATE, 1 / SAMPLE_RATE)[np.argmax(spectrum)] == pytest.approx(98.0, abs=1.0)
    assert g2.size == pytest.approx(e2.size / 2 ** (3 / 12), abs=2)
    muted = bank.note(43, True, 0)  # the pack has no palm mutes: that articulation stays modelled
    assert muted.size == int(0.5 * SAMPLE_RATE)
    assert StringBank(3, bass=True, samples=pack).samples is None  # the bass never plays guitar samples


@pytest.mark.parametrize("root", [28, 33, 38, 43])  # E1, A1, D2, G2: the bass's register under the riffs
def test_a_bass_note_lights_its_root_and_fifth_not_a_third(root):
    """The song's chroma as a chroma-based listener (HPCP, as cover-song identification reads it) hears it:
    a bass note is its root and fifth; a strong major third would be a wrong third under every minor chord."""
    notes = [Note(time=0.25 * i, duration=0.24, pitch=root, velocity=0.8, mute=i % 2 == 0) for i in range(32)]
    bass = render_bass(notes, 9 * SAMPLE_RATE, seed=0)[0]
    at_22k = Resample(inputSampleRate=SAMPLE_RATE, outputSampleRate=22050)(bass)
    profile = hpcpgram(at_22k, sampleRate=22050, frameSize=4096, hopSize=2048, numBins=12).mean(axis=0)
    rel = np.roll(profile, -((root - 57) % 12))  # bin 0 is A; rolled so the root is bin 0
    assert int(np.argmax(rel)) in (0, 7)  # the root or the fifth on top
    assert rel[4] < 0.4 * rel.max()  # the major third far under it
