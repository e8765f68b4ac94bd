"""What every upload shares, songs and asset bank files alike: the byte cap, enforced while the body streams
in (never after), the refusal shape, and the small checks each app's validator is built from.

``SizeCapUploadHandler`` runs first in ``FILE_UPLOAD_HANDLERS``. A request whose declared length is already
over the cap is answered without reading the body at all (``handle_raw_input`` short-circuits the parser); a
body without a usable length (chunked) is counted chunk by chunk and the upload stops as soon as it passes
the cap. Either way ``request.upload_too_large`` is set and the view answers 413. A view may lower the cap
for its own requests (``request.upload_max_bytes``: the asset API does).

Every refusal is an ``UploadRejected`` with a stable code, a message a person understands and the HTTP
status to answer with (song uploads: ``jobs.validators``; asset files: ``assets_bank.validators``).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest, QueryDict
from django.utils.datastructures import MultiValueDict

from metalizer_site.error_codes import FILE_TOO_LARGE, CodedError

# Room for the multipart boundaries and the small option fields around the file itself.
MULTIPART_OVERHEAD_BYTES = 64 * 1024


def upload_cap(request: HttpRequest | None) -> int:
    """The byte cap for files in this request; a view may lower it by setting ``request.upload_max_bytes``."""
    cap = getattr(request, "upload_max_bytes", None)
    return int(cap) if cap else int(settings.METALIZER_UPLOAD_MAX_BYTES)


def declared_too_large(request: HttpRequest) -> bool:
    """True when the Content-Length header alone proves the body is over the cap."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    return length > upload_cap(request) + MULTIPART_OVERHEAD_BYTES


class SizeCapUploadHandler(FileUploadHandler):
    def __init__(self, request: HttpRequest | None = None) -> None:
        super().__init__(request)
        self.received = 0

    def handle_raw_input(
        self, input_data: Any, META: dict, content_length: int, boundary: bytes, encoding: str | None = None
    ) -> tuple[QueryDict, MultiValueDict] | None:
        if self.request is not None and declared_too_large(self.request):
            self.request.upload_too_large = True
            # Returning a result stops the multipart parser before it reads a single byte of the body.
            return QueryDict(mutable=True), MultiValueDict()
        return None

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > upload_cap(self.request):
            if self.request is not None:
                self.request.upload_too_large = True
            raise StopUpload(connection_reset=True)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


# --- Refusals and the checks validators share -------------------------------------------------------------


class UploadRejected(CodedError):
    """A song or bank file refused before any work was done (its code's row gives the HTTP status)."""


class TooMany(UploadRejected):
    """Refused for now, not for good: the caller asked for too much lately (HTTP 429, ``Retry-After``)."""

    def __init__(self, code: str, message: str, retry_after: int) -> None:
        super().__init__(code, message, retry_after=max(1, int(retry_after)))


def too_large(max_bytes: int) -> UploadRejected:
    return UploadRejected(FILE_TOO_LARGE, f"The file is larger than the {human_bytes(max_bytes)} limit.")


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
def local_copy(uploaded: UploadedFile, *, default_name: str = "upload") -> Iterator[Path]:
    """A path on disk holding the upload's bytes: Django's own temp file when it made one, else a copy under
    the upload's cleaned name in a temporary folder (removed afterwards)."""
    temp_path = getattr(uploaded, "temporary_file_path", None)
    if temp_path is not None:
        yield Path(temp_path())
        return
    with tempfile.TemporaryDirectory(prefix="metalizer-upload-") as tmp:
        path = Path(tmp) / clean_name(uploaded.name or default_name)
        uploaded.seek(0)
        with path.open("wb") as fh:
            shutil.copyfileobj(uploaded, fh)
        uploaded.seek(0)
        yield path
