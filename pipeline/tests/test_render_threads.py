"""Guitar sides and twin leads render on two threads: the samples equal one side after the other."""

from __future__ import annotations

import numpy as np
import pytest
from pedalboard import Delay, Pedalboard, Reverb

from pipeline.arrange.events import Note
from pipeline.assets import SHIPPED_ASSETS_DIR, load_band
from pipeline.render import lead as lead_module
from pipeline.render.amp import amp
from pipeline.render.guitar import render_di, render_guitars
from pipeline.render.lead import TWIN_GAIN, TWIN_PAN, _lead_voice, render_lead
from pipeline.types import SAMPLE_RATE

N = 6 * SAMPLE_RATE


@pytest.fixture(scope="module")
def band():
    return load_band(SHIPPED_ASSETS_DIR)


def _riff(root: int, step: float = 0.25) -> list[Note]:
    return [
        Note(time=step * i, duration=step * 0.9, pitch=root + (i % 3), velocity=0.8, mute=i % 2 == 0)
        for i in range(20)
    ]


def test_guitar_sides_on_threads_equal_the_sides_played_one_after_the_other(band):
    left, right = _riff(40), _riff(47)
    gain = np.linspace(0.5, 1.0, N, dtype=np.float32)
    cab_right = band.pair[1] if band.pair else band.ir
    stereo = render_guitars(left, right, N, band.ir, 30.0, 9, ir_right=cab_right, drive_gain=gain)
    sides = []
    for index, (notes, cents, cab) in enumerate(((left, -4.0, band.ir), (right, 4.0, cab_right))):
        di = render_di(notes, N, 9 * 2 + index + 1, cents)
        di *= gain
        sides.append(np.zeros(N, np.float32) + amp(di, cab, 30.0))
    lt, rt = sides
    assert np.array_equal(stereo, np.stack([lt + 0.12 * rt, rt + 0.12 * lt]).astype(np.float32))


def test_a_twin_lead_on_two_threads_equals_the_voices_played_one_after_the_other(band):
    tune, twin_notes = _riff(64, 0.5), _riff(67, 0.5)
    stereo = render_lead(tune, N, band.ir, 4, harmony=twin_notes)
    one = _lead_voice(tune, N, band.ir, 4, 26.0)
    twin = _lead_voice(twin_notes, N, band.ir, 5, 26.0) * np.float32(TWIN_GAIN)
    near, far = np.float32(1.4 * (0.5 + TWIN_PAN)), np.float32(1.4 * (0.5 - TWIN_PAN))
    serial = np.stack([one * near + far * twin, one * far + twin * near]).astype(np.float32)
    space = Pedalboard(
        [
            Delay(delay_seconds=0.32, feedback=0.25, mix=0.18),
            Reverb(room_size=0.5, damping=0.5, wet_level=0.18, dry_level=1.0, width=1.0),
        ]
    )
    assert np.array_equal(stereo, space(serial, SAMPLE_RATE).astype(np.float32))
    assert np.array_equal(stereo, lead_module.render_lead(tune, N, band.ir, 4, harmony=twin_notes))
