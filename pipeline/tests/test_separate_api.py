"""separate(): choosing the separator, recording why, caching stems, refusing what is not available."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pipeline import errors
from pipeline.errors import PipelineError
from pipeline.separate import cache, choose, dsp, separate
from pipeline.testing.synth import make_song
from pipeline.types import Stems

SR = 44100


@pytest.fixture(scope="module")
def song() -> np.ndarray:
    return make_song(tempo=110, bars=4, seed=5, with_vocals=True).audio


def test_auto_without_models_runs_dsp_and_says_why(song: np.ndarray, tmp_path: Path) -> None:
    stems = separate(song, models_dir=tmp_path)
    assert isinstance(stems, Stems)
    assert stems.separator.name == "dsp:hpss-centre" and not stems.separator.cached
    assert "no htdemucs checkpoint" in stems.separator.reason
    assert "make models" in stems.separator.reason
    for name, stem in stems.as_dict().items():
        assert stem.shape == song.shape and stem.dtype == np.float32, name


def test_missing_models_dir_is_treated_as_no_models(song: np.ndarray, tmp_path: Path) -> None:
    assert separate(song, models_dir=tmp_path / "absent").separator.name == "dsp:hpss-centre"
    assert separate(song).separator.name == "dsp:hpss-centre"


@pytest.mark.parametrize("method", ["demucs", "spleeter"])
def test_asking_for_an_unavailable_separator_is_a_clear_error(
    song: np.ndarray, tmp_path: Path, method: str
) -> None:
    with pytest.raises(PipelineError) as caught:
        separate(song, method=method, models_dir=tmp_path)
    assert caught.value.code == errors.INVALID_OPTIONS
    assert f"The {method} separator was asked for" in caught.value.message


def test_unknown_method_is_refused(song: np.ndarray) -> None:
    with pytest.raises(PipelineError) as caught:
        separate(song, method="magic")
    assert caught.value.code == errors.INVALID_OPTIONS


def test_explicit_dsp_says_it_was_asked_for(song: np.ndarray) -> None:
    assert "asked for" in separate(song, method="dsp").separator.reason


def test_bag_file_without_its_weights_does_not_count_as_a_checkpoint(tmp_path: Path) -> None:
    (tmp_path / "htdemucs.yaml").write_text("models: ['955717e8']\n")
    picked = choose("auto", tmp_path)
    assert picked.method == "dsp"
    assert "no htdemucs checkpoint" in picked.reason


def test_progress_reaches_one(song: np.ndarray) -> None:
    seen: list[float] = []
    separate(song, method="dsp", progress=seen.append)
    assert seen[-1] == 1.0 and seen == sorted(seen)


def test_rejects_audio_that_is_not_float32_stereo(song: np.ndarray) -> None:
    with pytest.raises(ValueError):
        separate(song[0])
    with pytest.raises(ValueError):
        separate(song.astype(np.float64))


# --- cache -------------------------------------------------------------------------------------------


def test_rerun_loads_cached_stems_without_separating_again(
    song: np.ndarray, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = separate(song, cache_dir=tmp_path)
    assert not first.separator.cached

    def must_not_run(*_args: object, **_kwargs: object) -> dict[str, np.ndarray]:
        raise AssertionError("separation ran although the stems were cached")

    monkeypatch.setattr(dsp, "separate", must_not_run)
    second = separate(song, cache_dir=tmp_path)
    assert second.separator.cached and second.separator.name == first.separator.name
    for name, stem in first.as_dict().items():
        np.testing.assert_allclose(second.as_dict()[name], stem, atol=1e-6)  # 24-bit FLAC


def test_cache_key_depends_on_audio_and_separator(song: np.ndarray) -> None:
    key = cache.cache_key(song, "dsp:hpss-centre:v1")
    assert key == cache.cache_key(song.copy(), "dsp:hpss-centre:v1")
    assert key != cache.cache_key(song, "demucs:955717e8-8726e21a")
    changed = song.copy()
    changed[0, 1000] += 1e-3
    assert key != cache.cache_key(changed, "dsp:hpss-centre:v1")


def test_cache_keeps_stems_louder_than_full_scale(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    stems = {
        n: (rng.standard_normal((2, SR)) * 0.8).astype(np.float32)
        for n in ("vocals", "drums", "bass", "other")
    }
    stems["drums"] *= 3.0  # peaks well above 1.0
    cache_dir = tmp_path / "cache"
    cache.store(cache_dir, "k", stems, "test")
    back = cache.load(cache_dir, "k", SR)
    assert back is not None
    np.testing.assert_allclose(back["drums"], stems["drums"], atol=1e-5)
    assert json.loads((cache_dir / "k" / cache.MANIFEST).read_text())["separator"] == "test"
    assert [p.name for p in cache_dir.iterdir()] == ["k"]  # no leftover temp folder


def test_damaged_cache_entry_is_ignored_and_recomputed(song: np.ndarray, tmp_path: Path) -> None:
    separate(song, cache_dir=tmp_path / "cache")
    (entry,) = list((tmp_path / "cache").iterdir())
    (entry / "vocals.flac").write_bytes(b"not flac")
    again = separate(song, cache_dir=tmp_path / "cache")
    assert not again.separator.cached
    assert np.isfinite(again.vocals).all()


def test_cache_entry_of_another_length_is_not_used(tmp_path: Path) -> None:
    stems = {n: np.zeros((2, SR), dtype=np.float32) for n in ("vocals", "drums", "bass", "other")}
    cache.store(tmp_path, "k", stems, "test")
    assert cache.load(tmp_path, "k", 2 * SR) is None


def test_unwritable_cache_does_not_fail_the_separation(song: np.ndarray, tmp_path: Path) -> None:
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the cache folder should be")
    stems = separate(song, cache_dir=blocker)
    assert not stems.separator.cached and stems.vocals.shape == song.shape
