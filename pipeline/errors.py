"""Errors the pipeline raises: each carries a stable code and a message a listener understands."""

from __future__ import annotations


class PipelineError(Exception):
    """A failure the caller can show to a listener.

    ``code`` is stable and machine-readable (stored on the Job row); ``message`` is plain words.
    ``transient`` marks errors worth retrying (e.g. out of memory on a busy worker), never bad input.
    """

    def __init__(self, code: str, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.transient = transient

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class Interrupted(BaseException):
    """The run was stopped from outside: raised by a caller's progress callback (the job was cancelled) or
    by a caller's time limit. Subclass it for each reason.

    It derives from ``BaseException``, not ``Exception``, on purpose: every ``except Exception`` in the
    pipeline (an analysis library failing on odd input, a damaged seed file...) lets it through untouched,
    so no stage can turn a stop into a song error, and no stage has to remember to re-raise it. The
    pipeline's cleanup (``finally``, ``except BaseException: ...; raise``) still runs.
    """


# Codes used across the pipeline, listed here so callers can rely on them (the web app's registry of codes,
# metalizer_site/error_codes.py, gives each its message and advice).
EMPTY_FILE = "empty_file"
NOT_AUDIO = "not_audio"
CORRUPT_AUDIO = "corrupt_audio"
UNSUPPORTED_FORMAT = "unsupported_format"
TOO_SHORT = "too_short"
TOO_LONG = "too_long"
SILENT = "silent"
SEPARATION_FAILED = "separation_failed"
ANALYSIS_FAILED = "analysis_failed"
RENDER_FAILED = "render_failed"
ASSETS_MISSING = "assets_missing"
INVALID_OPTIONS = "invalid_options"
OUT_OF_MEMORY = "out_of_memory"
# A sound bank file (a MIDI riff seed) the band cannot read: the asset bank refuses it at upload with these,
# and a job skips it.
CORRUPT_MIDI = "corrupt_midi"
UNSUPPORTED_MIDI = "unsupported_midi"
MIDI_TOO_LONG = "midi_too_long"
CODES = (
    EMPTY_FILE,
    NOT_AUDIO,
    CORRUPT_AUDIO,
    UNSUPPORTED_FORMAT,
    TOO_SHORT,
    TOO_LONG,
    SILENT,
    SEPARATION_FAILED,
    ANALYSIS_FAILED,
    RENDER_FAILED,
    ASSETS_MISSING,
    INVALID_OPTIONS,
    OUT_OF_MEMORY,
    CORRUPT_MIDI,
    UNSUPPORTED_MIDI,
    MIDI_TOO_LONG,
)
