"""A picture of the song for the job page: waveform, beat grid, sections and chord names (PNG + SVG)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipeline.types import SAMPLE_RATE, Analysis

SECTION_COLOURS = ("#e4572e", "#29335c", "#f3a712", "#669bbc", "#a8c686", "#8e7dbe")


def _short(label: str) -> str:
    return label.replace(":maj", "").replace(":min", "m")


def draw_song(mix: np.ndarray, analysis: Analysis, out_dir: Path) -> dict[str, Path]:
    """Write out_dir/song.png and out_dir/song.svg; returns {"song": png, "song_svg": svg}."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mono = np.abs(mix).max(axis=0) if mix.ndim == 2 else np.abs(mix)
    hop = max(1, mono.size // 1600)
    env = mono[: mono.size // hop * hop].reshape(-1, hop).max(axis=1)
    t = np.arange(env.size) * hop / SAMPLE_RATE
    duration = max(mono.size / SAMPLE_RATE, 1e-3)
    fig, ax = plt.subplots(figsize=(16, 3.2), dpi=100)
    fig.patch.set_facecolor("#111111")
    ax.set_facecolor("#111111")
    labels = sorted({s.label for s in analysis.sections})
    for sec in analysis.sections:
        colour = SECTION_COLOURS[labels.index(sec.label) % len(SECTION_COLOURS)]
        ax.axvspan(sec.start, sec.end, color=colour, alpha=0.25, lw=0)
        ax.text(sec.start + 0.2, 1.02, sec.label, color="white", fontsize=10, fontweight="bold", va="bottom")
    ax.fill_between(t, -env, env, color="#dddddd", lw=0)
    ax.vlines(analysis.beats, -1.0, 1.0, color="#555555", lw=0.3)
    ax.vlines(analysis.downbeats, -1.0, 1.0, color="#aaaaaa", lw=0.7)
    last = None
    for chord in analysis.chords:
        if chord.label not in (last, "N") and chord.end - chord.start > 0.25:
            ax.text(chord.start, -1.08, _short(chord.label), color="#f3a712", fontsize=7, va="top")
        last = chord.label
    ax.set_xlim(0, duration)
    ax.set_ylim(-1.3, 1.15)
    ax.set_yticks([])
    ax.tick_params(colors="#bbbbbb", labelsize=8)
    ax.set_xlabel("seconds", color="#bbbbbb", fontsize=8)
    ax.set_title(
        f"{analysis.key} {analysis.scale} - {analysis.tempo:.0f} BPM",
        color="#dddddd",
        fontsize=9,
        loc="right",
    )
    for spine in ax.spines.values():
        spine.set_visible(False)
    fig.tight_layout()
    out_dir.mkdir(parents=True, exist_ok=True)
    png, svg = out_dir / "song.png", out_dir / "song.svg"
    fig.savefig(png, facecolor=fig.get_facecolor(), metadata={"Software": None})
    fig.savefig(svg, facecolor=fig.get_facecolor(), metadata={"Date": None, "Creator": None})
    plt.close(fig)
    return {"song": png, "song_svg": svg}
