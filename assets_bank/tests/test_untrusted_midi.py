"""A MIDI file is untrusted input: the bank takes in only what the arranger can read as a riff within its
bounds, and a file already in the bank that the arranger cannot read is skipped by a job, never its end.

The outage of issue 25: a 42-byte MIDI whose header division (ticks per beat) is 0 passed the validator and
then failed every remix in every style with ``internal_error`` (the arranger divides by it).
"""

from __future__ import annotations

import struct

import pytest
from django.test import Client

from assets_bank import playable
from assets_bank.models import Kind
from assets_bank.services import add_asset, create_pack
from assets_bank.tests.conftest import midi_bytes, upload
from assets_bank.validators import AssetFacts, sha256_of
from jobs.models import Job

pytestmark = pytest.mark.django_db

KEY = "k3y-for-integrators-0123456789"
NOTE_ON, NOTE_OFF = 0x90, 0x80
END_OF_TRACK = b"\x00\xff\x2f\x00"


def raw_midi(division: int, events: bytes) -> bytes:
    """A type-0 MIDI file written byte by byte: ``division`` is the header's ticks-per-beat word (signed:
    a negative one is SMPTE time), ``events`` the track's events before its end."""
    header = b"MThd" + struct.pack(">IHHh", 6, 0, 1, division)
    track = events + END_OF_TRACK
    return header + b"MTrk" + struct.pack(">I", len(track)) + track


# One note on and off at tick 0 in a file whose division is 0: what stopped every remix.
TICK_ZERO = raw_midi(0, bytes([0x00, NOTE_ON, 40, 100, 0x00, NOTE_OFF, 40, 0]))
# The same with notes at later ticks: the upload itself answered 500 (mido's length divides by it).
TICK_ZERO_LATER_NOTES = raw_midi(0, bytes([0x00, NOTE_ON, 40, 100, 0x60, NOTE_OFF, 40, 0]))
# SMPTE time (25 frames a second, 40 ticks a frame): a negative division, once stored as ``bars=-0.008``.
SMPTE = raw_midi((-25 << 8) | 40, bytes([0x00, NOTE_ON, 40, 100, 0x60, NOTE_OFF, 40, 0]))


@pytest.fixture
def integrator(settings) -> Client:  # type: ignore[no-untyped-def]
    settings.METALIZER_ASSETS_API_KEY = KEY
    return Client(HTTP_X_METALIZER_KEY=KEY)


def upload_riff(integrator: Client, data: bytes, name: str = "riff-1.mid"):  # type: ignore[no-untyped-def]
    return integrator.post(
        "/api/assets/upload",
        {"file": upload(name, data), "kind": "midi", "role": "riff", "pack_name": "x"},
    )


def test_the_tick_zero_file_is_42_bytes_or_less():
    assert len(TICK_ZERO) <= 42


@pytest.mark.parametrize(
    ("data", "said"),
    [(TICK_ZERO, "division is 0"), (TICK_ZERO_LATER_NOTES, "division is 0"), (SMPTE, "SMPTE")],
    ids=["tick-zero", "tick-zero-later-notes", "smpte"],
)
def test_a_midi_without_ticks_per_beat_is_refused_at_upload_with_its_reason(integrator, data, said):
    response = upload_riff(integrator, data)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "unsupported_midi"
    assert said in error["message"] and "ticks per beat" in error["message"]


def test_a_midi_of_too_many_events_is_refused_before_it_is_parsed(integrator):
    events = bytes([0x00, NOTE_ON, 40, 100, 0x01, NOTE_OFF, 40, 0]) * 12_000  # 96 KB, 24,000 events
    response = upload_riff(integrator, raw_midi(480, events))
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "midi_too_long" and "64 KB" in error["message"]


def test_a_midi_of_too_many_bars_is_refused(integrator):
    far = bytes([0x00, NOTE_ON, 40, 100]) + bytes([0x8F, 0xFF, 0xFF, 0x7F, NOTE_OFF, 40, 0])  # ~2^28 ticks
    response = upload_riff(integrator, raw_midi(480, far))
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "midi_too_long"


def test_a_good_riff_is_still_taken(integrator):
    response = upload_riff(integrator, midi_bytes())
    assert response.status_code == 201, response.content
    assert response.json()["bars"] == 4.0


def _bank_holding(make_file, data: bytes):  # type: ignore[no-untyped-def]
    """A riff pack holding ``data`` as it could from before the validator knew to refuse it (no check)."""
    riffs = create_pack("Old riffs", Kind.MIDI, style_tags=["heavy"])
    path = make_file("riff-old.mid", data)
    facts = AssetFacts(format="midi", size_bytes=len(data), sha256=sha256_of(path), bars=0.0)
    bad = add_asset(riffs, path, filename="riff-old.mid", role="riff", facts=facts)
    good_path = make_file("riff-good.mid", midi_bytes())
    good = add_asset(riffs, good_path, filename="riff-good.mid", role="riff")
    return riffs, bad, good


@pytest.mark.slow
def test_a_tick_zero_riff_already_in_the_bank_is_skipped_and_the_remix_succeeds(
    client, make_file, song_upload
):
    riffs, bad, good = _bank_holding(make_file, TICK_ZERO)
    response = client.post("/api/jobs", {"file": song_upload("song.wav", bars=2), "style": "heavy"})
    assert response.status_code == 201, response.content
    job = client.get(response.json()["url"]).json()
    assert job["status"] == "succeeded", (job["error_code"], job["error_message"])
    job["assets_used"] = Job.objects.get(pk=job["id"]).assets_used  # the full record (staff's in the API)
    skipped = {s["asset"]: s["reason"] for s in job["assets_used"]["skipped"]}
    assert bad.pk in skipped and good.pk not in skipped
    assert "division is 0" in skipped[bad.pk]
    record = next(p for p in job["assets_used"]["packs"] if p["id"] == riffs.pk)
    assert record["state"] == "available" and record["problems"]


def test_the_admin_check_runs_the_same_load_and_names_the_tick_zero_riff(make_file):
    riffs, bad, _good = _bank_holding(make_file, TICK_ZERO_LATER_NOTES)
    problems = playable.file_problems(riffs)
    assert len(problems) == 1
    assert f"#{bad.pk}" in problems[0] and "division is 0" in problems[0]
