"""Every error code a job, a song upload or the jobs API can end with: what it means and what to do about it.

``Job.error_code`` and the API's error ``code`` hold these codes; the job page shows a failed job's advice.
The pipeline names its own codes (``pipeline.ERROR_CODES``; it cannot import Django) and they are listed here
with their advice; the codes only the web app raises are defined here. ``jobs/tests/test_error_codes.py``
reads the source for every code the pipeline and the jobs app raise and checks each has an entry.
"""

from __future__ import annotations

from dataclasses import dataclass

import pipeline
from metalizer_site.uploads import FILE_TOO_LARGE, NO_FILE

MAX_CODE_LENGTH = 64  # Job.error_code's column

# What a job can end with besides the pipeline's own errors.
CANCELLED = "cancelled"
TIMEOUT = "timeout"
WORKER_LOST = "worker_lost"
QUEUE_LOST = "queue_lost"
QUEUE_UNAVAILABLE = "queue_unavailable"
STORAGE_UNAVAILABLE = "storage_unavailable"
TEMPORARY_ERROR = "temporary_error"
INTERNAL_ERROR = "internal_error"
# What a re-style or a download can be refused with.
NOT_FOUND = "not_found"
NOT_READY = "not_ready"
SOURCE_UNAVAILABLE = "source_unavailable"
JOB_FAILED = "job_failed"
JOB_CANCELLED = "job_cancelled"
FORBIDDEN = "forbidden"
PART_UNAVAILABLE = "part_unavailable"
FORMAT_UNAVAILABLE = "format_unavailable"
INVALID_PART = "invalid_part"
INVALID_FORMAT = "invalid_format"
# What the admission policy (jobs.admission) refuses an upload or a re-style with (HTTP 429).
THROTTLED = "throttled"
TOO_MANY_JOBS = "too_many_unfinished_jobs"
QUEUED_AUDIO_LIMIT = "queued_audio_limit"


@dataclass(frozen=True)
class ErrorCode:
    code: str
    message: str  # what happened, in plain words (what is stored when nothing more specific is said)
    advice: str  # what the listener (or the API's caller) can do about it


DEFAULT_ADVICE = "Upload the song again; if it keeps failing, try another song or a shorter part of it."
ENTRIES = (
    # The pipeline's codes: the song itself, or playing it.
    ErrorCode(
        pipeline.EMPTY_FILE,
        "The file is empty.",
        "Upload the song file itself; this one was empty.",
    ),
    ErrorCode(
        pipeline.NOT_AUDIO,
        "The file is not audio.",
        "Export or convert the song to MP3, WAV or FLAC and upload that.",
    ),
    ErrorCode(
        pipeline.CORRUPT_AUDIO,
        "The audio file is damaged or incomplete.",
        "The file looks damaged or cut off. Copy or export it again, then upload the new file.",
    ),
    ErrorCode(
        pipeline.UNSUPPORTED_FORMAT,
        "This kind of audio file is not supported.",
        "Convert the song to MP3, WAV or FLAC and upload that.",
    ),
    ErrorCode(
        pipeline.TOO_SHORT,
        "The song is too short to remix.",
        "Upload a longer piece: at least a few seconds of music.",
    ),
    ErrorCode(
        pipeline.SILENT,
        "The song is silent: there is nothing to play.",
        "Check the file plays with sound (a recording that stayed muted, or the wrong file), then upload it "
        "again.",
    ),
    ErrorCode(
        pipeline.TOO_LONG,
        "The song is longer than the length limit.",
        "Trim the song (or upload one part of it) so it fits within the length limit.",
    ),
    ErrorCode(
        pipeline.SEPARATION_FAILED,
        "Splitting the song into vocals, drums, bass and the rest failed.",
        "Try again; if it fails again, try another song or a different part of it.",
    ),
    ErrorCode(
        pipeline.ANALYSIS_FAILED,
        "The song's beat, key and sections could not be worked out.",
        "Songs with a clear beat work best. Try another part of the song or another song.",
    ),
    ErrorCode(
        pipeline.RENDER_FAILED,
        "Playing the metal parts failed.",
        "Try again with another style or intensity.",
    ),
    ErrorCode(
        pipeline.ASSETS_MISSING,
        "The server is missing the sound packs the band plays.",
        "The server is missing sound packs; tell whoever runs this Metalizer.",
    ),
    ErrorCode(
        pipeline.INVALID_OPTIONS,
        "An option is not valid.",
        "Go back and pick the options again.",
    ),
    ErrorCode(
        pipeline.OUT_OF_MEMORY,
        "The server ran out of memory on this song.",
        "Try again in a few minutes; if it fails again, upload a shorter song or one part of it.",
    ),
    # The sound bank's MIDI seeds: refused at upload (the asset API answers with these), skipped by a job.
    ErrorCode(
        pipeline.CORRUPT_MIDI,
        "The MIDI file is damaged or not a standard MIDI file.",
        "Export the riff again from your sequencer as a standard MIDI file (.mid) and upload that.",
    ),
    ErrorCode(
        pipeline.UNSUPPORTED_MIDI,
        "This kind of MIDI file cannot be played as a riff.",
        "Save it as a type 0 or 1 MIDI file that counts time in ticks per beat, then upload it again.",
    ),
    ErrorCode(
        pipeline.MIDI_TOO_LONG,
        "The MIDI file is longer or larger than a riff seed may be.",
        "Keep a riff seed to a few bars of notes; split a long file into several riffs.",
    ),
    # Uploads.
    ErrorCode(
        FILE_TOO_LARGE,
        "The file is larger than the upload limit.",
        "Upload a smaller file: a shorter part of the song, or MP3 instead of WAV.",
    ),
    ErrorCode(NO_FILE, "No song file was sent.", "Choose a song file to upload."),
    # The web app: the queue, the workers, the file store.
    ErrorCode(CANCELLED, "The remix was cancelled.", "Upload the song again to remix it."),
    ErrorCode(
        TIMEOUT,
        "The remix took longer than the time limit and was stopped.",
        "Try a shorter song, or trim this one.",
    ),
    ErrorCode(
        WORKER_LOST,
        "The worker processing this song stopped unexpectedly, and it happened again after a retry. "
        "Please upload the song again; if it keeps failing, try a shorter song.",
        "Upload the song again; if it keeps failing, try a shorter song.",
    ),
    ErrorCode(
        QUEUE_LOST,
        "This song waited too long for a free worker and was dropped. "
        "Please upload it again in a few minutes.",
        "Upload the song again in a few minutes.",
    ),
    ErrorCode(
        QUEUE_UNAVAILABLE,
        "The remix queue is not reachable right now. Please try again in a minute.",
        "Upload the song again in a minute.",
    ),
    ErrorCode(
        STORAGE_UNAVAILABLE,
        "The file store is not reachable right now. Please try again in a minute.",
        "Try again in a minute.",
    ),
    ErrorCode(
        TEMPORARY_ERROR,
        "A temporary problem kept interrupting this remix. Please try again later.",
        "Upload the song again in a few minutes.",
    ),
    ErrorCode(
        INTERNAL_ERROR,
        "Something went wrong on our side while remixing this song. Please try again later.",
        "Upload the song again later; if it keeps failing, try another song.",
    ),
    # Re-styles and downloads of a job.
    ErrorCode(NOT_FOUND, "No such job (it may have expired).", "Upload the song again."),
    ErrorCode(NOT_READY, "The remix is not ready yet.", "Wait until the remix has finished."),
    ErrorCode(
        SOURCE_UNAVAILABLE,
        "The song of this remix is no longer stored.",
        "Upload the song again to play it in another style.",
    ),
    ErrorCode(JOB_FAILED, "This remix failed.", "Upload the song again, or try another song."),
    ErrorCode(JOB_CANCELLED, "This remix was cancelled.", "Upload the song again to remix it."),
    ErrorCode(
        FORBIDDEN,
        "Only the browser session or API token that created this job may do that.",
        "Use the browser or token that uploaded the song, or upload it again.",
    ),
    ErrorCode(
        PART_UNAVAILABLE,
        "This part of the remix is not stored.",
        "Ask for a part the job's links list; a part gone from storage comes back only by remixing again.",
    ),
    ErrorCode(
        FORMAT_UNAVAILABLE,
        "The part could not be converted to that format.",
        "Download it in another format (WAV, MP3 or FLAC).",
    ),
    ErrorCode(INVALID_PART, "There is no such part.", "Ask for one of the parts the API lists."),
    ErrorCode(INVALID_FORMAT, "There is no such format.", "Ask for one of the formats the API lists."),
    # Admission: too much asked for lately (jobs.admission).
    ErrorCode(
        THROTTLED,
        "Too many uploads and re-styles in a short time.",
        "Wait as long as the Retry-After header (or the message) says, then try again.",
    ),
    ErrorCode(
        TOO_MANY_JOBS,
        "As many remixes as one listener may have are already waiting or in progress.",
        "Wait until one of your remixes has finished (or cancel one), then try again.",
    ),
    ErrorCode(
        QUEUED_AUDIO_LIMIT,
        "The remixes waiting or in progress already hold as much music as one listener may queue.",
        "Wait until one of your remixes has finished, or upload a shorter song.",
    ),
)
CODES: dict[str, ErrorCode] = {entry.code: entry for entry in ENTRIES}


def message(code: str) -> str:
    """The code's own message (for a code without an entry, a generic one)."""
    entry = CODES.get(code)
    return entry.message if entry else "Something went wrong while remixing this song."


def advice(code: str) -> str:
    """What to try after a failure with ``code``."""
    entry = CODES.get(code)
    return entry.advice if entry else DEFAULT_ADVICE
