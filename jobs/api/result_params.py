"""What GET /api/jobs/{id}/result can honour: a format a part does not come in is a 400 naming what it
does come in, never silently replaced (``?part=stems&format=mp3`` would otherwise answer the ZIP)."""

from __future__ import annotations

from rest_framework.request import Request

from jobs.models import Job
from jobs.results import PartUnavailable, original_key
from metalizer_site import api_params
from metalizer_site import error_codes as codes
from metalizer_site.api_errors import ApiError

RESULT_PARAMETERS = {"part", "format"}
ZIP_ONLY_PARTS = {"stems": "every stem in one ZIP", "midi": "a ZIP of MIDI files"}


def refuse_unhonourable(request: Request, part: str, requested_format: str | None) -> None:
    """400 for a parameter this call does not take, or a format ``part`` never comes in."""
    api_params.only(request, RESULT_PARAMETERS)
    if requested_format is not None and part in ZIP_ONLY_PARTS:
        raise ApiError(
            codes.INVALID_FORMAT,
            f"The {part} part comes only as {ZIP_ONLY_PARTS[part]}: leave format out.",
        )


def refuse_original_format(job: Job, requested_format: str | None) -> None:
    """The uploaded song is served as it was uploaded: another format is a 400."""
    if requested_format is None:
        return
    try:
        _key, stored = original_key(job)
    except PartUnavailable:
        return  # the view answers the missing song
    if requested_format != stored:
        raise ApiError(
            codes.INVALID_FORMAT,
            f"The original is served as uploaded ({stored}); leave format out or ask for {stored}.",
        )
