"""A kit uploaded through the API is what the drums of a remix are played with."""

from __future__ import annotations

import io
import zipfile

import mido
import numpy as np
import pytest
import soundfile as sf

from assets_bank.models import Kind, Pack
from assets_bank.services import make_default
from assets_bank.tests.conftest import audio_bytes, tone_burst, upload
from jobs.models import Job

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

KICK_HZ = 1000.0
SR = 44100


def noise_burst(seconds: float, seed: int, decay_s: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    return (0.5 * rng.standard_normal(len(t)) * np.exp(-t / decay_s)).astype(np.float32)[:, None]


def kick_times(midi_zip: bytes) -> list[float]:
    with zipfile.ZipFile(io.BytesIO(midi_zip)) as zf:
        midi = mido.MidiFile(file=io.BytesIO(zf.read("drums.mid")))
    times, now = [], 0.0
    for msg in midi:  # iterating a MidiFile yields delta times in seconds
        now += msg.time
        if msg.type == "note_on" and msg.velocity > 0 and msg.note == 36:
            times.append(now)
    return times


def tone_prominence(stem: np.ndarray, at_s: float) -> float:
    """Energy within 15 Hz of KICK_HZ over the energy 60..400 Hz away from it, in the 80 ms after ``at_s``."""
    start = int(at_s * SR)
    window = stem[start : start + int(0.08 * SR)]
    if len(window) < int(0.05 * SR):
        return float("nan")
    spectrum = np.abs(np.fft.rfft(window * np.hanning(len(window)), n=1 << 14)) ** 2
    freqs = np.fft.rfftfreq(1 << 14, 1 / SR)
    near = spectrum[np.abs(freqs - KICK_HZ) <= 15].mean()
    around = spectrum[(np.abs(freqs - KICK_HZ) >= 60) & (np.abs(freqs - KICK_HZ) <= 400)].mean()
    return float(near / max(around, 1e-20))


def body(response) -> bytes:  # type: ignore[no-untyped-def]
    return b"".join(response.streaming_content) if response.streaming else response.content


def run_job(client, song_upload) -> tuple[np.ndarray, list[float], dict]:  # type: ignore[no-untyped-def,type-arg]
    response = client.post(
        "/api/jobs", {"file": song_upload("song.wav", bars=4, tempo=120.0), "style": "heavy"}
    )
    assert response.status_code == 201, response.content
    job = client.get(response.json()["url"]).json()
    assert job["status"] == "succeeded", job
    job["assets_used"] = Job.objects.get(pk=job["id"]).assets_used  # the full record (staff's in the API)
    drums, rate = sf.read(
        io.BytesIO(body(client.get(f"{response.json()['url']}/result?part=drums&format=wav")))
    )
    assert rate == SR
    times = kick_times(body(client.get(f"{response.json()['url']}/result?part=midi")))
    return drums.mean(axis=1), times, job


def test_a_job_plays_the_kick_of_an_uploaded_default_kit(client, staff_client, default_bank, song_upload):
    for role, audio in (
        ("kick", tone_burst(KICK_HZ, 0.3, decay_s=0.1)),
        ("snare", noise_burst(0.3, seed=1, decay_s=0.06)),
        ("hihat-closed", noise_burst(0.1, seed=2, decay_s=0.02)),
    ):
        response = staff_client.post(
            "/api/assets/upload",
            {
                "file": upload(f"{role}.wav", audio_bytes(audio)),
                "pack_name": "Tone kit",
                "kind": "drums",
                "role": role,
            },
        )
        assert response.status_code == 201, response.content
    tone_kit = Pack.objects.get(name="Tone kit")
    make_default(tone_kit)

    drums, times, job = run_job(client, song_upload)
    assert len(times) >= 4
    prominence = [tone_prominence(drums, t) for t in times]
    prominence = [p for p in prominence if np.isfinite(p)]
    assert np.median(prominence) > 20, prominence
    used = {p["id"]: p for p in job["assets_used"]["packs"]}
    assert used[tone_kit.pk]["version"] == Pack.objects.get(pk=tone_kit.pk).version
    assert job["assets_used"]["played"]["drums"] == tone_kit.pk

    # The shipped kit, made default again, has no such tone at its kick times.
    make_default(default_bank[Kind.DRUMS])
    drums, times, _ = run_job(client, song_upload)
    baseline = [tone_prominence(drums, t) for t in times]
    assert np.median([p for p in baseline if np.isfinite(p)]) < 5, baseline


def test_a_finished_job_keeps_the_record_of_the_packs_it_used(client, default_bank, song_upload, make_file):
    from assets_bank.services import add_asset
    from jobs.models import Job

    _, _, job = run_job(client, song_upload)
    kit = default_bank[Kind.DRUMS]
    recorded = job["assets_used"]
    drums = next(p for p in recorded["packs"] if p["id"] == kit.pk)
    assert drums["version"] == kit.version and recorded["played"]["drums"] == kit.pk
    assert {a["sha256"] for a in drums["assets"]} == set(kit.assets.values_list("sha256", flat=True))

    extra = make_file("extra-ride.wav", audio_bytes(tone_burst(5000, 0.5)))
    add_asset(kit, extra, filename="extra-ride.wav", role="ride")
    kit.refresh_from_db()
    assert kit.version > drums["version"]
    assert Job.objects.get(pk=job["id"]).assets_used == recorded


def test_with_an_empty_bank_a_job_plays_the_shipped_folder_and_records_it(client, song_upload):
    _, _, job = run_job(client, song_upload)
    assert job["assets_used"]["packs"] == []
    assert "drums/forzee-stereo" in job["assets_used"]["fallback"]
