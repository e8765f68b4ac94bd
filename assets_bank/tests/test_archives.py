"""ZIP import is all-or-nothing and safe against hostile archives; export reads back in."""

from __future__ import annotations

import io
import json
import stat
import zipfile

import pytest

from assets_bank.archives import export_pack_zip, import_pack_zip
from assets_bank.models import Asset, Kind, Pack
from assets_bank.services import add_asset, create_pack
from assets_bank.tests.conftest import audio_bytes, midi_bytes, tone_burst
from assets_bank.validators import AssetRejected

pytestmark = pytest.mark.django_db


def make_zip(entries: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    buffer.seek(0)
    return buffer


def refused(archive: io.BytesIO, **kwargs) -> AssetRejected:  # type: ignore[no-untyped-def]
    with pytest.raises(AssetRejected) as info:
        import_pack_zip(archive, **{"name": "Hostile", "kind": "drums", **kwargs})
    assert not Pack.objects.exists() and not Asset.objects.exists()
    return info.value


def stored_files(settings) -> list:  # type: ignore[no-untyped-def,type-arg]
    from pathlib import Path

    root = Path(settings.STORAGES["default"]["OPTIONS"]["location"])
    return [p for p in root.rglob("*") if p.is_file()]


def test_parent_paths_are_refused(settings):
    error = refused(make_zip({"kit/../../etc/kick.wav": audio_bytes(tone_burst(60))}))
    assert error.code == "unsafe_archive" and ".." in error.message
    assert stored_files(settings) == []


def test_absolute_paths_are_refused():
    assert refused(make_zip({"/tmp/kick.wav": audio_bytes(tone_burst(60))})).code == "unsafe_archive"
    assert refused(make_zip({"C:/kick.wav": audio_bytes(tone_burst(60))})).code == "unsafe_archive"


def test_symlinks_are_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        link = zipfile.ZipInfo("kick.wav")
        link.create_system = 3
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/passwd")
    buffer.seek(0)
    error = refused(buffer)
    assert error.code == "unsafe_archive" and "symbolic link" in error.message


def test_a_zip_bomb_is_refused_before_it_is_inflated():
    bomb = make_zip({"kick.wav": b"RIFF" + b"\x00" * (40 * 1024 * 1024)})
    assert bomb.getbuffer().nbytes < 100 * 1024
    error = refused(bomb)
    assert error.code == "unsafe_archive" and "ZIP bomb" in error.message


def test_many_small_entries_that_expand_far_are_refused_before_any_is_inflated():
    """Issue 25: a 239 KB ZIP of 200 one-megabyte entries imported as 200 MB (only entries over 1 MB had
    their ratio checked)."""
    megabytes = make_zip({f"kick-{i}.wav": b"RIFF" + b"\x00" * (1024 * 1024) for i in range(200)})
    assert megabytes.getbuffer().nbytes < 400 * 1024
    error = refused(megabytes)
    assert error.code == "unsafe_archive" and "ZIP bomb" in error.message
    # entries each under the per-entry threshold: the archive's ratio as a whole refuses them
    small = make_zip({f"snare-{i}.wav": b"RIFF" + b"\x00" * (60 * 1024) for i in range(300)})
    error = refused(small)
    assert error.code == "unsafe_archive" and "300 files expand" in error.message


def test_an_entry_lying_about_its_size_is_stopped_while_inflating():
    buffer = make_zip({"kick.wav": audio_bytes(tone_burst(60, 1.0))}, compression=zipfile.ZIP_STORED)
    raw = bytearray(buffer.getvalue())
    # Shrink the declared size in the central directory: the real data is longer than announced.
    with zipfile.ZipFile(io.BytesIO(bytes(raw))) as zf:
        info = zf.infolist()[0]
        real = info.file_size
    central = raw.rfind(b"PK\x01\x02")
    raw[central + 24 : central + 28] = (1000).to_bytes(4, "little")
    raw[central + 20 : central + 24] = (1000).to_bytes(4, "little")
    assert real > 1000
    with pytest.raises(AssetRejected) as info:
        import_pack_zip(io.BytesIO(bytes(raw)), name="Liar", kind="drums")
    assert info.value.code in ("invalid_archive", "unsafe_archive")
    assert not Asset.objects.exists()


def test_files_over_the_asset_limit_are_refused(settings):
    settings.METALIZER_ASSET_MAX_BYTES = 10_000
    error = refused(make_zip({"kick.wav": audio_bytes(tone_burst(60, 1.0))}))
    assert (error.code, error.status) == ("file_too_large", 413)


def test_one_bad_file_refuses_the_whole_archive_and_names_it(settings):
    archive = make_zip(
        {"kick.wav": audio_bytes(tone_burst(60)), "snare.wav": b"definitely not a wav file" * 10}
    )
    error = refused(archive)
    assert error.code == "not_audio" and error.message.startswith("snare.wav:")
    assert stored_files(settings) == []


def test_a_kit_folder_with_kit_json_imports_with_its_velocity_layers():
    kit = {
        "name": "Layered",
        "licence": "CC0",
        "roles": {
            "kick": [
                {"file": "k0.flac", "min": 0.0, "max": 0.5, "gain": 0.6},
                {"file": "k1.flac", "min": 0.5, "max": 1.0, "gain": 1.1},
            ],
            "snare": [{"file": "s.flac"}],
        },
    }
    archive = make_zip(
        {
            "Layered/kit.json": json.dumps(kit).encode(),
            "Layered/k0.flac": audio_bytes(tone_burst(55), fmt="FLAC"),
            "Layered/k1.flac": audio_bytes(tone_burst(57), fmt="FLAC"),
            "Layered/s.flac": audio_bytes(tone_burst(250), fmt="FLAC"),
            "__MACOSX/._k0.flac": b"junk",
        }
    )
    pack = import_pack_zip(archive)
    assert (pack.name, pack.kind) == ("Layered", Kind.DRUMS)
    layers = list(
        pack.assets.filter(role="kick")
        .order_by("velocity_min")
        .values_list("velocity_min", "velocity_max", "gain")
    )
    assert layers == [(0.0, 0.5, 0.6), (0.5, 1.0, 1.1)]


def test_export_then_import_gives_back_the_same_pack(make_file):
    riffs = create_pack("Doom riffs", Kind.MIDI, style_tags=["doom"], licence="CC-BY")
    add_asset(riffs, make_file("riff.mid", midi_bytes([28, 31])), filename="riff.mid", role="riff")
    add_asset(riffs, make_file("groove.mid", midi_bytes([36], beats=8)), filename="groove.mid", role="groove")
    before = sorted(riffs.assets.values_list("role", "sha256"))
    exported = io.BytesIO()
    export_pack_zip(riffs, exported)
    riffs.delete()
    exported.seek(0)
    again = import_pack_zip(exported)
    assert (again.name, again.kind, again.style_tags, again.licence) == (
        "Doom riffs",
        "midi",
        ["doom"],
        "CC-BY",
    )
    assert sorted(again.assets.values_list("role", "sha256")) == before


def test_importing_a_file_already_in_the_bank_is_refused(make_file):
    data = audio_bytes(tone_burst(66))
    add_asset(create_pack("First", Kind.DRUMS), make_file("kick.wav", data), filename="kick.wav", role="kick")
    with pytest.raises(AssetRejected) as info:
        import_pack_zip(make_zip({"kick.wav": data}), name="Second", kind="drums")
    assert info.value.code == "duplicate_asset" and "First" in info.value.message
    assert not Pack.objects.filter(name="Second").exists()


def test_not_a_zip_is_refused_clearly():
    error = refused(io.BytesIO(b"PK but not really a zip file"))
    assert error.code == "invalid_archive"
