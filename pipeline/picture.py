"""A picture of the song for the job page: waveform, beat grid, sections and chord names.

Two drawings, one per width the page shows it at (``PICTURE_LAYOUTS``): a wide one for a desktop (PNG and
SVG) and a taller one for a phone (PNG). Text is sized in the pixels a listener sees at that width, never
below ``MIN_TEXT_PX``; where chord or section names would overlap, the shorter chords and sections give way
(each name is measured as drawn and kept only when its box clears every name already kept, the longest
chords first), so what is written can be read.

Each drawing is its own ``Figure`` on an Agg canvas, never pyplot's global figure list, so a picture can be
drawn on a background thread while the mix is written (``pipeline.play``), and nothing has to be closed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.types import SAMPLE_RATE, Analysis

SECTION_COLOURS = ("#e4572e", "#29335c", "#f3a712", "#669bbc", "#a8c686", "#8e7dbe")
DPI = 100
MIN_TEXT_PX = 12  # the smallest text a listener sees, in CSS pixels at the width the picture is shown
LABEL_GAP_PX = 6  # at least this much room (as shown) between two names on one line
MIN_CHORD_S = 0.25  # shorter chords are passing harmony: never named


@dataclass(frozen=True)
class PictureLayout:
    """One drawing of the song picture: its name in the result, its size and the width it is shown at."""

    name: str
    width_px: int
    height_px: int
    shown_px: int  # about how wide the page shows it (CSS pixels): text is sized for this
    svg: bool = False  # also written as SVG (named ``<name>_svg``)

    def points(self, shown_px: float) -> float:
        """The font size in points that appears ``shown_px`` tall at the shown width."""
        return shown_px * self.width_px / self.shown_px * 72 / DPI

    @property
    def gap_px(self) -> float:
        """LABEL_GAP_PX in drawn pixels."""
        return LABEL_GAP_PX * self.width_px / self.shown_px


# The job page's column is about 780 px wide on a desktop; a phone leaves about 330 px.
PICTURE_LAYOUTS = (
    PictureLayout("song", 1600, 360, shown_px=780, svg=True),
    PictureLayout("song_phone", 720, 480, shown_px=330),
)


def _short(label: str) -> str:
    return label.replace(":maj", "").replace(":min", "m")


@dataclass
class SongFigure:
    """A drawn song picture, and the names written on it (for measuring)."""

    figure: Any  # matplotlib Figure
    chord_labels: list[Any]  # matplotlib Text, left to right
    section_labels: list[Any]
    other_text: list[Any]  # tick labels, axis label, title


def song_figure(mix: np.ndarray, analysis: Analysis, layout: PictureLayout) -> SongFigure:
    """Draw the song picture for ``layout`` on a figure of its own (garbage once dropped)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    mono = np.abs(mix).max(axis=0) if mix.ndim == 2 else np.abs(mix)
    hop = max(1, mono.size // layout.width_px)
    env = mono[: mono.size // hop * hop].reshape(-1, hop).max(axis=1)
    t = np.arange(env.size) * hop / SAMPLE_RATE
    duration = max(mono.size / SAMPLE_RATE, 1e-3)
    fig = Figure(figsize=(layout.width_px / DPI, layout.height_px / DPI), dpi=DPI)
    FigureCanvasAgg(fig)  # the figure's canvas: text is measured and the picture saved through it
    ax = fig.subplots()
    fig.patch.set_facecolor("#111111")
    ax.set_facecolor("#111111")
    small = layout.points(MIN_TEXT_PX)
    ax.fill_between(t, -env, env, color="#dddddd", lw=0)
    ax.vlines(analysis.beats, -1.0, 1.0, color="#555555", lw=0.3)
    ax.vlines(analysis.downbeats, -1.0, 1.0, color="#aaaaaa", lw=0.7)
    ax.set_xlim(0, duration)
    ax.set_yticks([])
    ax.tick_params(colors="#bbbbbb", labelsize=small)
    ax.set_xlabel("seconds", color="#bbbbbb", fontsize=small)
    title = ax.set_title(
        f"{analysis.key} {analysis.scale} - {analysis.tempo:.0f} BPM",
        color="#dddddd",
        fontsize=small,
        loc="right",
    )
    for spine in ax.spines.values():
        spine.set_visible(False)
    # Room above and below the waveform for a line of names each: the height of a line in pixels, turned
    # into data units (the y range, about 2, spans about 70 % of the picture's height), with room to spare.
    line = 1.5 * layout.points(MIN_TEXT_PX + 2) / 72 * DPI  # pixels one line of names takes
    axes_px = layout.height_px * 0.7
    margin = 2.0 * line / axes_px * 2.0  # the y range is about 2 (from -1 to 1) plus both margins
    ax.set_ylim(-1.0 - margin, 1.0 + margin)
    labels = sorted({s.label for s in analysis.sections})
    for sec in analysis.sections:
        colour = SECTION_COLOURS[labels.index(sec.label) % len(SECTION_COLOURS)]
        ax.axvspan(sec.start, sec.end, color=colour, alpha=0.25, lw=0)
    fig.tight_layout()
    renderer = fig.canvas.get_renderer()
    sections = _place(
        ax,
        renderer,
        ((sec.start, sec.end, sec.label) for sec in analysis.sections),
        y=1.0 + margin * 0.15,
        va="bottom",
        style={"color": "white", "fontsize": layout.points(MIN_TEXT_PX + 2), "fontweight": "bold"},
        gap_px=layout.gap_px,
    )
    chords = _place(
        ax,
        renderer,
        _named_chords(analysis),
        y=-1.0 - margin * 0.15,
        va="top",
        style={"color": "#f3a712", "fontsize": layout.points(MIN_TEXT_PX + 1)},
        gap_px=layout.gap_px,
    )
    other = [*ax.get_xticklabels(), ax.xaxis.label, title]
    return SongFigure(fig, chord_labels=chords, section_labels=sections, other_text=other)


def _named_chords(analysis: Analysis) -> list[tuple[float, float, str]]:
    """(start, end, name) of each chord change worth naming: a new chord, held at least MIN_CHORD_S."""
    named, last = [], None
    for chord in analysis.chords:
        if chord.label not in (last, "N") and chord.end - chord.start >= MIN_CHORD_S:
            named.append((chord.start, chord.end, _short(chord.label)))
        last = chord.label
    return named


def _place(
    ax: Any,
    renderer: Any,
    spans: Iterable[tuple[float, float, str]],
    *,
    y: float,
    va: str,
    style: dict[str, Any],
    gap_px: float,
) -> list[Any]:
    """Write each span's name at its start, the longest spans first, keeping a name only when its measured
    box (plus ``gap_px``) clears every name kept and lies inside the picture; returns those kept, in time
    order."""
    kept: list[tuple[float, float, Any]] = []
    width = ax.figure.bbox.width
    for start, _end, name in sorted(spans, key=lambda s: s[0] - s[1]):
        text = ax.text(start, y, name, va=va, clip_on=False, **style)
        box = text.get_window_extent(renderer)
        fits = box.x0 >= 0 and box.x1 <= width
        if fits and all(box.x1 + gap_px <= x0 or box.x0 >= x1 + gap_px for x0, x1, _t in kept):
            kept.append((box.x0, box.x1, text))
        else:
            text.remove()
    return [text for _x0, _x1, text in sorted(kept, key=lambda k: k[0])]


def draw_song(mix: np.ndarray, analysis: Analysis, out_dir: Path) -> dict[str, Path]:
    """Write each layout's picture under out_dir: {"song": png, "song_svg": svg, "song_phone": png}.

    Safe on a thread beside other drawing: every figure is its own (``song_figure``)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for layout in PICTURE_LAYOUTS:
        fig = song_figure(mix, analysis, layout).figure
        png = out_dir / f"{layout.name}.png"
        fig.savefig(png, facecolor=fig.get_facecolor(), metadata={"Software": None})
        written[layout.name] = png
        if layout.svg:
            svg = out_dir / f"{layout.name}.svg"
            fig.savefig(svg, facecolor=fig.get_facecolor(), metadata={"Date": None, "Creator": None})
            written[f"{layout.name}_svg"] = svg
    return written
