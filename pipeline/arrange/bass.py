"""Bass: the song's own bass notes (the chord root, or the inversion it plays) on the guitar's attacks."""

from __future__ import annotations

import numpy as np

from pipeline.arrange.events import Note, clamp
from pipeline.arrange.guitar import Stroke


def arrange_bass(strokes: list[Stroke], rng: np.random.Generator, intensity: float) -> list[Note]:
    """One bass note per guitar stroke (every other one under tremolo picking), locked to the kick's riff.

    The pitch is the song's bass note under the chord (``Stroke.bass``), so a C/E is played over an E as the
    song does, an octave under the guitar's register.
    """
    notes: list[Note] = []
    for n, s in enumerate(strokes):
        if s.kind == "trem" and n % 2 == 1:
            continue  # tremolo passages: bass plays every other stroke
        length = s.end - s.time
        if s.kind == "trem" and n + 1 < len(strokes):
            length = strokes[n + 1].end - s.time
        vel = clamp((0.85 if s.accent else 0.75) * (0.85 + 0.15 * intensity) + rng.normal(0, 0.03), 0.2, 1.0)
        dt = clamp(rng.normal(0.0, 0.002), -0.005, 0.005)
        pitch = s.bass if s.bass is not None else s.root - 12
        notes.append(
            Note(
                time=max(0.0, s.time + dt),
                duration=max(0.03, length * 0.95),
                pitch=pitch,
                velocity=vel,
                mute=s.kind == "chug",
            )
        )
    return notes
