"""The song's form as a band plays it: which treatment each section gets (intro, verse, chorus, bridge, end).

A band covering a song keeps its shape: quieter parts are played lighter (a calm intro, palm-muted verses),
the loudest parts open up (choruses: open chords, crashes, double kick), one later section may drop into a
half-time breakdown, and the song ends on a held chord instead of stopping mid-riff. Sections that share a
label (the analysis' repeats) get the same treatment, so a repeated chorus is played alike.

The treatments (``styles.TREATMENTS``, lightest first): ``CALM`` (ringing chords, light cymbals), ``GROOVE``
(palm-muted riffing over a backbeat: verses), ``FULL`` (open chords and the style's driving core: the loudest
sections, which the band plays as choruses), ``BREAKDOWN`` (half-time, syncopated chugs locked to the kick)
and ``ENDING`` (one final hit, held). A section's role names the part of the song it is (intro, verse,
chorus, bridge, outro); its treatment says how the band plays it.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.styles import BREAKDOWN, CALM, ENDING, FULL, GROOVE
from pipeline.types import DEFAULT_OPTIONS, Section

# Section energy (0..1, loudest section 1.0) at which a section is played FULL / GROOVE; below: CALM.
# The analysis puts choruses and a metal song's verses at 0.8-1.0, lighter verses at 0.68-0.8 and intros,
# interludes and quiet verses under that; a higher FULL_FROM plays a metal song's loud parts as light verses.
FULL_FROM = 0.8
GROOVE_FROM = 0.68
INTRO_BELOW = 0.1  # a first section this far under the loudest is an intro
# The default intensity plays the energies as measured; each 0.1 above or below lifts or lowers them.
INTENSITY_LIFT = 0.3
# A last section this quiet (a ring-out, a fade) is where the song ends: the band plays its final hit there.
ENDING_BELOW = 0.35
BREAKDOWN_MIN_SECTIONS = 6  # only songs with this many sections have room for a breakdown


@dataclass(frozen=True)
class SectionPlan:
    start: float
    end: float
    label: str
    role: str  # "intro", "verse", "chorus", "bridge", "outro", "part"
    treatment: str  # one of styles.TREATMENTS


def _treatment(level: float) -> str:
    if level >= FULL_FROM:
        return FULL
    return GROOVE if level >= GROOVE_FROM else CALM


def plan_form(sections: list[Section], intensity: float, duration: float) -> list[SectionPlan]:
    """One plan per section of the song, in time order (one whole-song section when there are none)."""
    ordered = sorted(sections, key=lambda s: s.start) or [Section(0.0, duration, "A", 1.0)]
    lift = INTENSITY_LIFT * (float(intensity) - DEFAULT_OPTIONS.intensity)
    by_label: dict[str, list[float]] = {}
    for s in ordered:
        by_label.setdefault(s.label, []).append(float(s.energy))
    label_level = {label: sum(e) / len(e) + lift for label, e in by_label.items()}
    loudest = max(label_level.values())

    plans = []
    for i, s in enumerate(ordered):
        level = label_level[s.label]
        treatment = _treatment(level)
        role = "chorus" if treatment == FULL else "verse" if treatment == GROOVE else "part"
        if i == 0 and len(ordered) >= 3 and level < loudest - INTRO_BELOW:
            role, treatment = "intro", (CALM if treatment != FULL else GROOVE)
        if i == len(ordered) - 1 and len(ordered) > 1 and s.energy < ENDING_BELOW:
            role, treatment = "outro", ENDING
        plans.append(SectionPlan(s.start, s.end, s.label, role, treatment))

    breakdown = _breakdown_index(plans, ordered)
    if breakdown is not None:
        p = plans[breakdown]
        plans[breakdown] = SectionPlan(p.start, p.end, p.label, "bridge", BREAKDOWN)
    return plans


def _breakdown_index(plans: list[SectionPlan], sections: list[Section]) -> int | None:
    """The section a long song drops into half time: the quietest once-only section in its second half
    that is not calm (a breakdown still hits hard), if there is one."""
    if len(plans) < BREAKDOWN_MIN_SECTIONS:
        return None
    labels = [p.label for p in plans]
    half = sections[-1].end / 2
    candidates = [
        i
        for i, (p, s) in enumerate(zip(plans, sections, strict=True))
        if 0 < i < len(plans) - 1
        and s.start >= half
        and labels.count(p.label) == 1
        and p.treatment in (GROOVE, FULL)
    ]
    return min(candidates, key=lambda i: sections[i].energy) if candidates else None


def bar_treatments(plans: list[SectionPlan], bar_sections: list[int]) -> list[str]:
    """The treatment of every bar, from the index of the section each bar lies in."""
    return [plans[min(k, len(plans) - 1)].treatment for k in bar_sections]
