"""The one place song uploads are judged: size, type, content, and a real decode probe.

Used by the API and the upload page. Every refusal is an ``UploadRejected`` (``metalizer_site.uploads``,
shared with the asset bank) with a stable code, a message a listener understands and the HTTP status to
answer with.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from metalizer_site.error_codes import NO_FILE
from metalizer_site.uploads import UploadRejected, clean_name, local_copy, sniff_audio, too_large
from pipeline import (
    ACCEPTED_DESCRIPTION,
    ACCEPTED_EXTENSIONS,
    EMPTY_FILE,
    NOT_AUDIO,
    SILENT_PEAK_DBFS,
    UNSUPPORTED_FORMAT,
    AudioInfo,
    PipelineError,
    format_duration,
    probe,
)


@dataclass(frozen=True)
class ValidatedUpload:
    file: UploadedFile
    name: str  # the original name, cleaned for display and storage
    size: int
    info: AudioInfo


def validate_audio_upload(
    uploaded: UploadedFile | None,
    *,
    max_bytes: int | None = None,
    max_duration_s: float | None = None,
    min_duration_s: float | None = None,
) -> ValidatedUpload:
    """Check an uploaded song end to end; raises UploadRejected, returns what was learned."""
    max_bytes = max_bytes or settings.METALIZER_UPLOAD_MAX_BYTES
    max_duration_s = max_duration_s or settings.METALIZER_MAX_DURATION_S
    min_duration_s = settings.METALIZER_UPLOAD_MIN_DURATION_S if min_duration_s is None else min_duration_s
    if uploaded is None:
        raise UploadRejected(NO_FILE, "Choose a song file to upload (field name: file).")
    name = clean_name(uploaded.name or "song")
    size = int(uploaded.size or 0)
    if size == 0:
        raise UploadRejected(EMPTY_FILE, "The file is empty (0 bytes).")
    if size > max_bytes:
        raise too_large(max_bytes)
    extension = Path(name).suffix.lower()
    if extension not in ACCEPTED_EXTENSIONS:
        shown = extension or "(no extension)"
        raise UploadRejected(
            UNSUPPORTED_FORMAT,
            f"Files of type {shown} are not supported. Please upload {ACCEPTED_DESCRIPTION}.",
        )
    uploaded.seek(0)
    head = uploaded.read(16)
    uploaded.seek(0)
    if sniff_audio(head) is None:
        raise UploadRejected(
            NOT_AUDIO, f"This file does not look like audio. Please upload {ACCEPTED_DESCRIPTION}."
        )
    with local_copy(uploaded) as path:
        try:
            info = probe(
                path,
                max_duration_s=max_duration_s,
                min_duration_s=min_duration_s,
                min_peak_dbfs=SILENT_PEAK_DBFS,  # refused at the door: a remix of silence is noise
            )
        except PipelineError as exc:
            raise UploadRejected(exc.code, exc.message) from None
    return ValidatedUpload(file=uploaded, name=name, size=size, info=info)


def duration_limit_text() -> str:
    return format_duration(settings.METALIZER_MAX_DURATION_S)
