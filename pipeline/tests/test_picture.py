"""The song picture's names can be read (issue 27 item 9): at the width the page shows each drawing (desktop,
phone), every text is at least MIN_TEXT_PX tall, and no chord or section name overlaps another, measured
from the boxes matplotlib draws them in; crowded chords give way, sparse ones are all named."""

from __future__ import annotations

import struct
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from pipeline.picture import DPI, MIN_TEXT_PX, PICTURE_LAYOUTS, draw_song, song_figure
from pipeline.types import SAMPLE_RATE, Analysis, Chord, Section

NAMES = ("E:min", "C:maj", "D:maj", "F#:min", "G:maj", "A:min", "B:maj", "C#:min")
LAYOUTS = {layout.name: layout for layout in PICTURE_LAYOUTS}


def song(duration: float, chord_lengths: tuple[float, ...], seed: int = 0) -> tuple[np.ndarray, Analysis]:
    rng = np.random.default_rng(seed)
    chords, t, previous = [], 0.0, ""
    while t < duration:
        length = float(rng.choice(chord_lengths))
        name = str(rng.choice([n for n in NAMES if n != previous]))
        chords.append(Chord(t, min(duration, t + length), name, 0, name.split(":")[1]))
        t, previous = t + length, name
    bounds = np.linspace(0, duration, 8)
    bounds[3] = bounds[2] + 1.5  # a very short section beside a long one
    sections = [Section(a, b, "ABACDBA"[i], 0.5) for i, (a, b) in enumerate(pairwise(bounds))]
    beats = list(np.arange(0, duration, 0.5))
    analysis = Analysis(
        duration=duration,
        tempo=120.0,
        tempo_confidence=1.0,
        tempo_is_guess=False,
        beats=beats,
        downbeats=beats[::4],
        beats_per_bar=4,
        key="E",
        scale="minor",
        key_strength=1.0,
        chords=chords,
        sections=sections,
        loudness_lufs=-10.0,
    )
    n = int(duration * SAMPLE_RATE)
    wave = (0.5 * np.sin(np.arange(n) / SAMPLE_RATE * 2 * np.pi * 0.3) * rng.random(n)).astype(np.float32)
    return np.stack([wave, wave]), analysis


@pytest.fixture(scope="module")
def crowded() -> tuple[np.ndarray, Analysis]:
    return song(180.0, (0.5, 1.0, 2.0, 4.0))  # about 90 chord changes in 3 minutes


def measured(drawn, layout):  # type: ignore[no-untyped-def]
    renderer = drawn.figure.canvas.get_renderer()
    return {
        kind: [text.get_window_extent(renderer) for text in texts]
        for kind, texts in (("chords", drawn.chord_labels), ("sections", drawn.section_labels))
    }


def shown_px(text, layout) -> float:  # type: ignore[no-untyped-def]
    """How tall the text appears at the width the page shows the picture."""
    return text.get_fontsize() * DPI / 72 * layout.shown_px / layout.width_px


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_crowded_chord_names_give_way_and_none_overlaps_at_phone_and_desktop_width(crowded, name):
    import matplotlib.pyplot as plt

    layout = LAYOUTS[name]
    mix, analysis = crowded
    drawn = song_figure(mix, analysis, layout)
    try:
        boxes = measured(drawn, layout)
        width = drawn.figure.bbox.width
        for kind, kept in boxes.items():
            assert kept, kind
            for a, b in pairwise(kept):
                assert a.x1 + layout.gap_px <= b.x0 + 1e-6, (kind, a, b)
            assert all(box.x0 >= 0 and box.x1 <= width for box in kept), kind
        # The chord line lies below the section line, clear of it.
        assert max(box.y1 for box in boxes["chords"]) < min(box.y0 for box in boxes["sections"])
        named = len(boxes["chords"])
        assert 6 <= named < 90, named  # fewer when crowded, but still some
        for text in [*drawn.chord_labels, *drawn.section_labels, *drawn.other_text]:
            if text.get_text():
                assert shown_px(text, layout) >= MIN_TEXT_PX - 0.01, (text.get_text(), shown_px(text, layout))
    finally:
        plt.close(drawn.figure)


def test_a_phone_names_fewer_chords_than_a_desktop_and_a_sparse_song_gets_every_name(crowded):
    import matplotlib.pyplot as plt

    counts = {}
    for name, layout in LAYOUTS.items():
        drawn = song_figure(*crowded, layout)
        counts[name] = len(drawn.chord_labels)
        plt.close(drawn.figure)
    assert counts["song_phone"] < counts["song"]
    mix, sparse = song(60.0, (10.0,), seed=1)  # a chord every 10 s: room for each name, even on a phone
    for layout in PICTURE_LAYOUTS:
        drawn = song_figure(mix, sparse, layout)
        assert len(drawn.chord_labels) == len(sparse.chords) == 6
        plt.close(drawn.figure)


def png_size(path: Path) -> tuple[int, int]:
    with path.open("rb") as fh:
        head = fh.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def test_draw_song_writes_a_desktop_png_and_svg_and_a_phone_png(tmp_path, crowded):
    written = draw_song(*crowded, tmp_path)
    assert set(written) == {"song", "song_svg", "song_phone"}
    assert png_size(written["song"]) == (LAYOUTS["song"].width_px, LAYOUTS["song"].height_px)
    assert png_size(written["song_phone"]) == (
        LAYOUTS["song_phone"].width_px,
        LAYOUTS["song_phone"].height_px,
    )
    assert written["song_svg"].read_text()[:200].lstrip().startswith("<?xml")
