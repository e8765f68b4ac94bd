"""Bass guitar: a plucked DI split into a clean low band and a driven mid/high band through a bass
cabinet, compressed."""

from __future__ import annotations

import numpy as np
from pedalboard import Compressor, HighpassFilter, LowpassFilter, PeakFilter, Pedalboard

from pipeline.arrange.events import Note
from pipeline.master import process_in_place
from pipeline.render.amp import cabinet, clipper
from pipeline.render.strings import StringBank, render_part

# Level of the driven mid/high band against the clean lows: a metal bass growls (a cleaner, low-only bass is
# heard as less metal).
GRIT_LEVEL = 1.0
# The DI stays the modelled string on purpose: recorded GM bass notes honk, and are heard as less metal
# however they are driven or filtered.


# The driven band is heard through a bass cabinet (the shipped one: rakarrack's Ampeg IR, its clank at
# 2.5-4 kHz and nothing above 6 kHz), as a metal bass is recorded; the lows stay clean (the IR on the whole
# bass is heard as less metal).


def render_bass(
    notes: list[Note],
    n: int,
    seed: int,
    drive_db: float = 18.0,
    grit: float = GRIT_LEVEL,
    cab: np.ndarray | None = None,
) -> np.ndarray:
    """Stereo (centred) bass stem (2, n); ``cab``: the bass cabinet's impulse response (mono, unit energy),
    or None for a plain low-passed driven band.

    Every stage runs in the stem's own two rows (the clean lows in the left, the driven band in the right,
    the plugins block by block with ``process_in_place``), and the finished mono bass is copied into the
    right row: a long song's bass holds the stem and nothing else song-long; the samples are those of each
    stage run on a copy of the whole signal.
    """
    stem = np.empty((2, n), dtype=np.float32)
    low, grit_band = stem[0:1], stem[1:2]
    render_part(notes, StringBank(seed, 0.0, bass=True), n, release_s=0.02, out=low[0])
    low *= np.float32(0.3)
    grit_band[:] = low
    process_in_place(Pedalboard([LowpassFilter(180.0)]), low)
    process_in_place(Pedalboard([HighpassFilter(300.0)]), grit_band)
    clipper(grit_band[0], drive_db, out=grit_band[0])
    speaker = Pedalboard([PeakFilter(1200.0, 3.0, 0.8)] + ([LowpassFilter(3500.0)] if cab is None else []))
    process_in_place(speaker, grit_band)
    if cab is not None:
        cabinet(grit_band[0], cab, out=grit_band[0])
    low *= np.float32(2.0)  # low * 2 + grit_band * grit, in the two rows
    grit_band *= np.float32(grit)
    low += grit_band
    process_in_place(
        Pedalboard(
            [HighpassFilter(35.0), Compressor(threshold_db=-20.0, ratio=4.0, attack_ms=5.0, release_ms=90.0)]
        ),
        low,
    )
    grit_band[:] = low
    return stem
