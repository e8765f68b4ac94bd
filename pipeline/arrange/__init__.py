"""Arranging: turns the analysis into metal parts as plain note data (no sound yet)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from pipeline.arrange.bass import arrange_bass
from pipeline.arrange.drums import arrange_drums
from pipeline.arrange.events import Hit, Note
from pipeline.arrange.feel import SONG_16THS, choose_feel, felt_tempo
from pipeline.arrange.form import SectionPlan, bar_treatments, plan_form
from pipeline.arrange.free_time import bar_dynamics, in_free_time, swell_sections
from pipeline.arrange.grid import Bar, build_bars, pitch_class
from pipeline.arrange.guitar import Stroke, guitar_take, write_riffs
from pipeline.arrange.lead import voice_free_bars
from pipeline.arrange.seeds import Riff
from pipeline.seeding import part_rng
from pipeline.styles import PRESETS, RING_IN_DOUBLE_TIME, RING_ON_DOUBLED_SONGS, StylePreset
from pipeline.types import SUNG_HOP_S, Analysis, RemixOptions

__all__ = ["Arrangement", "Bar", "Hit", "Note", "Stroke", "arrange"]


@dataclass
class Arrangement:
    style: StylePreset
    feel: str  # the verses' feel: "half", "normal" or "double"
    felt_tempo: float  # the verses' felt tempo
    key_root: int
    bars: list[Bar]
    strokes: list[Stroke]  # the left guitar's (and the drums' riff lock)
    drums: list[Hit]
    guitar_left: list[Note]
    guitar_right: list[Note]
    bass: list[Note]
    lead: list[Note] = field(default_factory=list)
    lead_harmony: list[Note] = field(default_factory=list)  # the twin lead, a third above, where it plays
    treatments: list[str] = field(default_factory=list)  # each bar's treatment (styles.TREATMENTS)
    form: list[SectionPlan] = field(default_factory=list)
    chorus_feel: str = "normal"
    chorus_felt_tempo: float = 0.0
    strokes_right: list[Stroke] = field(default_factory=list)  # the right guitar's and the bass's
    free_time: bool = False  # the song has no pulse to lock to: the band swelled with it (``free_time``)
    # how hard the drums play each bar (free time: as loud as the song is there); empty: every bar in full
    drum_dynamics: list[float] = field(default_factory=list)


def _song_16ths_under_voice(bars: list[Bar], sung: list[bool]) -> list[Bar]:
    """``bars``, those under double-time drums where a voice sings read on the song's own 16ths."""
    free = voice_free_bars(bars, sung, SUNG_HOP_S)
    return [
        replace(b, picking=SONG_16THS) if b.feel == "double" and not ok else b
        for b, ok in zip(bars, free, strict=True)
    ]


def arrange(analysis: Analysis, options: RemixOptions, riff_seeds: list[Riff] | None = None) -> Arrangement:
    """The whole band's parts on the song's grid; ``riff_seeds`` (see ``seeds``) shape the rhythm guitar."""
    style = PRESETS[options.style]
    free = in_free_time(analysis)
    if free:  # no pulse to lock to: the band swells with the song's loudness (see ``free_time``)
        analysis = replace(analysis, sections=swell_sections(analysis))
    feel = choose_feel(style, analysis.tempo, options.feel)
    key_root = pitch_class(analysis.key)
    form = plan_form(analysis.sections, options.intensity, analysis.duration)
    bars = build_bars(
        analysis,
        lambda k: feel.for_treatment(form[min(k, len(form) - 1)].treatment),
        key_root,
        "min" if analysis.scale == "minor" else "maj",
    )
    # where a voice sings over double-time drums, a style may have its right guitar and bass ring the chords
    # on the song's own 16ths under the tune while the left guitar drives the doubled grid
    ring_bars = bars
    if style.sung_song_16ths and analysis.has_vocals and options.keep_vocals and analysis.sung:
        ring_bars = _song_16ths_under_voice(bars, analysis.sung)
    treatments = bar_treatments(form, [b.section for b in bars])
    labels = [p.label for p in form]

    def rng(part: str) -> np.random.Generator:
        return part_rng(options.seed, options.style, part)

    strokes, attacks = write_riffs(bars, style, treatments, labels, options.seed, riff_seeds)
    dynamics = bar_dynamics(bars, analysis) if free else None
    drums = arrange_drums(
        bars, style, treatments, options.intensity, attacks, rng("drums"), analysis.tempo, dynamics
    )
    ringing = strokes
    if ring_bars is not bars:
        ringing = write_riffs(ring_bars, style, treatments, labels, options.seed, riff_seeds)[0]
    split = style.ringing_right == RING_IN_DOUBLE_TIME or (
        style.ringing_right == RING_ON_DOUBLED_SONGS and feel.verse == "double"
    )
    if split and any(b.feel == "double" for b in bars):
        ringing = write_riffs(bars, style, treatments, labels, options.seed, riff_seeds, song_16ths=True)[0]
    left = guitar_take(strokes, rng("guitar_left"), options.intensity, style.chug_ms)
    right = guitar_take(ringing, rng("guitar_right"), options.intensity, style.chug_ms)
    bass = arrange_bass(ringing, rng("bass"), options.intensity)
    return Arrangement(
        style=style,
        feel=feel.verse,
        felt_tempo=felt_tempo(analysis.tempo, feel.verse),
        key_root=key_root,
        bars=bars,
        strokes=strokes,
        drums=drums,
        guitar_left=left,
        guitar_right=right,
        bass=bass,
        treatments=treatments,
        form=form,
        chorus_feel=feel.chorus,
        chorus_felt_tempo=felt_tempo(analysis.tempo, feel.chorus),
        strokes_right=ringing,
        free_time=free,
        drum_dynamics=dynamics or [],
    )
