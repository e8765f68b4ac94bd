"""What a listener and an operator are told about each separator: what it is, how fast, under what licence.

One row per separator, read by the upload page, the API schema, the CLI's help, ``make models`` and the
progress bar (a stage's share of the job follows its measured cost). The speeds are seconds of separation
per minute of song on the README's 2-core machine (``bench/long_song_memory.py``: Spleeter and DSP on an
idle machine; htdemucs 124 s per minute on a 10-minute song at load 1.5-3); ``auto``'s row describes what
it picks (``choose.AUTO_ORDER``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SeparatorFacts:
    method: str
    label: str  # the name a listener sees
    summary: str  # which is cleaner, which is faster, in a listener's words
    licence: str  # the licence of its weights, said plainly
    seconds_per_minute: float  # separation time per minute of song (2 cores, measured)


DEMUCS_LICENCE = (
    "htdemucs weights by Meta: research and personal use only (Demucs' code is MIT, but its authors "
    "provide the trained weights for research only; the npm copy's LICENSE.md says the same)"
)
SPLEETER_LICENCE = "Spleeter 2-stem weights by Deezer: MIT"
DSP_LICENCE = "no trained weights: Metalizer's own signal processing"

SEPARATOR_FACTS: dict[str, SeparatorFacts] = {
    facts.method: facts
    for facts in (
        SeparatorFacts(
            "auto",
            "Automatic",
            "The fast choice: Spleeter's voice network where this server has it, otherwise the built-in "
            "splitter.",
            SPLEETER_LICENCE,
            3.4,
        ),
        SeparatorFacts(
            "demucs",
            "Demucs (cleanest, slow)",
            "The cleanest split: the voice without the drums' bleed, and the song's real guitars and keys "
            "kept for the band to play over. Takes much longer.",
            DEMUCS_LICENCE,
            125.0,
        ),
        SeparatorFacts(
            "spleeter",
            "Spleeter (fast)",
            "A neural network that lifts the voice out quickly; the rest is split by signal processing.",
            SPLEETER_LICENCE,
            3.4,
        ),
        SeparatorFacts(
            "dsp",
            "Built-in (fastest, roughest)",
            "Signal processing only: fastest, but the voice keeps more of the band around it.",
            DSP_LICENCE,
            2.4,
        ),
    )
}
# Everything a remix does besides separating (decoding, analysing, playing, mastering), per minute of song.
OTHER_STAGES_SECONDS_PER_MINUTE = 6.5


def estimated_seconds(method: str, duration_s: float) -> float:
    """How long a first remix of a song of ``duration_s`` takes with ``method``, on the measured machine."""
    facts = SEPARATOR_FACTS[method]
    return duration_s / 60.0 * (facts.seconds_per_minute + OTHER_STAGES_SECONDS_PER_MINUTE)


def licence_of(separator_name: str) -> str:
    """The licence of the weights behind a recorded separator name (``demucs:htdemucs`` ...)."""
    method = separator_name.split(":", 1)[0]
    return SEPARATOR_FACTS[method].licence if method in SEPARATOR_FACTS else ""


# Separators whose drums and bass stems a network made (not split from the accompaniment by signal
# processing): the analysis may read the beat off the drums and the bass line off the bass.
FOUR_STEM_METHODS = frozenset({"demucs"})


def separates_drums_and_bass(separator_name: str) -> bool:
    """Whether the separator behind a recorded name (``demucs:htdemucs`` ...) made real drums and bass."""
    return separator_name.split(":", 1)[0] in FOUR_STEM_METHODS


def stages_for(method: str) -> tuple[tuple[str, float], ...]:
    """The job's stages, separating's share scaled by ``method``'s measured cost against auto's (which
    ``STAGES``' shares were set for): the progress bar, and the time left read off its pace, move evenly."""
    from pipeline.types import STAGES

    scale = SEPARATOR_FACTS[method].seconds_per_minute / SEPARATOR_FACTS["auto"].seconds_per_minute
    return tuple((name, share * scale if name == "separating" else share) for name, share in STAGES)
