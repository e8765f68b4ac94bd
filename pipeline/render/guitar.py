"""Rhythm guitars: two takes, each a modelled DI through the amp chain, panned hard left and right."""

from __future__ import annotations

import numpy as np

from pipeline.arrange.events import Note
from pipeline.render.amp import amp
from pipeline.render.strings import StringBank, render_part


def render_di(notes: list[Note], n: int, seed: int, detune_cents: float = 0.0) -> np.ndarray:
    """The clean DI of one take (mono float32, peak about 0.5)."""
    return render_part(notes, StringBank(seed, detune_cents), n) * np.float32(0.25)


def render_guitars(
    left: list[Note], right: list[Note], n: int, ir: np.ndarray, drive_db: float, seed: int
) -> np.ndarray:
    """Stereo rhythm-guitar stem (2, n): left take panned ~90% left, right take ~90% right."""
    takes = []
    for side, (notes, cents) in enumerate(((left, -4.0), (right, 4.0))):
        di = render_di(notes, n, seed * 2 + side + 1, cents)
        takes.append(amp(di, ir, drive_db))
    lt, rt = takes
    return np.stack([lt + 0.12 * rt, rt + 0.12 * lt]).astype(np.float32)
