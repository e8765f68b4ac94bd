"""Audio files as odd but legal encoders write them, for the tests of whoever reads uploads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf


def stream_encoded_flac(path: Path, audio: np.ndarray, sample_rate: int = 44100) -> Path:
    """``audio`` (frames, channels) as a FLAC whose STREAMINFO says total samples 0, as a streaming encoder
    writes it (the length is not known when the header is written; legal FLAC)."""
    sf.write(path, audio, sample_rate, format="FLAC")
    data = bytearray(Path(path).read_bytes())
    # STREAMINFO is the first metadata block; its 36-bit sample count is the low nibble of byte 21 and 22-25.
    assert data[:4] == b"fLaC" and data[4] & 0x7F == 0
    data[21] &= 0xF0
    data[22:26] = b"\x00\x00\x00\x00"
    Path(path).write_bytes(bytes(data))
    return Path(path)
