"""The system checks (``manage.py check``): ffmpeg on the PATH, the separators' checkpoints present."""

from __future__ import annotations

from metalizer_site.checks import demucs_checkpoint_present, ffmpeg_present


def test_system_checks_find_ffmpeg_and_report_a_missing_checkpoint(settings, tmp_path):
    assert ffmpeg_present() == []
    settings.METALIZER_MODELS_DIR = tmp_path
    assert [m.id for m in demucs_checkpoint_present()] == ["metalizer.W001"]
    (tmp_path / "htdemucs.th").write_bytes(b"weights")
    assert demucs_checkpoint_present() == []


def test_ffmpeg_check_is_an_error_when_ffmpeg_is_missing(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    assert [m.id for m in ffmpeg_present()] == ["metalizer.E001"]
