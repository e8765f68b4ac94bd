"""Finding, naming and (when asked for another format) re-encoding a finished job's downloads."""

from __future__ import annotations

import tempfile
from pathlib import Path

from django.db import transaction

from jobs.models import AUDIO_FORMATS, Job
from jobs.storage import download_file, result_prefix, upload_file
from jobs.transcode import transcode

CONTENT_TYPES = {"wav": "audio/wav", "mp3": "audio/mpeg", "flac": "audio/flac", "zip": "application/zip"}
PART_LABELS = {
    "mix": "remix",
    "vocals": "vocals",
    "drums": "drums",
    "guitars": "guitars",
    "bass": "bass",
    "other": "other",
    "midi": "MIDI",
}


class PartUnavailable(Exception):
    pass


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
    if part == "midi" or fmt not in AUDIO_FORMATS:
        raise PartUnavailable(part)
    source_fmt = next(f for f in ("wav", "flac", "mp3") if f in formats) if formats else None
    if source_fmt is None:
        raise PartUnavailable(part)
    folder = result_prefix(job.pk) if part == "mix" else f"{result_prefix(job.pk)}/stems"
    with tempfile.TemporaryDirectory(prefix="metalizer-transcode-") as tmp:
        src = download_file(formats[source_fmt], Path(tmp) / f"src.{source_fmt}")
        dst = transcode(src, Path(tmp) / f"{part}.{fmt}", fmt)
        key = upload_file(dst, f"{folder}/{part}.{fmt}")
    with transaction.atomic():
        fresh = Job.objects.select_for_update().get(pk=job.pk)
        outputs = dict(fresh.outputs)
        outputs[part] = {**(outputs.get(part) or {}), fmt: key}
        fresh.outputs = outputs
        fresh.save(update_fields=["outputs"])
    job.outputs = outputs
    return key
