"""The management commands an operator runs."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command


def test_metalize_command_remixes_a_file_with_the_sites_assets(make_song_file, tmp_path, capsys):
    song = make_song_file()
    out = tmp_path / "out"
    call_command("metalize", str(song), "-o", str(out), "--style", "doom", "--quiet")
    summary = json.loads(capsys.readouterr().out)
    assert (out / "mix.wav").is_file()
    assert summary["mix"] == str(out / "mix.wav")
    assert summary["tempo"] > 0


def test_metalize_command_fails_clearly_on_a_bad_file(tmp_path, capsys):
    bad = tmp_path / "notes.mp3"
    bad.write_text("not a song at all " * 20)
    with pytest.raises(CommandError, match="metalize failed"):
        call_command("metalize", str(bad), "-o", str(tmp_path / "out"), "--quiet")
    assert "does not look like audio" in capsys.readouterr().err


def test_load_default_assets_fails_when_the_folder_is_missing(settings, tmp_path):
    settings.METALIZER_ASSETS_DIR = tmp_path / "nowhere"
    with pytest.raises(CommandError, match="METALIZER_ASSETS_DIR"):
        call_command("load_default_assets")


def test_system_checks_find_ffmpeg_and_report_a_missing_checkpoint(settings, tmp_path):
    from metalizer_site.checks import demucs_checkpoint_present, ffmpeg_present

    assert ffmpeg_present() == []
    settings.METALIZER_MODELS_DIR = tmp_path
    (tmp_path / "spleeter_2stems.pt").write_bytes(b"weights")  # another separator's weights are not it
    assert [m.id for m in demucs_checkpoint_present()] == ["metalizer.W001"]
    settings.METALIZER_SEPARATORS = ("spleeter", "dsp")  # an operator who leaves Demucs out is not warned
    assert demucs_checkpoint_present() == []
    settings.METALIZER_SEPARATORS = ("demucs", "spleeter", "dsp")
    (tmp_path / "htdemucs.yaml").write_text("models: ['955717e8']\n")  # the bag and its model, as fetched
    (tmp_path / "955717e8-8726e21a.th").write_bytes(b"weights")
    assert demucs_checkpoint_present() == []


def test_ffmpeg_check_is_an_error_when_ffmpeg_is_missing(monkeypatch):
    from metalizer_site.checks import ffmpeg_present

    monkeypatch.setenv("PATH", "/nonexistent")
    assert [m.id for m in ffmpeg_present()] == ["metalizer.E001"]
