"""Loading the repo's default content (``METALIZER_ASSETS_DIR``, laid out as ``pipeline.asset_layout``) into
the bank.

Idempotent: a file whose sha256 is already in the bank is skipped, packs are found again by slug, and a
kind's default is set only while that kind has none (a default chosen by staff is never overridden).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction

from assets_bank.models import MIDI_ROLES, Asset, Kind, Pack
from assets_bank.services import add_asset, create_pack
from assets_bank.validators import sha256_of
from pipeline import asset_layout as layout

IR_PACK_SLUG = "cabinet-irs"
MIDI_PACK_PREFIX = "midi-"
DEFAULT_MIDI_STYLE = "heavy"


@dataclass
class LoadReport:
    added: int = 0
    present: int = 0
    packs: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"{self.added} new asset(s) loaded, {self.present} already in the bank, "
            f"packs: {', '.join(self.packs) or 'none'}."
        )


def _pack(slug: str, name: str, kind: str, *, licence: str = "", style_tags: list[str] | None = None) -> Pack:
    pack = Pack.objects.filter(slug=slug).first()
    if pack is None:
        pack = create_pack(name, kind, slug=slug, licence=licence, style_tags=style_tags)
    return pack


def _add(pack: Pack, path: Path, report: LoadReport, **kwargs: object) -> None:
    if Asset.objects.filter(sha256=sha256_of(path)).exists():
        report.present += 1
        return
    add_asset(pack, path, filename=path.name, **kwargs)  # type: ignore[arg-type]
    report.added += 1


def _licence(folder: Path, fallback: str = "") -> str:
    """The LICENSE text kept beside a pack's files, else ``fallback``."""
    path = folder / layout.LICENCE_FILE
    return path.read_text() if path.is_file() else fallback


def _make_default_if_none(pack: Pack) -> None:
    if not Pack.objects.filter(kind=pack.kind, is_default=True).exists() and pack.assets.exists():
        pack.make_default()


def load_drum_kits(root: Path, report: LoadReport) -> None:
    default_kit = layout.default_names(root)[0]
    for name in layout.list_kits(root):
        kit_dir = layout.kit_dir(root, name)
        manifest = json.loads((kit_dir / layout.KIT_MANIFEST).read_text())
        licence = _licence(kit_dir, str(manifest.get("licence", "")))
        pack = _pack(kit_dir.name, str(manifest.get("name") or kit_dir.name), Kind.DRUMS, licence=licence)
        position = 0
        for role, layers in manifest["roles"].items():
            for spec in layers:
                _add(
                    pack,
                    kit_dir / spec["file"],
                    report,
                    role=role,
                    velocity_min=float(spec.get("min", 0.0)),
                    velocity_max=float(spec.get("max", 1.0)),
                    gain=float(spec.get("gain", 1.0)),
                    position=position,
                )
                position += 1
        report.packs.append(pack.name)
        if kit_dir.name == default_kit:
            _make_default_if_none(pack)


def load_irs(root: Path, report: LoadReport) -> None:
    ir_dir = root / layout.IR_DIR
    default_ir = layout.default_names(root)[1]
    names = sorted(layout.list_irs(root), key=lambda name: (name != default_ir, name))
    files = [layout.ir_path(root, name) for name in names]
    if not files:
        return
    licence = _licence(ir_dir)
    pack = _pack(IR_PACK_SLUG, "Cabinet impulse responses", Kind.IMPULSE_RESPONSE, licence=licence)
    for position, path in enumerate(files):
        _add(pack, path, report, role="ir", position=position)
    report.packs.append(pack.name)
    _make_default_if_none(pack)


def load_midi(root: Path, report: LoadReport) -> None:
    for style_dir in sorted(p for p in (root / layout.MIDI_DIR).glob("*") if p.is_dir()):
        files = sorted(style_dir.glob(f"*{layout.MIDI_SUFFIX}"))
        if not files:
            continue
        style = style_dir.name
        licence = _licence(style_dir)
        pack = _pack(
            f"{MIDI_PACK_PREFIX}{style}",
            f"{style.title()} MIDI seeds",
            Kind.MIDI,
            licence=licence,
            style_tags=[style],
        )
        for position, path in enumerate(files):
            stem = path.stem.lower()
            role = next((r for r in MIDI_ROLES if stem.startswith(r)), "riff")
            _add(pack, path, report, role=role, position=position)
        report.packs.append(pack.name)
        if style == DEFAULT_MIDI_STYLE:
            _make_default_if_none(pack)


def load_guitar_packs(root: Path, report: LoadReport) -> None:
    """Every ``guitar/<pack>/samples.json`` as a guitar pack (slug = folder: it plays from the same path)."""
    played = layout.default_guitar(root)
    for name in layout.list_guitars(root):
        folder = layout.guitar_dir(root, name)
        manifest = json.loads((folder / layout.GUITAR_MANIFEST).read_text())
        licence = _licence(folder, str(manifest.get("licence", "")))
        pack = _pack(folder.name, str(manifest.get("name") or folder.name), Kind.GUITAR, licence=licence)
        for position, spec in enumerate(manifest["samples"]):
            _add(pack, folder / spec["file"], report, role=spec["role"], position=position)
        report.packs.append(pack.name)
        if folder.name == played:
            _make_default_if_none(pack)


def load_default_assets(root: Path) -> LoadReport:
    """Load drum kits, IRs, guitar notes and MIDI seeds from ``root``; returns what was added and what was
    there."""
    report = LoadReport()
    with transaction.atomic():
        load_drum_kits(root, report)
        load_irs(root, report)
        load_guitar_packs(root, report)
        load_midi(root, report)
    return report
