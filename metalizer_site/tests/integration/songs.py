"""Test audio for the integration tests, generated on the spot: good songs and every kind of bad upload."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import soundfile as sf

from pipeline.testing import make_song, write_song

TEMPO = 120.0  # 2 s per 4/4 bar


def song_file(path: Path, *, seconds: float, seed: int = 0, vocals: bool = False) -> Path:
    """A synthetic band (drums, bass, chords, optional voice) of about ``seconds``, in the suffix's format."""
    bars = max(1, math.ceil(seconds * TEMPO / 240.0))
    sections = 2 if bars >= 4 else 1
    song = make_song(tempo=TEMPO, bars=bars, sections=sections, with_vocals=vocals, seed=seed)
    return write_song(path, song)


def text_named_mp3(path: Path) -> Path:
    """Plain text with an audio extension."""
    path.write_text("These are the lyrics, not the song.\n" * 200)
    return path


def empty_file(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def truncated_flac(path: Path, *, seconds: float = 5.0, keep: float = 0.5) -> Path:
    """A FLAC cut off after ``keep`` of its bytes, as an interrupted copy leaves it."""
    whole = song_file(path.with_name("whole-" + path.name), seconds=seconds)
    data = whole.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    whole.unlink()
    return path


def unsupported_audio(path: Path, *, seconds: float = 4.0) -> Path:
    """Real sound in a container the service does not take (Sun/NeXT .au)."""
    t = np.arange(int(seconds * 22050)) / 22050
    tone = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    sf.write(path, tone, 22050, format="AU", subtype="PCM_16")
    return path


def wav_duration(path: Path) -> float:
    info = sf.info(path)
    return info.frames / info.samplerate
