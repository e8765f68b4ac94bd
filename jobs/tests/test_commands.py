"""``manage.py metalize``: remix a file from the command line with the site's assets."""

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
