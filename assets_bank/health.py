"""Can a pack be played as it is? What the admin warns about, before a job has to skip it.

``rule_problems`` is cheap (the roles the pack holds, one query: the change list shows it for every pack);
``file_problems`` reads every file from storage and decodes it, as a job's layout writer would (the pack's
change page and the "check files" action run it).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from assets_bank import playable
from assets_bank.asset_check import fetch
from assets_bank.models import Pack


def rule_problems(pack: Pack) -> list[str]:
    return playable.problems(pack.kind, pack.roles_present())


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
