"""The formats a remix can be written in: one row each, read by the writer (``audio_io.write_audio``), the
options' check and the web app (its re-encoder ``jobs.transcode``, choices, content types, messages).

A format soundfile writes names its libsndfile ``(format, subtype)``; the others are written by ffmpeg with
``ffmpeg_args`` (codec, bit rate, muxer). Adding a format is one row here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class OutputFormat:
    name: str  # what options, URLs and storage keys say: "wav"
    label: str  # what a listener reads: "WAV"
    content_type: str
    ffmpeg_args: tuple[str, ...]  # encoder and muxer arguments, after the input
    soundfile: tuple[str, str] | None = None  # libsndfile (format, subtype) when soundfile writes it
    compression_level: float | None = None  # libsndfile's compression level (0..1), where the format has one
    lossless: bool = False  # a good source to re-encode from

    @property
    def extension(self) -> str:
        return f".{self.name}"


# How hard FLAC files are compressed (libsndfile's 0..1 maps onto libFLAC's levels 0..8): 0.5 is libFLAC's
# level 4 where libsndfile's default is level 5. On a remix's five 16-bit stems of a 3-minute song 0.86
# CPU-s against 1.06, files 0.5 % larger (56.7 against 56.4 MB); on the stem cache's four 24-bit stems 1.00
# against 1.35 CPU-s, 0.4 % larger. The samples are the same (FLAC is lossless): only the encoder's search
# for the smallest encoding differs. Every FLAC file the pipeline writes uses it.
FLAC_COMPRESSION_LEVEL = 0.5

OUTPUT_FORMATS: dict[str, OutputFormat] = {
    row.name: row
    for row in (
        OutputFormat(
            "wav", "WAV", "audio/wav", ("-c:a", "pcm_s16le", "-f", "wav"), ("WAV", "PCM_16"), lossless=True
        ),
        OutputFormat("mp3", "MP3", "audio/mpeg", ("-c:a", "libmp3lame", "-b:a", "320k", "-f", "mp3")),
        OutputFormat(
            "flac",
            "FLAC",
            "audio/flac",
            ("-c:a", "flac", "-f", "flac"),
            ("FLAC", "PCM_16"),
            compression_level=FLAC_COMPRESSION_LEVEL,
            lossless=True,
        ),
    )
}
# Re-encoding reads a lossless copy first.
TRANSCODE_SOURCES: tuple[str, ...] = tuple(
    sorted(OUTPUT_FORMATS, key=lambda name: not OUTPUT_FORMATS[name].lossless)
)


def spelled(names: Iterable[str], last: str = "or") -> str:
    """``wav, mp3 or flac``: names listed for a message."""
    names = list(names)
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} {last} {names[-1]}"


FORMAT_CHOICES = spelled(OUTPUT_FORMATS)  # "wav, mp3 or flac"
FORMAT_LABELS = spelled(row.label for row in OUTPUT_FORMATS.values())  # "WAV, MP3 or FLAC"
