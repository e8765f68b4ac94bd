"""The kit tuned to the song: each pitched drum's body lands on the key's tonic, fourth or fifth, at most a
semitone up or four down (kick, toms, the snare's ring and the ride's bell partial), while the crash, china
and hi-hats stay as recorded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipeline.assets import DrumKit, DrumLayer, load_kit
from pipeline.render.drum_tuning import (
    PITCHED_BANDS,
    TARGET_DEGREES,
    body_pitch,
    damp_kick,
    tune_kit,
    tuned_kit,
    tuning_shift,
)
from pipeline.types import SAMPLE_RATE

ASSETS = Path(__file__).resolve().parents[2] / "assets"


def _drum(hz: float, seconds: float = 0.6) -> np.ndarray:
    """A struck drum head: a decaying sine at ``hz`` with a short noisy attack, stereo float32."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    rng = np.random.default_rng(0)
    body = np.sin(2 * np.pi * hz * t) * np.exp(-t / 0.15)
    click = rng.normal(0, 0.3, t.size) * np.exp(-t / 0.004)
    mono = (body + click).astype(np.float32)
    return np.stack([mono, mono])


def _degree_distance(pitch: float, key_root: int) -> float:
    """Semitones from ``pitch`` to the nearest of the key's target degrees."""
    return min(abs(((pitch - key_root - d) + 6.0) % 12.0 - 6.0) for d in TARGET_DEGREES)


def test_body_pitch_reads_a_drum_heads_note():
    assert body_pitch(_drum(73.42), PITCHED_BANDS["kick"]) == pytest.approx(38.0, abs=0.15)  # D2
    assert body_pitch(_drum(110.0), PITCHED_BANDS["tom-mid"]) == pytest.approx(45.0, abs=0.15)  # A2


@pytest.mark.parametrize("key_root", range(12))
def test_the_shift_reaches_a_key_degree_at_most_a_semitone_up_or_four_down(key_root):
    for pitch in np.arange(30.0, 60.0, 0.25):
        shift = tuning_shift(float(pitch), key_root)
        assert -4.0 - 1e-9 <= shift <= 1.0 + 1e-9
        assert _degree_distance(pitch + shift, key_root) == pytest.approx(0.0, abs=1e-9)


def test_a_d_kick_on_a_song_in_a_is_tuned_onto_a_degree_of_a_and_the_crash_stays():
    crash = DrumLayer(
        audio=np.random.default_rng(1).normal(0, 0.1, (2, 4410)).astype(np.float32),
        vel_min=0.0,
        vel_max=1.0,
        gain=1.0,
    )
    kick = DrumLayer(audio=_drum(77.78), vel_min=0.0, vel_max=1.0, gain=1.0)  # D#2: the tritone of A
    kit = DrumKit("t", "me", "CC0", Path("."), {"kick": (kick,), "crash": (crash,)})
    tuned, shifts = tune_kit(kit, key_root=9)
    after = body_pitch(tuned.roles["kick"][0].audio, PITCHED_BANDS["kick"])
    assert _degree_distance(after, 9) <= 0.2  # D (the fourth) or E (the fifth), no longer D#
    assert shifts["kick"] == pytest.approx(-1.0, abs=0.2)  # D# -> D, a semitone down (not up to E)
    assert tuned.roles["crash"][0] is crash and "crash" not in shifts
    assert kit.roles["kick"][0] is kick  # the loaded kit is left as it was (it is shared between songs)


@pytest.mark.parametrize("key_root", [0, 4, 9])
def test_the_shipped_kits_pitched_drums_land_on_the_key(key_root):
    kit = load_kit(ASSETS)
    tuned, shifts = tune_kit(kit, key_root)
    assert set(shifts) == {r for r in PITCHED_BANDS if r in kit.roles}
    for role, band in PITCHED_BANDS.items():
        for layer in tuned.roles.get(role, ()):
            assert _degree_distance(body_pitch(layer.audio, band), key_root) <= 0.35  # read again, longer
    assert {"snare", "ride"} <= set(shifts)
    for role in ("hihat-closed", "hihat-open", "crash", "china"):
        assert tuned.roles[role] is kit.roles[role]


def test_the_kit_tuned_once_per_key_equals_a_fresh_tuning_and_is_reused():
    kit = load_kit(ASSETS)
    fresh, fresh_shifts = tune_kit(kit, 4)
    tuned, shifts = tuned_kit(kit, 4)
    again, again_shifts = tuned_kit(kit, 4)
    assert again is tuned  # made once for this kit and key
    assert shifts == again_shifts == fresh_shifts and shifts is not again_shifts
    for role, layers in fresh.roles.items():
        for made, expected in zip(tuned.roles[role], layers, strict=True):
            assert made.audio.tobytes() == expected.audio.tobytes()
    other, _ = tuned_kit(kit, 9)
    assert other is not tuned
    assert other.roles["kick"][0].audio.tobytes() == tune_kit(kit, 9)[0].roles["kick"][0].audio.tobytes()


def test_a_damped_kick_keeps_its_thump_and_is_silent_once_released():
    kick = DrumLayer(audio=_drum(60.0, seconds=0.9), vel_min=0.0, vel_max=1.0, gain=1.0)
    crash = DrumLayer(audio=_drum(400.0), vel_min=0.0, vel_max=1.0, gain=1.0)
    kit = DrumKit("t", "me", "CC0", Path("."), {"kick": (kick,), "crash": (crash,)})
    damped = damp_kick(kit, 0.04, 0.12).roles["kick"][0].audio
    hold = int(0.04 * SAMPLE_RATE)
    assert damped[:, :hold].tobytes() == kick.audio[:, :hold].tobytes()  # the thump and click untouched
    assert damped.shape[1] <= int(0.12 * SAMPLE_RATE) + 1  # nothing rings past the release
    fading = np.abs(damped[0, hold:]) / (np.abs(kick.audio[0, hold : damped.shape[1]]) + 1e-12)
    assert np.all(np.diff(fading[np.abs(kick.audio[0, hold : damped.shape[1]]) > 1e-3]) <= 1e-6)
    assert damp_kick(kit, 0.04, 0.12).roles["crash"][0] is crash
    assert kit.roles["kick"][0] is kick  # the shared kit is left as it was


def test_the_shipped_kits_damped_kick_rings_out_no_longer_than_its_release():
    from pipeline.arrange.events import Hit
    from pipeline.render.drums import render_drums

    kit = load_kit(ASSETS)
    hits = [Hit(0.1, "kick", 0.85)]
    n = SAMPLE_RATE
    ringing, _ = render_drums(hits, kit, n, np.random.default_rng(0))
    damped, _ = render_drums(hits, damp_kick(kit, 0.04, 0.12), n, np.random.default_rng(0))

    def db(x: np.ndarray, a: float, b: float) -> float:
        part = x[:, int(a * SAMPLE_RATE) : int(b * SAMPLE_RATE)]
        return 10 * float(np.log10(np.mean(part.astype(np.float64) ** 2) + 1e-20))

    assert abs(db(damped, 0.1, 0.14) - db(ringing, 0.1, 0.14)) < 1.0  # the same attack
    # a quarter second after the hit the recorded kick still rings; the damped one is gone (the room's and
    # the bus filters' tails only)
    assert db(damped, 0.35, 0.6) < db(ringing, 0.35, 0.6) - 15.0


def test_dooms_kick_is_damped_later_than_every_other_styles_and_keeps_its_body_until_then():
    """Doom's slow kick keeps its body longer than the tight thump of the other styles (cut as short, it is
    heard as a drum machine) but is damped too: left ringing as recorded, its double kick's tail hums under
    the chords in the range the chroma reads."""
    from pipeline.arrange.events import Hit
    from pipeline.render.drums import render_drums
    from pipeline.styles import PRESETS

    doom = PRESETS["doom"].kick_damping
    assert doom is not None
    others = [p.kick_damping for name, p in PRESETS.items() if name != "doom"]
    assert all(d is not None and d[0] < doom[0] and d[1] < doom[1] for d in others)

    kit = load_kit(ASSETS)
    hits = [Hit(0.1, "kick", 0.85)]
    n = SAMPLE_RATE
    ringing, _ = render_drums(hits, kit, n, np.random.default_rng(0))
    damped, _ = render_drums(hits, damp_kick(kit, *doom), n, np.random.default_rng(0))

    def db(x: np.ndarray, a: float, b: float) -> float:
        part = x[:, int(a * SAMPLE_RATE) : int(b * SAMPLE_RATE)]
        return 10 * float(np.log10(np.mean(part.astype(np.float64) ** 2) + 1e-20))

    hold, release = 0.1 + doom[0], 0.1 + doom[1]
    assert abs(db(damped, 0.1, hold) - db(ringing, 0.1, hold)) < 0.5  # the body untouched while held
    assert db(damped, release + 0.05, 0.6) < db(ringing, release + 0.05, 0.6) - 10.0  # gone once released
