"""Writing the bank's active packs into the asset folder layout the pipeline defines
(``pipeline.asset_layout``) and reads (``pipeline/assets.py``).

Every asset is fetched once (``playable.fetch``): a file missing or unreadable in storage, or one that no
longer decodes, is skipped and the reason kept. Then, per kind, only what can be played is written:

- drums: the played kit is the default pack when any of its samples is usable, else the first other active
  kit that is playable on its own (``playable.problems``), else the shipped kit. Roles the played kit lacks
  are filled from the other active kits, then from related roles of the kit itself, then from the shipped
  kit. Other kits are written when they are playable on their own (their gaps filled from their own roles).
- impulse responses: every usable IR as ``ir/<name>.wav``; the played one is the default pack's first, else
  the first usable IR of another active pack, else the shipped IR.
- guitar: every pack with a usable note, the played one chosen like the kit; else the shipped pack.
- MIDI: every usable file into each of its pack's style folders, named ``<role>--<pack>--<file>``.

A pack with nothing usable is skipped whole and never leaves a half-written folder behind.
``defaults.json`` names what is played. ``write_layout`` returns the facts a job records (see
``assets_bank.materialize``).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import soundfile as sf

from assets_bank import playable
from assets_bank.models import REQUIRED_ROLES, Asset, Kind, Pack
from assets_bank.playable import Fetched, fetch
from pipeline import STYLES, asset_layout

# When the kit lacks a role and no other active kit has it, play a related role of the same kit.
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
FETCH_DIR = ".fetched"
PLAYED, AVAILABLE, SKIPPED = "played", "available", "skipped"
Roles = dict[str, list[dict[str, Any]]]  # kit.json's "roles": each role's velocity layers


@dataclass
class PackContent:
    pack: Pack
    assets: list[Asset]
    names: dict[int, str]  # asset id -> file name inside the pack's folder


@dataclass
class Layout:
    """What was written under ``dest`` and what was not, gathered while writing."""

    dest: Path
    fallback_dir: Path | None
    fetched: dict[int, Fetched] = field(default_factory=dict)
    folders: dict[int, str] = field(default_factory=dict)
    states: dict[int, str] = field(default_factory=dict)
    problems: dict[int, list[str]] = field(default_factory=dict)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    chosen: dict[str, str] = field(default_factory=dict)  # what defaults.json names
    played: dict[str, Any] = field(
        default_factory=lambda: {"drums": None, "impulse-response": None, "guitar": None}
    )
    filled: dict[str, Any] = field(default_factory=dict)
    fallback: list[str] = field(default_factory=list)

    @property
    def storage_errors(self) -> bool:
        return any(f.storage_error for f in self.fetched.values())

    def usable(self, content: PackContent) -> list[Fetched]:
        """The pack's assets that arrived and decode (fetching each once), recording the others."""
        found = []
        for asset in content.assets:
            if asset.pk not in self.fetched:
                target = self.dest / FETCH_DIR / f"{asset.pk}{asset.extension}"
                self.fetched[asset.pk] = result = fetch(asset, target)
                if not result.usable:
                    self.note(content.pack, f"{asset.role} '{asset.name}': {result.problem}", asset)
            if self.fetched[asset.pk].usable:
                found.append(self.fetched[asset.pk])
        return found

    def note(self, pack: Pack, problem: str, asset: Asset | None = None) -> None:
        self.problems.setdefault(pack.pk, []).append(problem)
        self.skipped.append(
            {
                "pack": pack.pk,
                "pack_name": pack.name,
                "asset": asset.pk if asset else None,
                "role": asset.role if asset else None,
                "reason": problem,
            }
        )

    def skip_pack(self, content: PackContent, reasons: list[str]) -> None:
        self.states[content.pack.pk] = SKIPPED
        for reason in reasons:
            self.note(content.pack, reason)

    def place(self, fetched: Fetched, target: Path) -> None:
        assert fetched.path is not None
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(fetched.path, target)


def write_layout(contents: list[PackContent], dest: Path, fallback_dir: Path | None) -> Layout:
    """Write what can be played of ``contents`` under ``dest`` (see the module docstring)."""
    dest.mkdir(parents=True, exist_ok=True)
    layout = Layout(dest, Path(fallback_dir) if fallback_dir is not None else None)
    by_kind = {kind: [c for c in contents if c.pack.kind == kind] for kind in Kind.values}
    _write_drums(layout, by_kind[Kind.DRUMS])
    _write_irs(layout, by_kind[Kind.IMPULSE_RESPONSE])
    _write_guitars(layout, by_kind[Kind.GUITAR])
    _write_midi(layout, by_kind[Kind.MIDI])
    _write_fallbacks(layout)
    (dest / asset_layout.DEFAULTS_FILE).write_text(json.dumps(layout.chosen, indent=2) + "\n")
    shutil.rmtree(dest / FETCH_DIR, ignore_errors=True)
    return layout


def _choose_played(contents: list[PackContent], good: dict[int, list[Fetched]]) -> PackContent | None:
    """The default pack when it can be played, else the first other pack playable on its own.

    A default drum kit with any usable sample is played (its gaps are filled); other kinds' defaults must be
    playable as they are (an IR pack with an IR, a guitar pack with a note).
    """
    default = next((c for c in contents if c.pack.is_default), None)
    if default is not None:
        usable = good[default.pack.pk]
        kind = default.pack.kind
        if usable and (kind == Kind.DRUMS or not playable.problems(kind, _roles(usable))):
            return default
    for content in contents:
        if content is not default and not playable.problems(content.pack.kind, _roles(good[content.pack.pk])):
            return content
    return None


def _roles(fetched: list[Fetched]) -> set[str]:
    return {f.asset.role for f in fetched}


# --- Drums -------------------------------------------------------------------------------------------------


def _layer(file: str, asset: Asset | None = None, spec: dict[str, Any] | None = None) -> dict[str, Any]:
    if asset is not None:
        return asset_layout.kit_layer(file, asset.velocity_min, asset.velocity_max, asset.gain)
    spec = spec or {}
    return asset_layout.kit_layer(
        file, float(spec.get("min", 0.0)), float(spec.get("max", 1.0)), float(spec.get("gain", 1.0))
    )


def _write_drums(layout: Layout, kits: list[PackContent]) -> None:
    good = {c.pack.pk: layout.usable(c) for c in kits}
    played = _choose_played(kits, good)
    for content in kits:
        pk = content.pack.pk
        if content is played:
            others = [c for c in kits if c is not content]
            _write_kit(layout, content, good[pk], borrow_from=[(c, good[c.pack.pk]) for c in others])
            layout.states[pk] = PLAYED
            layout.played["drums"] = pk
            layout.chosen["drums"] = content.pack.slug
            continue
        reasons = playable.problems(Kind.DRUMS, _roles(good[pk]))
        if reasons:
            layout.skip_pack(content, reasons)
            continue
        _write_kit(layout, content, good[pk], borrow_from=None)
        layout.states[pk] = AVAILABLE


def _write_kit(
    layout: Layout,
    content: PackContent,
    own: list[Fetched],
    borrow_from: list[tuple[PackContent, list[Fetched]]] | None,
) -> None:
    """One kit folder. The played kit (``borrow_from`` given) fills its gaps from other kits and the shipped
    kit; every kit fills what is left from related roles of its own."""
    folder = asset_layout.kit_dir(layout.dest, content.pack.slug)
    roles: Roles = {}
    for fetched in own:
        name = content.names[fetched.asset.pk]
        layout.place(fetched, folder / name)
        roles.setdefault(fetched.asset.role, []).append(_layer(name, fetched.asset))
    filled: dict[str, Any] = {}
    if borrow_from is not None:
        _borrow_roles(layout, folder, roles, filled, borrow_from)
        # a kick, snare or hi-hat stand-in sounds wrong: the shipped one comes first
        _fill_from_shipped_kit(layout, folder, REQUIRED_ROLES[Kind.DRUMS], roles, filled)
    _substitute_related_roles(roles, filled)
    if borrow_from is not None:
        _fill_from_shipped_kit(layout, folder, asset_layout.DRUM_ROLES, roles, filled)
        layout.filled = filled
        missing = [role for role in asset_layout.DRUM_ROLES if not roles.get(role)]
        if missing:  # no shipped folder to fill from: the pipeline then plays its own shipped kit
            layout.note(content.pack, f"it lacks {', '.join(missing)} and nothing could fill them")
    _write_kit_folder(layout, content, folder, roles)


def _borrow_roles(
    layout: Layout,
    folder: Path,
    roles: Roles,
    filled: dict[str, Any],
    borrow_from: list[tuple[PackContent, list[Fetched]]],
) -> None:
    """Each role the kit lacks, from the first other active kit that has it (all of that kit's layers)."""
    for role in asset_layout.DRUM_ROLES:
        if roles.get(role):
            continue
        for other, usable in borrow_from:
            layers = [f for f in usable if f.asset.role == role]
            for fetched in layers:
                name = f"from-{other.pack.slug}-{other.names[fetched.asset.pk]}"
                layout.place(fetched, folder / name)
                roles.setdefault(role, []).append(_layer(name, fetched.asset))
            if layers:
                filled[role] = {"pack": other.pack.pk, "assets": [f.asset.pk for f in layers]}
                break


def _substitute_related_roles(roles: Roles, filled: dict[str, Any]) -> None:
    """A role still missing plays the layers of a related role of the same kit (``ROLE_SUBSTITUTES``)."""
    for role in asset_layout.DRUM_ROLES:
        if not roles.get(role):
            source = next((s for s in ROLE_SUBSTITUTES.get(role, ()) if roles.get(s)), None)
            if source is not None:
                roles[role] = [dict(layer) for layer in roles[source]]
                filled[role] = {"role": source}


def _write_kit_folder(layout: Layout, content: PackContent, folder: Path, roles: Roles) -> None:
    """kit.json (each role's layers by velocity, the loudest reaching 1.0) and LICENSE beside the samples."""
    for layers in roles.values():
        layers.sort(key=lambda layer: layer["min"])
        if layers:
            layers[-1]["max"] = 1.0
    folder.mkdir(parents=True, exist_ok=True)
    manifest = {
        "name": content.pack.name,
        "author": "",
        "licence": content.pack.licence.splitlines()[0] if content.pack.licence else "",
        "source": f"Metalizer asset bank pack #{content.pack.pk} v{content.pack.version}",
        "roles": roles,
    }
    (folder / asset_layout.KIT_MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    (folder / asset_layout.LICENCE_FILE).write_text(content.pack.licence or "No licence text recorded.\n")
    layout.folders[content.pack.pk] = f"{asset_layout.DRUMS_DIR}/{content.pack.slug}"


def _fill_from_shipped_kit(
    layout: Layout,
    folder: Path,
    wanted: tuple[str, ...],
    roles: Roles,
    filled: dict[str, Any],
) -> None:
    """Copy the shipped kit's layers of each ``wanted`` role still missing into ``folder``."""
    if layout.fallback_dir is None:
        return
    kit_name = asset_layout.default_names(layout.fallback_dir)[0]
    kit_dir = asset_layout.kit_dir(layout.fallback_dir, kit_name)
    try:
        specs = json.loads((kit_dir / asset_layout.KIT_MANIFEST).read_text())["roles"]
    except (OSError, ValueError, KeyError, TypeError):
        return
    for role in wanted:
        if roles.get(role) or not isinstance(specs, dict):
            continue
        for spec in specs.get(role) or []:
            source = kit_dir / str(spec.get("file", ""))
            if source.is_file():
                folder.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, folder / f"from-shipped-{source.name}")
                roles.setdefault(role, []).append(_layer(f"from-shipped-{source.name}", spec=spec))
        if roles.get(role):
            filled[role] = {"shipped": f"{asset_layout.DRUMS_DIR}/{kit_name}"}


# --- Impulse responses -----------------------------------------------------------------------------------


def _write_irs(layout: Layout, packs: list[PackContent]) -> None:
    good = {c.pack.pk: layout.usable(c) for c in packs}
    played = _choose_played(packs, good)
    index: dict[str, Any] = {}
    for content in packs:
        usable = sorted(good[content.pack.pk], key=lambda f: (f.asset.position, f.asset.pk))
        if not usable:
            layout.skip_pack(content, playable.problems(Kind.IMPULSE_RESPONSE, ()))
            continue
        for fetched in usable:
            asset = fetched.asset
            name = asset.name if asset.name not in index else f"{asset.name}-{asset.pk}"
            _place_ir(fetched, asset_layout.ir_path(layout.dest, name))
            index[name] = {"pack": content.pack.pk, "asset": asset.pk, "sha256": asset.sha256}
            if content is played and layout.played["impulse-response"] is None:
                layout.played["impulse-response"] = asset.pk
                layout.chosen["ir"] = name
        layout.states[content.pack.pk] = PLAYED if content is played else AVAILABLE
        layout.folders[content.pack.pk] = asset_layout.IR_DIR
    if index:
        ir_dir = layout.dest / asset_layout.IR_DIR
        (ir_dir / asset_layout.IR_INDEX).write_text(json.dumps(index, indent=2) + "\n")
        (ir_dir / asset_layout.LICENCE_FILE).write_text(
            "\n\n".join(f"{c.pack.name}:\n{c.pack.licence}" for c in packs if c.pack.licence) + "\n"
        )


def _place_ir(fetched: Fetched, target: Path) -> None:
    """An IR as WAV (the pipeline loads ``ir/<name>.wav``), converted when stored as another format."""
    assert fetched.path is not None
    target.parent.mkdir(parents=True, exist_ok=True)
    if fetched.asset.format == "wav":
        shutil.copyfile(fetched.path, target)
        return
    data, rate = sf.read(fetched.path, dtype="float32", always_2d=True)
    sf.write(target, data, rate, subtype="FLOAT")


# --- Guitar and MIDI ---------------------------------------------------------------------------------------


def _write_guitars(layout: Layout, packs: list[PackContent]) -> None:
    good = {c.pack.pk: layout.usable(c) for c in packs}
    played = _choose_played(packs, good)
    for content in packs:
        usable = good[content.pack.pk]
        reasons = playable.problems(Kind.GUITAR, _roles(usable))
        if reasons:
            layout.skip_pack(content, reasons)
            continue
        folder = asset_layout.guitar_dir(layout.dest, content.pack.slug)
        samples = []
        for fetched in usable:
            name = content.names[fetched.asset.pk]
            layout.place(fetched, folder / name)
            samples.append({**_layer(name, fetched.asset), "role": fetched.asset.role})
        folder.mkdir(parents=True, exist_ok=True)
        manifest = {"name": content.pack.name, "samples": samples}
        (folder / asset_layout.GUITAR_MANIFEST).write_text(json.dumps(manifest))
        layout.folders[content.pack.pk] = f"{asset_layout.GUITAR_DIR}/{content.pack.slug}"
        layout.states[content.pack.pk] = PLAYED if content is played else AVAILABLE
        if content is played:
            layout.played["guitar"] = content.pack.pk
            layout.chosen["guitar"] = content.pack.slug


def _write_midi(layout: Layout, packs: list[PackContent]) -> None:
    for content in packs:
        usable = layout.usable(content)
        if not usable:
            layout.skip_pack(content, playable.problems(Kind.MIDI, ()))
            continue
        styles = [s for s in content.pack.style_tags if s in STYLES] or list(STYLES)
        for style in styles:
            for fetched in usable:
                # The role leads the name: the arranger picks its riff seeds by the "riff" prefix.
                name = f"{fetched.asset.role}--{content.pack.slug}--{content.names[fetched.asset.pk]}"
                layout.place(fetched, asset_layout.midi_dir(layout.dest, style) / name)
        layout.folders[content.pack.pk] = asset_layout.MIDI_DIR
        layout.states[content.pack.pk] = AVAILABLE


# --- The shipped packs, where the bank has nothing playable ------------------------------------------------


def _write_fallbacks(layout: Layout) -> None:
    root = layout.fallback_dir
    if root is None:
        return
    kit_name, ir_name = asset_layout.default_names(root)
    kit_src = asset_layout.kit_dir(root, kit_name)
    if layout.played["drums"] is None and (kit_src / asset_layout.KIT_MANIFEST).is_file():
        _replace_tree(kit_src, asset_layout.kit_dir(layout.dest, kit_name))
        layout.fallback.append(f"{asset_layout.DRUMS_DIR}/{kit_name}")
        layout.chosen["drums"] = kit_name
    ir_src = asset_layout.ir_path(root, ir_name)
    if layout.played["impulse-response"] is None and ir_src.is_file():
        ir_dest = asset_layout.ir_path(layout.dest, ir_name)
        ir_dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ir_src, ir_dest)
        layout.fallback.append(ir_dest.relative_to(layout.dest).as_posix())
        layout.chosen["ir"] = ir_name
    guitar_name = asset_layout.default_guitar(root)
    guitar_src = asset_layout.guitar_dir(root, str(guitar_name))
    if (
        layout.played["guitar"] is None
        and guitar_name
        and (guitar_src / asset_layout.GUITAR_MANIFEST).is_file()
    ):
        _replace_tree(guitar_src, asset_layout.guitar_dir(layout.dest, guitar_name))
        layout.fallback.append(f"{asset_layout.GUITAR_DIR}/{guitar_name}")
        layout.chosen["guitar"] = guitar_name


def _replace_tree(source: Path, target: Path) -> None:
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target)
