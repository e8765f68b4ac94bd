"""Rhythm guitars: takes of a modelled DI through the amp chain, panned hard left and right."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import numpy as np

from pipeline.arrange.events import Note
from pipeline.assets import GuitarSamples
from pipeline.render.amp import amp
from pipeline.render.strings import StringBank, render_part

TAKES_PER_SIDE = 1  # 2 = quad-tracked: each side gets a second, separately played take


def render_di(
    notes: list[Note],
    n: int,
    seed: int,
    detune_cents: float = 0.0,
    samples: GuitarSamples | None = None,
    *,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """The clean DI of one take (mono float32, peak about 0.5); recorded notes when ``samples`` is given;
    in ``out`` (float32 (n,)) when given."""
    di = render_part(notes, StringBank(seed, detune_cents, samples=samples), n, out=out)
    di *= np.float32(0.25)
    return di


def _retake(notes: list[Note], seed: int) -> list[Note]:
    """The same part played again: new timing and dynamics, same notes."""
    rng = np.random.default_rng(seed)
    return [
        replace(
            note,
            time=max(0.0, note.time + float(np.clip(rng.normal(0.0, 0.004), -0.01, 0.01))),
            velocity=float(np.clip(note.velocity + rng.normal(0.0, 0.04), 0.2, 1.0)),
        )
        for note in notes
    ]


def render_guitars(
    left: list[Note],
    right: list[Note],
    n: int,
    ir: np.ndarray,
    drive_db: float,
    seed: int,
    ir_right: np.ndarray | None = None,
    samples: GuitarSamples | None = None,
    drive_gain: np.ndarray | None = None,
) -> np.ndarray:
    """Stereo rhythm-guitar stem (2, n): left takes panned ~90% left, right takes ~90% right.

    ``ir_right``: the right side's cabinet, when it differs. Producers double a riff through two different
    amps/cabs so the sides differ in tone, not only in timing (heard as more metal than one cab on both).
    ``drive_gain`` (n,) scales the DI into the amp: under 1 the guitarist plays softer into it (crunch).
    """
    stereo = np.empty((2, n), dtype=np.float32)

    def side(index: int, notes: list[Note], cents: float) -> None:
        """The side's takes summed in its row of the stem: the first take is played in the row itself."""
        cab = ir_right if index == 1 and ir_right is not None else ir
        wet = stereo[index]
        for take in range(TAKES_PER_SIDE):
            played = notes if take == 0 else _retake(notes, seed * 7 + index * 3 + take)
            di = render_di(
                played,
                n,
                seed * 2 + index + 1 + 10 * take,
                cents * (1 + 0.5 * take),
                samples,
                out=wet if take == 0 else None,
            )
            if drive_gain is not None:
                di *= drive_gain
            y = amp(di, cab, drive_db, in_place=True)
            del di
            if take == 0:  # + 0.0 as if added into zeros (-0.0 -> 0.0)
                y += np.float32(0.0)
            else:
                wet += y
            del y
        wet /= np.float32(TAKES_PER_SIDE)

    # the two sides are independent takes (own seeds, own plugins): played on two threads, same samples
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="guitar") as pool:
        list(pool.map(side, (0, 1), (left, right), (-4.0, 4.0)))
    _bleed(stereo, np.float32(0.12))
    return stereo


BLEED_BLOCK = 1 << 16  # samples of the cross-bleed computed at a time


def _bleed(stereo: np.ndarray, amount: np.float32) -> None:
    """Each side heard a little in the other's: (lt + amount * rt, rt + amount * lt), in place.

    A block of the left side is kept before it is overwritten, so no song-long copy is made; the sums are
    the same (``amount * other + own`` is ``own + amount * other`` in floating point too).
    """
    for start in range(0, stereo.shape[1], BLEED_BLOCK):
        lt, rt = stereo[0, start : start + BLEED_BLOCK], stereo[1, start : start + BLEED_BLOCK]
        kept = lt.copy()
        np.multiply(rt, amount, out=lt)
        lt += kept
        kept *= amount
        rt += kept
