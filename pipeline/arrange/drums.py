"""Drum part on the felt grid: each section's groove, fills into the next section, crashes, the last hit."""

from __future__ import annotations

import numpy as np

from pipeline.arrange.events import Hit, clamp
from pipeline.arrange.feel import felt_tempo, pattern_slot
from pipeline.arrange.grid import Bar
from pipeline.styles import BREAKDOWN, CALM, ENDING, FULL, GROOVE, StylePreset

# Double-kick 16ths become 8ths above this felt tempo. Extreme-metal drummers play 16ths even at the felt
# 224-240 BPM of a song in double time, and are heard as metal there; 8ths are heard as punk.
DOUBLE_KICK_MAX_BPM = 250.0
FILL_ROLES = ("snare", "snare", "tom-high", "tom-high", "tom-mid", "tom-mid", "tom-low", "tom-low")
BASE_VELOCITY = {
    "kick": 0.85,
    "snare": 0.9,
    "hihat-closed": 0.6,
    "hihat-open": 0.65,
    "ride": 0.7,
    "crash": 0.85,
    "china": 0.75,
    "tom-high": 0.8,
    "tom-mid": 0.8,
    "tom-low": 0.85,
}


# How hard each treatment is played (velocity scale): a calm part is touched, a full one hit.
TREATMENT_DYNAMICS = {CALM: 0.72, GROOVE: 0.9, FULL: 1.0, BREAKDOWN: 1.0, ENDING: 1.0}
GHOST_CHANCE = 0.35  # groove bars: chance of a ghost snare on an off-beat 16th next to the backbeat


def _pattern_at(pattern: str, slot: int | None) -> str:
    """The symbol at a pattern slot; None (the held half of a half-time symbol) is a rest."""
    return "." if slot is None else pattern[slot % len(pattern)]


class _Humaniser:
    def __init__(self, rng: np.random.Generator, intensity: float) -> None:
        self.rng = rng
        self.scale = 0.8 + 0.2 * intensity

    def hit(self, t: float, role: str, accent: str = "x", dynamics: float = 1.0) -> Hit:
        vel = BASE_VELOCITY[role] * self.scale * dynamics
        if accent == "X":
            vel = min(1.0, vel * 1.12)
        elif accent == "o":
            vel *= 0.45
        vel = clamp(vel + self.rng.normal(0.0, 0.04), 0.08, 1.0)
        dt = clamp(self.rng.normal(0.0, 0.0025), -0.006, 0.006)
        return Hit(time=max(0.0, t + dt), role=role, velocity=vel)


def arrange_drums(
    bars: list[Bar],
    style: StylePreset,
    treatments: list[str],
    intensity: float,
    riff_attacks: dict[int, list[int]],
    rng: np.random.Generator,
    tempo: float,
    dynamics: list[float] | None = None,
) -> list[Hit]:
    """All drum hits. ``riff_attacks`` maps bar index -> guitar attack slots (for kick="riff");
    ``dynamics`` scales each bar's velocities (a song in free time: as loud as the song is there).

    Each bar plays its section's treatment: the style's groove for it, a crash on every new section, a fill
    (snare and toms down the kit) into each next one, and one final hit where the song ends.
    """
    human = _Humaniser(rng, intensity)
    hits: list[Hit] = []
    for n, bar in enumerate(bars):
        fast = felt_tempo(tempo, bar.feel) > DOUBLE_KICK_MAX_BPM
        treatment = treatments[n]
        dyn = TREATMENT_DYNAMICS[treatment] * (dynamics[n] if dynamics else 1.0)
        n_slots = len(bar.slots)
        if treatment == ENDING:
            if bar.bar_in_section == 0:  # the last hit: everyone together, then let it ring
                hits += [human.hit(bar.slots[0], r, "X") for r in ("kick", "crash", "china")]
            continue
        groove = style.grooves[treatment]
        fill_from = n_slots
        if bar.section_end and n + 1 < len(bars) and treatments[n + 1] != ENDING:
            fill_from = n_slots - (8 if treatment in (FULL, BREAKDOWN) and n_slots >= 16 else 4)
        for i, t in enumerate(bar.slots):
            if i >= fill_from:
                k = i - fill_from
                roles = FILL_ROLES[-(n_slots - fill_from) :] if n_slots - fill_from < 8 else FILL_ROLES
                hits.append(human.hit(t, roles[k % len(roles)], "X" if k % 2 == 0 else "x", dyn))
                if k % 2 == 0:
                    hits.append(human.hit(t, "kick", "x", dyn))
                continue
            p = pattern_slot(i, bar.bar_in_section, n_slots, bar.feel)
            if groove.kick == "riff":
                kick = "x" if i in riff_attacks.get(bar.index, ()) else "."
            else:
                kick = _pattern_at(groove.kick, p)
                if groove.kick.count("x") >= 12 and kick != ".":  # double kick: beats lead, the rest roll
                    kick = "." if fast and i % 2 == 1 else ("X" if i % 4 == 0 else "x")
            if kick != ".":
                hits.append(human.hit(t, "kick", kick, dyn))
            snare = _pattern_at(groove.snare, p)
            if snare != ".":
                hits.append(human.hit(t, "snare", snare, dyn))
            elif treatment == GROOVE and i % 2 == 1 and rng.random() < GHOST_CHANCE * (i % 8 in (3, 7)):
                hits.append(human.hit(t, "snare", "o", dyn))
            cym = _pattern_at(groove.cymbal, p)
            if i == 0 and (bar.section_start or (treatment == FULL and bar.bar_in_section % 4 == 0)):
                hits.append(human.hit(t, "crash", "X", dyn))
                if kick == ".":
                    hits.append(human.hit(t, "kick", "X", dyn))
            elif cym != ".":
                role = groove.cymbal_role
                if treatment != CALM and role == "hihat-closed" and i == n_slots - 2 and bar.index % 2 == 1:
                    role = "hihat-open"
                on_beat = i % (n_slots // max(1, bar.pulses)) == 0 if bar.pulses else True
                hits.append(human.hit(t, role, cym if on_beat else "x", dyn * (1.0 if on_beat else 0.85)))
            if treatment == FULL and style.chorus_china and i == 12 and bar.bar_in_section % 4 == 3:
                hits.append(human.hit(t, "china", "X", dyn))
    hits.sort(key=lambda h: (h.time, h.role))
    return hits
