"""The separators this site offers listeners: which can run, what the page tells them, and a clear refusal.

The operator lists the allowed ones (``METALIZER_SEPARATORS``); what can run also depends on the weights in
``METALIZER_MODELS_DIR``. What each one is (its name for listeners, what it is good at, its licence, its
measured speed) is the pipeline's catalogue (``pipeline.SEPARATOR_FACTS``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings

from pipeline import DEFAULT_OPTIONS, SEPARATOR_FACTS, SEPARATORS, estimated_seconds, separator_offers

# A first remix must finish inside the task's soft time limit; keep a margin for a busier machine.
TIME_LIMIT_SHARE = 0.8


def offers() -> dict[str, Any]:
    """method -> pipeline ``Offer`` (available, why_not) for auto and each separator."""
    allowed = settings.METALIZER_SEPARATORS
    return {o.method: o for o in separator_offers(Path(settings.METALIZER_MODELS_DIR), allowed)}


def refusal(method: str, duration_s: float | None = None) -> str | None:
    """Why ``method`` cannot separate a song of ``duration_s`` here, in a listener's words; None if it can."""
    if method not in SEPARATORS:
        return f"Unknown separator '{method}'. Choose {', '.join(SEPARATORS)}."
    offer = offers()[method]
    label = SEPARATOR_FACTS[method].label
    if not offer.available:
        return f"{label} is {offer.why_not or 'not available'}. Choose another separator."
    limit = settings.METALIZER_TASK_SOFT_TIME_LIMIT_S * TIME_LIMIT_SHARE
    needed = estimated_seconds(method, duration_s or 0.0)
    if needed > limit:
        return (
            f"{label} would take about {_minutes(needed)} on this song, longer than this server gives one "
            f"remix ({_minutes(limit)}). Choose a faster separator."
        )
    return None


def page_choices(chosen: str | None = None) -> list[dict[str, Any]]:
    """Each separator as the upload page shows it, the unavailable ones disabled with the reason."""
    chosen = chosen or DEFAULT_OPTIONS.separator
    available = offers()
    return [
        {
            "value": method,
            "label": facts.label,
            "summary": facts.summary,
            "licence": facts.licence,
            # a whole first remix (separating and the rest) per minute of song, on the measured machine
            "seconds_per_minute": round(estimated_seconds(method, 60.0), 1),
            "per_minute": _minutes(estimated_seconds(method, 60.0)),
            "available": available[method].available,
            "why_not": available[method].why_not,
            "checked": method == chosen and available[method].available,
        }
        for method, facts in SEPARATOR_FACTS.items()
    ]


def _minutes(seconds: float) -> str:
    return f"{max(1, round(seconds))} s" if seconds < 90 else f"{round(seconds / 60)} min"
