"""Can a pack be played: the one module that answers it, by its roles and by its files.

By roles (``problems``, cheap: the roles a pack holds): the one rule shared by the layout writer
(``materialize``), the admin's warnings and the guards that refuse a delete which would leave a kind without
a playable default. A drum kit needs a kick, a snare and a closed hi-hat (every other role is borrowed or
substituted); an impulse-response pack needs one IR; a guitar pack needs one note (``E2``, ``E2-palm-mute``:
the rhythm guitars play notes, other articulations are not played yet); a MIDI pack needs one riff (the
arranger reads riff seeds only).

By files (``fetch``, ``file_problems``): storage can lose a file, and a file can stop decoding (a bad copy, a
migration gone wrong) long after the upload validators passed it, or it came in before they knew what to
refuse. ``fetch`` never raises for such an asset: it loads the file as the band will play it
(``pipeline.check_bank_file``, the same load the upload validator runs) and says what is wrong, so the layout
writer skips it and the job still runs. Cancellation and time limits are not ``Exception`` subclasses
(``pipeline.Interrupted``) and pass straight through.

What the admin shows (``rule_problems`` on the change list, ``file_problems`` on a pack's page and in the
"check files" action, ``consequence``) warns before a job has to skip a pack.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from assets_bank.models import REQUIRED_ROLES, Asset, Kind, Pack
from pipeline import PipelineError, asset_layout, check_bank_file

logger = logging.getLogger(__name__)

MISSING_IN_STORAGE = "its file is missing from storage"

# --- By roles ----------------------------------------------------------------------------------------------


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


# --- By files -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fetched:
    """An asset's local copy (``path``), or why it cannot be played (``problem``, with ``path`` None)."""

    asset: Asset
    path: Path | None
    problem: str = ""
    storage_error: bool = False  # a read failure (maybe passing), as opposed to a file that is bad for good

    @property
    def usable(self) -> bool:
        return self.path is not None


def fetch(asset: Asset, target: Path) -> Fetched:
    """Copy ``asset``'s file to ``target`` and check it plays; never raises for a bad or missing file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with asset.file.open("rb") as src, target.open("wb") as dst:
            shutil.copyfileobj(src, dst, length=1 << 20)
    except FileNotFoundError:
        return _unusable(asset, target, MISSING_IN_STORAGE, storage_error=True)
    except Exception as exc:  # S3 answers a lost key with its own errors; a dead connection with others
        logger.warning("asset %s (%s) could not be read from storage: %r", asset.pk, asset.file.name, exc)
        missing = "NoSuchKey" in repr(exc) or "404" in str(exc)
        unreadable = f"its file cannot be read from storage ({type(exc).__name__})"
        reason = MISSING_IN_STORAGE if missing else unreadable
        return _unusable(asset, target, reason, storage_error=True)
    problem = file_problem(target, midi=asset.is_midi)
    if problem:
        return _unusable(asset, target, problem)
    return Fetched(asset, target)


def file_problem(path: Path, *, midi: bool) -> str:
    """Why the band cannot play the file at ``path`` ("" when it can), in the words of the failed load."""
    try:
        check_bank_file(path, midi=midi)
    except PipelineError as exc:
        return f"it cannot be played: {exc.message}"
    except OSError as exc:
        return f"its file cannot be read ({type(exc).__name__})"
    return ""


def _unusable(asset: Asset, target: Path, problem: str, *, storage_error: bool = False) -> Fetched:
    target.unlink(missing_ok=True)
    return Fetched(asset, None, problem, storage_error)


# --- What the admin shows ---------------------------------------------------------------------------------


def rule_problems(pack: Pack) -> list[str]:
    return problems(pack.kind, pack.roles_present())


def file_problems(pack: Pack) -> list[str]:
    """One line per asset whose file is missing or unreadable in storage, or no longer decodes."""
    found = []
    with tempfile.TemporaryDirectory(prefix="asset-check-") as tmp:
        for asset in pack.assets.all():
            result = fetch(asset, Path(tmp) / f"{asset.pk}{asset.extension}")
            if not result.usable:
                found.append(f"{asset.role} '{asset.name}' (#{asset.pk}): {result.problem}")
            if result.path is not None:
                result.path.unlink(missing_ok=True)
    return found


def consequence(pack: Pack) -> str:
    """What a job does with this pack while it has problems."""
    if pack.is_default:
        return "Remixes fill what it lacks from the other packs and the shipped ones, and record that."
    return "Remixes skip what cannot be played and record that."
