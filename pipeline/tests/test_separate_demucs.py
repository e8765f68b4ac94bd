"""The htdemucs path, through demucs' own checkpoint loading and chunked inference.

These tests check plumbing, not quality: the checkpoint is a small randomly initialised HTDemucs with the
pretrained model's architecture hyper-parameters (fewer channels and one transformer layer, so it runs in
seconds), saved the way demucs saves models (``demucs.states`` package, ``<sig>-<sha256[:8]>.th`` plus a
``htdemucs.yaml`` bag) into a temporary ``models/`` folder. Real weights cannot be downloaded here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("demucs")

from demucs.apply import apply_model  # noqa: E402

from pipeline import errors  # noqa: E402
from pipeline.errors import PipelineError  # noqa: E402
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


def test_auto_picks_demucs_when_a_checkpoint_is_present(models_dir: Path) -> None:
    picked = choose("auto", models_dir)
    assert picked.method == "demucs" and picked.name == "demucs:htdemucs"
    assert "checkpoint" in picked.reason and SIGNATURE in picked.reason


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
