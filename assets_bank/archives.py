"""A pack as a ZIP file: import (safely) and export.

An archive holds the pack's files plus one of these manifests at its top (or inside one top folder):
- ``pack.json``: ``{"name", "kind", "style_tags", "licence", "assets": [{"file", "role", "velocity_min",
  "velocity_max", "gain", "position"}]}`` (what ``export_pack_zip`` writes);
- ``kit.json``: the pipeline's drum-kit manifest (``pipeline.asset_layout``), so a kit folder zips as it is;
- none: the kind is given by the caller and each file's role is its name (``kick.wav``, ``kick-2.flac``,
  ``riff-1.mid``). ``LICENSE``/``LICENCE``/``COPYING`` fill the licence text.

Import refuses the whole archive, before anything is stored, when one entry is unsafe (absolute path,
``..``, symlink), when the archive could be a bomb (too many entries, too many bytes once expanded, an
extreme compression ratio of one entry or of the whole archive, an entry larger than the asset limit) or
when one file fails validation.
Extraction counts the bytes actually inflated, never trusting the sizes the archive declares.
"""

from __future__ import annotations

import json
import re
import stat
import tempfile
import zipfile
import zlib
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

from django.db import transaction

from assets_bank.models import Kind, Pack
from assets_bank.services import add_asset, create_pack
from assets_bank.validators import (
    ACCEPTED_EXTENSIONS,
    AssetRejected,
    JudgedFile,
    judged_asset_file,
    max_bytes,
)

MAX_ENTRIES = 1000
MAX_TOTAL_UNCOMPRESSED_BYTES = 1024 * 1024 * 1024
MAX_COMPRESSION_RATIO = 100
# Entries and archives smaller than this once expanded are not judged by their ratio (a tiny text compresses
# well); above it, neither one entry nor the archive as a whole may expand MAX_COMPRESSION_RATIO times.
RATIO_CHECK_MIN_BYTES = 64 * 1024
LICENCE_NAMES = ("license", "licence", "copying", "license.txt", "licence.txt", "copying.txt")
MANIFEST_MAX_BYTES = 1024 * 1024
_LAYER_SUFFIX = re.compile(r"-\d+$")


class UnsafeArchive(AssetRejected):
    def __init__(self, message: str) -> None:
        super().__init__("unsafe_archive", message)


@dataclass
class PlannedAsset:
    file: str  # path inside the archive (after the common top folder)
    role: str
    velocity_min: float = 0.0
    velocity_max: float = 1.0
    gain: float = 1.0
    position: int = 0
    judged: JudgedFile | None = None  # the file as the bank stores it, once accepted


@dataclass
class PackPlan:
    name: str
    kind: str
    style_tags: list[str] = field(default_factory=list)
    licence: str = ""
    assets: list[PlannedAsset] = field(default_factory=list)


# --- Safety --------------------------------------------------------------------------------------------


def safe_member_path(info: zipfile.ZipInfo) -> PurePosixPath:
    """The entry's path, or UnsafeArchive when it is absolute, climbs out, or is a link/device."""
    raw = info.filename
    if "\x00" in raw:
        raise UnsafeArchive(f"The archive entry {raw!r} has a NUL byte in its name.")
    name = raw.replace("\\", "/")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        raise UnsafeArchive(
            f"The archive entry '{raw}' has an absolute path; archives must use relative paths."
        )
    parts = PurePosixPath(name).parts
    if ".." in parts:
        raise UnsafeArchive(f"The archive entry '{raw}' points outside the archive ('..').")
    file_type = stat.S_IFMT((info.external_attr >> 16) & 0xFFFF)  # 0 when the archiver recorded none
    if file_type and file_type not in (stat.S_IFREG, stat.S_IFDIR):
        raise UnsafeArchive(
            f"The archive entry '{raw}' is a symbolic link or special file; only files are allowed."
        )
    return PurePosixPath(*[p for p in parts if p not in ("", ".")])


def check_archive(zf: zipfile.ZipFile) -> list[tuple[zipfile.ZipInfo, PurePosixPath]]:
    """Every file entry with its safe path; raises before a byte is inflated when the archive is unsafe."""
    infos = zf.infolist()
    if len(infos) > MAX_ENTRIES:
        raise UnsafeArchive(f"The archive has {len(infos)} entries; at most {MAX_ENTRIES} are allowed.")
    total = compressed = 0
    members = []
    for info in infos:
        path = safe_member_path(info)
        if info.is_dir() or not path.parts:
            continue
        if info.flag_bits & 0x1:
            raise UnsafeArchive(f"The archive entry '{info.filename}' is encrypted.")
        if info.file_size > max_bytes():
            raise AssetRejected(
                "file_too_large", f"'{info.filename}' is larger than the asset limit once unpacked."
            )
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > RATIO_CHECK_MIN_BYTES and ratio > MAX_COMPRESSION_RATIO:
            raise UnsafeArchive(
                f"'{info.filename}' expands {ratio:.0f} times (limit {MAX_COMPRESSION_RATIO}): "
                "this looks like a ZIP bomb."
            )
        total += info.file_size
        compressed += info.compress_size
        if total > MAX_TOTAL_UNCOMPRESSED_BYTES:
            raise UnsafeArchive("The archive expands to more than 1 GB; split the pack.")
        members.append((info, path))
    ratio = total / max(compressed, 1)
    if total > RATIO_CHECK_MIN_BYTES and ratio > MAX_COMPRESSION_RATIO:
        raise UnsafeArchive(
            f"The archive's {len(members)} files expand {ratio:.0f} times in all (limit "
            f"{MAX_COMPRESSION_RATIO}): this looks like a ZIP bomb."
        )
    return members


def extract_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path) -> None:
    """Inflate one entry, stopping as soon as it produces more bytes than it declared (or than the limit)."""
    limit = min(info.file_size, max_bytes())
    written = 0
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with zf.open(info) as src, target.open("wb") as dst:
            while chunk := src.read(1 << 16):
                written += len(chunk)
                if written > limit:
                    raise UnsafeArchive(
                        f"'{info.filename}' inflates beyond its declared size: refusing the archive."
                    )
                dst.write(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
        raise AssetRejected("invalid_archive", f"'{info.filename}' cannot be unpacked ({exc}).") from None


def _strip_top_folder(members: list[tuple[zipfile.ZipInfo, PurePosixPath]]) -> dict[str, zipfile.ZipInfo]:
    useful = [
        (info, path)
        for info, path in members
        if not any(p.startswith(".") or p == "__MACOSX" for p in path.parts)
    ]
    tops = {path.parts[0] for _, path in useful}
    strip = len(tops) == 1 and all(len(path.parts) > 1 for _, path in useful)
    return {str(PurePosixPath(*path.parts[1:]) if strip else path): info for info, path in useful}


# --- Planning ------------------------------------------------------------------------------------------


def _read_text(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> str:
    if info.file_size > MANIFEST_MAX_BYTES:
        raise AssetRejected("invalid_manifest", f"'{info.filename}' is too large for a manifest.")
    with zf.open(info) as fh:
        return fh.read(MANIFEST_MAX_BYTES + 1)[:MANIFEST_MAX_BYTES].decode("utf-8", errors="replace")


def _load_json(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> dict[str, Any]:
    try:
        data = json.loads(_read_text(zf, info))
    except ValueError as exc:
        raise AssetRejected("invalid_manifest", f"'{info.filename}' is not valid JSON: {exc}.") from None
    if not isinstance(data, dict):
        raise AssetRejected("invalid_manifest", f"'{info.filename}' must hold a JSON object.")
    return data


def plan_pack(
    zf: zipfile.ZipFile, files: dict[str, zipfile.ZipInfo], *, name: str | None, kind: str | None
) -> PackPlan:
    licence = ""
    for path, info in files.items():
        if path.lower() in LICENCE_NAMES:
            licence = _read_text(zf, info)
            break
    if "pack.json" in files:
        manifest = _load_json(zf, files["pack.json"])
        plan = PackPlan(
            name=name or str(manifest.get("name") or ""),
            kind=kind or str(manifest.get("kind") or ""),
            style_tags=[str(t) for t in manifest.get("style_tags") or []],
            licence=str(manifest.get("licence") or licence),
        )
        try:
            for i, entry in enumerate(manifest.get("assets") or []):
                plan.assets.append(
                    PlannedAsset(
                        file=str(entry["file"]),
                        role=str(entry["role"]),
                        velocity_min=float(entry.get("velocity_min", 0.0)),
                        velocity_max=float(entry.get("velocity_max", 1.0)),
                        gain=float(entry.get("gain", 1.0)),
                        position=int(entry.get("position", i)),
                    )
                )
        except (KeyError, TypeError, ValueError) as exc:
            raise AssetRejected(
                "invalid_manifest", f"pack.json has a malformed asset entry ({exc})."
            ) from None
    elif "kit.json" in files:
        manifest = _load_json(zf, files["kit.json"])
        plan = PackPlan(
            name=name or str(manifest.get("name") or ""),
            kind=Kind.DRUMS,
            licence=licence or str(manifest.get("licence") or ""),
        )
        try:
            for role, layers in (manifest.get("roles") or {}).items():
                for spec in layers:
                    plan.assets.append(
                        PlannedAsset(
                            file=str(spec["file"]),
                            role=str(role),
                            velocity_min=float(spec.get("min", 0.0)),
                            velocity_max=float(spec.get("max", 1.0)),
                            gain=float(spec.get("gain", 1.0)),
                        )
                    )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise AssetRejected("invalid_manifest", f"kit.json has a malformed layer ({exc}).") from None
    else:
        if not kind:
            raise AssetRejected(
                "invalid_manifest", "The archive has no pack.json or kit.json: choose the pack's kind."
            )
        plan = PackPlan(name=name or "", kind=kind, licence=licence)
        for path in sorted(files):
            if PurePosixPath(path).suffix.lower() in ACCEPTED_EXTENSIONS:
                stem = PurePosixPath(path).stem.lower()
                role = "ir" if kind == Kind.IMPULSE_RESPONSE else _LAYER_SUFFIX.sub("", stem)
                plan.assets.append(PlannedAsset(file=path, role=role))
    if plan.kind not in Kind.values:
        raise AssetRejected(
            "invalid_kind", f"Unknown pack kind '{plan.kind}'. Choose one of: {', '.join(Kind.values)}."
        )
    if not plan.name.strip():
        raise AssetRejected("invalid_pack", "The pack needs a name (none given and none in the manifest).")
    if not plan.assets:
        raise AssetRejected("empty_archive", "The archive holds no samples or MIDI files.")
    for i, planned in enumerate(plan.assets):
        if planned.file not in files:
            raise AssetRejected(
                "invalid_manifest", f"The manifest lists '{planned.file}', which is not in the archive."
            )
        planned.position = planned.position or i
    return plan


# --- Import / export -----------------------------------------------------------------------------------


def import_pack_zip(
    source: Path | IO[bytes], *, name: str | None = None, kind: str | None = None, user: Any = None
) -> Pack:
    """Create a new pack from a ZIP archive; all or nothing. Raises AssetRejected (UnsafeArchive)."""
    try:
        zf = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise AssetRejected("invalid_archive", f"This is not a readable ZIP archive ({exc}).") from None
    with zf, tempfile.TemporaryDirectory(prefix="asset-zip-") as tmp, ExitStack() as converted:
        files = _strip_top_folder(check_archive(zf))
        plan = plan_pack(zf, files, name=name, kind=kind)
        seen: dict[str, str] = {}
        for i, planned in enumerate(plan.assets):
            target = Path(tmp) / f"{i:04d}{PurePosixPath(planned.file).suffix.lower()}"
            extract_member(zf, files[planned.file], target)
            try:
                planned.judged = converted.enter_context(
                    judged_asset_file(
                        target, name=PurePosixPath(planned.file).name, kind=plan.kind, role=planned.role
                    )
                )
            except AssetRejected as exc:
                raise AssetRejected(exc.code, f"{planned.file}: {exc.message}") from None
            sha256 = planned.judged.facts.sha256
            if sha256 in seen:
                raise AssetRejected("duplicate_asset", f"{planned.file} is the same file as {seen[sha256]}.")
            seen[sha256] = planned.file
        stored: list[Any] = []
        try:
            with transaction.atomic():
                pack = create_pack(
                    plan.name, plan.kind, user=user, style_tags=plan.style_tags, licence=plan.licence
                )
                for planned in plan.assets:
                    stored.append(_add_planned(pack, planned))
        except BaseException:
            for asset in stored:  # the rows rolled back; their files must not linger in storage
                asset.file.storage.delete(asset.file.name)
            raise
    pack.refresh_from_db()
    return pack


def _add_planned(pack: Pack, planned: PlannedAsset) -> Any:
    assert planned.judged is not None  # judged before any is added
    return add_asset(
        pack,
        planned.judged.path,
        filename=PurePosixPath(planned.file).name,
        role=planned.role,
        velocity_min=planned.velocity_min,
        velocity_max=planned.velocity_max,
        gain=planned.gain,
        position=planned.position,
        facts=planned.judged.facts,
    )


def archive_names(pack: Pack) -> dict[int, str]:
    """asset id -> a unique file name inside the exported archive (and the materialised folder)."""
    names: dict[int, str] = {}
    taken: set[str] = set()
    for asset in pack.assets.all():
        base, ext = asset.name or asset.role, asset.extension
        candidate, n = f"{base}{ext}", 2
        while candidate.lower() in taken or candidate.lower() in ("pack.json", "kit.json", "license"):
            candidate, n = f"{base}-{n}{ext}", n + 1
        taken.add(candidate.lower())
        names[asset.pk] = candidate
    return names


def pack_manifest(pack: Pack, names: dict[int, str]) -> dict[str, Any]:
    return {
        "name": pack.name,
        "kind": pack.kind,
        "style_tags": pack.style_tags,
        "licence": pack.licence,
        "version": pack.version,
        "assets": [
            {
                "file": names[a.pk],
                "role": a.role,
                "velocity_min": a.velocity_min,
                "velocity_max": a.velocity_max,
                "gain": a.gain,
                "position": a.position,
                "sha256": a.sha256,
            }
            for a in pack.assets.all()
        ],
    }


def export_pack_zip(pack: Pack, dest: IO[bytes]) -> None:
    """Write the pack as a ZIP (pack.json, LICENSE, the files) that ``import_pack_zip`` reads back."""
    names = archive_names(pack)
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("pack.json", json.dumps(pack_manifest(pack, names), indent=2) + "\n")
        if pack.licence:
            zf.writestr("LICENSE", pack.licence)
        for asset in pack.assets.all():
            with asset.file.open("rb") as src, zf.open(names[asset.pk], "w") as dst:
                while chunk := src.read(1 << 20):
                    dst.write(chunk)
