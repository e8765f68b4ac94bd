"""The system checks (``manage.py check``): ffmpeg on the PATH, the separators' checkpoints present."""

from __future__ import annotations

from metalizer_site.checks import demucs_checkpoint_present, ffmpeg_present


def test_system_checks_find_ffmpeg_and_report_a_missing_checkpoint(settings, tmp_path):
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
    monkeypatch.setenv("PATH", "/nonexistent")
    assert [m.id for m in ffmpeg_present()] == ["metalizer.E001"]
