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
    notes: list[Note], n: int, seed: int, detune_cents: float = 0.0, samples: GuitarSamples | None = None
) -> np.ndarray:
    """The clean DI of one take (mono float32, peak about 0.5); recorded notes when ``samples`` is given."""
    di = render_part(notes, StringBank(seed, detune_cents, samples=samples), n)
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

    def side(index: int, notes: list[Note], cents: float) -> np.ndarray:
        cab = ir_right if index == 1 and ir_right is not None else ir
        wet: np.ndarray | None = None
        for take in range(TAKES_PER_SIDE):
            played = notes if take == 0 else _retake(notes, seed * 7 + index * 3 + take)
            di = render_di(played, n, seed * 2 + index + 1 + 10 * take, cents * (1 + 0.5 * take), samples)
            if drive_gain is not None:
                di *= drive_gain
            y = amp(di, cab, drive_db, in_place=True)
            del di
            if wet is None:  # the first take is the sum's buffer; + 0.0 as if added into zeros (-0.0 -> 0.0)
                y += np.float32(0.0)
                wet = y
            else:
                wet += y
            del y
        assert wet is not None
        wet /= np.float32(TAKES_PER_SIDE)
        return wet

    # the two sides are independent takes (own seeds, own plugins): played on two threads, same samples
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="guitar") as pool:
        sides = list(pool.map(side, (0, 1), (left, right), (-4.0, 4.0)))
    lt, rt = sides
    stereo = np.empty((2, n), dtype=np.float32)  # lt + 0.12 * rt, rt + 0.12 * lt, without temporaries
    np.multiply(rt, np.float32(0.12), out=stereo[0])
    stereo[0] += lt
    np.multiply(lt, np.float32(0.12), out=stereo[1])
    stereo[1] += rt
    return stereo
