"""Finding, naming and (when asked for another format) re-encoding a finished job's downloads."""

from __future__ import annotations

import logging
import tempfile
import zipfile
from pathlib import Path

from django.db import transaction
from django.urls import reverse

from jobs.models import Job
from jobs.storage import download_file, result_prefix, upload_file
from jobs.transcode import transcode
from metalizer_site import error_codes as codes
from pipeline import OUTPUT_FORMATS, TRANSCODE_SOURCES, PipelineError, probe

logger = logging.getLogger(__name__)

# What a download is, by its extension: the output formats, the uploaded song's own formats, the rest.
CONTENT_TYPES = {
    **{name: row.content_type for name, row in OUTPUT_FORMATS.items()},
    "wave": "audio/wav",
    "ogg": "audio/ogg",
    "oga": "audio/ogg",
    "opus": "audio/ogg",
    "m4a": "audio/mp4",
    "mp4": "audio/mp4",
    "aac": "audio/aac",
    "aif": "audio/aiff",
    "aiff": "audio/aiff",
    "webm": "audio/webm",
    "zip": "application/zip",
    "png": "image/png",
    "svg": "image/svg+xml",
}
# Parts the result endpoint serves beyond jobs.models.RESULT_PARTS: the uploaded song, every stem in one
# ZIP, and the song picture (waveform, beats, sections, chords).
EXTRA_PARTS = ("original", "stems", "picture")
STEM_PARTS = ("drums", "guitars", "bass", "vocals", "other")
# The song picture's formats (pipeline.picture.PICTURE_LAYOUTS): format -> the picture's name in the result,
# and the type of file each is; "phone" is the PNG drawn for a phone's width.
PICTURE_FORMATS = {"png": "song", "svg": "song_svg", "phone": "song_phone"}
PICTURE_FILE_TYPES = {"png": "png", "svg": "svg", "phone": "png"}
PART_LABELS = {
    "original": "original",
    "stems": "stems",
    "picture": "picture",
    "mix": "remix",
    "vocals": "vocals",
    "drums": "drums",
    "guitars": "guitars",
    "bass": "bass",
    "other": "other",
    "midi": "MIDI",
}


class PartUnavailable(codes.CodedError):
    """The job does not hold ``part`` (in that format)."""

    default_code = codes.PART_UNAVAILABLE

    def __init__(self, part: str, message: str = "") -> None:
        super().__init__(message=message)
        self.part = part


class PartDamaged(PartUnavailable):
    """A stored part no longer decodes (storage handed back damaged bytes): nothing is made from it."""

    def __init__(self, part: str) -> None:
        super().__init__(
            part,
            f"The {PART_LABELS.get(part, part)} stem of this remix is damaged in storage, so the stems ZIP "
            "cannot be made; download the other parts one by one, or remix the song again.",
        )


def result_url(job: Job, part: str, fmt: str | None = None) -> str:
    """The path that downloads ``part`` of ``job`` (in ``fmt``; without one, the part's own format)."""
    url = reverse("job-result", args=[job.pk]) + f"?part={part}"
    return url + f"&format={fmt}" if fmt else url


def default_format(job: Job, part: str) -> str:
    formats = job.outputs.get(part) or {}
    if part == "midi":
        return "zip"
    if job.output_format in formats:
        return job.output_format
    return next(iter(formats), job.output_format)


def download_name(job: Job, part: str, fmt: str) -> str:
    """``<song> (metal, thrash).mp3`` for the mix; ``<song> - drums (metal, thrash).flac`` for a part."""
    song = Path(job.original_name).stem or "song"
    if part == "original":
        return f"{song}.{fmt}"
    tag = f"(metal, {job.style})"
    if part == "mix":
        return f"{song} {tag}.{fmt}"
    return f"{song} - {PART_LABELS.get(part, part)} {tag}.{fmt}"


def result_key(job: Job, part: str, fmt: str) -> str:
    """The storage key of ``part`` in ``fmt``, re-encoding from another format on first request."""
    formats = job.outputs.get(part) or {}
    if not formats:
        raise PartUnavailable(part)
    if fmt in formats:
        return formats[fmt]
    if part == "midi" or fmt not in OUTPUT_FORMATS:
        raise PartUnavailable(part)
    source_fmt = next(f for f in TRANSCODE_SOURCES if f in formats) if formats else None
    if source_fmt is None:
        raise PartUnavailable(part)
    folder = result_prefix(job.pk) if part == "mix" else f"{result_prefix(job.pk)}/stems"
    with tempfile.TemporaryDirectory(prefix="metalizer-transcode-") as tmp:
        src = download_file(formats[source_fmt], Path(tmp) / f"src.{source_fmt}")
        dst = transcode(src, Path(tmp) / f"{part}.{fmt}", fmt)
        key = upload_file(dst, f"{folder}/{part}.{fmt}")
    _record_output(job, part, fmt, key)
    return key


def served_early(job: Job, part: str, fmt: str | None) -> bool:
    """A running job's mix, stored as soon as it was mastered (``jobs.runner.EarlyMix``), is served in the
    format stored (``fmt`` None: its own); every other part and format waits until the job has succeeded."""
    if part != "mix" or job.status != Job.Status.RUNNING or not job.mix_ready:
        return False
    return fmt is None or fmt in job.outputs["mix"]


def original_key(job: Job) -> tuple[str, str]:
    """The uploaded song's storage key and format (its extension), for the A/B player and download."""
    key = job.input_file.name if job.input_file else ""
    if not key:
        raise PartUnavailable("original")
    fmt = Path(key).suffix.lstrip(".").lower() or "wav"
    return key, fmt if fmt in CONTENT_TYPES else "wav"


def picture_key(job: Job, fmt: str = "png") -> str:
    """The song picture (``png``, ``svg`` or ``phone``) drawn by the pipeline."""
    pictures = job.outputs.get("pictures") or {}
    name = PICTURE_FORMATS.get(fmt)
    if name is None or not pictures.get(name):
        raise PartUnavailable("picture")
    return pictures[name]


def stem_parts(job: Job) -> list[str]:
    """The stems this job has, in mixer order."""
    return [part for part in STEM_PARTS if job.outputs.get(part)]


def stems_zip_key(job: Job) -> str:
    """Every stem in one ZIP (``<song> - drums (metal, thrash).flac`` ...), built on first request from stems
    that decode whole (``pipeline.probe``); PartDamaged, and nothing kept, when one does not."""
    cached = (job.outputs.get("stems") or {}).get("zip")
    if cached:
        return cached
    parts = stem_parts(job)
    if not parts:
        raise PartUnavailable("stems")
    with tempfile.TemporaryDirectory(prefix="metalizer-stems-zip-") as tmp:
        zip_path = Path(tmp) / "stems.zip"
        # FLAC/MP3 do not shrink further: store, do not deflate.
        with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_STORED) as zf:
            for part in parts:
                fmt = default_format(job, part)
                local = download_file(job.outputs[part][fmt], Path(tmp) / f"{part}.{fmt}")
                try:
                    probe(local, min_duration_s=0.0)
                except PipelineError as exc:
                    logger.error("job %s: stored %s stem does not decode (%s)", job.pk, part, exc)
                    raise PartDamaged(part) from exc
                zf.write(local, arcname=download_name(job, part, fmt))
        key = upload_file(zip_path, f"{result_prefix(job.pk)}/stems.zip")
    _record_output(job, "stems", "zip", key)
    return key


def _record_output(job: Job, part: str, fmt: str, key: str) -> None:
    with transaction.atomic():
        fresh = Job.objects.select_for_update().get(pk=job.pk)
        outputs = dict(fresh.outputs)
        outputs[part] = {**(outputs.get(part) or {}), fmt: key}
        fresh.outputs = outputs
        fresh.save(update_fields=["outputs"])
    job.outputs = outputs
