"""Playing a song again from its cached stems and analysis: nothing decoded, separated or analysed twice."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from pipeline import FileStemCache, PipelineError, RemixOptions, metalize, replay, stem_cache
from pipeline.paths import REPO_ROOT
from pipeline.testing.synth import make_song, write_song
from pipeline.types import PLAY_STAGES, STEM_NAMES, Analysis


def _refuse(what: str):  # type: ignore[no-untyped-def]
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError(f"{what} ran although the song was cached")

    return refuse


@pytest.fixture(scope="module")
def song_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    song = make_song(tempo=120.0, key="A", scale="minor", bars=5, with_vocals=True, seed=11)
    return write_song(tmp_path_factory.mktemp("song") / "song.flac", song)


@pytest.fixture(scope="module")
def first(song_file: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A first remix that fills the cache: (result, cache folder)."""
    cache_dir = tmp_path_factory.mktemp("cache")
    out = tmp_path_factory.mktemp("first")
    options = RemixOptions(style="heavy", separator="dsp", seed=3)
    return metalize(song_file, out, options, cache_dir=cache_dir), cache_dir


@pytest.fixture(scope="module")
def restyled(first, song_file: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The same file again as doom, with decoding, separating and analysing forbidden."""
    _result, cache_dir = first
    progress: list[tuple[str, float]] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("pipeline.audio_io.decode", _refuse("decoding"))
        patch.setattr("pipeline.separate.dsp.separate", _refuse("separation"))
        patch.setattr("pipeline.analyze.analyze", _refuse("analysis"))
        result = metalize(
            song_file,
            tmp_path_factory.mktemp("doom"),
            RemixOptions(style="doom", separator="dsp", seed=3, feel="half"),
            cache_dir=cache_dir,
            on_progress=lambda stage, pct: progress.append((stage, pct)),
        )
    return result, progress


def test_a_first_run_keeps_all_four_stems_and_the_analysis_under_the_songs_key(first, song_file):
    result, cache_dir = first
    assert not result.separator.cached and not result.analysis_reused
    assert result.stem_cache_key == stem_cache.song_key(song_file, "dsp:hpss-centre:v1")
    entry = cache_dir / result.stem_cache_key
    assert sorted(p.name for p in entry.iterdir()) == sorted(
        [f"{n}.flac" for n in STEM_NAMES] + ["analysis.json", "manifest.json"]
    )
    cached = FileStemCache(cache_dir).get(result.stem_cache_key)
    assert cached is not None and cached.analysis == result.analysis
    assert cached.separator.name == result.separator.name and cached.separator.cached


def test_the_same_file_in_another_style_plays_from_the_cache_and_says_so(first, restyled):
    first_result, _ = first
    result, _progress = restyled
    assert result.separator.cached and result.separator.name == first_result.separator.name
    assert result.analysis_reused
    assert result.analysis == first_result.analysis
    summary = json.loads(result.result_json.read_text())
    assert summary["separator"]["cached"] is True and summary["analysis_reused"] is True
    assert summary["options"]["style"] == "doom" and summary["options"]["feel"] == "half"
    assert set(summary["timings"]) == {name for name, _ in PLAY_STAGES}
    first_mix, _ = sf.read(first_result.out_dir / "mix.wav")
    doom_mix, _ = sf.read(result.out_dir / "mix.wav")
    assert first_mix.shape == doom_mix.shape
    assert np.abs(first_mix - doom_mix).mean() > 0.01, "another style must sound different"


def test_a_replay_reports_only_the_playing_stages_from_zero_to_hundred(restyled):
    _result, progress = restyled
    assert list(dict.fromkeys(stage for stage, _ in progress)) == [name for name, _ in PLAY_STAGES]
    percents = [p for _, p in progress]
    assert percents[0] == 0.0 and percents[-1] == 100.0 and percents == sorted(percents)


def test_replay_from_cached_stems_plays_what_the_first_run_played(first, tmp_path):
    first_result, cache_dir = first
    cached = FileStemCache(cache_dir).get(first_result.stem_cache_key, ("vocals", "other"))
    assert cached is not None and set(cached.stems) == {"vocals", "other"}
    analysis = Analysis.from_dict(json.loads(json.dumps(first_result.analysis.to_dict())))
    again = replay(
        cached.stems["vocals"],
        cached.stems["other"],
        analysis,
        tmp_path / "again",
        first_result.options,
        separator=cached.separator,
    )
    before, _ = sf.read(first_result.out_dir / "mix.wav")
    after, _ = sf.read(again.mix_path)
    assert before.shape == after.shape
    # The stems went through 24-bit FLAC: the same remix to far below audibility.
    assert np.corrcoef(before.ravel(), after.ravel())[0, 1] > 0.999
    assert again.analysis_reused and again.separator.cached


def test_a_given_analysis_is_used_instead_of_analysing(song_file, first, tmp_path, monkeypatch):
    first_result, _ = first
    monkeypatch.setattr("pipeline.analyze.analyze", _refuse("analysis"))
    result = metalize(
        song_file,
        tmp_path / "out",
        RemixOptions(style="thrash", separator="dsp"),
        analysis=first_result.analysis,
    )
    assert result.analysis_reused and not result.separator.cached
    assert "analysing" not in result.timings and "separating" in result.timings


def test_the_length_limit_holds_for_a_cached_song(first, song_file, tmp_path):
    _result, cache_dir = first
    with pytest.raises(PipelineError) as caught:
        metalize(
            song_file, tmp_path / "out", RemixOptions(separator="dsp"), cache_dir=cache_dir, max_duration_s=3
        )
    assert caught.value.code == "too_long"
    assert not list((tmp_path / "out").rglob("*.wav"))


def test_an_incomplete_entry_is_not_used(first, tmp_path):
    first_result, cache_dir = first
    copy = tmp_path / "cache"
    entry = copy / first_result.stem_cache_key
    entry.mkdir(parents=True)
    for path in (cache_dir / first_result.stem_cache_key).iterdir():
        if path.name != "manifest.json":  # the manifest is written last: without it the entry is unfinished
            (entry / path.name).write_bytes(path.read_bytes())
    assert FileStemCache(copy).get(first_result.stem_cache_key) is None
    assert FileStemCache(copy).get("0" * 64) is None


def test_an_unreachable_cache_does_not_fail_the_song(song_file, tmp_path):
    class BrokenCache:
        def get(self, key, names=STEM_NAMES):  # type: ignore[no-untyped-def]
            raise ConnectionError("the store is down")

        def put(self, key, stems, analysis=None):  # type: ignore[no-untyped-def]
            raise ConnectionError("the store is down")

    result = metalize(song_file, tmp_path / "out", RemixOptions(separator="dsp"), stem_cache=BrokenCache())
    assert result.mix_path.is_file() and not result.separator.cached


def test_cli_second_run_in_another_style_reuses_the_cache_and_says_so(first, song_file, tmp_path):
    _result, cache_dir = first
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", str(song_file), "-o", str(tmp_path / "cli"), "--separator", "dsp",
         "--style", "doom", "--feel", "double", "--cache-dir", str(cache_dir)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "reused the stems and analysis of this song from the cache" in done.stderr
    assert "decoding" not in done.stderr and "separating" not in done.stderr
    summary = json.loads(done.stdout)
    assert summary["separator"]["cached"] is True and summary["analysis_reused"] is True
    written = json.loads((tmp_path / "cli" / "result.json").read_text())
    assert written["options"]["feel"] == "double" and written["options"]["style"] == "doom"


def test_a_first_run_whose_analysis_fails_keeps_no_entry_and_leaves_no_thread(
    song_file, tmp_path, monkeypatch
):
    """The stems are kept beside the analysis: without an analysis the entry is never completed."""
    import threading

    from pipeline.errors import ANALYSIS_FAILED

    def fail(*_args: object, **_kwargs: object) -> None:
        raise PipelineError(ANALYSIS_FAILED, "made to fail by the test")

    monkeypatch.setattr("pipeline.analyze.analyze", fail)
    cache_dir = tmp_path / "cache"
    with pytest.raises(PipelineError, match="made to fail"):
        metalize(song_file, tmp_path / "out", RemixOptions(separator="dsp"), cache_dir=cache_dir)
    key = stem_cache.song_key(song_file, "dsp:hpss-centre:v1")
    assert FileStemCache(cache_dir).get(key) is None
    assert not (cache_dir / key).exists() and list(cache_dir.iterdir()) == []
    assert not [t for t in threading.enumerate() if t.name.startswith("stem-cache")]
