"""play(): the whole playing half on a synthetic song: length, loudness, peaks, determinism, styles."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
import soundfile
from scipy.signal import resample_poly

from pipeline.assets import SHIPPED_ASSETS_DIR, load_kit
from pipeline.play import Performance, play
from pipeline.styles import PRESETS
from pipeline.testing.synth import make_song
from pipeline.tests.play_helpers import analysis_from_song, stems_from_song
from pipeline.types import SAMPLE_RATE, RemixOptions

ASSETS = Path(__file__).resolve().parents[2] / "assets"


@pytest.fixture(scope="module")
def song():
    return make_song(tempo=96.0, key="G", scale="minor", bars=8, sections=2, with_vocals=True, seed=7)


@pytest.fixture(scope="module")
def remix(song, tmp_path_factory) -> Performance:
    stages: list[tuple[str, float]] = []
    perf = play(
        *stems_from_song(song),
        analysis_from_song(song),
        RemixOptions(style="heavy", seed=11),
        assets_dir=ASSETS,
        out_dir=tmp_path_factory.mktemp("remix"),
        on_stage=lambda stage, fraction: stages.append((stage, fraction)),
    )
    perf.facts["_stages"] = stages
    return perf


def _digest(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def test_mix_has_the_input_length_and_shape(song, remix):
    assert remix.mix.shape == song.audio.shape and remix.mix.dtype == np.float32
    for name in ("drums", "guitars", "bass", "vocals", "other"):
        assert _read(remix.stems[name]).shape == song.audio.shape
        assert soundfile.info(str(remix.stems[name])).samplerate == SAMPLE_RATE


def test_mix_is_mastered_to_minus_9_lufs_under_minus_1_dbtp_without_clipping(remix):
    lufs = pyloudnorm.Meter(SAMPLE_RATE).integrated_loudness(remix.mix.T.astype(np.float64))
    assert lufs == pytest.approx(-9.0, abs=1.0)
    true_peak = 20 * np.log10(np.abs(resample_poly(remix.mix.astype(np.float64), 8, 1, axis=1)).max())
    assert true_peak <= -1.0
    assert np.abs(remix.mix).max() < 1.0


def _read(path: Path) -> np.ndarray:
    return soundfile.read(path, dtype="float32", always_2d=True)[0].T


def test_the_new_band_is_what_you_hear(remix):
    rms = {k: float(np.sqrt(np.mean(_read(p) ** 2))) for k, p in remix.stems.items()}
    assert rms["drums"] > rms["other"] and rms["guitars"] > rms["other"]
    assert rms["bass"] > 0.0


def test_stages_are_reported_in_order_from_0_to_1(remix):
    stages = remix.facts["_stages"]
    names = [s for s, _ in stages]
    assert names[0] == "arranging" and names[-1] == "mastering"
    order = {"arranging": 0, "rendering": 1, "mastering": 2}
    assert [order[n] for n in names] == sorted(order[n] for n in names)
    for name in order:
        fractions = [f for s, f in stages if s == name]
        assert fractions[0] == 0.0 and fractions[-1] == 1.0 and fractions == sorted(fractions)


def test_midi_parts_and_picture_are_written_inside_out_dir(remix):
    assert set(remix.midi) >= {"drums", "guitar_left", "guitar_right", "bass"}
    assert all(p.is_file() and p.suffix == ".mid" for p in remix.midi.values())
    png = remix.pictures["song"]
    assert png.is_file() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_facts_are_json_and_tell_what_was_used(remix):
    facts = {k: v for k, v in remix.facts.items() if not k.startswith("_")}
    json.dumps(facts)
    assert facts["kit"] and facts["ir"] and facts["tuning"] == "E standard"
    assert facts["guitar_di"] == "guitar/fluid-r3" and "guitar/fluid-r3" in facts["packs"]
    # heavy plays a 96 BPM song at its tempo, its choruses in double time
    assert facts["feel"] == "normal" and facts["felt_tempo"] == pytest.approx(96.0)
    assert facts["chorus_feel"] == "double" and facts["chorus_felt_tempo"] == pytest.approx(192.0)
    assert {p["treatment"] for p in facts["form"]} <= {"calm", "groove", "full", "breakdown", "ending"}
    assert facts["lufs"] == pytest.approx(-9.0, abs=1.0) and facts["true_peak_dbtp"] <= -1.0
    # the kick, toms, snare and ride tuned to the song's key: a semitone up or a few down at most
    tuned = facts["drums_tuned_semitones"]
    assert {"kick", "tom-low", "tom-mid", "tom-high", "snare", "ride"} <= set(tuned)
    assert all(-4.0 <= v <= 1.0 for v in tuned.values())


def _heavy_take(song, seed: int, out_dir):  # type: ignore[no-untyped-def]
    return play(
        *stems_from_song(song),
        analysis_from_song(song),
        RemixOptions(style="heavy", seed=seed),
        assets_dir=ASSETS,
        out_dir=out_dir,
    )


def test_same_input_options_and_seed_give_identical_bytes(song, remix, tmp_path):
    again = _heavy_take(song, 11, tmp_path)
    assert _digest(again.mix) == _digest(remix.mix)
    assert again.midi["drums"] == tmp_path / "midi" / "drums.mid"
    assert again.midi["drums"].read_bytes() == remix.midi["drums"].read_bytes()


def test_another_seed_changes_the_performance(song, remix, tmp_path):
    other = _heavy_take(song, 12, tmp_path)
    assert _digest(other.mix) != _digest(remix.mix)


def test_every_style_renders_and_each_sounds_different(tmp_path):
    song = make_song(tempo=110.0, key="A", scale="minor", bars=4, seed=3)
    spectra = {}
    for style in PRESETS:
        perf = play(
            *stems_from_song(song),
            analysis_from_song(song),
            RemixOptions(style=style),
            assets_dir=ASSETS,
            out_dir=tmp_path / style,
        )
        assert perf.mix.shape == song.audio.shape and np.isfinite(perf.mix).all()
        assert perf.facts["style"] == style
        mono = perf.mix.mean(axis=0)
        frames = np.abs(np.fft.rfft(mono[: mono.size // 2048 * 2048].reshape(-1, 2048), axis=1))
        spectra[style] = (np.log(frames.mean(axis=0) + 1e-6), mono)
    names = sorted(spectra)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            diff = np.abs(spectra[a][1] - spectra[b][1]).mean() / np.abs(spectra[a][1]).mean()
            assert diff > 0.2, f"{a} and {b} sound alike"


def test_without_vocals_the_vocal_stem_is_silent(song, tmp_path):
    perf = play(
        *stems_from_song(song),
        analysis_from_song(song),
        RemixOptions(keep_vocals=False),
        assets_dir=ASSETS,
        out_dir=tmp_path,
    )
    assert not np.any(_read(perf.stems["vocals"]))


def test_a_missing_asset_folder_plays_the_shipped_packs(song, tmp_path):
    """No folder can stop a remix: what it lacks comes from the shipped packs (pipeline/assets.py)."""
    perf = play(
        *stems_from_song(song),
        analysis_from_song(song),
        RemixOptions(),
        assets_dir=tmp_path / "nowhere",
        out_dir=tmp_path / "out",
    )
    assert perf.facts["kit"] == load_kit(SHIPPED_ASSETS_DIR).name and np.abs(perf.mix).max() > 0.01


def test_an_instrumental_song_gets_a_lead_guitar_part_and_its_midi(song, tmp_path):
    from dataclasses import replace

    analysis = replace(analysis_from_song(song), has_vocals=False)
    perf = play(*stems_from_song(song), analysis, RemixOptions(), assets_dir=ASSETS, out_dir=tmp_path)
    assert perf.facts["lead_notes"] > 8
    assert perf.midi["lead"].is_file()
    assert perf.mix.shape == song.audio.shape


def test_without_a_guitar_pack_the_guitars_are_modelled_and_say_so(song, tmp_path):
    assets = tmp_path / "assets"
    assets.mkdir()
    for name in ("drums", "ir", "midi", "defaults.json"):
        (assets / name).symlink_to(ASSETS / name)
    perf = play(
        *stems_from_song(song), analysis_from_song(song), RemixOptions(), assets_dir=assets, out_dir=tmp_path
    )
    assert perf.facts["guitar_di"] == "karplus-strong"
    assert not any(p.startswith("guitar/") for p in perf.facts["packs"])
    assert np.abs(perf.mix).max() > 0.1
