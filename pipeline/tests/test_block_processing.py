"""Long songs are processed in blocks; each blocked path must give the same samples as the whole-array one."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
from pedalboard import Compressor, LowShelfFilter, Pedalboard

from pipeline.arrange import arrange
from pipeline.assets import load_kit
from pipeline.master import master, process_in_place
from pipeline.render import amp
from pipeline.render.drums import render_hits
from pipeline.testing.synth import make_song
from pipeline.tests.play_helpers import analysis_from_song
from pipeline.types import SAMPLE_RATE, RemixOptions

ASSETS = Path(__file__).resolve().parents[2] / "assets"


def test_blocked_clipper_matches_the_whole_signal_at_once():
    rng = np.random.default_rng(4)
    x = (rng.standard_normal(3 * amp.CLIP_BLOCK + 12345) * 0.2).astype(np.float32)
    blocked = amp.clipper(x, 30.0)
    whole = amp._clip_block(x, np.float32(10 ** (30.0 / 20)))
    assert blocked.shape == x.shape and blocked.dtype == np.float32
    assert np.abs(blocked - whole).max() < 1e-6


def test_in_place_board_processing_matches_one_call():
    rng = np.random.default_rng(5)
    audio = (rng.standard_normal((2, 300_000)) * 0.3).astype(np.float32)

    def board() -> Pedalboard:
        return Pedalboard([Compressor(threshold_db=-20.0, ratio=4.0), LowShelfFilter(90.0, 3.0, 0.7)])

    expected = board()(audio, SAMPLE_RATE)
    buffer = audio.copy()
    result = process_in_place(board(), buffer, block=4096)
    assert result is buffer
    assert np.abs(result - expected).max() < 1e-6


def test_master_in_place_reuses_the_buffer_and_equals_the_copying_master():
    song = make_song(tempo=120.0, bars=4, with_vocals=True, seed=9)
    copied, facts = master(song.audio)
    buffer = song.audio.astype(np.float32, copy=True)
    in_place, facts_in_place = master(buffer, in_place=True)
    assert in_place is buffer
    assert np.array_equal(copied, in_place) and facts == facts_in_place


def test_a_drum_bus_built_alone_equals_the_same_bus_built_with_the_others():
    song = make_song(tempo=140.0, bars=4, seed=2)
    hits = arrange(analysis_from_song(song), RemixOptions(style="thrash")).drums
    kit = load_kit(ASSETS)
    n = song.audio.shape[1]
    rng = np.random.default_rng(3)
    together = render_hits(hits, kit, n, copy.deepcopy(rng))
    for name, bus in together.items():
        alone = render_hits(hits, kit, n, copy.deepcopy(rng), only=(name,))
        assert list(alone) == [name]
        assert np.array_equal(alone[name], bus)
    assert np.any(together["kick"]) and np.any(together["snare"])
