"""End to end through the real stages: decode, DSP separation, analysis, arrangement, render, master."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from pipeline import PipelineError, RemixOptions, metalize
from pipeline.paths import REPO_ROOT
from pipeline.testing.synth import make_song, write_song
from pipeline.types import STAGES


@pytest.fixture(scope="module")
def song_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    song = make_song(tempo=128.0, key="E", scale="minor", bars=6, with_vocals=True, seed=3)
    return write_song(tmp_path_factory.mktemp("song") / "song.flac", song)


@pytest.fixture(scope="module")
def remix(song_file: Path, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("remix")
    progress: list[tuple[str, float]] = []
    options = RemixOptions(style="heavy", output_format="mp3", separator="dsp", seed=7)
    result = metalize(song_file, out, options, on_progress=lambda s, p: progress.append((s, p)))
    return result, progress, out


def test_metalize_writes_a_mix_as_long_as_the_song(remix, song_file):
    result, _, out = remix
    mix, sr = sf.read(out / "mix.wav", always_2d=True)
    original = sf.info(str(song_file))
    assert sr == 44100 and mix.shape[1] == 2
    beat = 60.0 / 128.0
    assert abs(mix.shape[0] / sr - original.duration) <= beat
    assert np.max(np.abs(mix)) > 0.1  # not silence
    assert result.mix_path == out / "mix.mp3" and result.mix_path.stat().st_size > 10_000


def test_metalize_writes_stems_midi_and_result_json_inside_out_dir(remix):
    result, _, out = remix
    assert set(result.stems) >= {"drums", "guitars", "bass", "vocals", "other"}
    for path in [*result.stems.values(), *result.midi.values(), *result.pictures.values()]:
        assert path.is_file() and path.is_relative_to(out)
    assert result.midi, "every generated part is exported as MIDI"
    summary = json.loads((out / "result.json").read_text())
    assert summary["separator"]["name"].startswith("dsp")
    assert summary["separator"]["reason"]
    for key in ("tempo", "beats", "key", "chords", "sections"):
        assert key in summary["analysis"]
    assert abs(summary["analysis"]["tempo"] - 128.0) < 128.0 * 0.02
    assert set(summary["timings"]) == {name for name, _ in STAGES}
    assert not list(out.glob(".partial-*")), "the staging folder is removed"


def test_metalize_reports_every_stage_in_order_up_to_hundred_percent(remix):
    _, progress, _ = remix
    stages_seen = list(dict.fromkeys(stage for stage, _ in progress))
    assert stages_seen == [name for name, _ in STAGES]
    percents = [p for _, p in progress]
    assert percents == sorted(percents) and percents[-1] == 100.0


def test_metalize_on_a_bad_file_raises_a_readable_error_and_writes_nothing(tmp_path):
    bad = tmp_path / "notes.mp3"
    bad.write_text("these are my lyrics, not audio\n" * 50)
    out = tmp_path / "out"
    with pytest.raises(PipelineError) as caught:
        metalize(bad, out, RemixOptions(separator="dsp"))
    assert caught.value.code in {"not_audio", "corrupt_audio", "unsupported_format"}
    assert caught.value.message
    assert not [p for p in out.rglob("*")]


def test_cli_metalizes_a_file_and_exits_non_zero_with_the_error_on_bad_input(song_file, tmp_path):
    out = tmp_path / "cli-out"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline",
            str(song_file),
            "-o",
            str(out),
            "--separator",
            "dsp",
            "--no-cache",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert (out / "mix.wav").is_file() and (out / "result.json").is_file()
    assert json.loads(done.stdout)["separator"]["name"].startswith("dsp")
    assert "mastering" in done.stderr  # progress was shown

    bad = tmp_path / "empty.wav"
    bad.write_bytes(b"")
    failed = subprocess.run(
        [sys.executable, "-m", "pipeline", str(bad), "-o", str(tmp_path / "x"), "--quiet"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert failed.returncode == 2
    assert "error (empty_file)" in failed.stderr


def test_another_process_with_the_same_song_options_and_seed_writes_identical_mix_bytes(
    remix, song_file, tmp_path
):
    """Determinism across processes: a fresh interpreter with another hash seed must play the same remix."""
    _, _, out = remix
    again = tmp_path / "again"
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", str(song_file), "-o", str(again), "--separator", "dsp",
         "--style", "heavy", "--seed", "7", "--no-cache", "--quiet"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONHASHSEED": "4242"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (again / "mix.wav").read_bytes() == (out / "mix.wav").read_bytes()
    for name in ("drums", "guitars", "bass"):
        assert (again / "stems" / f"{name}.flac").read_bytes() == (
            out / "stems" / f"{name}.flac"
        ).read_bytes()
    assert (again / "midi" / "drums.mid").read_bytes() == (out / "midi" / "drums.mid").read_bytes()
