"""Bass guitar: a plucked DI split into a clean low band and a driven mid/high band through a bass
cabinet, compressed."""

from __future__ import annotations

import numpy as np
from pedalboard import Compressor, HighpassFilter, LowpassFilter, PeakFilter, Pedalboard

from pipeline.arrange.events import Note
from pipeline.render.amp import cabinet, clipper
from pipeline.render.strings import StringBank, render_part
from pipeline.types import SAMPLE_RATE

# Level of the driven mid/high band against the clean lows. A metal bass growls: measured on the 7 shared
# songs, 0.25 -> 1.0 raised median MSD metal 0.416 -> 0.458 (a cleaner, low-only bass lowered it to 0.23).
GRIT_LEVEL = 1.0
# The DI stays the modelled string on purpose. Recorded GM bass notes (Fluid R3 "Electric Bass" pick and
# finger, rendered like the guitar pack) raised the composite (median 0.285 -> 0.304 pick) but lowered MSD
# metal, the judge's main reading, on every variant tried (0.613 -> 0.52-0.58; spoken-vocal E13 0.41 ->
# 0.25-0.28), with grit halved or the DI low-passed at 900 Hz alike: the honk the composite rewards, not a
# heavier bass.


# The driven band is heard through a bass cabinet (the shipped one: rakarrack's Ampeg IR, its clank at
# 2.5-4 kHz and nothing above 6 kHz, in place of a 3.5 kHz low-pass). Measured on the 7 shared songs (heavy):
# median MSD metal 0.475 -> 0.567 (seed 0), 0.482 -> 0.550 (seed 1), "heavy metal" up on every song and the
# "electronic" family down; cover-id of the mix 6/7 -> 7/7 (seed 0) and 6/7 (seed 1), the band alone
# 7/7 -> 6/7 and 6/7 (E05, the techno song, either way). The same IR on the whole bass (lows too): MSD
# metal 0.515; rakarrack's Bassman on the driven band: 0.471.


def render_bass(
    notes: list[Note],
    n: int,
    seed: int,
    drive_db: float = 18.0,
    grit: float = GRIT_LEVEL,
    cab: np.ndarray | None = None,
) -> np.ndarray:
    """Stereo (centred) bass stem (2, n); ``cab``: the bass cabinet's impulse response (mono, unit energy),
    or None for a plain low-passed driven band."""
    di = render_part(notes, StringBank(seed, 0.0, bass=True), n, release_s=0.02)[None, :] * np.float32(0.3)
    low = Pedalboard([LowpassFilter(180.0)])(di, SAMPLE_RATE)
    grit_in = Pedalboard([HighpassFilter(300.0)])(di, SAMPLE_RATE)[0]
    grit_band = clipper(grit_in, drive_db)[None, :]
    speaker = Pedalboard([PeakFilter(1200.0, 3.0, 0.8)] + ([LowpassFilter(3500.0)] if cab is None else []))
    grit_band = speaker(grit_band, SAMPLE_RATE)
    if cab is not None:
        grit_band = cabinet(grit_band[0], cab)[None, :]
    mix = low * np.float32(2.0) + grit_band * np.float32(grit)
    mix = Pedalboard(
        [HighpassFilter(35.0), Compressor(threshold_db=-20.0, ratio=4.0, attack_ms=5.0, release_ms=90.0)]
    )(mix, SAMPLE_RATE)
    return np.repeat(mix, 2, axis=0).astype(np.float32)
