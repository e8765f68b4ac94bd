"""When a pack can be played, per kind: the one rule shared by the layout writer (``materialize``), the
admin's warnings and the guards that refuse a delete which would leave a kind without a playable default.

A drum kit needs a kick, a snare and a closed hi-hat (every other role is borrowed or substituted); an
impulse-response pack needs one IR; a guitar pack needs one note (``E2``, ``E2-palm-mute``: the rhythm guitars
play notes, other articulations are not played yet); a MIDI pack needs one riff (the arranger reads riff
seeds only).
"""

from __future__ import annotations

from collections.abc import Iterable

from assets_bank.models import REQUIRED_ROLES, Kind
from pipeline import asset_layout


def is_note(role: str) -> bool:
    return asset_layout.note_role_pitch(role) is not None


def problems(kind: str, roles: Iterable[str]) -> list[str]:
    """Why a pack of ``kind`` holding samples of ``roles`` cannot be played; empty when it can."""
    present = set(roles)
    required = REQUIRED_ROLES.get(kind, ())
    if not present:
        return [
            f"it has no samples (it needs {_listed(required, 'and')})" if required else "it has no samples"
        ]
    missing = [role for role in required if role not in present]
    if missing:
        return [f"it has no {_listed(missing, 'or')} sample"]
    if kind == Kind.GUITAR and not any(is_note(role) for role in present):
        return ["it has no note sample (such as E2 or E2-palm-mute)"]
    if kind == Kind.MIDI and "riff" not in present:
        return ["it has no riff"]
    return []


def loss_if_removed(kind: str, roles: Iterable[str], removed_role: str) -> str | None:
    """What a pack holding ``roles`` (the one removed excluded) loses without a ``removed_role`` sample:
    the problem it would then have, or None when that sample is not what keeps it playable."""
    remaining = list(roles)
    without = problems(kind, remaining)
    if without and without != problems(kind, [*remaining, removed_role]):
        return without[0]
    return None


def _listed(names: Iterable[str], last: str) -> str:
    names = list(names)
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} {last} {names[-1]}"
