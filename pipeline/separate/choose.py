"""Which separator runs, and the reason recorded with the result.

A separator is asked for by name (``demucs``, ``spleeter``, ``dsp``) or left to ``auto``. Asking for one this
deployment does not offer (``allowed``: the operator's list, e.g. without demucs for a commercial service) or
whose weights are not in models/ is an error, never a silent substitute. ``auto`` takes the first of
``AUTO_ORDER`` that is offered and present: Spleeter's vocal network (models/spleeter_2stems.pt), then the DSP
separator, and htdemucs only when neither may run. htdemucs separates best but costs ~30x Spleeter's time on
a plain CPU (bench/long_song_memory.py: ~2 min of separating per minute of song on 2 cores), so it runs when a
listener asks for it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.errors import INVALID_OPTIONS, PipelineError
from pipeline.separate import demucs_model, dsp, spleeter_model
from pipeline.types import SEPARATOR_METHODS, SEPARATORS, StageProgress

Runner = Callable[[np.ndarray, StageProgress], dict[str, np.ndarray]]
METHODS = SEPARATOR_METHODS
AUTO_ORDER = ("spleeter", "dsp", "demucs")


@dataclass(frozen=True)
class Choice:
    method: str  # "demucs" | "spleeter" | "dsp"
    name: str  # recorded in SeparatorInfo, e.g. "demucs:htdemucs"
    reason: str
    cache_id: str  # name plus whatever pins the exact output (checkpoint hash, algorithm version)
    run: Runner


@dataclass(frozen=True)
class Offer:
    """One separator as this deployment offers it: may it run here, and if not, why (listener words)."""

    method: str
    available: bool
    why_not: str = ""


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
        cache_id=f"{spleeter_model.NAME}:{spleeter_model.fingerprint(weights)}:{spleeter_model.RUNTIME}",
        run=lambda audio, progress: spleeter_model.separate(audio, weights, progress),
    )


def _dsp(reason: str) -> Choice:
    return Choice(
        method="dsp", name=dsp.NAME, reason=reason, cache_id=f"{dsp.NAME}:v{dsp.VERSION}", run=dsp.separate
    )


def offers(models_dir: Path | None, allowed: Collection[str] | None = None) -> list[Offer]:
    """Each separator (auto first) and whether it can run here: offered by the operator, weights present."""
    result = []
    for method in METHODS:
        if allowed is not None and method not in allowed:
            result.append(Offer(method, False, "not offered on this server"))
        elif _missing(method, models_dir):
            result.append(Offer(method, False, "not installed on this server"))
        else:
            result.append(Offer(method, True))
    return [Offer("auto", any(o.available for o in result)), *result]


def choose(
    method: str = "auto", models_dir: Path | None = None, allowed: Collection[str] | None = None
) -> Choice:
    """Pick the separator for ``method`` given what is in ``models_dir`` and what ``allowed`` offers
    (None: all of them)."""
    if method not in SEPARATORS:
        raise PipelineError(INVALID_OPTIONS, f"Unknown separator '{method}'. Choose {', '.join(SEPARATORS)}.")
    offered = [m for m in METHODS if allowed is None or m in allowed]
    if method != "auto" and method not in offered:
        raise PipelineError(
            INVALID_OPTIONS,
            f"This server does not offer the {method} separator (its operator turned it off). "
            f"Choose {', '.join(['auto', *offered])}.",
        )
    # The folder's name only: the reason is shown to listeners, and server paths are none of their business.
    where = f"{models_dir.name}/" if models_dir is not None else "models/ (no models folder given)"
    if method != "auto":
        missing = _missing(method, models_dir)
        if missing:
            raise PipelineError(
                INVALID_OPTIONS,
                f"The {method} separator was asked for, but this server has no {missing} "
                f"in {where} (`make models` fetches it).",
            )
        return _build(method, models_dir, f"asked for {method}", where)
    skipped = []
    for candidate in AUTO_ORDER:
        if candidate not in offered:
            skipped.append(f"{candidate} is not offered here")
        elif missing := _missing(candidate, models_dir):
            skipped.append(f"no {missing} in {where}")
        else:
            why = f"auto: {candidate}" + (f" ({'; '.join(skipped)})" if skipped else "")
            if candidate != "demucs" and "demucs" in offered and not _missing("demucs", models_dir):
                why += "; htdemucs is here too (cleaner, much slower): choose demucs for it"
            return _build(candidate, models_dir, why, where)
    raise PipelineError(INVALID_OPTIONS, "No separator is offered on this server.")


def _missing(method: str, models_dir: Path | None) -> str:
    """What ``method`` lacks in ``models_dir`` ("" when it can run)."""
    if method == "demucs" and demucs_model.find_checkpoint(models_dir) is None:
        return f"{demucs_model.MODEL_NAME} checkpoint"
    if method == "spleeter" and spleeter_model.find_weights(models_dir) is None:
        return f"converted Spleeter weights file ({spleeter_model.WEIGHTS_FILE})"
    return ""


def _build(method: str, models_dir: Path | None, why: str, where: str) -> Choice:
    if method == "demucs":
        checkpoint = demucs_model.find_checkpoint(models_dir)
        assert checkpoint is not None
        return _demucs(checkpoint, f"{why}; checkpoint {checkpoint.fingerprint} in {where}")
    if method == "spleeter":
        weights = spleeter_model.find_weights(models_dir)
        assert weights is not None
        return _spleeter(
            weights,
            f"{why}; Spleeter 2-stem weights {weights.name} for the vocals "
            "(drums, bass and other from the DSP separator on the accompaniment)",
        )
    return _dsp(f"{why}; the built-in DSP separator (harmonic/percussive + centre channel)")
