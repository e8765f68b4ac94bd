"""A human voice for separation tests: Festival's speech synthesis, which joins recorded diphones.

A separator trained on real songs (htdemucs) hears a formant-filtered sawtooth as a synthesiser, not a singer;
Festival's voice (Debian packages ``festival`` and ``festvox-kallpc16k``) is built from recordings of a human
speaker, so a separator must find it where it finds a singer. The line is known exactly: it is the reference
a test measures the separated vocal against.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

LINE = (
    "Under the burning sky we ride, the night is long and the road is wide. "
    "Hold on to me, never let go, the fire is calling, down below."
)


def festival_available() -> bool:
    return shutil.which("text2wave") is not None


def spoken_line(frames: int, text: str = LINE) -> np.ndarray:
    """Mono float32 speech at 44.1 kHz, ``frames`` long (cut or padded with silence), peak 1."""
    from pipeline.audio_io import decode

    if not festival_available():
        raise RuntimeError("Festival's text2wave is not installed (Debian: festival festvox-kallpc16k)")
    with tempfile.TemporaryDirectory() as tmp:
        script, wav = Path(tmp) / "line.txt", Path(tmp) / "line.wav"
        script.write_text(text)
        subprocess.run(["text2wave", str(script), "-o", str(wav)], check=True, capture_output=True)
        voice = decode(wav, min_duration_s=0.5)[0]
    out = np.zeros(frames, dtype=np.float32)
    out[: min(frames, len(voice))] = voice[:frames]
    return out / np.float32(np.abs(out).max() + 1e-9)
