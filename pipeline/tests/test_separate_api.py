"""separate(): choosing the separator, recording why, refusing what is not available."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pipeline import errors
from pipeline.errors import PipelineError
from pipeline.separate import choose, offers, separate
from pipeline.separate.catalogue import stages_for
from pipeline.testing.synth import make_song
from pipeline.types import STAGES, Stems

SR = 44100


@pytest.fixture(scope="module")
def song() -> np.ndarray:
    return make_song(tempo=110, bars=4, seed=5, with_vocals=True).audio


def test_auto_without_models_runs_dsp_and_says_why(song: np.ndarray, tmp_path: Path) -> None:
    stems = separate(song, models_dir=tmp_path)
    assert isinstance(stems, Stems)
    assert stems.separator.name == "dsp:hpss-centre" and not stems.separator.cached
    assert "no converted Spleeter weights file" in stems.separator.reason
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
    assert "make models" in caught.value.message  # what the operator does about it


def test_unknown_method_is_refused(song: np.ndarray) -> None:
    with pytest.raises(PipelineError) as caught:
        separate(song, method="magic")
    assert caught.value.code == errors.INVALID_OPTIONS


def test_explicit_dsp_says_it_was_asked_for(song: np.ndarray) -> None:
    assert "asked for" in separate(song, method="dsp").separator.reason


def test_bag_file_without_its_weights_does_not_count_as_a_checkpoint(tmp_path: Path) -> None:
    (tmp_path / "htdemucs.yaml").write_text("models: ['955717e8']\n")
    assert choose("auto", tmp_path).method == "dsp"
    with pytest.raises(PipelineError) as caught:
        choose("demucs", tmp_path)
    assert "no htdemucs checkpoint" in caught.value.message


def test_progress_reaches_one(song: np.ndarray) -> None:
    seen: list[float] = []
    separate(song, method="dsp", progress=seen.append)
    assert seen[-1] == 1.0 and seen == sorted(seen)


def test_rejects_audio_that_is_not_float32_stereo(song: np.ndarray) -> None:
    with pytest.raises(ValueError):
        separate(song[0])
    with pytest.raises(ValueError):
        separate(song.astype(np.float64))


@pytest.mark.parametrize("method", ["demucs", "spleeter", "dsp"])
def test_a_separator_the_operator_does_not_offer_is_refused_clearly(method: str) -> None:
    with pytest.raises(PipelineError) as caught:
        choose(method, None, allowed=[m for m in ("demucs", "spleeter", "dsp") if m != method])
    assert caught.value.code == errors.INVALID_OPTIONS
    assert f"does not offer the {method} separator" in caught.value.message


def test_auto_takes_the_first_offered_separator_in_its_order(tmp_path: Path) -> None:
    assert choose("auto", tmp_path, allowed=["dsp"]).method == "dsp"
    with pytest.raises(PipelineError):
        choose("auto", tmp_path, allowed=[])


def test_offers_say_which_separators_can_run_and_why_not(tmp_path: Path) -> None:
    offered = {o.method: o for o in offers(tmp_path, allowed=["spleeter", "dsp"])}
    assert list(offered) == ["auto", "demucs", "spleeter", "dsp"]
    assert offered["auto"].available and offered["dsp"].available
    assert offered["demucs"].why_not == "not offered on this server"
    assert offered["spleeter"].why_not == "not installed on this server"


def test_the_progress_bar_gives_separating_the_share_its_separator_costs() -> None:
    shares = {method: dict(stages_for(method))["separating"] for method in ("auto", "spleeter", "demucs")}
    assert shares["auto"] == dict(STAGES)["separating"] == shares["spleeter"]
    assert shares["demucs"] > 10 * shares["spleeter"]  # htdemucs costs ~30x Spleeter's time
    assert {name for name, _ in stages_for("demucs")} == {name for name, _ in STAGES}


@pytest.mark.parametrize(("given", "seen"), [(None, "PASSIVE"), ("ACTIVE", "ACTIVE")])
def test_importing_the_pipeline_makes_torch_threads_wait_passively_unless_the_operator_said_otherwise(
    given: str | None, seen: str
) -> None:
    """A fresh process: the pipeline sets OpenMP's wait policy before torch loads its runtime (passive
    waiting keeps the separators' threads from spinning through another process's time slices); an
    operator's own value stays."""
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if given is not None:
        env["OMP_WAIT_POLICY"] = given
    code = "import os, sys, pipeline; assert 'torch' not in sys.modules; print(os.environ['OMP_WAIT_POLICY'])"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == seen
