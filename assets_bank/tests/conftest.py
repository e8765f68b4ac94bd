"""Fixtures for the asset bank tests: generated samples and MIDI files, users, the default bank."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import mido
import numpy as np
import pytest
import soundfile as sf
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from assets_bank.models import Pack

SR = 44100


def tone_burst(
    freq: float = 440.0, seconds: float = 0.4, *, decay_s: float = 0.15, channels: int = 1
) -> np.ndarray:
    """A sine burst with an exponential decay: (n, channels) float32."""
    t = np.arange(int(seconds * SR)) / SR
    mono = (0.8 * np.sin(2 * np.pi * freq * t) * np.exp(-t / decay_s)).astype(np.float32)
    return np.repeat(mono[:, None], channels, axis=1)


def audio_bytes(audio: np.ndarray, fmt: str = "WAV", subtype: str = "PCM_16", sr: int = SR) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, audio, sr, format=fmt, subtype=subtype)
    return buffer.getvalue()


def midi_bytes(
    notes: list[int] | None = None, *, tempo_bpm: float = 140.0, numerator: int = 4, beats: int = 16
) -> bytes:
    """A one-track MIDI file: one quarter note per beat cycling through ``notes``, ``beats`` beats long."""
    notes = notes or [40, 43, 45, 40]
    midi = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    midi.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(tempo_bpm), time=0))
    track.append(mido.MetaMessage("time_signature", numerator=numerator, denominator=4, time=0))
    for beat in range(beats):
        note = notes[beat % len(notes)]
        track.append(mido.Message("note_on", note=note, velocity=100, time=0))
        track.append(mido.Message("note_off", note=note, velocity=0, time=480))
    buffer = io.BytesIO()
    midi.save(file=buffer)
    return buffer.getvalue()


@pytest.fixture
def make_file(tmp_path: Path) -> Callable[[str, bytes], Path]:
    def _make(name: str, data: bytes) -> Path:
        path = tmp_path / "files" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    return _make


def upload(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


@pytest.fixture
def staff_user(django_user_model):  # type: ignore[no-untyped-def]
    return django_user_model.objects.create_user(
        "curator", password="pw-curator-1", is_staff=True, is_superuser=True
    )


@pytest.fixture
def normal_user(django_user_model):  # type: ignore[no-untyped-def]
    return django_user_model.objects.create_user("listener")


@pytest.fixture
def staff_client(client, staff_user):  # type: ignore[no-untyped-def]
    client.force_login(staff_user)
    return client


@pytest.fixture
def user_client(client, normal_user):  # type: ignore[no-untyped-def]
    client.force_login(normal_user)
    return client


@pytest.fixture
def default_bank(db) -> dict[str, Pack]:  # type: ignore[no-untyped-def]
    """The repo's default assets loaded into the bank (what ``manage.py load_default_assets`` does)."""
    from assets_bank.defaults import load_default_assets

    load_default_assets(Path(settings.METALIZER_ASSETS_DIR))
    return {pack.kind: pack for pack in Pack.objects.filter(is_default=True)}
