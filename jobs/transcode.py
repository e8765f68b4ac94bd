"""Re-encode a finished audio part to another download format with ffmpeg."""

from __future__ import annotations

import subprocess
from pathlib import Path

from metalizer_site.error_codes import FORMAT_UNAVAILABLE, CodedError
from pipeline import OUTPUT_FORMATS


class TranscodeError(CodedError):
    default_code = FORMAT_UNAVAILABLE


def transcode(src: Path, dst: Path, fmt: str, *, timeout_s: float = 300) -> Path:
    """Write ``src`` as ``fmt`` to ``dst`` atomically (temp name, then rename)."""
    if fmt not in OUTPUT_FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    tmp = dst.with_name(f".{dst.name}.part")
    cmd = [
        "ffmpeg",
        "-nostdin",
        "-loglevel",
        "error",
        "-y",
        "-i",
        str(src),
        "-vn",
        *OUTPUT_FORMATS[fmt].ffmpeg_args,
    ]
    try:
        subprocess.run([*cmd, str(tmp)], check=True, capture_output=True, timeout=timeout_s)
        tmp.replace(dst)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, FileNotFoundError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        raise TranscodeError(
            message=f"ffmpeg could not write {fmt}: {detail.decode(errors='replace')[-300:]}"
        ) from exc
    finally:
        tmp.unlink(missing_ok=True)
    return dst
