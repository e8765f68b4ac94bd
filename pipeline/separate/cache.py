"""Separated stems kept on disk, keyed by the decoded audio and the separator that made them.

A re-run of the same song with the same separator (same checkpoint) loads the stems instead of separating
again. Stems are stored as 24-bit FLAC (a third of float32's size, far below audible precision), each
scaled into [-1, 1] with its gain in a small manifest so nothing clips. An entry is written into a
temporary folder and renamed into place, so a crash never leaves a half entry that looks complete.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from pipeline.types import SAMPLE_RATE, STEM_NAMES

MANIFEST = "manifest.json"
FORMAT_VERSION = 1


def cache_key(audio: np.ndarray, separator_id: str) -> str:
    """sha256 over the separator id, the audio's shape and its float32 samples (hashed in place)."""
    audio = np.ascontiguousarray(audio, dtype=np.float32)
    digest = hashlib.sha256()
    digest.update(f"{separator_id}|{FORMAT_VERSION}|{audio.shape}|".encode())
    digest.update(memoryview(audio).cast("B"))
    return digest.hexdigest()


def load(cache_dir: Path, key: str, expected_frames: int) -> dict[str, np.ndarray] | None:
    """The cached stems for ``key``, or None when absent or unreadable (then the caller separates again)."""
    entry = Path(cache_dir) / key
    try:
        manifest = json.loads((entry / MANIFEST).read_text())
        stems = {}
        for name in STEM_NAMES:
            data, rate = sf.read(entry / f"{name}.flac", dtype="float32", always_2d=True)
            if rate != SAMPLE_RATE or data.shape != (expected_frames, 2):
                return None
            stem = np.ascontiguousarray(data.T)
            stem *= np.float32(manifest["gains"][name])
            stems[name] = stem
        return stems
    except (OSError, ValueError, KeyError, sf.LibsndfileError):
        return None


def store(cache_dir: Path, key: str, stems: dict[str, np.ndarray], separator_name: str) -> Path:
    """Write ``stems`` under ``cache_dir/key``; returns the entry folder."""
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    entry = cache_dir / key
    tmp = Path(tempfile.mkdtemp(prefix=f".{key[:12]}-", dir=cache_dir))
    try:
        tmp.chmod(0o755)
        gains = {}
        for name in STEM_NAMES:
            stem = stems[name]
            gain = max(float(np.abs(stem).max(initial=0.0)), 1.0)
            gains[name] = gain
            with sf.SoundFile(
                tmp / f"{name}.flac", "w", samplerate=SAMPLE_RATE, channels=2, subtype="PCM_24", format="FLAC"
            ) as out:
                for start in range(0, stem.shape[1], 1 << 18):
                    out.write(stem[:, start : start + (1 << 18)].T / np.float32(gain))
        manifest = {"separator": separator_name, "gains": gains, "frames": int(stems["vocals"].shape[1])}
        (tmp / MANIFEST).write_text(json.dumps(manifest))
        try:
            tmp.rename(entry)
        except OSError:  # another worker stored the same entry first: theirs is as good as ours
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return entry
