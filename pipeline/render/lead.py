"""Lead guitar: sustained plucked notes through a singing, mid-forward amp voice with delay and reverb."""

from __future__ import annotations

import numpy as np
from pedalboard import Delay, Pedalboard, Reverb

from pipeline.arrange.events import Note
from pipeline.render.amp import AmpVoice, amp
from pipeline.render.strings import StringBank, render_part
from pipeline.types import SAMPLE_RATE

LEAD_VIBRATO_CENTS = 25.0
LEAD_VOICE = AmpVoice(tight_hz=250.0, boost_db=9.0, scoop_db=-1.0, presence_db=2.0, low_shelf_db=0.0)


TWIN_PAN = 0.3  # a harmonised twin lead: the two guitars sit this far off centre, on either side
TWIN_GAIN = 0.5  # the harmony under the tune (measured: at 0.8 the band alone was found 6/7, at 0.5 7/7)


def _lead_voice(notes: list[Note], n: int, ir: np.ndarray, seed: int, drive_db: float) -> np.ndarray:
    di = render_part(
        notes, StringBank(seed, 0.0, vibrato_cents=LEAD_VIBRATO_CENTS), n, release_s=0.03
    ) * np.float32(0.25)
    return amp(di, ir, drive_db, LEAD_VOICE)


def render_lead(
    notes: list[Note],
    n: int,
    ir: np.ndarray,
    seed: int,
    drive_db: float = 26.0,
    harmony: list[Note] | None = None,
) -> np.ndarray:
    """Stereo lead stem (2, n) with a wide delay/reverb tail: centred, or with ``harmony`` (the twin lead,
    a third above where it plays) the two guitars a little apart."""
    if not notes:
        return np.zeros((2, n), dtype=np.float32)
    dry = _lead_voice(notes, n, ir, seed, drive_db)
    if harmony:
        twin = _lead_voice(harmony, n, ir, seed + 1, drive_db) * np.float32(TWIN_GAIN)
        left, right = np.float32(0.5 + TWIN_PAN), np.float32(0.5 - TWIN_PAN)
        stereo = np.stack([left * dry + right * twin, right * dry + left * twin]) * np.float32(1.4)
    else:
        stereo = np.repeat(dry[None, :], 2, axis=0)
    space = Pedalboard(
        [
            Delay(delay_seconds=0.32, feedback=0.25, mix=0.18),
            Reverb(room_size=0.5, damping=0.5, wet_level=0.18, dry_level=1.0, width=1.0),
        ]
    )
    return space(stereo, SAMPLE_RATE).astype(np.float32)
