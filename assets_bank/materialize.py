"""The bank as the pipeline sees it: active packs written into the directory layout of ``pipeline/assets.py``.

``materialize(dest_dir)`` writes every active pack (the default pack of each kind first) and returns a
JSON-able snapshot of what it wrote (pack ids, names, versions, the sha256 of every file). A job stores that
snapshot, so a later edit of the bank never changes the record of how a finished job was made.

Every kit is written to ``drums/<pack slug>`` and every IR to ``ir/<asset name>.wav``; ``defaults.json``
names the default drum pack's folder and the first IR of the default impulse-response pack, which is what
the pipeline plays (``pipeline.assets.default_names``). Roles the default kit lacks are filled from the
other active kits (then from related roles of the kit itself), so a staff kit of just a kick, snare and
hi-hat plays. Anything still missing (an empty bank) comes from ``fallback_dir`` (the repo's ``assets/``,
its own ``defaults.json`` saying which kit and IR), and the snapshot says so.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import soundfile as sf

from assets_bank.archives import archive_names
from assets_bank.models import DRUM_ROLES, Asset, Kind, Pack
from pipeline.assets import DEFAULTS_FILE, default_guitar, default_names
from pipeline.types import STYLES

# When the default kit lacks a role and no other active kit has it, play a related role of the same kit.
ROLE_SUBSTITUTES: dict[str, tuple[str, ...]] = {
    "hihat-open": ("hihat-closed",),
    "ride": ("hihat-open", "crash", "hihat-closed"),
    "crash": ("china", "ride", "hihat-open", "hihat-closed"),
    "china": ("crash", "ride", "hihat-open", "hihat-closed"),
    "tom-high": ("tom-mid", "tom-low", "snare"),
    "tom-mid": ("tom-high", "tom-low", "snare"),
    "tom-low": ("tom-mid", "tom-high", "snare"),
    "kick": ("tom-low",),
    "snare": ("tom-high",),
    "hihat-closed": ("hihat-open", "ride"),
}
KIND_ORDER = (Kind.DRUMS, Kind.IMPULSE_RESPONSE, Kind.GUITAR, Kind.MIDI)
READY_MARK = ".complete"


@dataclass
class PackContent:
    pack: Pack
    assets: list[Asset]
    names: dict[int, str]


def collect() -> list[PackContent]:
    """Active packs with their assets, the default of each kind first, read once."""
    packs = Pack.objects.active().prefetch_related("assets")
    ordered = sorted(packs, key=lambda p: (KIND_ORDER.index(p.kind), not p.is_default, p.pk))
    return [PackContent(p, list(p.assets.all()), archive_names(p)) for p in ordered]


def snapshot_of(contents: list[PackContent]) -> dict[str, Any]:
    packs = [
        {
            "id": c.pack.pk,
            "name": c.pack.name,
            "slug": c.pack.slug,
            "kind": c.pack.kind,
            "version": c.pack.version,
            "is_default": c.pack.is_default,
            "assets": [{"id": a.pk, "role": a.role, "name": a.name, "sha256": a.sha256} for a in c.assets],
        }
        for c in contents
    ]
    fingerprint = hashlib.sha256(json.dumps(packs, sort_keys=True).encode()).hexdigest()
    return {"fingerprint": fingerprint, "packs": packs}


def _copy_from_storage(asset: Asset, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with asset.file.open("rb") as src, target.open("wb") as dst:
        shutil.copyfileobj(src, dst, length=1 << 20)


def _layer(file: str, asset: Asset) -> dict[str, Any]:
    return {"file": file, "min": asset.velocity_min, "max": asset.velocity_max, "gain": asset.gain}


def _write_kit(content: PackContent, folder: Path, others: list[PackContent] | None) -> dict[str, Any]:
    """Write one kit folder; for the played kit (``others`` given) fill missing roles. Returns fill facts."""
    roles: dict[str, list[dict[str, Any]]] = {}
    for asset in content.assets:
        name = content.names[asset.pk]
        _copy_from_storage(asset, folder / name)
        roles.setdefault(asset.role, []).append(_layer(name, asset))
    filled: dict[str, Any] = {}
    if others is not None:
        for role in DRUM_ROLES:
            if roles.get(role):
                continue
            for other in others:
                layers = [a for a in other.assets if a.role == role]
                if layers:
                    for asset in layers:
                        name = f"from-{other.pack.slug}-{other.names[asset.pk]}"
                        _copy_from_storage(asset, folder / name)
                        roles.setdefault(role, []).append(_layer(name, asset))
                    filled[role] = {"pack": other.pack.pk, "assets": [a.pk for a in layers]}
                    break
        for role in DRUM_ROLES:
            if not roles.get(role):
                source = next((s for s in ROLE_SUBSTITUTES.get(role, ()) if roles.get(s)), None)
                if source is not None:
                    roles[role] = [dict(layer) for layer in roles[source]]
                    filled[role] = {"role": source}
    for layers in roles.values():
        layers.sort(key=lambda layer: layer["min"])
        if layers:
            layers[-1]["max"] = 1.0
    manifest = {
        "name": content.pack.name,
        "author": "",
        "licence": content.pack.licence.splitlines()[0] if content.pack.licence else "",
        "source": f"Metalizer asset bank pack #{content.pack.pk} v{content.pack.version}",
        "roles": roles,
    }
    (folder / "kit.json").write_text(json.dumps(manifest, indent=2) + "\n")
    (folder / "LICENSE").write_text(content.pack.licence or "No licence text recorded.\n")
    return filled


def _write_ir(asset: Asset, target: Path) -> None:
    """An IR as WAV (the pipeline loads ``ir/<name>.wav``), converted when stored as another format."""
    if asset.format == "wav":
        _copy_from_storage(asset, target)
        return
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / f"ir{asset.extension}"
        _copy_from_storage(asset, source)
        data, rate = sf.read(source, dtype="float32", always_2d=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        sf.write(target, data, rate, subtype="FLOAT")


def write_layout(contents: list[PackContent], dest: Path, fallback_dir: Path | None) -> dict[str, Any]:
    """Write ``contents`` under ``dest``; returns where each pack went and what was filled in."""
    dest.mkdir(parents=True, exist_ok=True)
    drums = [c for c in contents if c.pack.kind == Kind.DRUMS]
    played_kit = next((c for c in drums if c.pack.is_default), drums[0] if drums else None)
    folders: dict[int, str] = {}
    played: dict[str, Any] = {"drums": None, "impulse-response": None, "guitar": None}
    chosen: dict[str, str] = {}  # what defaults.json names
    filled: dict[str, Any] = {}
    for content in drums:
        folder = f"drums/{content.pack.slug}"  # slugs are unique and path-safe
        if content is played_kit:
            filled = _write_kit(content, dest / folder, [d for d in drums if d is not content])
            played["drums"] = content.pack.pk
            chosen["drums"] = content.pack.slug
        else:
            _write_kit(content, dest / folder, None)
        folders[content.pack.pk] = folder

    irs = [c for c in contents if c.pack.kind == Kind.IMPULSE_RESPONSE]
    played_ir_pack = next((c for c in irs if c.pack.is_default), irs[0] if irs else None)
    ir_index: dict[str, Any] = {}
    used_names: set[str] = set()
    for content in irs:
        for asset in sorted(content.assets, key=lambda a: (a.position, a.pk)):
            name = asset.name if asset.name not in used_names else f"{asset.name}-{asset.pk}"
            if content is played_ir_pack and played["impulse-response"] is None:
                played["impulse-response"] = asset.pk
                chosen["ir"] = name
            used_names.add(name)
            _write_ir(asset, dest / "ir" / f"{name}.wav")
            ir_index[name] = {"pack": content.pack.pk, "asset": asset.pk, "sha256": asset.sha256}
        folders[content.pack.pk] = "ir"
    if ir_index:
        (dest / "ir" / "irs.json").write_text(json.dumps(ir_index, indent=2) + "\n")
        (dest / "ir" / "LICENSE").write_text(
            "\n\n".join(f"{c.pack.name}:\n{c.pack.licence}" for c in irs if c.pack.licence) + "\n"
        )

    for content in contents:
        if content.pack.kind == Kind.MIDI:
            styles = [s for s in content.pack.style_tags if s in STYLES] or list(STYLES)
            for style in styles:
                for asset in content.assets:
                    _copy_from_storage(
                        asset, dest / "midi" / style / f"{content.pack.slug}--{content.names[asset.pk]}"
                    )
            folders[content.pack.pk] = "midi"
        elif content.pack.kind == Kind.GUITAR:
            if "guitar" not in chosen:  # the default guitar pack comes first: it is the one played
                chosen["guitar"] = content.pack.slug
                played["guitar"] = content.pack.pk
            folder = dest / "guitar" / content.pack.slug
            samples = []
            for asset in content.assets:
                _copy_from_storage(asset, folder / content.names[asset.pk])
                samples.append(
                    {
                        "file": content.names[asset.pk],
                        **_layer(content.names[asset.pk], asset),
                        "role": asset.role,
                    }
                )
            (folder / "samples.json").write_text(
                json.dumps({"name": content.pack.name, "samples": samples}, indent=2)
            )
            folders[content.pack.pk] = f"guitar/{content.pack.slug}"

    fallback: list[str] = []
    if fallback_dir is not None:
        kit_name, ir_name = default_names(Path(fallback_dir))
        kit_src = Path(fallback_dir) / "drums" / kit_name
        if played_kit is None and (kit_src / "kit.json").is_file():
            shutil.copytree(kit_src, dest / "drums" / kit_name)
            fallback.append(f"drums/{kit_name}")
            chosen["drums"] = kit_name
        ir_src = Path(fallback_dir) / "ir" / f"{ir_name}.wav"
        if played["impulse-response"] is None and ir_src.is_file():
            (dest / "ir").mkdir(parents=True, exist_ok=True)
            shutil.copy2(ir_src, dest / "ir" / f"{ir_name}.wav")
            fallback.append(f"ir/{ir_name}.wav")
            chosen["ir"] = ir_name
        guitar_name = default_guitar(Path(fallback_dir))
        guitar_src = Path(fallback_dir) / "guitar" / str(guitar_name)
        if played["guitar"] is None and guitar_name and (guitar_src / "samples.json").is_file():
            shutil.copytree(guitar_src, dest / "guitar" / guitar_name)
            fallback.append(f"guitar/{guitar_name}")
            chosen["guitar"] = guitar_name
    (dest / DEFAULTS_FILE).write_text(json.dumps(chosen, indent=2) + "\n")
    return {"folders": folders, "played": played, "filled_roles": filled, "fallback": fallback}


def materialize(dest_dir: Path, *, fallback_dir: Path | None = None) -> dict[str, Any]:
    """Write the active packs into ``dest_dir`` in the pipeline's layout; returns the JSON-able snapshot."""
    contents = collect()
    snapshot = snapshot_of(contents)
    layout = write_layout(contents, Path(dest_dir), fallback_dir)
    for pack in snapshot["packs"]:
        pack["folder"] = layout["folders"].get(pack["id"], "")
    snapshot.update(
        played=layout["played"],
        filled_roles=layout["filled_roles"],
        fallback=layout["fallback"],
        fallback_dir=str(fallback_dir) if layout["fallback"] else None,
    )
    return snapshot


def materialize_cached(
    cache_root: Path, *, fallback_dir: Path | None = None, keep: int = 4
) -> tuple[Path, dict]:
    """Like ``materialize``, into ``cache_root/<fingerprint>``, reused while no active pack changes.

    The folder appears complete or not at all (written aside, then renamed); older folders beyond the
    ``keep`` most recent are removed.
    """
    cache_root = Path(cache_root)
    cache_root.mkdir(parents=True, exist_ok=True)
    contents = collect()
    fingerprint = snapshot_of(contents)["fingerprint"]
    key = hashlib.sha256(f"{fingerprint}|{fallback_dir}".encode()).hexdigest()[:32]
    folder = cache_root / key
    snapshot_file = folder / "snapshot.json"
    if (folder / READY_MARK).is_file() and snapshot_file.is_file():
        os.utime(folder)
        return folder, json.loads(snapshot_file.read_text())
    staging = Path(tempfile.mkdtemp(prefix=".partial-", dir=cache_root))
    try:
        snapshot = materialize(staging, fallback_dir=fallback_dir)
        (staging / "snapshot.json").write_text(json.dumps(snapshot))
        (staging / READY_MARK).touch()
        try:
            staging.rename(folder)
        except OSError:  # another worker finished the same folder first
            shutil.rmtree(staging, ignore_errors=True)
            if not (folder / READY_MARK).is_file():
                raise
            snapshot = json.loads(snapshot_file.read_text())
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _prune(cache_root, keep=keep, current=folder)
    return folder, snapshot


def _prune(cache_root: Path, *, keep: int, current: Path) -> None:
    folders = sorted(
        (p for p in cache_root.iterdir() if p.is_dir() and not p.name.startswith(".")),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for old in folders[keep:]:
        if old != current:
            shutil.rmtree(old, ignore_errors=True)
