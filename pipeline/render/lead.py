"""Lead guitar: sustained plucked notes through a singing, mid-forward amp voice with delay and reverb."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
from pedalboard import Delay, Pedalboard, Reverb

from pipeline.arrange.events import Note
from pipeline.master import process_in_place
from pipeline.part_memo import MEMO
from pipeline.render.amp import AmpVoice, amp
from pipeline.render.strings import StringBank, render_part
from pipeline.types import SAMPLE_RATE

LEAD_VIBRATO_CENTS = 25.0
LEAD_VOICE = AmpVoice(tight_hz=250.0, boost_db=9.0, scoop_db=-1.0, presence_db=2.0, low_shelf_db=0.0)


TWIN_PAN = 0.3  # a harmonised twin lead: the two guitars sit this far off centre, on either side
TWIN_GAIN = 0.5  # the harmony under the tune (louder, the band alone is recognised as the song less often)


PLAYED_PAD_S = 0.25  # the amp starts this long before a passage (its filters settle on silence)
PLAYED_TAIL_S = 1.0  # ... and runs this long after it: the cabinet's and the gate's tails
PLAYED_GAP_S = 2.0  # rests shorter than this stay inside one passage


def _passages(notes: list[Note], n: int) -> list[tuple[int, int]]:
    """Sample spans (start, stop) where the part plays, rests of PLAYED_GAP_S or more left out."""
    spans: list[list[float]] = []
    for note in sorted(notes, key=lambda x: x.time):
        end = note.time + note.duration
        if spans and note.time - spans[-1][1] < PLAYED_GAP_S:
            spans[-1][1] = max(spans[-1][1], end)
        else:
            spans.append([note.time, end])
    return [
        (max(0, int((a - PLAYED_PAD_S) * SAMPLE_RATE)), min(n, int((b + PLAYED_TAIL_S) * SAMPLE_RATE)))
        for a, b in spans
    ]


def _lead_voice(notes: list[Note], n: int, ir: np.ndarray, seed: int, drive_db: float) -> np.ndarray:
    """One lead guitar (mono, n): its DI through the amp only where it plays (a lead rests a lot)."""
    di = render_part(notes, StringBank(seed, 0.0, vibrato_cents=LEAD_VIBRATO_CENTS), n, release_s=0.03)
    di *= np.float32(0.25)
    out = np.zeros(n, dtype=np.float32)
    for a, b in _passages(notes, n):
        out[a:b] = amp(di[a:b], ir, drive_db, LEAD_VOICE)
    return out


def _kept_voice(notes: list[Note], n: int, ir: np.ndarray, seed: int, drive_db: float) -> np.ndarray:
    """``_lead_voice``, or the same voice this process has already played (``part_memo``): a song's tune is
    the same in every style."""
    fields = ("lead voice", notes, n, ir, seed, drive_db)
    return MEMO.part(fields, lambda: _lead_voice(notes, n, ir, seed, drive_db))


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
    stereo = np.empty((2, n), dtype=np.float32)
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="lead") as pool:
        # the tune and its twin are independent guitars (own seeds, own plugins): played on two threads
        twin_voice = pool.submit(_kept_voice, harmony, n, ir, seed + 1, drive_db) if harmony else None
        stereo[0] = _kept_voice(notes, n, ir, seed, drive_db)
        twin = twin_voice.result() if twin_voice is not None else None
    stereo[1] = stereo[0]
    if twin is not None:  # built in place: a long song holds the stereo stem and the twin voice
        twin *= np.float32(TWIN_GAIN)
        near, far = np.float32(1.4 * (0.5 + TWIN_PAN)), np.float32(1.4 * (0.5 - TWIN_PAN))
        stereo[0] *= near
        stereo[1] *= far
        stereo[0] += far * twin
        twin *= near
        stereo[1] += twin
        del twin
    space = Pedalboard(
        [
            Delay(delay_seconds=0.32, feedback=0.25, mix=0.18),
            Reverb(room_size=0.5, damping=0.5, wet_level=0.18, dry_level=1.0, width=1.0),
        ]
    )
    return process_in_place(space, stereo)  # block by block in the stem's own buffer: the same samples
