"""Handing an asset's file to a browser or API client (``metalizer_site.downloads`` serves it)."""

from __future__ import annotations

from django.http import HttpResponse

from assets_bank.models import Asset
from metalizer_site.downloads import serve_stored

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
    return serve_stored(
        asset.file.name,
        download_name(asset),
        content_type,
        attachment=as_attachment,
        storage=asset.file.storage,
    )
