"""The htdemucs path, through demucs' own checkpoint loading and chunked inference.

These tests check plumbing, not quality: the checkpoint is a small randomly initialised HTDemucs with the
pretrained model's architecture hyper-parameters (fewer channels and one transformer layer, so it runs in
seconds), saved the way demucs saves models (``demucs.states`` package, ``<sig>-<sha256[:8]>.th`` plus a
``htdemucs.yaml`` bag) into a temporary ``models/`` folder. Real weights cannot be downloaded here.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("demucs")

from demucs.apply import apply_model  # noqa: E402

from pipeline import errors  # noqa: E402
from pipeline.errors import Interrupted, PipelineError  # noqa: E402
from pipeline.separate import choose, demucs_model, separate  # noqa: E402
from pipeline.tests.random_htdemucs import save_random_htdemucs  # noqa: E402

SR = 44100
SIGNATURE = "0badc0de"


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("models")
    save_random_htdemucs(directory)
    return directory


@pytest.fixture(scope="module")
def audio() -> np.ndarray:
    """10 s: longer than one 7.8 s segment, so the overlap-add between chunks is exercised."""
    rng = np.random.default_rng(0)
    t = np.arange(10 * SR) / SR
    tone = 0.2 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(t.size)
    return np.stack([tone, 0.9 * tone]).astype(np.float32)


def test_checkpoint_in_models_dir_is_found_with_its_hash(models_dir: Path) -> None:
    checkpoint = demucs_model.find_checkpoint(models_dir)
    assert checkpoint is not None
    assert checkpoint.fingerprint.startswith(SIGNATURE + "-")


def test_auto_keeps_the_fast_separator_and_says_demucs_is_there(models_dir: Path) -> None:
    picked = choose("auto", models_dir)
    assert picked.method == "dsp" and "choose demucs" in picked.reason
    asked = choose("demucs", models_dir)
    assert asked.name == "demucs:htdemucs" and SIGNATURE in asked.reason


def test_auto_takes_demucs_when_it_is_the_only_separator_offered(models_dir: Path) -> None:
    assert choose("auto", models_dir, allowed=["demucs"]).method == "demucs"


@pytest.mark.slow
def test_demucs_stems_are_what_demucs_apply_model_computes(models_dir: Path, audio: np.ndarray) -> None:
    seen: list[float] = []
    stems = separate(audio, method="demucs", models_dir=models_dir, progress=seen.append)
    assert stems.separator.name == "demucs:htdemucs" and not stems.separator.cached
    for name, stem in stems.as_dict().items():
        assert stem.shape == audio.shape and stem.dtype == np.float32 and np.isfinite(stem).all(), name
    assert seen[-1] == 1.0 and seen == sorted(seen) and len(seen) >= 3  # one report per chunk

    # The same model run directly through demucs, normalised as demucs' own separator does.
    model = demucs_model.load_model(demucs_model.find_checkpoint(models_dir))
    wav = torch.from_numpy(audio)
    ref = wav.mean(0)
    mean, std = ref.mean(), ref.std() + 1e-8
    with torch.inference_mode():
        expected = apply_model(model, ((wav - mean) / std)[None], shifts=0, split=True, overlap=0.25)[0]
    expected = expected * std + mean
    for i, name in enumerate(model.sources):
        np.testing.assert_allclose(stems.as_dict()[name], expected[i].numpy(), atol=1e-4)


def whole_song_overlap_add(model: object, audio: np.ndarray, overlap: float = 0.25) -> np.ndarray:
    """The plain way: every chunk's estimate added into one (sources, 2, n) array beside a whole-song track
    of cross-fade weights, divided once at the end. What ``run_model`` must equal, sample for sample.
    ``model`` is a single demucs model (the checkpoint's bag holds one, weighted 1)."""
    n = audio.shape[1]
    mono = audio.mean(axis=0, dtype=np.float64)
    mean, std = float(mono.mean()), float(mono.std(ddof=1)) + 1e-8
    seg = float(model.segment)
    seg_len = int(SR * seg)
    stride = int((1 - overlap) * seg_len)
    ramp = np.concatenate([np.arange(1, seg_len // 2 + 1), np.arange(seg_len - seg_len // 2, 0, -1)])
    ramp = (ramp / ramp.max()).astype(np.float32)
    out = np.zeros((len(model.sources), 2, n), dtype=np.float32)
    weight = np.zeros(n, dtype=np.float32)
    for offset in range(0, n, stride):
        length = min(seg_len, n - offset)
        start = offset - (seg_len - length) // 2
        chunk = np.zeros((1, 2, seg_len), dtype=np.float32)
        lo, hi = max(start, 0), min(start + seg_len, n)
        chunk[0, :, lo - start : hi - start] = (audio[:, lo:hi] - mean) / std
        trim = (seg_len - length) // 2
        with torch.no_grad():
            result = apply_model(model, torch.from_numpy(chunk), shifts=0, split=False, segment=seg)
        out[:, :, offset : offset + length] += result[0, :, :, trim : trim + length].numpy() * ramp[:length]
        weight[offset : offset + length] += ramp[:length]
    out /= weight
    out *= np.float32(std)
    out += np.float32(mean)
    return out


@pytest.mark.slow
def test_stems_finished_stretch_by_stretch_equal_the_whole_song_overlap_add(
    models_dir: Path, audio: np.ndarray
) -> None:
    bag = demucs_model.load_model(demucs_model.find_checkpoint(models_dir))
    (model,) = bag.models
    stems = demucs_model.run_model(bag, audio)
    expected = whole_song_overlap_add(model, audio)
    for i, name in enumerate(model.sources):
        assert np.array_equal(stems[name], expected[i]), name
    # Each stem is its own array, so dropping drums and bass after the analysis frees them.
    for name, stem in stems.items():
        assert stem.base is None and stem.flags.c_contiguous, name


def test_the_stem_cache_key_names_the_checkpoint(models_dir: Path) -> None:
    checkpoint = demucs_model.find_checkpoint(models_dir)
    assert checkpoint is not None
    assert choose("demucs", models_dir).cache_id == f"demucs:{checkpoint.fingerprint}"


def test_damaged_checkpoint_is_reported_not_used(tmp_path: Path, audio: np.ndarray) -> None:
    path = save_random_htdemucs(tmp_path, signature="feedf00d")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(PipelineError) as caught:
        separate(audio, method="demucs", models_dir=tmp_path)
    assert caught.value.code == errors.SEPARATION_FAILED
    assert "damaged" in caught.value.message and "make models" in caught.value.message


def test_threads_follow_a_containers_cpu_quota(tmp_path: Path) -> None:
    cores = len(os.sched_getaffinity(0))
    quota = tmp_path / "cpu.max"
    quota.write_text("100000 100000\n")  # one CPU's worth of time per period
    assert demucs_model.cpu_threads(quota) == 1
    quota.write_text("max 100000\n")
    assert demucs_model.cpu_threads(quota) == cores
    assert demucs_model.cpu_threads(tmp_path / "absent") == cores


def test_a_stop_raised_by_the_progress_callback_ends_demucs_after_one_chunk(
    models_dir: Path, audio: np.ndarray
) -> None:
    class Stopped(Interrupted):
        pass

    seen: list[float] = []

    def progress(fraction: float) -> None:
        seen.append(fraction)
        raise Stopped()

    with pytest.raises(Stopped):
        separate(audio, method="demucs", models_dir=models_dir, progress=progress)
    assert len(seen) == 1 and 0 < seen[0] < 1  # one chunk of two ran, then nothing more
