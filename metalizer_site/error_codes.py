"""Every error code the site can answer or a job can end with: what it means, what to do about it, and the
HTTP status a request refused with it gets.

``Job.error_code`` and the API's error ``code`` hold these codes; the job page shows a failed job's advice.
The pipeline names its own codes (``pipeline.ERROR_CODES``; it cannot import Django) and they are listed here
with their advice; the codes the web apps (jobs, the sound bank, the API's parameters) raise are here too.

Every refusal the web apps raise is a ``CodedError``: it names a code, and the code's row gives its status
(and its message, when the raise site says nothing more specific). A code without a row cannot be raised
(``CodedError`` refuses it), so a new code cannot ship without a message, advice and status. The API answers
a ``CodedError`` in one place (``metalizer_site.api_errors.exception_handler``); the upload page shows any
``CodedError`` with its status (``jobs.views.upload``).
"""

from __future__ import annotations

from dataclasses import dataclass

import pipeline

MAX_CODE_LENGTH = 64  # Job.error_code's column

# What an upload can be refused with besides what the pipeline finds in the file.
FILE_TOO_LARGE = "file_too_large"
NO_FILE = "no_file"
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
    status: int | None = 400  # the HTTP status of a request refused with it; None: it only ends a job


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
        status=None,
    ),
    ErrorCode(
        pipeline.ANALYSIS_FAILED,
        "The song's beat, key and sections could not be worked out.",
        "Songs with a clear beat work best. Try another part of the song or another song.",
        status=None,
    ),
    ErrorCode(
        pipeline.RENDER_FAILED,
        "Playing the metal parts failed.",
        "Try again with another style or intensity.",
        status=None,
    ),
    ErrorCode(
        pipeline.ASSETS_MISSING,
        "The server is missing the sound packs the band plays.",
        "The server is missing sound packs; tell whoever runs this Metalizer.",
        status=None,
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
        status=None,
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
        status=413,
    ),
    ErrorCode(NO_FILE, "No song file was sent.", "Choose a song file to upload."),
    # The web app: the queue, the workers, the file store.
    ErrorCode(CANCELLED, "The remix was cancelled.", "Upload the song again to remix it.", status=None),
    ErrorCode(
        TIMEOUT,
        "The remix took longer than the time limit and was stopped.",
        "Try a shorter song, or trim this one.",
        status=None,
    ),
    ErrorCode(
        WORKER_LOST,
        "The worker processing this song stopped unexpectedly, and it happened again after a retry. "
        "Please upload the song again; if it keeps failing, try a shorter song.",
        "Upload the song again; if it keeps failing, try a shorter song.",
        status=None,
    ),
    ErrorCode(
        QUEUE_LOST,
        "This song waited too long for a free worker and was dropped. "
        "Please upload it again in a few minutes.",
        "Upload the song again in a few minutes.",
        status=None,
    ),
    ErrorCode(
        QUEUE_UNAVAILABLE,
        "The remix queue is not reachable right now. Please try again in a minute.",
        "Upload the song again in a minute.",
        status=503,
    ),
    ErrorCode(
        STORAGE_UNAVAILABLE,
        "The file store is not reachable right now. Please try again in a minute.",
        "Try again in a minute.",
        status=503,
    ),
    ErrorCode(
        TEMPORARY_ERROR,
        "A temporary problem kept interrupting this remix. Please try again later.",
        "Upload the song again in a few minutes.",
        status=None,
    ),
    ErrorCode(
        INTERNAL_ERROR,
        "Something went wrong on our side while remixing this song. Please try again later.",
        "Upload the song again later; if it keeps failing, try another song.",
        status=500,
    ),
    # Re-styles and downloads of a job.
    ErrorCode(NOT_FOUND, "No such job (it may have expired).", "Upload the song again.", status=404),
    ErrorCode(NOT_READY, "The remix is not ready yet.", "Wait until the remix has finished.", status=409),
    ErrorCode(
        SOURCE_UNAVAILABLE,
        "The song of this remix is no longer stored.",
        "Upload the song again to play it in another style.",
        status=409,
    ),
    ErrorCode(JOB_FAILED, "This remix failed.", "Upload the song again, or try another song.", status=409),
    ErrorCode(JOB_CANCELLED, "This remix was cancelled.", "Upload the song again to remix it.", status=409),
    ErrorCode(
        FORBIDDEN,
        "Only the browser session or API token that created this job may do that.",
        "Use the browser or token that uploaded the song, or upload it again.",
        status=403,
    ),
    ErrorCode(
        PART_UNAVAILABLE,
        "This part of the remix is not stored.",
        "Ask for a part the job's links list; a part gone from storage comes back only by remixing again.",
        status=404,
    ),
    ErrorCode(
        FORMAT_UNAVAILABLE,
        "The part could not be converted to that format.",
        f"Download it in another format ({pipeline.FORMAT_LABELS}).",
        status=500,
    ),
    ErrorCode(INVALID_PART, "There is no such part.", "Ask for one of the parts the API lists."),
    ErrorCode(INVALID_FORMAT, "There is no such format.", "Ask for one of the formats the API lists."),
    # Admission: too much asked for lately (jobs.admission).
    ErrorCode(
        THROTTLED,
        "Too many uploads and re-styles in a short time.",
        "Wait as long as the Retry-After header (or the message) says, then try again.",
        status=429,
    ),
    ErrorCode(
        TOO_MANY_JOBS,
        "As many remixes as one listener may have are already waiting or in progress.",
        "Wait until one of your remixes has finished (or cancel one), then try again.",
        status=429,
    ),
    ErrorCode(
        QUEUED_AUDIO_LIMIT,
        "The remixes waiting or in progress already hold as much music as one listener may queue.",
        "Wait until one of your remixes has finished, or upload a shorter song.",
        status=429,
    ),
)
# The sound bank: files, packs and ZIP archives refused (assets_bank.validators, services, archives, api).
BANK_ENTRIES = (
    ErrorCode(
        "empty_midi", "The MIDI file holds no notes.", "Upload a MIDI file with the riff's notes in it."
    ),
    ErrorCode(
        "not_midi",
        "The file is not a standard MIDI file.",
        "Export the riff from your sequencer as a standard MIDI file (.mid).",
    ),
    ErrorCode(
        "wrong_file_type",
        "This kind of pack does not take this kind of file.",
        "Upload audio samples to sample packs and MIDI riffs to MIDI packs.",
    ),
    ErrorCode("invalid_role", "The role is not one this kind of pack has.", "Pick one of the roles listed."),
    ErrorCode(
        "invalid_velocity",
        "The velocity layer is not valid.",
        "Give velocities with 0 <= min <= max <= 1.",
    ),
    ErrorCode(
        "invalid_kind", "The pack holds another kind of sample.", "Upload the file to a pack of its kind."
    ),
    ErrorCode("invalid_pack", "The pack is not valid.", "Give the pack a name (and a kind)."),
    ErrorCode("unknown_pack", "There is no such pack.", "Give the id or slug of a pack the API lists."),
    ErrorCode(
        "name_exists",
        "The bank already holds a sample of this name.",
        "Upload it with overwrite=true to replace it, or give it another name.",
        status=409,
    ),
    ErrorCode(
        "unsupported_media_type",
        "The file is not of a type this call takes.",
        "Send a file of one of the types the call lists.",
        status=415,
    ),
    ErrorCode(
        "duplicate_asset",
        "The pack already holds this file or this role's sample.",
        "Upload another file, or remove the one the pack holds first.",
        status=409,
    ),
    ErrorCode(
        "required_role",
        "Removing this sample would leave a default pack that cannot be played.",
        "Add another sample of the role first, or make another pack the default.",
        status=409,
    ),
    ErrorCode(
        "default_pack",
        "This pack cannot be the default as it is.",
        "Make the pack playable (see what it lacks) and active, then make it the default.",
        status=409,
    ),
    ErrorCode(
        "file_missing", "The asset's file is missing from storage.", "Upload the file again.", status=404
    ),
    ErrorCode(
        "invalid_archive",
        "The archive cannot be read.",
        "Upload a ZIP archive made by the bank's export or a ZIP tool.",
    ),
    ErrorCode(
        "unsafe_archive",
        "The archive is unsafe to unpack.",
        "Pack the files again with a ZIP tool: plain files, relative names, a sensible size.",
    ),
    ErrorCode(
        "empty_archive", "The archive holds no samples or MIDI files.", "Put the pack's files in the ZIP."
    ),
    ErrorCode(
        "invalid_manifest",
        "The archive's manifest (pack.json or kit.json) is not valid.",
        "Fix the manifest the message names, or export the pack again.",
    ),
)
# The API's query parameters.
PARAMETER_ENTRIES = (
    ErrorCode("invalid_filter", "A filter's value is not valid.", "Use one of the values the API lists."),
    ErrorCode("invalid_parameter", "A parameter's value is not valid.", "Use a value the API documents."),
    ErrorCode("invalid_page", "There is no such page.", "Ask for a page the listing's count holds."),
)
CODES: dict[str, ErrorCode] = {entry.code: entry for entry in (*ENTRIES, *BANK_ENTRIES, *PARAMETER_ENTRIES)}


class CodedError(Exception):
    """A refusal or failure the site explains: its ``code`` names a row of ``CODES``, which gives its HTTP
    ``status``; ``message`` says what happened in this case (the row's message when not given);
    ``retry_after`` (seconds) marks a refusal for now, not for good.

    A subclass that always means one thing names its code (``default_code``).
    """

    default_code = ""

    def __init__(self, code: str = "", message: str = "", *, retry_after: int | None = None) -> None:
        code = code or self.default_code
        entry = CODES.get(code)
        if entry is None:
            raise ValueError(f"error code {code!r} has no entry in metalizer_site/error_codes.py")
        self.code = code
        self.message = message or entry.message
        self.retry_after = retry_after
        super().__init__(self.message)

    @property
    def status(self) -> int:
        return CODES[self.code].status or 500


def message(code: str) -> str:
    """The code's own message (for a code without an entry, a generic one)."""
    entry = CODES.get(code)
    return entry.message if entry else "Something went wrong while remixing this song."


def advice(code: str) -> str:
    """What to try after a failure with ``code``."""
    entry = CODES.get(code)
    return entry.advice if entry else DEFAULT_ADVICE
