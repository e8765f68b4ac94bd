"""The one place upload files are judged: size, type, content, and a real decode probe.

Used by the API, the upload page and (later) the asset bank. Every refusal is an ``UploadRejected``
with a stable code, a message a listener understands and the HTTP status to answer with.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from pipeline.audio_io import ACCEPTED_DESCRIPTION, ACCEPTED_EXTENSIONS, AudioInfo, format_duration, probe
from pipeline.errors import EMPTY_FILE, NOT_AUDIO, UNSUPPORTED_FORMAT, PipelineError

FILE_TOO_LARGE = "file_too_large"
NO_FILE = "no_file"


class UploadRejected(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass(frozen=True)
class ValidatedUpload:
    file: UploadedFile
    name: str  # the original name, cleaned for display and storage
    size: int
    info: AudioInfo


def too_large(max_bytes: int) -> UploadRejected:
    return UploadRejected(
        FILE_TOO_LARGE, f"The file is larger than the {human_bytes(max_bytes)} limit.", status=413
    )


def human_bytes(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}".replace(".0 ", " ")
        n /= 1024
    return f"{n} bytes"


def sniff_audio(head: bytes) -> str | None:
    """The audio container the first bytes announce, or None when they look like something else."""
    if head[:4] == b"RIFF" and head[8:12] in (b"WAVE", b"RF64") or head[:4] in (b"RF64", b"BW64"):
        return "wav"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"OggS":
        return "ogg"
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "aiff"
    if head[4:8] == b"ftyp":
        return "m4a"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "webm"
    if head[:3] == b"ID3":
        return "mp3"  # an ID3 tag may front MP3 (or, rarely, AAC/FLAC); the probe decides
    if len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xF6) == 0xF0:
        return "aac"  # ADTS sync
    if len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0:
        return "mp3"  # MPEG audio frame sync
    return None


def clean_name(name: str) -> str:
    """The base name only, without path parts or control characters, at most 200 characters."""
    base = Path(name.replace("\\", "/")).name
    base = "".join(ch for ch in base if ch.isprintable() and ch not in '/\\:*?"<>|').strip(" .")
    stem, suffix = Path(base).stem[:180], Path(base).suffix[:16]
    return (stem or "song") + suffix.lower()


@contextmanager
def local_path(uploaded: UploadedFile) -> Iterator[Path]:
    """A path on disk holding the upload's bytes (the temp file itself when Django already made one)."""
    temp_path = getattr(uploaded, "temporary_file_path", None)
    if temp_path is not None:
        yield Path(temp_path())
        return
    suffix = Path(uploaded.name or "").suffix
    with tempfile.NamedTemporaryFile(suffix=suffix) as tmp:
        uploaded.seek(0)
        shutil.copyfileobj(uploaded, tmp)
        tmp.flush()
        uploaded.seek(0)
        yield Path(tmp.name)


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
    with local_path(uploaded) as path:
        try:
            info = probe(path, max_duration_s=max_duration_s, min_duration_s=min_duration_s)
        except PipelineError as exc:
            raise UploadRejected(exc.code, exc.message) from None
    return ValidatedUpload(file=uploaded, name=name, size=size, info=info)


def duration_limit_text() -> str:
    return format_duration(settings.METALIZER_MAX_DURATION_S)
