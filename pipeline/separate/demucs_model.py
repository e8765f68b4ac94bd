"""Hybrid Transformer Demucs (htdemucs) from a local checkpoint, run in chunks on the CPU.

``models/`` holds what ``demucs.pretrained.get_model(name, repo=models/)`` reads: ``htdemucs.yaml`` (the
bag: which model signatures, with what weights) and one ``<sig>-<sha256 prefix>.th`` per signature, as
``python -m pipeline.fetch_models`` lays them out. Nothing here touches the network.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.errors import SEPARATION_FAILED, PipelineError
from pipeline.types import SAMPLE_RATE, StageProgress, no_progress

MODEL_NAME = "htdemucs"
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


def cpu_threads() -> int:
    """CPUs this process may use (respects affinity / container limits)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


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
            "Delete it and run `make models` again on a machine with internet.",
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
    """Chunked inference of a loaded demucs model or bag (the benchmark passes random weights)."""
    import torch
    from demucs.apply import apply_model

    if model.samplerate != SAMPLE_RATE or model.audio_channels != 2:
        raise PipelineError(SEPARATION_FAILED, "The demucs model does not work on 44.1 kHz stereo audio.")
    torch.set_num_threads(threads or cpu_threads())
    n = audio.shape[1]
    wav = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32))
    # Normalise as demucs' own separator does: the model was trained on unit-variance mixtures.
    ref = wav.mean(0)
    mean, std = ref.mean(), ref.std() + 1e-8
    wav = ((wav - mean) / std)[None]

    seg = float(segment if segment is not None else _model_segment(model))
    seg_len = int(SAMPLE_RATE * seg)
    stride = max(1, int((1 - overlap) * seg_len))
    n_models = len(getattr(model, "models", [model]))
    total = n_models * len(range(0, n, stride))
    done = [0]

    def on_chunk(info: dict) -> None:
        if info.get("state") == "end":
            done[0] += 1
            progress(min(done[0] / total, 1.0))

    with torch.no_grad():
        out = apply_model(
            model, wav, shifts=0, split=True, overlap=overlap, segment=seg, progress=False, callback=on_chunk
        )
    del wav
    out = out[0]
    out.mul_(std).add_(mean)
    stems = {name: out[i].numpy() for i, name in enumerate(model.sources)}
    if set(stems) != {"vocals", "drums", "bass", "other"}:
        raise PipelineError(SEPARATION_FAILED, f"The demucs model makes {sorted(stems)}, not the four stems.")
    progress(1.0)
    return stems


def _model_segment(model: Any) -> float:
    segments = [float(m.segment) for m in getattr(model, "models", [model])]
    return min(segments)
