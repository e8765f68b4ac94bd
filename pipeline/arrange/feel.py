"""Tempo feel: how the band feels the song's pulse (half time, the song's own, double time), which feel a
style chooses at a song's tempo, and how a feel reads the style's one-bar patterns on the song's grid."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.styles import FULL, StylePreset

# How guitars pick is a feel, or this: the song's own 16ths while the drums play double time.
SONG_16THS = "song"


@dataclass(frozen=True)
class Feel:
    """How the band feels the song's pulse: in its verses and lighter parts, and in its choruses."""

    verse: str  # "half", "normal" or "double"
    chorus: str
    chorus_picking: str = ""  # how the guitars read their riffs in the chorus: "" (its feel) or SONG_16THS

    def for_treatment(self, treatment: str) -> tuple[str, str]:
        """(drum feel, guitar picking feel) of a section played with ``treatment``."""
        if treatment == FULL:
            return self.chorus, self.chorus_picking or self.chorus
        return self.verse, self.verse


def choose_feel(style: StylePreset, tempo: float, requested: str = "auto") -> Feel:
    """What the listener asked for, or on "auto" what the style's preset says at this tempo: double time
    under its ``double_below``, half time over its ``half_above``, else the song's own tempo, with
    double-time choruses under its ``chorus_double_below``."""
    if requested != "auto":
        return Feel(requested, requested)
    if 0 < tempo < style.double_below:
        return Feel("double", "double")
    if tempo > style.half_above:
        return Feel("half", "half")
    if 0 < tempo < style.chorus_double_below:
        return Feel("normal", "double", "" if style.double_time_picking else SONG_16THS)
    return Feel("normal", "normal")


def slots_per_beat(feel: str) -> int:
    """16th slots per beat of the song: double time plays 16ths of twice the tempo."""
    return 8 if feel == "double" else 4


def felt_tempo(tempo: float, feel: str) -> float:
    return tempo * {"half": 0.5, "normal": 1.0, "double": 2.0}[feel]


def pattern_slot(slot: int, bar_in_section: int, n_slots: int, feel: str) -> int | None:
    """Which symbol of a one-bar pattern a slot plays: in half time a pattern spans two bars at half speed,
    each symbol two slots long (None: the second half of a symbol, which only sustains it)."""
    if feel != "half":
        return slot
    if slot % 2:
        return None
    return (slot + (bar_in_section % 2) * n_slots) // 2
