"""Plain data the pipeline passes between its stages and returns to callers.

Audio convention everywhere in the pipeline: ``numpy.ndarray`` of float32, shape ``(2, n_samples)``
(stereo, channel-first) at ``SAMPLE_RATE``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.errors import INVALID_OPTIONS, PipelineError
from pipeline.output_formats import FORMAT_CHOICES, OUTPUT_FORMATS
from pipeline.styles import PRESETS as STYLE_PRESETS

SAMPLE_RATE = 44100

SEPARATOR_METHODS = ("demucs", "spleeter", "dsp")  # the separators themselves

# What a song needs for a remix to have anything to play (the upload check reads these; the web shows them).
# Shorter than MIN_SONG_DURATION_S there is not one bar to analyse at a slow tempo (a 4/4 bar at 80 BPM).
MIN_SONG_DURATION_S = 3.0
# A song whose loudest sample stays below SILENT_PEAK_DBFS is silence (or a hiss): separation, key and tempo
# would be guesses about nothing, and mastering would turn the noise floor into -9 LUFS of "metal".
SILENT_PEAK_DBFS = -50.0
SEPARATORS = ("auto", *SEPARATOR_METHODS)  # what a remix may ask for
# How the band feels the song's pulse: "auto" lets the style choose (at the song's tempo unless the style
# plays that tempo in half or double time), the others force it.
FEELS: dict[str, str] = {
    "auto": "The style chooses: the song's own tempo unless the style suits half or double time.",
    "half": "Half time: the backbeat every bar, heavy and wide.",
    "normal": "The song's own tempo.",
    "double": "Double time: twice the song's pulse, fast and driving.",
}
STEM_NAMES = ("vocals", "drums", "bass", "other")

# Stage names shown to listeners, in order, with their share of the whole job's progress.
STAGES: tuple[tuple[str, float], ...] = (
    ("decoding", 3.0),
    ("separating", 45.0),
    ("analysing", 12.0),
    ("arranging", 5.0),
    ("rendering", 25.0),
    ("mastering", 10.0),
    # The mix is written; the stems, MIDI files and pictures, made beside it, are finished. No share of the
    # estimate (they run off the mix's path): the bar is full while the page says the mix is made.
    ("finishing", 0.0),
)

LOUDNESS_HOP_S = 0.5  # hop of Analysis.loudness_curve
SUNG_HOP_S = 1.0  # hop of Analysis.sung

# on_progress(stage, percent): stage is one of STAGES' names, percent is the whole job's 0..100.
ProgressCallback = Callable[[str, float], None]
# The stages a re-play of a song already separated and analysed goes through (see ``pipeline.replay``).
PLAY_STAGES: tuple[tuple[str, float], ...] = tuple(
    s for s in STAGES if s[0] in ("arranging", "rendering", "mastering", "finishing")
)

# A stage's own progress reporter: fraction of that stage done, 0..1.
StageProgress = Callable[[float], None]


def no_progress(_fraction: float) -> None:
    """A StageProgress that ignores reports."""


@dataclass(frozen=True)
class RemixOptions:
    """How to play a song. The field defaults are the only place the defaults are written: the web form, the
    API, the Job row, the CLI and the ``metalize`` command all read them (``DEFAULT_OPTIONS``)."""

    style: str = "heavy"
    intensity: float = 0.7
    output_format: str = "wav"
    keep_vocals: bool = True
    seed: int = 0
    separator: str = "auto"
    feel: str = "auto"

    def __post_init__(self) -> None:
        if self.style not in STYLE_PRESETS:
            raise PipelineError(
                INVALID_OPTIONS, f"Unknown style '{self.style}'. Choose one of: {', '.join(STYLE_PRESETS)}."
            )
        if not 0.0 <= float(self.intensity) <= 1.0:
            raise PipelineError(INVALID_OPTIONS, "Intensity must be between 0 and 1.")
        if self.output_format not in OUTPUT_FORMATS:
            raise PipelineError(
                INVALID_OPTIONS, f"Unknown output format '{self.output_format}'. Choose {FORMAT_CHOICES}."
            )
        if self.feel not in FEELS:
            raise PipelineError(INVALID_OPTIONS, f"Unknown feel '{self.feel}'. Choose {', '.join(FEELS)}.")
        if self.separator not in SEPARATORS:
            raise PipelineError(
                INVALID_OPTIONS, f"Unknown separator '{self.separator}'. Choose {', '.join(SEPARATORS)}."
            )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RemixOptions:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


DEFAULT_OPTIONS = RemixOptions()


@dataclass(frozen=True)
class SeparatorInfo:
    """Which separator produced the stems, and why it was the one chosen."""

    name: str  # "demucs:htdemucs", "spleeter:2stems", "dsp:hpss-centre"
    reason: str
    cached: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Stems:
    """Separated sources, each float32 (2, n) at SAMPLE_RATE, all the same length as the input."""

    vocals: np.ndarray
    drums: np.ndarray
    bass: np.ndarray
    other: np.ndarray
    separator: SeparatorInfo

    def as_dict(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in STEM_NAMES}


@dataclass(frozen=True)
class Chord:
    start: float
    end: float
    label: str  # "E:min", "C:maj", "N" for no chord
    root: int | None  # pitch class 0 (C) .. 11 (B); None for "N"
    quality: str  # "maj", "min", "" for "N"
    bass: int | None = None  # pitch class the song's bass plays under it (an inversion when not the root)


@dataclass(frozen=True)
class Section:
    start: float
    end: float
    label: str  # "A", "B", ... repeated labels for similar sections
    energy: float  # 0..1, relative loudness/density within the song


@dataclass
class Analysis:
    """The musical picture of a song, as the listening stage understood it."""

    duration: float
    tempo: float
    tempo_confidence: float
    tempo_is_guess: bool
    beats: list[float]
    downbeats: list[float]
    beats_per_bar: int
    key: str  # "E", "F#", ...
    scale: str  # "major" | "minor"
    key_strength: float
    chords: list[Chord]
    sections: list[Section]
    loudness_lufs: float
    has_vocals: bool = True
    # Short-term loudness (LUFS, 3 s windows) of the original every LOUDNESS_HOP_S: the song's dynamics,
    # which the remix's master follows. Empty in analyses stored before it existed.
    loudness_curve: list[float] = field(default_factory=list)
    # Per second of the song: does a voice carry the tune there (the lead guitar plays where it does not)?
    sung: list[bool] = field(default_factory=list)
    # The song's main melody as (start s, duration s, MIDI pitch) notes, tracked from the stems that carry
    # it (None: not tracked, e.g. an analysis stored before it existed; []: no melody to follow).
    melody: list[tuple[float, float, int]] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Analysis:
        values = dict(data)
        values["chords"] = [Chord(**c) for c in data.get("chords", [])]
        values["sections"] = [Section(**s) for s in data.get("sections", [])]
        if data.get("melody") is not None:
            values["melody"] = [(float(t), float(d), int(p)) for t, d, p in data["melody"]]
        known = {k: values[k] for k in cls.__dataclass_fields__ if k in values}
        return cls(**known)


@dataclass
class RemixResult:
    """What ``metalize`` made; every path lies inside ``out_dir``."""

    out_dir: Path
    mix_path: Path
    result_json: Path
    analysis: Analysis
    separator: SeparatorInfo
    options: RemixOptions
    stems: dict[str, Path] = field(default_factory=dict)
    midi: dict[str, Path] = field(default_factory=dict)
    pictures: dict[str, Path] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    duration: float = 0.0
    # True when the song's analysis came from an earlier run (the stem cache or the caller), not analysed now.
    analysis_reused: bool = False
    # The stem cache key of this song with this separator ("" when no cache was used): a later re-play of
    # the song with other options finds its stems and analysis under it.
    stem_cache_key: str = ""

    def to_dict(self) -> dict[str, Any]:
        def rel(p: Path) -> str:
            return str(Path(p).relative_to(self.out_dir))

        return {
            "mix": rel(self.mix_path),
            "stems": {k: rel(v) for k, v in self.stems.items()},
            "midi": {k: rel(v) for k, v in self.midi.items()},
            "pictures": {k: rel(v) for k, v in self.pictures.items()},
            "analysis": self.analysis.to_dict(),
            "separator": self.separator.to_dict(),
            "options": self.options.to_dict(),
            "timings": self.timings,
            "duration": self.duration,
            "analysis_reused": self.analysis_reused,
            "stem_cache_key": self.stem_cache_key,
        }
