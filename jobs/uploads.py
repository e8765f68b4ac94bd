"""An upload handler that enforces the byte cap while the body streams in, never after.

It runs first in ``FILE_UPLOAD_HANDLERS``. A request whose declared length is already over the cap is
answered without reading the body at all (``handle_raw_input`` short-circuits the parser); a body without
a usable length (chunked) is counted chunk by chunk and the upload stops as soon as it passes the cap.
Either way ``request.upload_too_large`` is set and the view answers 413.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest, QueryDict
from django.utils.datastructures import MultiValueDict

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
