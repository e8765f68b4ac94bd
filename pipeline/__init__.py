"""Metalizer's audio engine: a plain library; ``metalize`` remixes a song file, ``replay`` plays a song
already separated and analysed again with other options (from a ``StemCache`` entry).

This is its front door: everything a caller needs is exported here, and the web app imports nothing else
(``grep -rn "from pipeline\\." jobs assets_bank metalizer_site`` finds only tests). Two file formats the web
app writes or keeps for the pipeline are exported as modules: ``asset_layout`` (the asset folder the
asset bank writes) and ``stem_cache`` (a stem cache entry, for a cache kept in other storage).

It never imports Django; the web app calls it, never the reverse. Importing the package is cheap: the heavy
libraries (torch, essentia, pedalboard) load on the first call, and the names that need soundfile or the
separators' package (probing a file, the stem cache, the CLI) load on first use.
"""

import os
from importlib import import_module

# The separators' torch threads wait for each other at every layer. OpenMP's default is to spin while
# waiting, and on a machine where another process holds one of the two cores the spinning thread waits out
# the other's time slice again and again: Spleeter on a 3-minute song took 28 s instead of 5 s (load ~3),
# 10 s with passive waiting (5.7 s on an idle machine). Set before torch loads its OpenMP runtime (it reads
# the variable once); an operator's own setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from pipeline import asset_layout
from pipeline.errors import (
    ANALYSIS_FAILED,
    ASSETS_MISSING,
    CORRUPT_AUDIO,
    CORRUPT_MIDI,
    EMPTY_FILE,
    INVALID_OPTIONS,
    MIDI_TOO_LONG,
    NOT_AUDIO,
    OUT_OF_MEMORY,
    RENDER_FAILED,
    SEPARATION_FAILED,
    SILENT,
    TOO_LONG,
    TOO_SHORT,
    UNSUPPORTED_FORMAT,
    UNSUPPORTED_MIDI,
    Interrupted,
    PipelineError,
)
from pipeline.errors import CODES as ERROR_CODES
from pipeline.metalize import metalize, preload
from pipeline.output_formats import (
    FORMAT_CHOICES,
    FORMAT_LABELS,
    OUTPUT_FORMATS,
    TRANSCODE_SOURCES,
    OutputFormat,
    spelled,
)
from pipeline.plain_json import jsonable
from pipeline.replay import replay
from pipeline.styles import DESCRIPTIONS as STYLES
from pipeline.types import (
    DEFAULT_OPTIONS,
    FEELS,
    MIN_SONG_DURATION_S,
    PLAY_STAGES,
    SEPARATOR_METHODS,
    SEPARATORS,
    SILENT_PEAK_DBFS,
    STAGES,
    STEM_NAMES,
    Analysis,
    RemixOptions,
    RemixResult,
    SeparatorInfo,
    Stems,
)

# name -> (module, attribute): loaded on first use, so importing the package stays cheap.
_LAZY = {
    "ACCEPTED_DESCRIPTION": ("pipeline.audio_io", "ACCEPTED_DESCRIPTION"),
    "ACCEPTED_EXTENSIONS": ("pipeline.audio_io", "ACCEPTED_EXTENSIONS"),
    "AudioInfo": ("pipeline.audio_io", "AudioInfo"),
    "format_duration": ("pipeline.audio_io", "format_duration"),
    "probe": ("pipeline.audio_io", "probe"),
    "check_bank_file": ("pipeline.assets", "check_bank_file"),
    "convert_sample": ("pipeline.assets", "convert_sample"),
    "sample_needs_conversion": ("pipeline.assets", "sample_needs_conversion"),
    "SAMPLE_STORE_FORMAT": ("pipeline.assets", "SAMPLE_STORE_FORMAT"),
    "ACCEPTED_FORMATS": ("pipeline.audio_io", "ACCEPTED_FORMATS"),
    "open_seed": ("pipeline.arrange.seeds", "open_seed"),
    "MAX_SEED_BYTES": ("pipeline.arrange.seeds", "MAX_SEED_BYTES"),
    "stem_cache": ("pipeline.stem_cache", None),
    "CachedSong": ("pipeline.stem_cache", "CachedSong"),
    "FileStemCache": ("pipeline.stem_cache", "FileStemCache"),
    "StemCache": ("pipeline.stem_cache", "StemCache"),
    "PLAYED_STEMS": ("pipeline.stem_cache", "PLAYED_STEMS"),
    "SEPARATOR_FACTS": ("pipeline.separate.catalogue", "SEPARATOR_FACTS"),
    "estimated_seconds": ("pipeline.separate.catalogue", "estimated_seconds"),
    "stages_for": ("pipeline.separate.catalogue", "stages_for"),
    "licence_of": ("pipeline.separate.catalogue", "licence_of"),
    "separator_offers": ("pipeline.separate.choose", "offers"),
    "add_remix_options": ("pipeline.cli", "add_remix_options"),
    "run_cli": ("pipeline.cli", "main"),
}

__all__ = [
    # remixing
    "metalize",
    "preload",
    "replay",
    "RemixOptions",
    "DEFAULT_OPTIONS",
    "RemixResult",
    "Analysis",
    "SeparatorInfo",
    "Stems",
    "STYLES",  # style name -> its one-line description, from the style presets
    "FEELS",
    "OUTPUT_FORMATS",  # format name -> OutputFormat (label, content type, how it is written)
    "OutputFormat",
    "TRANSCODE_SOURCES",
    "FORMAT_CHOICES",
    "FORMAT_LABELS",
    "spelled",  # names listed for a message: "wav, mp3 or flac"
    "SEPARATORS",
    "SEPARATOR_METHODS",
    "STAGES",
    "PLAY_STAGES",
    "STEM_NAMES",
    "jsonable",
    # errors and their codes
    "PipelineError",
    "Interrupted",
    "ERROR_CODES",
    "EMPTY_FILE",
    "NOT_AUDIO",
    "CORRUPT_AUDIO",
    "UNSUPPORTED_FORMAT",
    "TOO_SHORT",
    "SILENT",
    "MIN_SONG_DURATION_S",
    "SILENT_PEAK_DBFS",
    "TOO_LONG",
    "SEPARATION_FAILED",
    "ANALYSIS_FAILED",
    "RENDER_FAILED",
    "ASSETS_MISSING",
    "INVALID_OPTIONS",
    "OUT_OF_MEMORY",
    "CORRUPT_MIDI",
    "UNSUPPORTED_MIDI",
    "MIDI_TOO_LONG",
    # the files it reads and keeps
    "asset_layout",
    *_LAZY,
]


def __getattr__(name: str) -> object:
    if name not in _LAZY:
        raise AttributeError(f"module 'pipeline' has no attribute {name!r}")
    module_name, attribute = _LAZY[name]
    module = import_module(module_name)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value
    return value
