"""One validation path judges every incoming file: content, duration, role, size, duplicates."""

from __future__ import annotations

import numpy as np
import pytest

from assets_bank.models import Kind
from assets_bank.services import add_asset, create_pack
from assets_bank.tests.conftest import audio_bytes, midi_bytes, tone_burst
from assets_bank.validators import AssetRejected, validate_asset_file

pytestmark = pytest.mark.django_db


def rejected(path, *, kind=Kind.DRUMS, role="kick", name=None) -> AssetRejected:  # type: ignore[no-untyped-def]
    with pytest.raises(AssetRejected) as info:
        validate_asset_file(path, name=name or path.name, kind=kind, role=role)
    return info.value


def test_a_good_sample_is_described(make_file):
    path = make_file("kick.flac", audio_bytes(tone_burst(60, 0.5, channels=2), fmt="FLAC"))
    facts = validate_asset_file(path, name="kick.flac", kind=Kind.DRUMS, role="kick")
    assert (facts.format, facts.sample_rate, facts.channels) == ("flac", 44100, 2)
    assert facts.duration == pytest.approx(0.5, abs=0.01)
    assert len(facts.sha256) == 64 and facts.size_bytes == path.stat().st_size


def test_text_renamed_wav_is_refused_as_not_audio(make_file):
    error = rejected(make_file("kick.wav", b"this is a text file, honestly\n" * 20))
    assert error.code == "not_audio" and error.status == 400


def test_truncated_flac_is_refused(make_file):
    data = audio_bytes(tone_burst(200, 3.0), fmt="FLAC")
    error = rejected(make_file("snare.flac", data[: len(data) // 2]), role="snare")
    assert error.code in ("corrupt_audio", "not_audio")
    assert error.message


def test_corrupt_midi_is_refused(make_file):
    data = midi_bytes()
    error = rejected(make_file("riff.mid", data[:30] + b"\xff" * 40), kind=Kind.MIDI, role="riff")
    assert error.code == "corrupt_midi"
    error = rejected(make_file("riff2.mid", b"RIFF not a midi file at all"), kind=Kind.MIDI, role="riff")
    assert error.code == "not_midi"


def test_oversize_file_is_refused_before_decoding(make_file, settings):
    settings.METALIZER_ASSET_MAX_BYTES = 1000
    error = rejected(make_file("kick.wav", audio_bytes(tone_burst(60, 0.5))))
    assert (error.code, error.status) == ("file_too_large", 413)


def test_samples_longer_than_twenty_seconds_are_refused(make_file):
    long = np.zeros((int(21 * 44100), 1), np.float32)
    long[:100] = 0.5
    error = rejected(make_file("crash.wav", audio_bytes(long)), role="crash")
    assert error.code == "too_long" and "20 s" in error.message


def test_impulse_responses_longer_than_five_seconds_are_refused(make_file):
    ir = tone_burst(1000, 6.0, decay_s=2.0)
    error = rejected(make_file("room.wav", audio_bytes(ir)), kind=Kind.IMPULSE_RESPONSE, role="ir")
    assert error.code == "too_long" and "5 s" in error.message


def test_role_must_suit_the_pack_kind(make_file):
    path = make_file("kick.wav", audio_bytes(tone_burst(60)))
    assert rejected(path, role="riff").code == "invalid_role"
    assert rejected(path, kind=Kind.GUITAR, role="kick").code == "invalid_role"
    assert validate_asset_file(path, name="e2.wav", kind=Kind.GUITAR, role="E2-palm-mute").format == "wav"
    midi = make_file("riff.mid", midi_bytes())
    assert rejected(midi, kind=Kind.DRUMS, role="kick").code == "wrong_file_type"


def test_midi_facts_are_extracted(make_file):
    path = make_file("riff.mid", midi_bytes([28, 52, 40], tempo_bpm=180, numerator=3, beats=12))
    facts = validate_asset_file(path, name="riff.mid", kind=Kind.MIDI, role="riff")
    assert facts.format == "midi"
    assert (facts.tempo, facts.time_signature, facts.bars) == (180.0, "3/4", 4.0)
    assert (facts.note_min, facts.note_max) == (28, 52)


def test_duplicates_are_refused_naming_the_existing_asset(make_file):
    pack = create_pack("Studio kit", Kind.DRUMS)
    data = audio_bytes(tone_burst(55))
    first = add_asset(pack, make_file("kick.wav", data), filename="kick.wav", role="kick")
    error = rejected(make_file("other-name.wav", data), role="tom-low")
    assert (error.code, error.status) == ("duplicate_asset", 409)
    assert f"#{first.pk}" in error.message and "'kick'" in error.message and "Studio kit" in error.message


def test_refusals_name_the_pack_in_plain_words(make_file):
    """Issue 25: 'A midi pack pack takes ...'."""
    wav = make_file("riff.wav", audio_bytes(tone_burst(60)))
    assert rejected(wav, kind=Kind.MIDI, role="riff").message == "A MIDI pack takes a MIDI file (.mid)."
    midi = make_file("kick.mid", midi_bytes())
    assert rejected(midi, kind=Kind.DRUMS, role="kick").message.startswith("A drum kit takes an audio file")
    assert "does not suit a guitar pack." in rejected(wav, kind=Kind.GUITAR, role="kick").message
