"""Reading any common audio file into the pipeline's format, and writing results back out.

``decode`` gives float32 ``(2, n)`` at 44.1 kHz. libsndfile (through soundfile) reads what it can sniff
(WAV, FLAC, Ogg Vorbis/Opus, MP3, AIFF); ffmpeg reads the rest (M4A/AAC, WebM, ...). Files are read block
by block into one preallocated buffer, resampled on the fly with soxr, so a 10-minute song needs about one
copy of its decoded audio (~210 MB) plus small blocks. Every failure becomes a ``PipelineError`` whose
message a listener can act on.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from pipeline.errors import (
    CORRUPT_AUDIO,
    EMPTY_FILE,
    NOT_AUDIO,
    SILENT,
    TOO_LONG,
    TOO_SHORT,
    UNSUPPORTED_FORMAT,
    PipelineError,
)
from pipeline.output_formats import OUTPUT_FORMATS, OutputFormat
from pipeline.types import MIN_SONG_DURATION_S, SAMPLE_RATE

# What an upload may be; the file's content decides, never its name.
ACCEPTED_FORMATS: dict[str, str] = {
    "wav": "WAV",
    "flac": "FLAC",
    "ogg": "Ogg (Vorbis or Opus)",
    "mp3": "MP3",
    "m4a": "M4A / MP4 audio (AAC or ALAC)",
    "aac": "AAC (ADTS)",
    "aiff": "AIFF",
    "webm": "WebM / Matroska audio (Opus or Vorbis)",
}
ACCEPTED_EXTENSIONS: tuple[str, ...] = (
    ".wav",
    ".wave",
    ".flac",
    ".ogg",
    ".oga",
    ".opus",
    ".mp3",
    ".m4a",
    ".mp4",
    ".aac",
    ".aif",
    ".aiff",
    ".webm",
    ".mka",
)
ACCEPTED_DESCRIPTION = "WAV, FLAC, Ogg/Opus, MP3, M4A/AAC, AIFF or WebM"

_BLOCK_FRAMES = 1 << 16
PROBE_DECODE_RATE = 8000  # Hz, mono: probe()'s cheap full decode through ffmpeg
# libsndfile major formats we accept, mapped to ACCEPTED_FORMATS keys.
_SF_FORMATS = {
    "WAV": "wav",
    "WAVEX": "wav",
    "RF64": "wav",
    "W64": "wav",
    "FLAC": "flac",
    "OGG": "ogg",
    "MP3": "mp3",
    "AIFF": "aiff",
}
# ffprobe format_name tokens, mapped to ACCEPTED_FORMATS keys.
_FF_FORMATS = {
    "wav": "wav",
    "flac": "flac",
    "ogg": "ogg",
    "mp3": "mp3",
    "mov": "m4a",
    "mp4": "m4a",
    "m4a": "m4a",
    "aac": "aac",
    "aiff": "aiff",
    "matroska": "webm",
    "webm": "webm",
}
# libsndfile's frame count for a file whose header does not say its length (a FLAC from a streaming encoder
# writes total samples 0 in STREAMINFO, which is legal). soundfile cannot step through such a file (it seeks
# past each block it reads), so ffmpeg reads it, and the length is known once decoded.
_SF_UNKNOWN_FRAMES = 2**63 - 1
# How far the decoded length may fall short of what the file's header promises before we call it cut off.
_TRUNCATION_TOLERANCE_S = 0.5
_TRUNCATION_TOLERANCE_FRACTION = 0.02
# A float file may go over full scale, but not this far (+60 dBFS): samples of 1e30 are damage, not sound, and
# would otherwise reach the separator and fail there with a message about a stem, not the file.
MAX_SAMPLE_MAGNITUDE = 1000.0


@dataclass(frozen=True)
class AudioInfo:
    """What a probe learned about a file, after reading it through once."""

    duration_s: float
    sample_rate: int
    channels: int
    format: str  # a key of ACCEPTED_FORMATS
    codec: str  # e.g. "pcm_16", "vorbis", "aac"
    decoder: str  # "soundfile" or "ffmpeg"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def ffmpeg_available() -> bool:
    """True when both ffmpeg and ffprobe are on PATH."""
    return shutil.which("ffmpeg") is not None and shutil.which("ffprobe") is not None


def format_duration(seconds: float) -> str:
    """Plain words for a duration: '1.4 s', '42 s', '3 min 5 s', '10 min'."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    total = int(round(seconds))
    minutes, secs = divmod(total, 60)
    if minutes == 0:
        return f"{secs} s"
    return f"{minutes} min" if secs == 0 else f"{minutes} min {secs} s"


# ---------------------------------------------------------------------------------------------------------
# Public API


def decode(
    path: str | Path, *, min_duration_s: float = MIN_SONG_DURATION_S, max_duration_s: float | None = None
) -> np.ndarray:
    """Decode ``path`` to float32 ``(2, n)`` at 44.1 kHz, or raise ``PipelineError``."""
    path = Path(path)
    _check_file(path)
    sink = _Sink(SAMPLE_RATE, max_duration_s)
    source = _open_soundfile(path)
    if source is not None:
        _check_declared_length(source.declared_s, max_duration_s)
        sink.reserve(round(source.declared_frames * SAMPLE_RATE / source.sample_rate))
        _read_soundfile(path, source, sink, resample_to=SAMPLE_RATE)
    else:
        info = _ffprobe(path)
        _check_declared_length(info.declared_s, max_duration_s)
        if info.declared_s:
            sink.reserve(round(info.declared_s * SAMPLE_RATE) + SAMPLE_RATE // 10)
        _read_ffmpeg(path, info, sink, sample_rate=SAMPLE_RATE, channels=2, resampler="soxr")
    audio = sink.finish()
    _check_decoded_length(audio.shape[1] / SAMPLE_RATE, min_duration_s, max_duration_s)
    return audio


def probe(
    path: str | Path,
    *,
    max_duration_s: float | None = None,
    min_duration_s: float = MIN_SONG_DURATION_S,
    min_peak_dbfs: float | None = None,
) -> AudioInfo:
    """Check an upload by reading it through once (no resampling, nothing kept) and describe it.

    Sniffs the content, not the name. Raises the same ``PipelineError`` codes as ``decode``, and ``SILENT``
    when ``min_peak_dbfs`` is given and no sample reaches it (a song: ``SILENT_PEAK_DBFS``).
    """
    path = Path(path)
    _check_file(path)
    source = _open_soundfile(path)
    if source is not None:
        _check_declared_length(source.declared_s, max_duration_s)
        counter = _Counter(source.sample_rate, max_duration_s)
        _read_soundfile(path, source, counter, resample_to=None)
        info = _probed_info(source, counter.frames / source.sample_rate, "soundfile")
    else:
        probed = _ffprobe(path)
        _check_declared_length(probed.declared_s, max_duration_s)
        # A cheap full decode (8 kHz mono, default resampler) finds damage and measures the real length.
        counter = _Counter(PROBE_DECODE_RATE, max_duration_s)
        _read_ffmpeg(path, probed, counter, sample_rate=PROBE_DECODE_RATE, channels=1, resampler="swr")
        info = _probed_info(probed, counter.frames / PROBE_DECODE_RATE, "ffmpeg")
    _check_decoded_length(info.duration_s, min_duration_s, max_duration_s)
    if min_peak_dbfs is not None and counter.peak < 10 ** (min_peak_dbfs / 20):
        loudest = (
            "no sound at all" if counter.peak <= 0 else f"its loudest moment is {dbfs(counter.peak):.0f} dBFS"
        )
        raise PipelineError(
            SILENT,
            f"This file is silent ({loudest}): there is nothing to play, so there is nothing to remix.",
        )
    return info


def dbfs(peak: float) -> float:
    """A sample magnitude (1.0 = full scale) in dB relative to full scale."""
    return 20 * math.log10(peak) if peak > 0 else -math.inf


def _probed_info(source: _SfSource | _FfSource, duration_s: float, decoder: str) -> AudioInfo:
    return AudioInfo(
        duration_s=round(duration_s, 3),
        sample_rate=source.sample_rate,
        channels=source.channels,
        format=source.format,
        codec=source.codec,
        decoder=decoder,
    )


def write_audio(
    path: str | Path, audio: np.ndarray, fmt: str = "wav", *, sample_rate: int = SAMPLE_RATE
) -> Path:
    """Write ``(channels, n)`` float audio in the output format ``fmt`` (``output_formats.OUTPUT_FORMATS``:
    16-bit WAV/FLAC, 320 kbit/s MP3); returns the path.

    The file appears complete or not at all (written to a temporary name, then renamed).
    """
    path = Path(path)
    row = OUTPUT_FORMATS.get(fmt.lower())
    if row is None:
        raise ValueError(f"unknown output format {fmt!r}")
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 1:
        audio = audio[np.newaxis, :]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.part")
    try:
        if row.soundfile is None:
            _write_with_ffmpeg(tmp, audio, sample_rate, row)
        else:
            sf_format, sf_subtype = row.soundfile
            with sf.SoundFile(
                tmp,
                "w",
                samplerate=sample_rate,
                channels=audio.shape[0],
                subtype=sf_subtype,
                format=sf_format,
                compression_level=row.compression_level,
            ) as out:
                for start in range(0, audio.shape[1], _BLOCK_FRAMES):
                    block = np.clip(audio[:, start : start + _BLOCK_FRAMES].T, -1.0, 1.0)
                    known = sf_subtype == "PCM_16" and sf_format in _LIBSNDFILE_PCM16_FORMATS
                    out.write(_as_libsndfile_pcm16(block, sf_format) if known else block)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


_LIBSNDFILE_PCM16_FORMATS = ("WAV", "FLAC")  # whose float-to-16-bit rule _as_libsndfile_pcm16 knows


def _as_libsndfile_pcm16(block: np.ndarray, sf_format: str) -> np.ndarray:
    """Float samples within +-1 as the 16-bit integers libsndfile would write for them, so a file written from
    these has the same bytes as one written from the floats, without libsndfile's per-sample conversion
    (most of a WAV's writing time, a quarter of a FLAC's). libsndfile's two rules (tested against it): a
    FLAC sample is ``x * 2^15`` rounded to nearest even, a WAV sample ``x * 2^31`` so rounded and then
    floored to 16 bits; both at most 32767. Every step is exact in float32 (scaling by powers of two)."""
    if sf_format == "FLAC":
        pcm = block * np.float32(2.0**15)
        np.rint(pcm, out=pcm)
    else:
        pcm = block * np.float32(2.0**31)
        np.rint(pcm, out=pcm)
        pcm *= np.float32(2.0**-16)
        np.floor(pcm, out=pcm)
    np.minimum(pcm, np.float32(32767.0), out=pcm)
    return pcm.astype(np.int16)


# ---------------------------------------------------------------------------------------------------------
# Checks shared by decode and probe


def _check_file(path: Path) -> None:
    if not path.is_file():
        raise PipelineError(NOT_AUDIO, "The file could not be found.")
    if path.stat().st_size == 0:
        raise PipelineError(EMPTY_FILE, "The file is empty (0 bytes).")


def _check_declared_length(declared_s: float | None, max_duration_s: float | None) -> None:
    """Refuse an over-long file from its header, before spending time decoding it."""
    if declared_s and max_duration_s is not None and declared_s > max_duration_s + 1.0:
        raise too_long(declared_s, max_duration_s)


def _check_decoded_length(duration_s: float, min_duration_s: float, max_duration_s: float | None) -> None:
    if duration_s <= 0:
        raise PipelineError(EMPTY_FILE, "The file contains no audio (0 seconds of sound).")
    if duration_s < min_duration_s:
        raise PipelineError(
            TOO_SHORT,
            f"This file is only {format_duration(duration_s)} long; "
            f"a song must be at least {format_duration(min_duration_s)}.",
        )
    if max_duration_s is not None and duration_s > max_duration_s:
        raise too_long(duration_s, max_duration_s)


def too_long(duration_s: float, max_duration_s: float) -> PipelineError:
    """The error for a song over the length limit (decoded, probed, or found in the stem cache)."""
    return PipelineError(
        TOO_LONG,
        f"This file is {format_duration(duration_s)} long; the limit is {format_duration(max_duration_s)}.",
    )


def _corrupt(detail: str = "") -> PipelineError:
    message = (
        "This audio file is damaged or incomplete (it may have been cut off while uploading or copying)."
    )
    if detail:
        message += f" {detail}"
    return PipelineError(CORRUPT_AUDIO, message)


def _looks_like_audio(path: Path) -> bool:
    """Magic bytes of common audio containers: tells a damaged audio file from something else entirely."""
    with path.open("rb") as fh:
        head = fh.read(12)
    if head[:4] in (b"fLaC", b"OggS", b"FORM", b"RF64", b"caff", b"wvpk", b"MAC ", b"\x1a\x45\xdf\xa3"):
        return True
    if head[:4] == b"RIFF" or head[:3] == b"ID3" or head[4:8] == b"ftyp":
        return True
    return len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0  # MPEG audio / ADTS sync


def _not_audio(path: Path) -> PipelineError:
    if _looks_like_audio(path):
        return _corrupt("It could not be opened.")
    return PipelineError(
        NOT_AUDIO, f"This file does not look like audio. Please upload {ACCEPTED_DESCRIPTION}."
    )


# ---------------------------------------------------------------------------------------------------------
# Where decoded blocks go


class _Sink:
    """Collects (frames, 2) blocks into one (2, n) float32 array, preallocated when the length is known."""

    def __init__(self, sample_rate: int, max_duration_s: float | None) -> None:
        self._rate = sample_rate
        self._limit = None if max_duration_s is None else int((max_duration_s + 1.0) * sample_rate)
        self._buf = np.zeros((2, 0), dtype=np.float32)
        self.frames = 0

    def reserve(self, frames: int) -> None:
        if frames > self._buf.shape[1]:
            grown = np.zeros((2, frames), dtype=np.float32)
            grown[:, : self.frames] = self._buf[:, : self.frames]
            self._buf = grown

    def add(self, block: np.ndarray) -> None:
        n = block.shape[0]
        if self._limit is not None and self.frames + n > self._limit:
            raise too_long((self.frames + n) / self._rate, (self._limit / self._rate) - 1.0)
        _check_magnitude(block)
        if self.frames + n > self._buf.shape[1]:
            self.reserve(max(self.frames + n, int(self._buf.shape[1] * 1.5), 60 * self._rate))
        np.nan_to_num(block, copy=False, nan=0.0, posinf=1.0, neginf=-1.0)
        self._buf[:, self.frames : self.frames + n] = block.T
        self.frames += n

    def finish(self) -> np.ndarray:
        """The (2, frames) result, trimmed in place (no second copy) when the header overestimated."""
        buf, pos = self._buf, self.frames
        self._buf = np.zeros((2, 0), dtype=np.float32)
        cap = buf.shape[1]
        if pos == cap:
            return buf
        if pos == 0:
            return np.zeros((2, 0), dtype=np.float32)
        # Move the right channel down to follow the first ``pos`` left samples, then shrink the block.
        flat = buf.reshape(-1)
        step = 1 << 20
        for i in range(0, pos, step):
            j = min(i + step, pos)
            flat[pos + i : pos + j] = flat[cap + i : cap + j]  # numpy buffers the small overlap
        del flat
        buf.resize((2, pos), refcheck=False)
        return buf


class _Counter:
    """A sink that only counts frames (for probing)."""

    def __init__(self, sample_rate: int, max_duration_s: float | None) -> None:
        self._rate = sample_rate
        self._limit = None if max_duration_s is None else int((max_duration_s + 1.0) * sample_rate)
        self.frames = 0
        self.peak = 0.0  # the largest sample magnitude seen (NaNs ignored)

    def add(self, block: np.ndarray) -> None:
        self.frames += block.shape[0]
        if self._limit is not None and self.frames > self._limit:
            raise too_long(self.frames / self._rate, (self._limit / self._rate) - 1.0)
        self.peak = max(self.peak, _check_magnitude(block))


def _check_magnitude(block: np.ndarray) -> float:
    """Refuse samples far outside any audio range (infinities too; NaNs are silenced by the sink); return
    the block's peak magnitude."""
    peak = float(np.nanmax(np.abs(block), initial=0.0)) if block.size else 0.0
    if peak > MAX_SAMPLE_MAGNITUDE:
        raise _corrupt(
            "Its samples lie far outside the range of sound (a float file whose values were damaged)."
        )
    return peak


# ---------------------------------------------------------------------------------------------------------
# libsndfile


@dataclass(frozen=True)
class _SfSource:
    sample_rate: int
    channels: int
    declared_frames: int
    format: str
    codec: str

    @property
    def declared_s(self) -> float:
        return self.declared_frames / self.sample_rate


def _open_soundfile(path: Path) -> _SfSource | None:
    """Describe the file if libsndfile recognises its content, else None (ffmpeg will try)."""
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, TypeError):
        return None
    fmt = _SF_FORMATS.get(info.format)
    if fmt is None or info.samplerate <= 0 or info.channels <= 0:
        return None
    if fmt == "wav" and _wav_data_cut_short(info.extra_info or ""):
        raise _corrupt("The file is shorter than its header says.")
    if not 0 <= int(info.frames) < _SF_UNKNOWN_FRAMES:
        return None  # a length the header does not give: ffmpeg reads it to the end
    return _SfSource(info.samplerate, info.channels, int(info.frames), fmt, info.subtype.lower())


_WAV_DATA_SIZE = re.compile(r"^data\s*:\s*(\d+)\s*\(should be (\d+)\)", re.MULTILINE)
_STREAMING_SIZES = {0, 0xFFFFFFFF, 0x7FFFFFFF, 0xFFFFFFFF - 1}


def _wav_data_cut_short(sndfile_log: str) -> bool:
    """libsndfile logs ``data : 960000 (should be 575982)`` when the header promises more bytes than the
    file holds. Placeholder sizes written by streaming encoders (0, 0xFFFFFFFF) are not damage."""
    match = _WAV_DATA_SIZE.search(sndfile_log)
    if match is None:
        return False
    promised, present = int(match.group(1)), int(match.group(2))
    return promised not in _STREAMING_SIZES and promised > present


def _read_soundfile(
    path: Path, source: _SfSource, sink: _Sink | _Counter, *, resample_to: int | None
) -> None:
    stream = None
    if resample_to is not None and resample_to != source.sample_rate:
        import soxr

        stream = soxr.ResampleStream(source.sample_rate, resample_to, 2, dtype="float32", quality="HQ")
    frames_read = 0
    try:
        with sf.SoundFile(str(path)) as fh:
            while True:
                block = fh.read(_BLOCK_FRAMES, dtype="float32", always_2d=True)
                n = block.shape[0]
                frames_read += n
                last = n < _BLOCK_FRAMES
                if resample_to is None:
                    sink.add(block)
                else:
                    stereo = _to_stereo(block)
                    if stream is not None:
                        stereo = stream.resample_chunk(stereo, last=last)
                    if stereo.shape[0]:
                        sink.add(stereo)
                if last:
                    break
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise _corrupt() from exc
    shortfall = source.declared_frames - frames_read
    tolerance = max(
        _TRUNCATION_TOLERANCE_S * source.sample_rate, _TRUNCATION_TOLERANCE_FRACTION * source.declared_frames
    )
    if shortfall > tolerance:
        raise _corrupt(
            f"Its header promises {format_duration(source.declared_s)} but only "
            f"{format_duration(frames_read / source.sample_rate)} could be read."
        )
    if source.format == "ogg":
        _check_ogg_tail(path, source.sample_rate, frames_read)


def _check_ogg_tail(path: Path, sample_rate: int, frames_read: int) -> None:
    """Ogg knows its own length: the last page carries the end-of-stream flag and the final sample
    position. libsndfile silently stops at a damaged page, so compare what was read with that."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        fh.seek(max(0, size - 70_000))
        tail = fh.read()
    start = tail.rfind(b"OggS")
    if start < 0 or len(tail) - start < 27:
        raise _corrupt("Its last part is missing.")
    header_type = tail[start + 5]
    granule = int.from_bytes(tail[start + 6 : start + 14], "little", signed=True)
    n_segments = tail[start + 26]
    table = tail[start + 27 : start + 27 + n_segments]
    page_end = start + 27 + n_segments + sum(table)
    if len(table) < n_segments or page_end > len(tail) or not header_type & 0x04:
        raise _corrupt("Its last part is missing.")
    if granule > 0 and granule - frames_read > _TRUNCATION_TOLERANCE_S * sample_rate:
        raise _corrupt(
            f"It should last {format_duration(granule / sample_rate)} but only "
            f"{format_duration(frames_read / sample_rate)} could be read."
        )


_SQRT_HALF = math.sqrt(0.5)


def _downmix_matrix(channels: int) -> np.ndarray:
    """(channels, 2) matrix to stereo in the standard WAV channel orders, ITU-style (-3 dB centre and
    surrounds, LFE dropped), scaled so a full-scale input cannot clip (as ffmpeg does)."""
    c, s = _SQRT_HALF, _SQRT_HALF
    rows = {
        3: [(1, 0), (0, 1), (c, c)],  # L R C
        4: [(1, 0), (0, 1), (s, 0), (0, s)],  # L R BL BR
        5: [(1, 0), (0, 1), (c, c), (s, 0), (0, s)],  # L R C BL BR
        6: [(1, 0), (0, 1), (c, c), (0, 0), (s, 0), (0, s)],  # L R C LFE BL BR (5.1)
        7: [(1, 0), (0, 1), (c, c), (0, 0), (s, s), (s, 0), (0, s)],  # 6.1
        8: [(1, 0), (0, 1), (c, c), (0, 0), (s, 0), (0, s), (s, 0), (0, s)],  # 7.1
    }.get(channels)
    if rows is None:  # unknown layout: alternate channels left and right
        rows = [(1, 0) if i % 2 == 0 else (0, 1) for i in range(channels)]
    matrix = np.asarray(rows, dtype=np.float32)
    return matrix / matrix.sum(axis=0).max()


def _to_stereo(block: np.ndarray) -> np.ndarray:
    """(frames, channels) -> C-contiguous (frames, 2)."""
    channels = block.shape[1]
    if channels == 2:
        return np.ascontiguousarray(block)
    if channels == 1:
        return np.repeat(block, 2, axis=1)
    return np.ascontiguousarray(block @ _downmix_matrix(channels))


# ---------------------------------------------------------------------------------------------------------
# ffmpeg


@dataclass(frozen=True)
class _FfSource:
    sample_rate: int
    channels: int
    declared_s: float | None
    format: str
    codec: str


def _require_ffmpeg(path: Path) -> None:
    if not ffmpeg_available():
        if _looks_like_audio(path):
            raise PipelineError(
                UNSUPPORTED_FORMAT,
                "This server can only read WAV, FLAC, Ogg and MP3 files right now (ffmpeg is not installed).",
            )
        raise _not_audio(path)


def _ffprobe(path: Path) -> _FfSource:
    _require_ffmpeg(path)
    cmd = [
        "ffprobe",
        "-v",
        "error",
        "-print_format",
        "json",
        "-show_format",
        "-show_streams",
        "-select_streams",
        "a:0",
        str(path),
    ]
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=60, check=False)
    except subprocess.TimeoutExpired as exc:
        raise _corrupt("Reading it took too long.") from exc
    if proc.returncode != 0:
        raise _not_audio(path)
    data = json.loads(proc.stdout or b"{}")
    streams = data.get("streams") or []
    fmt_names = (data.get("format") or {}).get("format_name", "").split(",")
    if not streams:  # a readable file (an image, a silent video) with no audio track
        raise PipelineError(NOT_AUDIO, f"This file has no sound in it. Please upload {ACCEPTED_DESCRIPTION}.")
    fmt = next((_FF_FORMATS[name] for name in fmt_names if name in _FF_FORMATS), None)
    if fmt is None:
        raise PipelineError(
            UNSUPPORTED_FORMAT,
            f"This kind of file ({fmt_names[0] or 'unknown'}) is not supported. "
            f"Please upload {ACCEPTED_DESCRIPTION}.",
        )
    stream = streams[0]
    declared = _float_or_none(stream.get("duration")) or _float_or_none(data["format"].get("duration"))
    return _FfSource(
        sample_rate=int(stream.get("sample_rate") or 0),
        channels=int(stream.get("channels") or 0),
        declared_s=declared,
        format=fmt,
        codec=str(stream.get("codec_name", "")),
    )


def _float_or_none(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) and out > 0 else None


def _read_ffmpeg(
    path: Path, source: _FfSource, sink: _Sink | _Counter, *, sample_rate: int, channels: int, resampler: str
) -> None:
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-i", str(path), "-map", "0:a:0", "-vn"]
    cmd += ["-af", f"aresample=resampler={resampler}"] if resampler == "soxr" else []
    cmd += ["-f", "f32le", "-ac", str(channels), "-ar", str(sample_rate), "pipe:1"]
    frame_bytes = 4 * channels
    with tempfile.TemporaryFile() as errfile:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=errfile)
        assert proc.stdout is not None
        try:
            for block in _pipe_blocks(proc.stdout, frame_bytes):
                sink.add(block.reshape(-1, channels) if channels > 1 else block.reshape(-1, 1))
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.stdout.close()
            returncode = proc.wait()
        errfile.seek(0)
        errors = errfile.read().decode("utf-8", "replace").strip()
    decoded_s = sink.frames / sample_rate
    if returncode != 0 or "Error while decoding" in errors or "Invalid data" in errors:
        if sink.frames == 0:
            raise _not_audio(path)
        raise _corrupt("Part of it could not be decoded.")
    if source.declared_s is not None:
        tolerance = max(_TRUNCATION_TOLERANCE_S, _TRUNCATION_TOLERANCE_FRACTION * source.declared_s)
        if source.declared_s - decoded_s > tolerance:
            raise _corrupt(
                f"Its header promises {format_duration(source.declared_s)} but only "
                f"{format_duration(decoded_s)} could be read."
            )


def _pipe_blocks(stream: Any, frame_bytes: int) -> Iterator[np.ndarray]:
    """Yield float32 arrays holding whole frames read from a pipe."""
    chunk = _BLOCK_FRAMES * frame_bytes
    pending = b""
    while True:
        data = stream.read(chunk)
        if not data:
            break
        data = pending + data if pending else data
        usable = len(data) - len(data) % frame_bytes
        pending = data[usable:]
        if usable:
            yield np.frombuffer(data[:usable], dtype="<f4").copy()


def _write_with_ffmpeg(path: Path, audio: np.ndarray, sample_rate: int, row: OutputFormat) -> None:
    if not ffmpeg_available():
        raise PipelineError(
            UNSUPPORTED_FORMAT, f"{row.label} output needs ffmpeg, which is not installed here."
        )
    channels = audio.shape[0]
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-y"]
    cmd += ["-f", "f32le", "-ar", str(sample_rate), "-ac", str(channels), "-i", "pipe:0"]
    cmd += [*row.ffmpeg_args, str(path)]
    with tempfile.TemporaryFile() as errfile:
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=errfile)
        assert proc.stdin is not None
        try:
            for start in range(0, audio.shape[1], _BLOCK_FRAMES):
                block = np.clip(audio[:, start : start + _BLOCK_FRAMES].T, -1.0, 1.0).astype("<f4")
                proc.stdin.write(block.tobytes())
        finally:
            proc.stdin.close()
            returncode = proc.wait()
        if returncode != 0:
            errfile.seek(0)
            detail = errfile.read().decode("utf-8", "replace")
            raise RuntimeError(f"ffmpeg could not write {row.label}: {detail}")
