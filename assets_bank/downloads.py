"""Handing an asset's file to a browser or API client: a signed-URL redirect on S3, a stream locally."""

from __future__ import annotations

from urllib.parse import quote

from django.conf import settings
from django.http import FileResponse, HttpResponse, HttpResponseRedirect

from assets_bank.models import Asset

CONTENT_TYPES = {
    "wav": "audio/wav",
    "flac": "audio/flac",
    "aiff": "audio/aiff",
    "ogg": "audio/ogg",
    "midi": "audio/midi",
}


def download_name(asset: Asset) -> str:
    return f"{asset.name}{asset.extension}"


def serve_asset(asset: Asset, *, as_attachment: bool = True) -> HttpResponse:
    """The asset's bytes (inline for the admin's audio player, attachment for downloads)."""
    content_type = CONTENT_TYPES.get(asset.format, "application/octet-stream")
    filename = download_name(asset)
    storage = asset.file.storage
    if settings.METALIZER_STORAGE == "s3":
        kind = "attachment" if as_attachment else "inline"
        url = storage.url(
            asset.file.name,
            parameters={
                "ResponseContentDisposition": f"{kind}; filename*=UTF-8''{quote(filename)}",
                "ResponseContentType": content_type,
            },
            expire=settings.METALIZER_S3_SIGNED_URL_TTL_S,
        )
        return HttpResponseRedirect(url)
    return FileResponse(
        storage.open(asset.file.name, "rb"),
        as_attachment=as_attachment,
        filename=filename,
        content_type=content_type,
    )
