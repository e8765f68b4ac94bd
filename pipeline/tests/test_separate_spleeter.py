"""The Spleeter 2-stem port: network geometry, the separation plumbing, and (when converted weights are in
models/) that the real weights separate a vocal.

The plumbing tests use randomly initialised weights saved in the converted format; they check shapes, the
mask arithmetic and the stems adding up, not quality.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from pipeline.separate import choose, separate, spleeter_model  # noqa: E402
from pipeline.testing.synth import make_song  # noqa: E402

SR = 44100
REPO_MODELS = Path(__file__).resolve().parents[2] / "models"


def save_random_weights(models_dir: Path, seed: int = 0) -> Path:
    torch.manual_seed(seed)
    model = spleeter_model.build_model()
    models_dir.mkdir(parents=True, exist_ok=True)
    path = models_dir / spleeter_model.WEIGHTS_FILE
    torch.save({"state": model.state_dict()}, path)
    return path


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("models")
    save_random_weights(directory)
    return directory


def test_unet_maps_a_spectrogram_segment_to_a_masked_one_of_the_same_shape() -> None:
    net = spleeter_model.build_unet().eval()
    x = torch.rand(1, 2, spleeter_model.T_FRAMES, spleeter_model.F_BINS)
    with torch.no_grad():
        y = net(x)
    assert y.shape == x.shape
    assert bool((y >= 0).all()) and bool((y <= x + 1e-6).all())  # a sigmoid mask times the input


def test_auto_prefers_spleeter_over_dsp_when_its_weights_are_present(models_dir: Path) -> None:
    picked = choose("auto", models_dir)
    assert picked.method == "spleeter" and picked.name == "spleeter:2stems"
    assert picked.reason.startswith("auto") and "Spleeter" in picked.reason


def test_spleeter_stems_cover_several_segments_and_add_up_to_the_mix(models_dir: Path) -> None:
    audio = make_song(tempo=120, bars=8, seed=6, with_vocals=True).audio[:, : 15 * SR]  # > 512 frames
    seen: list[float] = []
    stems = separate(audio, method="spleeter", models_dir=models_dir, progress=seen.append)
    assert stems.separator.name == "spleeter:2stems"
    for name, stem in stems.as_dict().items():
        assert stem.shape == audio.shape and np.isfinite(stem).all(), name
    np.testing.assert_allclose(sum(stems.as_dict().values()), audio, atol=1e-4)
    assert np.abs(stems.vocals).max() > 0
    assert seen[-1] == 1.0 and seen == sorted(seen)


def test_silence_gives_silent_vocals(models_dir: Path) -> None:
    weights = spleeter_model.find_weights(models_dir)
    voice = spleeter_model.vocals(np.zeros((2, 3 * SR), dtype=np.float32), weights)
    assert voice.shape == (2, 3 * SR) and not np.abs(voice).max() > 1e-7


def test_weights_fingerprint_changes_with_the_file(tmp_path: Path) -> None:
    first = spleeter_model.fingerprint(save_random_weights(tmp_path / "a", seed=0))
    second = spleeter_model.fingerprint(save_random_weights(tmp_path / "b", seed=1))
    assert first != second and len(first) == 12


@pytest.mark.slow
@pytest.mark.skipif(
    spleeter_model.find_weights(REPO_MODELS) is None, reason="converted Spleeter weights not in models/"
)
def test_converted_weights_pull_a_centred_vocal_out_of_a_band() -> None:
    """Quality check of the real converted weights (runs after `make models`)."""
    from pipeline.tests.test_separate_dsp import energy, vocal_line

    band = make_song(tempo=100, bars=8, seed=3).audio
    vocal = vocal_line(band.shape[1])
    vocal *= np.sqrt(energy(band) / energy(vocal))
    mix = band + vocal
    estimate = separate(mix, method="spleeter", models_dir=REPO_MODELS).vocals
    sdr = 10 * np.log10(energy(vocal) / energy(vocal - estimate))
    assert sdr > 6.0, sdr


def test_damaged_weights_file_is_reported_not_used(tmp_path: Path) -> None:
    from pipeline import errors
    from pipeline.errors import PipelineError

    path = save_random_weights(tmp_path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(PipelineError) as caught:
        separate(np.zeros((2, 3 * SR), dtype=np.float32), method="spleeter", models_dir=tmp_path)
    assert caught.value.code == errors.SEPARATION_FAILED and "make models" in caught.value.message


def _torch_networks(magnitude: np.ndarray, weights: Path, last: bool = False) -> dict[str, np.ndarray]:
    """The reference: the torch port's networks on the same segment."""
    nets = spleeter_model.load_model(weights)
    with torch.no_grad():
        x = torch.from_numpy(magnitude)
        return {name: nets[name](x).numpy() for name in spleeter_model.INSTRUMENTS}


def _snr_db(reference: np.ndarray, other: np.ndarray) -> float:
    error = float(np.sum((other.astype(np.float64) - reference) ** 2))
    return 10 * np.log10(float(np.sum(reference.astype(np.float64) ** 2)) / max(error, 1e-30))


@pytest.mark.parametrize("real", [False, True])
def test_the_onnx_graph_separates_as_the_torch_port_does(models_dir: Path, monkeypatch, real: bool) -> None:
    """ONNX Runtime runs the exported graph: the vocals the torch port gives, but for rounding (float32 sums
    in another order): on the real weights >= 100 dB apart (measured 130 dB on a whole song, 108 dB on this
    excerpt on another machine's CPU: the kernels ONNX Runtime picks, and so the order of the sums, follow
    the CPU); random weights, whose masks sit near one half where a rounding moves them most, >= 60 dB."""
    if real and spleeter_model.find_weights(REPO_MODELS) is None:
        pytest.skip("converted Spleeter weights not in models/")
    audio = make_song(tempo=120, bars=8, seed=6, with_vocals=True).audio[:, : 15 * SR]
    weights = spleeter_model.find_weights(REPO_MODELS if real else models_dir)
    onnx_voice = spleeter_model.vocals(audio, weights)
    monkeypatch.setattr(spleeter_model, "run_networks", _torch_networks)
    torch_voice = spleeter_model.vocals(audio, weights)
    assert float(np.abs(torch_voice).max()) > 0
    assert _snr_db(torch_voice, onnx_voice) >= (100.0 if real else 60.0)


def test_the_graph_is_exported_once_for_its_weights_and_again_for_other_weights(tmp_path: Path, monkeypatch):
    import onnx

    weights = save_random_weights(tmp_path, seed=2)
    audio = np.random.default_rng(1).normal(0, 0.1, (2, 3 * SR)).astype(np.float32)
    legacy = weights.with_suffix(".onnx")  # the one graph of both networks, written before
    legacy.write_bytes(b"both networks")

    def pinned_to() -> set[str]:
        graphs = [
            onnx.load(path, load_external_data=False) for path in spleeter_model.graph_paths(weights).values()
        ]
        return {{p.key: p.value for p in graph.metadata_props}["weights"] for graph in graphs}

    def exported_at() -> list[int]:
        return [path.stat().st_mtime_ns for path in spleeter_model.graph_paths(weights).values()]

    first = spleeter_model.vocals(audio, weights)
    assert pinned_to() == {spleeter_model.fingerprint(weights)} and not legacy.exists()
    exported = exported_at()
    spleeter_model._sessions.cache_clear()  # a new process: the graphs beside the weights are used as made
    assert spleeter_model.vocals(audio, weights).tobytes() == first.tobytes()
    assert exported_at() == exported
    save_random_weights(tmp_path, seed=3)  # other weights under the same name: exported again
    other = spleeter_model.vocals(audio, weights)
    assert pinned_to() == {spleeter_model.fingerprint(weights)} and other.tobytes() != first.tobytes()

    def read_only(_weights: Path) -> dict[str, Path]:
        raise PermissionError(13, "Read-only file system")

    save_random_weights(tmp_path, seed=4)  # and where the folder cannot be written: exported into memory
    monkeypatch.setattr(spleeter_model, "write_graph", read_only)
    in_memory = spleeter_model.vocals(audio, weights)
    assert in_memory.shape == audio.shape and in_memory.tobytes() != other.tobytes()


def test_the_networks_run_side_by_side_give_what_each_gives_run_alone() -> None:
    """Each network is a graph of its own, and ``run_networks`` runs the two at once on a thread each: every
    output is the one its session gives run alone on the calling thread, byte for byte (the real weights:
    their masks are what the vocals are made of)."""
    weights = spleeter_model.find_weights(REPO_MODELS)
    if weights is None:
        pytest.skip("converted Spleeter weights not in models/")
    shape = (1, 2, spleeter_model.T_FRAMES, spleeter_model.F_BINS)
    magnitude = np.abs(np.random.default_rng(5).normal(0, 1, shape)).astype(np.float32)
    together = spleeter_model.run_networks(magnitude, weights)
    sessions = spleeter_model._sessions(Path(weights), spleeter_model.fingerprint(weights))
    assert set(together) == set(sessions) == set(spleeter_model.INSTRUMENTS)
    for name, session in sessions.items():
        alone = session.run([name], {"magnitude": magnitude})[0]
        assert together[name].shape == shape and together[name].tobytes() == alone.tobytes()


def _vocals_both_channels_at_once(audio: np.ndarray, weights: Path) -> np.ndarray:
    """The reference: each segment's two channels transformed, masked and added back together."""
    sm = spleeter_model
    n = audio.shape[1]
    n_frames = -(-(n + sm.N_FFT) // sm.HOP)
    out = np.zeros((2, (n_frames - 1) * sm.HOP + sm.N_FFT), dtype=np.float32)
    for first in range(0, n_frames, sm.T_FRAMES):
        count = min(sm.T_FRAMES, n_frames - first)
        start = first * sm.HOP - sm.N_FFT
        chunk = sm._slice(audio, start, start + (count - 1) * sm.HOP + sm.N_FFT)
        frames = np.lib.stride_tricks.sliding_window_view(chunk, sm.N_FFT, axis=-1)[:, :: sm.HOP] * sm._WINDOW
        spec = np.fft.rfft(frames, axis=-1)
        mag = np.zeros((1, 2, sm.T_FRAMES, sm.F_BINS), dtype=np.float32)
        mag[0, :, :count] = np.abs(spec[:, :, : sm.F_BINS])
        est = {k: v[0, :, :count] for k, v in sm.run_networks(mag, weights).items()}
        mask = np.zeros(spec.shape, dtype=np.float32)
        total = est["vocals"] ** 2 + est["accompaniment"] ** 2 + sm.EPSILON
        mask[:, :, : sm.F_BINS] = (est["vocals"] ** 2 + sm.EPSILON / 2) / total
        voice = np.fft.irfft(spec * mask, n=sm.N_FFT, axis=-1).astype(np.float32) * sm._WINDOW
        for k in range(count):
            out[:, (first + k) * sm.HOP : (first + k) * sm.HOP + sm.N_FFT] += voice[:, k]
    return np.ascontiguousarray(out[:, sm.N_FFT : sm.N_FFT + n] / sm._WINDOW_SUM)


def test_the_vocals_made_a_channel_per_thread_are_those_of_both_channels_at_once(models_dir: Path) -> None:
    """``vocals`` transforms each channel on a thread of its own: the samples of the two channels
    transformed, masked and overlap-added together, byte for byte (three segments, the last one short)."""
    weights = spleeter_model.find_weights(models_dir)
    audio = make_song(tempo=120, bars=14, seed=6, with_vocals=True).audio[:, : 26 * SR]
    audio = np.ascontiguousarray(audio * np.array([[1.0], [0.6]], dtype=np.float32))  # unlike channels
    voice = spleeter_model.vocals(audio, weights)
    assert float(np.abs(voice).max()) > 0
    assert voice.tobytes() == _vocals_both_channels_at_once(audio, weights).tobytes()
