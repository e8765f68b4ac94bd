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


def render_lead(notes: list[Note], n: int, ir: np.ndarray, seed: int, drive_db: float = 26.0) -> np.ndarray:
    """Stereo lead stem (2, n), centred with a wide delay/reverb tail."""
    if not notes:
        return np.zeros((2, n), dtype=np.float32)
    di = render_part(
        notes, StringBank(seed, 0.0, vibrato_cents=LEAD_VIBRATO_CENTS), n, release_s=0.03
    ) * np.float32(0.25)
    dry = amp(di, ir, drive_db, LEAD_VOICE)[None, :]
    stereo = np.repeat(dry, 2, axis=0)
    space = Pedalboard(
        [
            Delay(delay_seconds=0.32, feedback=0.25, mix=0.18),
            Reverb(room_size=0.5, damping=0.5, wet_level=0.18, dry_level=1.0, width=1.0),
        ]
    )
    return space(stereo, SAMPLE_RATE).astype(np.float32)
