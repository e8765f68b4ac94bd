"""Metalizer's audio engine: a plain library; ``metalize`` remixes a song file, ``replay`` plays a song
already separated and analysed again with other options (from a ``StemCache`` entry).

It never imports Django; the web app calls it, never the reverse. Importing the package is cheap:
the heavy libraries (torch, essentia, pedalboard) load on the first call.
"""

from pipeline.errors import PipelineError
from pipeline.metalize import metalize
from pipeline.replay import replay
from pipeline.types import Analysis, RemixOptions, RemixResult, SeparatorInfo

__all__ = [
    "Analysis",
    "CachedSong",
    "FileStemCache",
    "PipelineError",
    "RemixOptions",
    "RemixResult",
    "SeparatorInfo",
    "StemCache",
    "metalize",
    "replay",
]


def __getattr__(name: str) -> object:
    # The stem cache needs soundfile and the separators' package: loaded on first use, not on import.
    if name in ("CachedSong", "FileStemCache", "StemCache"):
        from pipeline.separate import cache

        return getattr(cache, name)
    raise AttributeError(f"module 'pipeline' has no attribute {name!r}")
