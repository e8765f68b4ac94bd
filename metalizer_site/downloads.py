"""Handing a stored file to a browser or API client: a signed-URL redirect on S3, a stream locally.

Both apps serve through here (a job's results, an asset bank file), so downloads behave the same wherever
the files live: always named, always ``attachment`` unless a page shows the file inline.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import IO
from urllib.parse import quote

from django.conf import settings
from django.core.files.storage import Storage, default_storage
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.utils.http import content_disposition_header

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
CHUNK = 256 * 1024


def serve_stored(
    key: str,
    filename: str,
    content_type: str,
    *,
    request: HttpRequest | None = None,
    attachment: bool = True,
    storage: Storage | None = None,
) -> HttpResponse:
    """The stored file ``key`` as an attachment (or ``inline``, for what a page shows), named ``filename``.

    On S3 a redirect to a short-lived signed URL that names the file; locally a stream, which honours a
    single byte Range of ``request`` (when given) so players can seek.
    """
    storage = storage or default_storage
    if settings.METALIZER_STORAGE == "s3":
        kind = "attachment" if attachment else "inline"
        disposition = f"{kind}; filename*=UTF-8''{quote(filename)}"
        url = storage.url(
            key,
            parameters={"ResponseContentDisposition": disposition, "ResponseContentType": content_type},
            expire=settings.METALIZER_S3_SIGNED_URL_TTL_S,
        )
        return HttpResponseRedirect(url)
    if request is None:
        return FileResponse(
            storage.open(key, "rb"), as_attachment=attachment, filename=filename, content_type=content_type
        )
    size = storage.size(key)
    span = parse_range(request.META.get("HTTP_RANGE", ""), size)
    if span is None:
        response: HttpResponse = FileResponse(
            storage.open(key, "rb"),
            as_attachment=attachment,
            filename=filename,
            content_type=content_type,
        )
    elif span == "unsatisfiable":
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response
    else:
        start, end = span
        fh = storage.open(key, "rb")
        fh.seek(start)
        response = StreamingHttpResponse(_read(fh, end - start + 1), status=206, content_type=content_type)
        response["Content-Length"] = str(end - start + 1)
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Content-Disposition"] = content_disposition_header(attachment, filename)
    response["Accept-Ranges"] = "bytes"
    return response


def parse_range(header: str, size: int) -> tuple[int, int] | str | None:
    """(start, end) inclusive for one ``bytes=`` range; "unsatisfiable"; or None to send the whole file."""
    match = _RANGE.match(header.strip())
    if not match or size == 0:
        return None
    first, last = match.groups()
    if first == "" and last == "":
        return None
    if first == "":  # suffix range: the last N bytes
        length = int(last)
        if length == 0:
            return "unsatisfiable"
        return max(0, size - length), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        return "unsatisfiable"
    return start, end


def _read(fh: IO[bytes], remaining: int) -> Iterator[bytes]:
    try:
        while remaining > 0:
            chunk = fh.read(min(CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk
    finally:
        fh.close()
