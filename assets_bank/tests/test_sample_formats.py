"""Bank samples may be anything a song may be (issue 27 item 12): an MP3 or M4A sample is decoded by the song
decoder, judged with the same bounds and stored as FLAC under its own name, through the admin, a ZIP import,
the native API and the seed contract's category upload. The MP3 and M4A files are made here by ffmpeg."""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from django.test import Client
from django.urls import reverse

from assets_bank.api.seed_contract import UPLOAD_PACK_NAME
from assets_bank.models import Asset, Kind, Pack
from assets_bank.tests.conftest import SR, audio_bytes, tone_burst, upload
from assets_bank.tests.test_admin import inline_post
from assets_bank.validators import AssetRejected, judged_asset_file

pytestmark = pytest.mark.django_db

KEY = "k3y-for-sample-formats-0123456789"
ONSET_S = 0.05
ENCODERS = {
    "mp3": ("-c:a", "libmp3lame", "-b:a", "192k"),
    "m4a": ("-c:a", "aac", "-b:a", "192k"),
}


def hit(freq: float, *, seconds: float = 0.5, level: float = 0.8) -> np.ndarray:
    """A decaying tone that starts ONSET_S in: where it starts shows whether the encoder delay was removed."""
    burst = tone_burst(freq, seconds - ONSET_S)[:, 0] * level / 0.8
    return np.concatenate([np.zeros(int(ONSET_S * SR), np.float32), burst])


def encoded(audio: np.ndarray, fmt: str) -> bytes:
    """``audio`` as an ``fmt`` file, encoded by ffmpeg (``make test-system-deps`` installs it)."""
    assert shutil.which("ffmpeg"), "ffmpeg is not on PATH: run make test-system-deps"
    with tempfile.TemporaryDirectory() as tmp:
        source, target = Path(tmp) / "in.wav", Path(tmp) / f"out.{fmt}"
        sf.write(source, audio, SR, subtype="PCM_16")
        command = ["ffmpeg", "-v", "error", "-y", "-i", str(source), *ENCODERS[fmt], str(target)]
        subprocess.run(command, check=True, capture_output=True)
        return target.read_bytes()


def stored_audio(asset: Asset) -> tuple[np.ndarray, int]:
    with asset.file.open("rb") as fh:
        data, rate = sf.read(io.BytesIO(fh.read()), dtype="float32", always_2d=True)
    return data, rate


def assert_converted(asset: Asset, *, original: str, name: str) -> None:
    """Stored as a FLAC the band reads, under the original's stem, the hit still where it was."""
    assert (asset.format, asset.original_format, asset.name) == ("flac", original, name)
    assert asset.file.name.endswith(".flac")
    data, rate = stored_audio(asset)
    assert rate == SR and data.shape[1] == asset.channels == 1  # mono stays mono
    onset = int(np.argmax(np.abs(data[:, 0]) > 0.05)) / rate
    assert abs(onset - ONSET_S) < 0.002, onset  # encoder delay removed: a drum hit stays on its beat
    assert 0.4 < float(np.abs(data).max()) < 0.9


def test_an_mp3_sample_added_in_the_admin_is_stored_as_flac_and_the_admin_says_so(staff_client):
    data = inline_post(
        {"name": "MP3 kit", "slug": "mp3-kit", "kind": "drums", "licence": "CC0", "active": "on"},
        [
            {
                "role": "kick",
                "file": upload("Kick Hard.mp3", encoded(hit(60), "mp3")),
                "velocity_min": "0",
                "velocity_max": "1",
                "gain": "1",
                "position": "0",
            }
        ],
    )
    response = staff_client.post(reverse("admin:assets_bank_pack_add"), data, follow=True)
    assert response.status_code == 200
    asset = Pack.objects.get(slug="mp3-kit").assets.get()
    assert_converted(asset, original="MP3", name="Kick Hard")
    page = response.content.decode()
    assert "Kick Hard.mp3 (MP3) was converted to FLAC as Kick Hard.flac" in page
    change = staff_client.get(reverse("admin:assets_bank_asset_change", args=[asset.pk])).content.decode()
    assert "FLAC (converted from MP3)" in change


def test_the_asset_page_converts_a_replacing_m4a_and_says_so(staff_client):
    pack = Pack.objects.create(name="Loose kit", kind=Kind.DRUMS)
    response = staff_client.post(
        reverse("admin:assets_bank_asset_add"),
        {
            "pack": pack.pk,
            "name": "",
            "role": "snare",
            "file": upload("snare_01.m4a", encoded(hit(190), "m4a")),
            "position": "0",
            "velocity_min": "0",
            "velocity_max": "1",
            "gain": "1",
        },
        follow=True,
    )
    assert response.status_code == 200
    assert_converted(pack.assets.get(), original="M4A / MP4 audio", name="snare_01")
    assert "was converted to FLAC as snare_01.flac" in response.content.decode()


def test_a_zip_import_converts_its_mp3_and_m4a_samples_and_says_so(staff_client):
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("kit/kick.mp3", encoded(hit(55), "mp3"))
        zf.writestr("kit/snare.m4a", encoded(hit(200), "m4a"))
        zf.writestr("kit/hihat-closed.wav", audio_bytes(tone_burst(6000)))
    response = staff_client.post(
        reverse("admin:assets_bank_pack_import"),
        {"archive": upload("kit.zip", archive.getvalue()), "name": "Converted kit", "kind": "drums"},
        follow=True,
    )
    assert response.status_code == 200
    pack = Pack.objects.get(name="Converted kit")
    assets = {asset.role: asset for asset in pack.assets.all()}
    assert_converted(assets["kick"], original="MP3", name="kick")
    assert_converted(assets["snare"], original="M4A / MP4 audio", name="snare")
    assert (assets["hihat-closed"].format, assets["hihat-closed"].original_format) == ("wav", "")
    assert "2 sample(s) converted to FLAC" in response.content.decode()


def test_the_api_upload_stores_an_mp3_as_flac_and_answers_what_it_was(settings):
    settings.METALIZER_ASSETS_API_KEY = KEY
    client = Client(HTTP_X_METALIZER_KEY=KEY)
    response = client.post(
        "/api/assets/upload",
        {
            "file": upload("E2.mp3", encoded(hit(82.4), "mp3")),
            "pack_name": "MP3 guitar",
            "kind": "guitar",
            "role": "E2",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["format"], body["original_format"], body["name"]) == ("flac", "MP3", "E2")
    assert_converted(Asset.objects.get(pk=body["id"]), original="MP3", name="E2")
    download = client.get(body["download"])
    assert b"".join(download.streaming_content)[:4] == b"fLaC"


def test_the_seed_upload_takes_an_mp3_and_keeps_its_409_413_and_415(settings):
    settings.METALIZER_ASSETS_API_KEY = KEY
    client = Client(HTTP_X_API_KEY=KEY)

    def send(query: str, name: str, data: bytes):  # type: ignore[no-untyped-def]
        return client.post(f"/api/assets/upload?{query}", {"file": upload(name, data)})

    response = send("category=drums", "Kick_01.mp3", encoded(hit(60), "mp3"))
    assert response.status_code == 200, response.content
    assert response.json() == {"category": "drums", "filename": "Kick_01.flac"}
    asset = Asset.objects.get(pack__name=UPLOAD_PACK_NAME)
    assert_converted(asset, original="MP3", name="Kick_01")
    assert "Kick_01.flac" in client.get("/api/assets").json()["drums"]
    assert send("category=drums", "Kick_01.mp3", encoded(hit(61), "mp3")).status_code == 409
    replaced = send("category=drums&overwrite=true", "Kick_01.mp3", encoded(hit(62), "mp3"))
    assert replaced.status_code == 200 and Asset.objects.filter(pack__name=UPLOAD_PACK_NAME).count() == 1
    not_audio = send("category=drums", "snare.mp3", b"this is a text file, not an MP3 " * 20)
    assert not_audio.status_code == 415 and "not audio" in not_audio.json()["error"]["message"]
    assert send("category=drums", "snare.txt", b"hello").status_code == 415
    settings.METALIZER_ASSET_MAX_BYTES = 1000
    assert send("category=drums", "snare.mp3", encoded(hit(190), "mp3")).status_code == 413


@pytest.mark.parametrize(
    ("audio", "fmt", "code"),
    [
        (np.zeros(int(0.5 * SR), np.float32), "mp3", "corrupt_audio"),  # silent: nothing to play
        (np.tile(hit(60), 45), "mp3", "too_long"),  # 22.5 s: over the 20 s a sample may last
    ],
    ids=["silent", "too-long"],
)
def test_a_converted_sample_is_held_to_the_same_bounds(tmp_path, audio, fmt, code):
    path = tmp_path / f"kick.{fmt}"
    path.write_bytes(encoded(audio, fmt))
    with (
        pytest.raises(AssetRejected) as refused,
        judged_asset_file(path, name=path.name, kind=Kind.DRUMS, role="kick"),
    ):
        pass
    assert refused.value.code == code, refused.value.message


def test_a_damaged_m4a_sample_is_refused_not_stored(tmp_path):
    whole = encoded(hit(60), "m4a")
    path = tmp_path / "kick.m4a"
    path.write_bytes(whole[: len(whole) // 2])  # cut off while copying
    with (
        pytest.raises(AssetRejected) as refused,
        judged_asset_file(path, name=path.name, kind=Kind.DRUMS, role="kick"),
    ):
        pass
    assert refused.value.code in ("corrupt_audio", "not_audio"), refused.value.code
    assert not Asset.objects.exists()
