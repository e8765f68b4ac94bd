"""The one validation path for every asset coming in: admin form, API upload and ZIP import.

``validate_asset_file`` judges a file on disk (size, content, decode, duration, MIDI facts, role, duplicate)
and returns what it learned; every refusal is an ``AssetRejected`` carrying a stable code, a message staff
understand and the HTTP status the API answers with. A file is accepted only once the pipeline has loaded it
as the band will play it (``pipeline.check_bank_file``: a riff parsed into notes, a sample decoded, within
the pipeline's bounds), so nothing the bank takes in can stop a remix.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import mido
from django.conf import settings

from assets_bank.models import PACK_NOUNS, Asset, Kind, describe_roles, role_suits_kind
from metalizer_site.error_codes import FILE_TOO_LARGE
from metalizer_site.uploads import UploadRejected, clean_name, human_bytes, sniff_audio
from pipeline import (
    ACCEPTED_DESCRIPTION,
    ACCEPTED_FORMATS,
    SAMPLE_STORE_FORMAT,
    AudioInfo,
    PipelineError,
    check_bank_file,
    convert_sample,
    open_seed,
    probe,
    sample_needs_conversion,
)
from pipeline import ACCEPTED_EXTENSIONS as ACCEPTED_EXTENSIONS_OF_SONGS

# Samples (drum hits, guitar notes) may ring for a while; an impulse response is a short tail.
MAX_SAMPLE_DURATION_S = 20.0
MAX_IR_DURATION_S = 5.0
MIN_DURATION_S = 0.005
# A sample may be anything a song may be (the song decoder's one list); the pipeline says which formats the
# band plays as they are and converts the others (``pipeline.sample_needs_conversion``, ``convert_sample``).
MIDI_EXTENSIONS = (".mid", ".midi")
AUDIO_EXTENSIONS: tuple[str, ...] = ACCEPTED_EXTENSIONS_OF_SONGS
ACCEPTED_EXTENSIONS = AUDIO_EXTENSIONS + MIDI_EXTENSIONS
TIME_SIGNATURE_DENOMINATORS = (1, 2, 4, 8, 16, 32)


class AssetRejected(UploadRejected):
    """An asset file refused: same shape as a refused song upload (code, message, HTTP status)."""


@dataclass(frozen=True)
class AssetFacts:
    """What validation learned about a file; the Asset row's descriptive fields."""

    format: str  # the stored file's: wav, flac, aiff, ogg or midi
    size_bytes: int
    sha256: str
    sample_rate: int | None = None
    channels: int | None = None
    duration: float | None = None
    tempo: float | None = None
    time_signature: str = ""
    bars: float | None = None
    note_min: int | None = None
    note_max: int | None = None
    original_format: str = ""  # what the upload was when it was converted (its label: "MP3"), else ""

    def model_fields(self) -> dict[str, Any]:
        return asdict(self)


def max_bytes() -> int:
    return int(settings.METALIZER_ASSET_MAX_BYTES)


def too_large(size: int | None = None) -> AssetRejected:
    shown = f" ({human_bytes(size)})" if size else ""
    return AssetRejected(
        FILE_TOO_LARGE, f"The file{shown} is larger than the {human_bytes(max_bytes())} asset limit."
    )


def check_size(size: int) -> None:
    """Refuse empty or oversize files from their declared size, before their bytes are read."""
    if size <= 0:
        raise AssetRejected("empty_file", "The file is empty (0 bytes).")
    if size > max_bytes():
        raise too_large(size)


def check_role(kind: str, role: str) -> None:
    if kind not in Kind.values:
        raise AssetRejected(
            "invalid_kind", f"Unknown pack kind '{kind}'. Choose one of: {', '.join(Kind.values)}."
        )
    if not role_suits_kind(role, kind):
        raise AssetRejected(
            "invalid_role",
            f"Role '{role}' does not suit a {PACK_NOUNS[Kind(kind)]}. Use {describe_roles(kind)}.",
        )


def check_duplicate(sha256: str, *, exclude_pk: int | None = None) -> None:
    existing = Asset.objects.select_related("pack").filter(sha256=sha256).exclude(pk=exclude_pk).first()
    if existing is not None:
        raise AssetRejected(
            "duplicate_asset",
            f"This file is already in the bank as asset #{existing.pk}: '{existing.name}' ({existing.role}) "
            f"in pack '{existing.pack.name}'.",
        )


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class JudgedFile:
    """An accepted file, as the bank stores it: the upload itself, or the sample converted from it."""

    path: Path
    name: str  # the original name's stem with the stored format's extension: "kick.mp3" -> "kick.flac"
    facts: AssetFacts

    @property
    def converted(self) -> bool:
        return bool(self.facts.original_format)

    def conversion_note(self, original_name: str) -> str:
        """What staff read when a file was converted ("" when not)."""
        if not self.converted:
            return ""
        return (
            f"{original_name} ({self.facts.original_format}) was converted to {self.facts.format.upper()} "
            f"as {self.name}: the band plays {self.facts.format.upper()} samples."
        )


@contextmanager
def judged_asset_file(
    path: Path, *, name: str, kind: str, role: str, check_duplicates: bool = True
) -> Iterator[JudgedFile]:
    """Judge the file at ``path`` (originally called ``name``) as a ``role`` asset of a ``kind`` pack, and
    yield it as the bank stores it. A sample in a format the band does not play as it is (MP3, M4A, ...) is
    decoded by the song decoder, within the same bounds, into a temporary ``SAMPLE_STORE_FORMAT`` file that
    is judged again as a sample (level, damage) and lives until the ``with`` block ends."""
    path = Path(path)
    check_role(kind, role)
    check_size(path.stat().st_size)
    extension = Path(name).suffix.lower()
    if extension not in ACCEPTED_EXTENSIONS:
        raise AssetRejected(
            "unsupported_format",
            f"Files of type {extension or '(no extension)'} are not supported here. "
            f"Upload audio ({ACCEPTED_DESCRIPTION}) or a standard MIDI file (.mid).",
        )
    is_midi = extension in MIDI_EXTENSIONS
    if is_midi != (kind == Kind.MIDI):
        wanted = "a MIDI file (.mid)" if kind == Kind.MIDI else f"an audio file ({ACCEPTED_DESCRIPTION})"
        raise AssetRejected("wrong_file_type", f"A {PACK_NOUNS[Kind(kind)]} takes {wanted}.")
    stem = Path(clean_name(name)).stem
    if is_midi:
        facts = AssetFacts(
            format="midi", **_file_facts(path, check_duplicates), **midi_facts(path, role=role)
        )
        yield JudgedFile(path, f"{stem}.mid", facts)
        return
    limit = MAX_IR_DURATION_S if kind == Kind.IMPULSE_RESPONSE else MAX_SAMPLE_DURATION_S
    info = _probe_sample(path, max_duration_s=limit)
    if not sample_needs_conversion(info):
        facts = AssetFacts(**_file_facts(path, check_duplicates), **_sample_facts(path, info))
        yield JudgedFile(path, f"{stem}.{info.format}", facts)
        return
    with tempfile.TemporaryDirectory(prefix="metalizer-sample-") as tmp:
        converted = Path(tmp) / f"{stem}.{SAMPLE_STORE_FORMAT}"
        try:
            convert_sample(path, converted, max_duration_s=limit, min_duration_s=MIN_DURATION_S)
        except PipelineError as exc:
            raise AssetRejected(exc.code, exc.message) from None
        played = _probe_sample(converted, max_duration_s=limit)
        facts = AssetFacts(
            **_file_facts(converted, check_duplicates),
            **_sample_facts(converted, played),
            original_format=ACCEPTED_FORMATS[info.format].split(" (")[0],
        )
        yield JudgedFile(converted, converted.name, facts)


def validate_asset_file(
    path: Path, *, name: str, kind: str, role: str, check_duplicates: bool = True
) -> AssetFacts:
    """What ``judged_asset_file`` learns about the file, for a caller that keeps nothing of it."""
    with judged_asset_file(
        path, name=name, kind=kind, role=role, check_duplicates=check_duplicates
    ) as judged:
        return judged.facts


def _file_facts(path: Path, check_duplicates: bool) -> dict[str, Any]:
    sha256 = sha256_of(path)
    if check_duplicates:
        check_duplicate(sha256)
    return {"size_bytes": path.stat().st_size, "sha256": sha256}


def _probe_sample(path: Path, *, max_duration_s: float) -> AudioInfo:
    """Sniff and read a sample through once within its bounds (length, damage), as the song upload does."""
    with path.open("rb") as fh:
        head = fh.read(16)
    if sniff_audio(head) is None:
        raise AssetRejected(
            "not_audio", f"This file does not look like audio (its content is not {ACCEPTED_DESCRIPTION})."
        )
    try:
        return probe(path, max_duration_s=max_duration_s, min_duration_s=MIN_DURATION_S)
    except PipelineError as exc:
        message = exc.message
        if exc.code == "too_long":
            message = f"{exc.message} Samples may last at most {max_duration_s:g} s."
        raise AssetRejected(exc.code, message) from None


def _sample_facts(path: Path, info: AudioInfo) -> dict[str, Any]:
    """The facts of a sample the band plays as it is, once the band has loaded it (``check_bank_file``)."""
    _check_plays(path, midi=False)
    return {
        "format": info.format,
        "sample_rate": info.sample_rate,
        "channels": info.channels,
        "duration": info.duration_s,
    }


def _check_plays(path: Path, *, midi: bool) -> None:
    """Refuse a file the band could not play, with the pipeline's own reason and code."""
    try:
        check_bank_file(path, midi=midi)
    except PipelineError as exc:
        raise AssetRejected(exc.code, exc.message) from None


def midi_facts(path: Path, *, role: str = "riff") -> dict[str, Any]:
    """Tempo, time signature, length in bars and note range of a standard MIDI file, read within the
    pipeline's bounds for a seed (``pipeline.open_seed``) once the arranger has read it as a riff."""
    with path.open("rb") as fh:
        if fh.read(4) != b"MThd":
            raise AssetRejected("not_midi", "This file is not a standard MIDI file (no MThd header).")
    _check_plays(path, midi=True)
    try:
        midi = open_seed(path)
    except PipelineError as exc:
        raise AssetRejected(exc.code, exc.message) from None
    events = [msg for track in midi.tracks for msg in track]
    tempo_msg = next((m for m in events if m.type == "set_tempo" and m.tempo > 0), None)
    tempo = round(mido.tempo2bpm(tempo_msg.tempo), 3) if tempo_msg else 120.0
    ts = next((m for m in events if m.type == "time_signature"), None)
    numerator, denominator = (ts.numerator, ts.denominator) if ts else (4, 4)
    if not (1 <= numerator <= 32 and denominator in TIME_SIGNATURE_DENOMINATORS):
        numerator, denominator = 4, 4  # a meaningless signature: the arranger reads riffs in 4/4 anyway
    notes = [m.note for m in events if m.type == "note_on" and m.velocity > 0]
    if not notes and role != "tempo-template":
        raise AssetRejected("empty_midi", "The MIDI file holds no notes.")
    total_ticks = max((sum(m.time for m in track) for track in midi.tracks), default=0)
    ticks_per_bar = midi.ticks_per_beat * numerator * 4 / denominator  # the division is > 0 (open_seed)
    bars = round(total_ticks / ticks_per_bar, 3) if ticks_per_bar > 0 else 0.0
    return {
        "tempo": tempo,
        "time_signature": f"{numerator}/{denominator}",
        "bars": bars,
        "note_min": min(notes) if notes else None,
        "note_max": max(notes) if notes else None,
    }
