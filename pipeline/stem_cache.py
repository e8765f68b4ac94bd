"""Separated stems (and the song's analysis) kept for later runs, keyed by the song and the separator.

A re-run of the same song with the same separator (same checkpoint) loads the stems instead of separating
again, and with the stored analysis skips analysing too. Stems are stored as 24-bit FLAC (a third of
float32's size, far below audible precision), each scaled into [-1, 1] with its gain in a small manifest
so nothing clips. The manifest is written last: an entry without one is incomplete and never used.

``StemCache`` is the interface the pipeline calls (get/put by key); ``FileStemCache`` keeps entries in a
local folder (the CLI's). Other homes (the web app keeps them in its shared file storage) implement the
same two methods, reusing ``write_entry``/``read_entry`` on a scratch folder.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeAlias

import numpy as np
import soundfile as sf

from pipeline.output_formats import FLAC_COMPRESSION_LEVEL
from pipeline.part_memo import MEMO
from pipeline.plain_json import json_default
from pipeline.types import SAMPLE_RATE, STEM_NAMES, Analysis, SeparatorInfo, Stems

MANIFEST = "manifest.json"
ANALYSIS = "analysis.json"
FORMAT_VERSION = 1
# The stems the playing half needs: the band replaces the song's own drums and bass.
PLAYED_STEMS = ("vocals", "other")
_BLOCK = 1 << 18
# The song's analysis as a cache entry takes it: made already, or still being made (its stems are written,
# and stored, meanwhile; the entry is completed once it comes).
AnalysisToCome: TypeAlias = Analysis | Future[Analysis]


@dataclass
class CachedSong:
    """What a cache entry gives back: the stems asked for, who separated them, and the stored analysis."""

    stems: dict[str, np.ndarray]
    separator: SeparatorInfo  # cached=True
    frames: int
    analysis: Analysis | None = None


class StemCache(Protocol):
    """Where stems of songs already separated are kept, by key."""

    def get(self, key: str, names: Sequence[str] = STEM_NAMES) -> CachedSong | None:
        """The entry's stems ``names`` (and analysis), or None when absent, incomplete or unreadable."""
        ...

    def put(self, key: str, stems: Stems, analysis: AnalysisToCome | None = None) -> None:
        """Keep ``stems`` (all four) and the song's ``analysis`` under ``key``. The analysis may still be
        being made (a ``Future``): the stems are stored meanwhile, the entry completed once it comes; when
        it fails or is cancelled, ``put`` raises its error and leaves no complete entry."""
        ...


def song_key(path: str | Path, separator_id: str) -> str:
    """sha256 over the separator id and the song file's bytes: found again without decoding the file."""
    digest = hashlib.sha256(f"song|{separator_id}|{FORMAT_VERSION}|".encode())
    with Path(path).open("rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


# --- One entry in a local folder ------------------------------------------------------------------------


def stem_file(name: str) -> str:
    """The file a stem is stored in, inside its entry's folder."""
    return f"{name}.flac"


def entry_files(manifest: dict, names: Sequence[str] = STEM_NAMES) -> list[str]:
    """The files beside the manifest a reader needs for the stems ``names`` (and the analysis, if stored)."""
    return [stem_file(name) for name in names] + ([ANALYSIS] if manifest.get("analysis") else [])


# Stems encoded (and decoded) at once (libFLAC releases the GIL): the two cores a worker has.
WRITE_THREADS = 2


def _write_stem(path: Path, stem: np.ndarray, gain: float) -> Path:
    with sf.SoundFile(
        path,
        "w",
        samplerate=SAMPLE_RATE,
        channels=2,
        subtype="PCM_24",
        format="FLAC",
        compression_level=FLAC_COMPRESSION_LEVEL,
    ) as out:
        for start in range(0, stem.shape[1], _BLOCK):
            out.write(stem[:, start : start + _BLOCK].T / np.float32(gain))
    return path


def entry_files_as_written(
    folder: Path,
    stems: Stems,
    analysis: AnalysisToCome | None = None,
    threads: int = WRITE_THREADS,
) -> Iterator[Path]:
    """Write an entry's files into ``folder``, yielding each once written, in upload order (the manifest
    last). The stems are encoded ``threads`` at a time (each file is the same whichever thread writes it),
    ~0.5 CPU-s per 3-minute stem. ``analysis`` may still be being made (a ``Future``): the stems are written,
    and can be stored, meanwhile; its error (or cancellation) is raised before the analysis file and the
    manifest, so no complete entry is made without it."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = stems.as_dict()
    # each stem's peak magnitude, at least 1 (max and -min: no copy of the stem for its absolute values)
    gains = {
        name: max(float(arrays[name].max(initial=0.0)), -float(arrays[name].min(initial=0.0)), 1.0)
        for name in STEM_NAMES
    }
    frames = int(arrays["vocals"].shape[1])
    with ThreadPoolExecutor(max_workers=max(1, threads), thread_name_prefix="stem-cache") as pool:
        yield from pool.map(
            lambda name: _write_stem(folder / stem_file(name), arrays[name], gains[name]), STEM_NAMES
        )
    if isinstance(analysis, Future):
        analysis = analysis.result()
    if analysis is not None:
        (folder / ANALYSIS).write_text(json.dumps(analysis.to_dict(), default=json_default))
        yield folder / ANALYSIS
    manifest = {
        "format": FORMAT_VERSION,
        "separator": stems.separator.name,
        "reason": stems.separator.reason,
        "gains": gains,
        "frames": frames,
        "analysis": analysis is not None,
    }
    (folder / MANIFEST).write_text(json.dumps(manifest))
    yield folder / MANIFEST


def write_entry(
    folder: Path,
    stems: Stems,
    analysis: AnalysisToCome | None = None,
    threads: int = WRITE_THREADS,
) -> list[Path]:
    """Write an entry's files into ``folder`` (``entry_files_as_written``); returns them in upload order."""
    return list(entry_files_as_written(folder, stems, analysis, threads))


def _kept_fields(key: str, manifest: dict, names: Sequence[str]) -> tuple[str, ...]:
    return ("cached stems", key, json.dumps(manifest, sort_keys=True), *names)


def kept_stems(key: str, manifest: dict, names: Sequence[str]) -> dict[str, np.ndarray] | None:
    """The stems ``names`` of entry ``key`` as this process last decoded them (``keep_stems``), while the
    entry's manifest is the same; None when they are not kept (``part_memo``). A worker's next re-style of
    a song skips fetching and decoding them: the same samples (fresh copies)."""
    stacked = MEMO.peek(_kept_fields(key, manifest, names))
    return None if stacked is None else dict(zip(names, stacked, strict=True))


def keep_stems(key: str, manifest: dict, stems: dict[str, np.ndarray]) -> None:
    """Keep the stems of entry ``key`` just decoded (``read_entry``) for ``kept_stems``."""
    names = tuple(stems)
    MEMO.keep(_kept_fields(key, manifest, names), np.stack([stems[name] for name in names]), copy=False)


def read_manifest(folder: Path) -> dict | None:
    try:
        manifest = json.loads((Path(folder) / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


def read_entry(
    folder: Path,
    names: Sequence[str] = STEM_NAMES,
    manifest: dict | None = None,
    decoded: dict[str, np.ndarray] | None = None,
) -> CachedSong | None:
    """The entry in ``folder`` (its stems ``names``), or None when incomplete or unreadable; with the stems
    ``decoded`` already (``kept_stems``), only the manifest and the analysis are read from the folder."""
    folder = Path(folder)
    manifest = manifest if manifest is not None else read_manifest(folder)
    try:
        if manifest is None or manifest.get("format", FORMAT_VERSION) != FORMAT_VERSION:
            return None
        frames = int(manifest["frames"])
        gains = {name: float(manifest["gains"][name]) for name in names}
        if decoded is not None:
            stems = dict(decoded)
        else:
            # decoded side by side (libFLAC releases the GIL): a re-style waits for its two stems
            with ThreadPoolExecutor(max_workers=max(1, min(len(names), WRITE_THREADS))) as pool:
                read = pool.map(lambda name: _read_stem(folder / stem_file(name), frames, gains[name]), names)
                stems = dict(zip(names, read, strict=True))
        analysis = None
        if manifest.get("analysis"):
            analysis = Analysis.from_dict(json.loads((folder / ANALYSIS).read_text()))
        info = SeparatorInfo(str(manifest["separator"]), str(manifest.get("reason", "")), cached=True)
        return CachedSong(stems=stems, separator=info, frames=frames, analysis=analysis)
    except (OSError, ValueError, KeyError, TypeError, sf.LibsndfileError):
        return None


def _read_stem(path: Path, frames: int, gain: float) -> np.ndarray:
    with sf.SoundFile(path) as src:
        if src.samplerate != SAMPLE_RATE or src.channels != 2 or src.frames != frames:
            raise ValueError(f"{path.name}: not the entry's {frames} stereo frames at {SAMPLE_RATE} Hz")
        stem = np.empty((2, frames), dtype=np.float32)
        done = 0
        while done < frames:
            block = src.read(min(_BLOCK, frames - done), dtype="float32", always_2d=True)
            if not len(block):
                raise ValueError(f"{path.name} ends early")
            stem[:, done : done + len(block)] = block.T
            done += len(block)
    stem *= np.float32(gain)
    return stem


# --- A folder of entries --------------------------------------------------------------------------------


class FileStemCache:
    """Entries as folders under ``root``; each is written into a temporary folder and renamed into place."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"FileStemCache({str(self.root)!r})"

    def get(self, key: str, names: Sequence[str] = STEM_NAMES) -> CachedSong | None:
        return read_entry(self.root / key, names)

    def put(self, key: str, stems: Stems, analysis: AnalysisToCome | None = None) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        entry = self.root / key
        tmp = Path(tempfile.mkdtemp(prefix=f".{key[:12]}-", dir=self.root))
        try:
            tmp.chmod(0o755)
            write_entry(tmp, stems, analysis)
            if entry.exists():  # an older entry (e.g. without analysis): the new one replaces it
                shutil.rmtree(entry, ignore_errors=True)
            try:
                tmp.rename(entry)
            except OSError:  # another process stored the same entry first: theirs is as good as ours
                shutil.rmtree(tmp, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
